"""Who reads what over abci_query (issue 21): private roots refused on the plain path, served on
/signed to a read request signed by a member the rules allow, with a specific code for every
kind of refusal, and read grants: a reader key (a bridge's) reading as the member who granted it. The app
is driven as a node is started by default (private queries on)."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from gridledger.devices.v1 import devices_pb2
from gridwire.contract.chain import Code
from gridwire.contract.devices import Paths as DevicesPaths
from gridwire.contract.identity import IdentityCode
from gridwire.contract.market import Paths as MarketPaths
from gridwire.read_request import MAX_GRANT_LIFETIME_S, MAX_LIFETIME_S, ReadGrant, ReadRequest

from abci_app.app import GridLedgerApp
from abci_app.read_access import PRIVATE_ROOTS
from abci_app.store.backend import MemoryBackend
from clients import devices as dc
from clients.grid import set_tariffs
from clients.identity import grant_role, revoke_member
from clients.ops.consortium import Consortium
from clients.read_request import sign_granted_read, sign_read_grant, sign_read_request
from tests.support.driver import AppDriver
from tests.unit.helpers import signed
from tests.unit.test_market import L, Market, _deliver, key


@pytest.fixture
def node(consortium: Consortium) -> AppDriver:
    driver = AppDriver(consortium)
    driver.app.private_queries = True
    operator, supplier = consortium.member("gridop/control"), consortium.member("utility/treasury")
    tariffs = set_tariffs(
        supplier.address, retail=300, feed_in=80, imbalance_short=400, imbalance_long=40, export_penalty=0
    )
    assert driver.block([signed(driver, operator, tariffs)]).tx_results[0].code == 0
    return driver


def _read(node: AppDriver, who: str, path: str, *, expiry: int | None = None, as_path: str | None = None) -> int:
    """The code of `who` reading `path` with a signed request (made for `as_path` when given)."""
    key = node.consortium.member(who).key
    until = node.time + 60 if expiry is None else expiry
    query_path, data = sign_read_request(key, node.chain_id, as_path or path, expiry=until)
    if as_path is not None:
        query_path = "/signed" + path
    return node.query(query_path, data=data).code


def test_private_roots_are_refused_on_the_plain_path(node: AppDriver, consortium: Consortium) -> None:
    """Statements, alerts, rules and raw store keys answer QUERY_PRIVATE to anyone on the RPC; public roots answer."""
    alice = consortium.member("community-a/alice").address.hex()
    for path in (MarketPaths.STATEMENTS(alice), MarketPaths.ALERTS(alice), MarketPaths.RULES(alice), "/store/00"):
        answer = node.query(path)
        assert answer.code == Code.QUERY_PRIVATE, path
        assert not answer.value
    assert node.query("/tariffs").code == 0
    assert {"reading", "energy", "statement", "alert", "forecasts", "store"} <= PRIVATE_ROOTS


def test_the_owner_reads_its_own_with_a_proof(node: AppDriver, consortium: Consortium) -> None:
    """Alice's signed request reads her statements list, and a signed record read carries the key and its proof."""
    alice = consortium.member("community-a/alice")
    assert _read(node, "community-a/alice", MarketPaths.STATEMENTS(alice.address.hex())) == 0
    path = MarketPaths.STATEMENT(alice.address.hex(), 900)
    query_path, data = sign_read_request(alice.key, node.chain_id, path, expiry=node.time + 60)
    answer = node.query(query_path, data=data, prove=True)
    assert answer.code == Code.QUERY_NOT_FOUND  # no statement yet: the proof shows its absence
    assert answer.key
    assert len(answer.proof_ops.ops) == 1


def test_a_neighbour_is_denied_and_the_supplier_and_auditor_read(node: AppDriver, consortium: Consortium) -> None:
    """Bob cannot read Alice's statements (READ_DENIED); the supplier of last resort and an auditor can."""
    path = MarketPaths.STATEMENTS(consortium.member("community-a/alice").address.hex())
    assert _read(node, "community-a/bob", path) == Code.READ_DENIED
    assert _read(node, "utility/treasury", path) == 0
    assert _read(node, "certissuer/registry", path) == 0


def test_the_supplier_does_not_read_alerts_or_rules(node: AppDriver, consortium: Consortium) -> None:
    """Alerts and rules are the owner's (and auditors'): the supplier is READ_DENIED."""
    alice = consortium.member("community-a/alice").address.hex()
    for path in (MarketPaths.ALERTS(alice), MarketPaths.RULES(alice)):
        assert _read(node, "utility/treasury", path) == Code.READ_DENIED, path
        assert _read(node, "community-a/alice", path) == 0, path


def test_raw_store_is_for_auditors_only(node: AppDriver) -> None:
    """/signed/store/<key> is READ_DENIED to a household and served to an auditor."""
    assert _read(node, "community-a/alice", "/store/00") == Code.READ_DENIED
    assert _read(node, "utility/ops", "/store/00") in (0, Code.QUERY_NOT_FOUND)


def test_a_request_replayed_after_its_expiry_is_refused(node: AppDriver, consortium: Consortium) -> None:
    """A request valid at one block is READ_EXPIRED once a later block's time has passed its expiry."""
    alice = consortium.member("community-a/alice")
    path = MarketPaths.STATEMENTS(alice.address.hex())
    query_path, data = sign_read_request(alice.key, node.chain_id, path, expiry=node.time + 5)
    assert node.query(query_path, data=data).code == 0
    node.block([], seconds=10)
    assert node.query(query_path, data=data).code == Code.READ_EXPIRED
    assert _read(node, "community-a/alice", path, expiry=node.time + MAX_LIFETIME_S + 1) == Code.QUERY_BAD_REQUEST


def test_a_request_signed_by_another_key_is_refused(node: AppDriver, consortium: Consortium) -> None:
    """Bob's signature under Alice's public key, or a key of no member, is READ_BAD_SIGNATURE."""
    alice, bob = consortium.member("community-a/alice"), consortium.member("community-a/bob")
    path = MarketPaths.STATEMENTS(alice.address.hex())
    expiry = node.time + 60
    forged = ReadRequest(
        alice.public_key, bob.key.sign(ReadRequest.message(node.chain_id, path, 0, expiry)), expiry, 0, path
    )
    assert node.query("/signed" + path, data=forged.encode()).code == Code.READ_BAD_SIGNATURE
    stranger = Ed25519PrivateKey.generate()
    query_path, data = sign_read_request(stranger, node.chain_id, path, expiry=expiry)
    assert node.query(query_path, data=data).code == Code.READ_BAD_SIGNATURE


def test_a_request_for_another_path_or_chain_is_refused(node: AppDriver, consortium: Consortium) -> None:
    """A request for Alice's alerts does not read her statements (READ_WRONG_PATH); another chain's does not verify."""
    alice = consortium.member("community-a/alice")
    hexed = alice.address.hex()
    code = _read(node, "community-a/alice", MarketPaths.STATEMENTS(hexed), as_path=MarketPaths.ALERTS(hexed))
    assert code == Code.READ_WRONG_PATH
    path = MarketPaths.STATEMENTS(hexed)
    query_path, data = sign_read_request(alice.key, "another-chain", path, expiry=node.time + 60)
    assert node.query(query_path, data=data).code == Code.READ_BAD_SIGNATURE


def test_signed_serves_only_private_roots_and_needs_a_request(node: AppDriver) -> None:
    """/signed of a public root, or without a request, is QUERY_BAD_REQUEST."""
    assert node.query("/signed/tariffs").code == Code.QUERY_BAD_REQUEST
    assert node.query("/signed/statements/" + "00" * 20).code == Code.QUERY_BAD_REQUEST
    assert node.query("/signed").code == Code.QUERY_BAD_REQUEST


def test_private_is_the_default_and_public_queries_is_the_escape(consortium: Consortium) -> None:
    """A new app keeps households' data private; switched to public queries (--public-queries) the plain path
    answers as it did before issue 21."""
    assert GridLedgerApp(MemoryBackend()).private_queries  # what `python -m abci_app` starts unless told otherwise
    driver = AppDriver(consortium)
    driver.app.private_queries = True
    alice = consortium.member("community-a/alice").address.hex()
    assert driver.query(MarketPaths.STATEMENTS(alice)).code == Code.QUERY_PRIVATE
    driver.app.private_queries = False
    assert driver.query(MarketPaths.STATEMENTS(alice)).code == 0


def test_an_org_cannot_make_its_own_members_auditors(node: AppDriver, consortium: Consortium) -> None:
    """A community admin granting the auditor role its org lacks is ROLE_NOT_ALLOWED; the member still reads nothing."""
    admin, bob = consortium.member("community-a/admin"), consortium.member("community-a/bob")
    result = node.block([signed(node, admin, grant_role(bob.address, "auditor"))])
    assert result.check_codes[0] == IdentityCode.ROLE_NOT_ALLOWED  # refused already at CheckTx
    path = MarketPaths.STATEMENTS(consortium.member("community-a/alice").address.hex())
    assert _read(node, "community-a/bob", path) == Code.READ_DENIED


def test_feeder_aggregates_are_public_and_hide_small_feeders(driver: AppDriver, consortium: Consortium) -> None:
    """/feeder_energy sums a feeder's devices in an interval for anyone, and refuses a sum of fewer than three."""
    driver.app.private_queries = True
    m = Market(driver, consortium)
    m.setup()
    m.ok(m.alice, dc.register_device("meter-a", "site-a", "meter", dc.device_public_key(key(4)), 20_000))
    iv = m.upcoming()
    m.until(iv + L + 10)
    _deliver(m, iv, 600, 450)
    assert driver.query(DevicesPaths.FEEDER_ENERGY("feeder-1", iv)).code == Code.QUERY_PRIVATE  # two devices only
    m.until(iv + 2 * L + 10)
    m.reading(m.alice, "meter-a", 4, iv, iv + L, 2_000, 0)  # meter-a's baseline
    m.reading(m.alice, "meter-a", 4, iv + L, iv + 2 * L, 2_100, 0)
    m.reading(m.alice, "pv-a", 1, iv + L, iv + 2 * L, 0, 1_600 + 300)
    m.reading(m.bob, "meter-b", 2, iv + L, iv + 2 * L, 5_450 + 200, 0)
    answer = driver.query(DevicesPaths.FEEDER_ENERGY("feeder-1", iv + L))
    assert answer.code == 0, answer.log
    total = devices_pb2.IntervalEnergy.FromString(answer.value)
    assert (total.import_wh, total.export_wh) == (100 + 200, 300)
    assert driver.query(DevicesPaths.ENERGY("meter-b", iv)).code == Code.QUERY_PRIVATE  # a household's own
    assert driver.query(DevicesPaths.FEEDER_ENERGY("feeder-9", iv)).code == 0  # nothing recorded: zero


def _bridge_key() -> tuple[Ed25519PrivateKey, bytes]:
    reader = Ed25519PrivateKey.generate()
    return reader, reader.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)


def test_a_bridge_with_a_grant_reads_the_same_bytes_and_proof(node: AppDriver, consortium: Consortium) -> None:
    """A bridge key holding Alice's grant reads her statement with the same value, key and proof as Alice herself."""
    alice = consortium.member("community-a/alice")
    reader, reader_public = _bridge_key()
    grant = sign_read_grant(alice.key, node.chain_id, reader_public, expiry=node.time + 600)
    for path in (MarketPaths.STATEMENTS(alice.address.hex()), MarketPaths.STATEMENT(alice.address.hex(), 900)):
        own_path, own_data = sign_read_request(alice.key, node.chain_id, path, expiry=node.time + 60)
        via_path, via_data = sign_granted_read(reader, node.chain_id, path, grant, expiry=node.time + 60)
        own, via = node.query(own_path, data=own_data, prove=True), node.query(via_path, data=via_data, prove=True)
        assert via.code == own.code, via.log
        assert via.code in (0, Code.QUERY_NOT_FOUND), via.log
        assert (via.value, via.key, via.proof_ops) == (own.value, own.key, own.proof_ops)


def _granted_code(node: AppDriver, grant: bytes, path: str, reader: Ed25519PrivateKey) -> int:
    query_path, data = sign_granted_read(reader, node.chain_id, path, grant, expiry=node.time + 60)
    return node.query(query_path, data=data).code


def test_a_grant_for_another_bridge_key_is_refused(node: AppDriver, consortium: Consortium) -> None:
    """A bridge presenting a grant Alice gave to another bridge key is READ_BAD_GRANT."""
    alice = consortium.member("community-a/alice")
    reader, _ = _bridge_key()
    _, other_public = _bridge_key()
    grant = sign_read_grant(alice.key, node.chain_id, other_public, expiry=node.time + 600)
    assert _granted_code(node, grant, MarketPaths.STATEMENTS(alice.address.hex()), reader) == Code.READ_BAD_GRANT


def test_an_expired_or_overlong_grant_is_refused(node: AppDriver, consortium: Consortium) -> None:
    """A grant is READ_EXPIRED after its expiry by block time, and QUERY_BAD_REQUEST beyond the lifetime bound."""
    alice = consortium.member("community-a/alice")
    reader, public = _bridge_key()
    path = MarketPaths.STATEMENTS(alice.address.hex())
    grant = sign_read_grant(alice.key, node.chain_id, public, expiry=node.time + 5)
    assert _granted_code(node, grant, path, reader) == 0
    node.block([], seconds=10)
    assert _granted_code(node, grant, path, reader) == Code.READ_EXPIRED
    overlong = sign_read_grant(alice.key, node.chain_id, public, expiry=node.time + MAX_GRANT_LIFETIME_S + 1)
    assert _granted_code(node, overlong, path, reader) == Code.QUERY_BAD_REQUEST


def test_a_revoked_members_grant_reads_nothing(node: AppDriver, consortium: Consortium) -> None:
    """Once Alice is revoked, the grant she gave earlier is READ_BAD_GRANT."""
    alice, admin = consortium.member("community-a/alice"), consortium.member("community-a/admin")
    reader, public = _bridge_key()
    path = MarketPaths.STATEMENTS(alice.address.hex())
    grant = sign_read_grant(alice.key, node.chain_id, public, expiry=node.time + 600)
    assert _granted_code(node, grant, path, reader) == 0
    assert node.block([signed(node, admin, revoke_member(alice.address, "left the community"))]).tx_results[0].code == 0
    assert _granted_code(node, grant, path, reader) == Code.READ_BAD_GRANT


def test_a_tampered_grant_or_request_is_refused(node: AppDriver, consortium: Consortium) -> None:
    """A grant whose expiry or member was changed is READ_BAD_GRANT; a grant swapped under a signed request is
    READ_BAD_SIGNATURE, as is a request the bridge key did not sign."""
    alice, bob = consortium.member("community-a/alice"), consortium.member("community-a/bob")
    reader, public = _bridge_key()
    path = MarketPaths.STATEMENTS(alice.address.hex())
    grant = ReadGrant.decode(sign_read_grant(alice.key, node.chain_id, public, expiry=node.time + 60))
    assert grant is not None
    later = ReadGrant(grant.member_key, grant.signature, grant.expiry + 100, grant.reader_key).encode()
    assert _granted_code(node, later, path, reader) == Code.READ_BAD_GRANT
    as_bob = ReadGrant(bob.public_key, grant.signature, grant.expiry, grant.reader_key).encode()
    assert _granted_code(node, as_bob, path, reader) == Code.READ_BAD_GRANT
    assert _granted_code(node, b"\x01" * 20, path, reader) == Code.QUERY_BAD_REQUEST  # not a grant at all
    query_path, data = sign_granted_read(reader, node.chain_id, path, grant.encode(), expiry=node.time + 60)
    request = ReadRequest.decode(data)
    assert request is not None
    bobs = sign_read_grant(bob.key, node.chain_id, public, expiry=node.time + 60)
    swapped = ReadRequest(request.public_key, request.signature, request.expiry, request.height, path, bobs)
    assert node.query(query_path, data=swapped.encode()).code == Code.READ_BAD_SIGNATURE
    stranger, _ = _bridge_key()
    forged = ReadRequest(public, stranger.sign(b"x"), request.expiry, 0, path, grant.encode())
    assert node.query(query_path, data=forged.encode()).code == Code.READ_BAD_SIGNATURE


def test_a_grant_reads_only_what_its_member_may(node: AppDriver, consortium: Consortium) -> None:
    """Bob's grant does not read Alice's statements or alerts (READ_DENIED); the supplier's grant reads her
    statements but not her alerts, as the supplier itself."""
    alice, bob = consortium.member("community-a/alice"), consortium.member("community-a/bob")
    supplier = consortium.member("utility/treasury")
    reader, public = _bridge_key()
    hexed = alice.address.hex()
    bobs = sign_read_grant(bob.key, node.chain_id, public, expiry=node.time + 600)
    for path in (MarketPaths.STATEMENTS(hexed), MarketPaths.ALERTS(hexed), "/store/00"):
        assert _granted_code(node, bobs, path, reader) == Code.READ_DENIED, path
    suppliers = sign_read_grant(supplier.key, node.chain_id, public, expiry=node.time + 600)
    assert _granted_code(node, suppliers, MarketPaths.STATEMENTS(hexed), reader) == 0
    assert _granted_code(node, suppliers, MarketPaths.ALERTS(hexed), reader) == Code.READ_DENIED
