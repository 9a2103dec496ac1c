"""A Byzantine proposer may put any bytes in a block: no tx, hook or query can crash a validator."""

from __future__ import annotations

import pytest
import structlog
from google.protobuf.message import Message
from gridledger.identity.v1 import identity_pb2
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from abci_app import registry
from abci_app.accounts.messages import Transfer
from abci_app.context import TxContext
from abci_app.domain import Domain
from abci_app.errors import Code
from abci_app.identity.errors import IdentityCode
from abci_app.pb import abci
from abci_app.store.branch import Branch
from abci_app.types import BlockInfo, Event
from clients.ops.consortium import Consortium
from tests.fuzz.strategies import msg_st
from tests.support.driver import AppDriver
from tests.unit.helpers import account_nonce, balance, signed, transfer


def test_long_org_certificate_in_a_block_fails_cleanly(driver: AppDriver, consortium: Consortium) -> None:
    """The issue's halt: a self-signed EnrollMember whose O is over 255 bytes, put in a block by a
    proposer, is a failed tx (CERT_INVALID) and the next block commits."""
    driver.block([])
    rogue = consortium.cas["community-a"].issue("x", ["prosumer"], org_override="o" * 300)
    raw = signed(driver, rogue, identity_pb2.EnrollMember(certificate_der=rogue.cert_der))
    result = driver.block([raw], check=False)
    assert result.accepted  # well-formed and signed: only the handler can judge it
    assert result.codes == (IdentityCode.CERT_INVALID,)
    assert driver.block([]).height == result.height + 1


def test_process_proposal_rejects_stateless_garbage(driver: AppDriver, consortium: Consortium) -> None:
    """A proposal with undecodable bytes, a forged signature or a wrong chain id is rejected;
    FinalizeBlock still survives it if a faulty majority accepted it."""
    driver.block([])
    alice = consortium.member("community-a/alice")
    bob = consortium.member("community-a/bob")
    forged = bytearray(signed(driver, alice, transfer(bob, 1)))
    forged[-1] ^= 1
    other_chain = signed(driver, alice, transfer(bob, 1), chain_id="another-chain")
    for bad in (b"\xff\x00garbage", bytes(forged), other_chain):
        result = driver.block([bad], check=False)
        assert not result.accepted
        assert result.codes[0] in (Code.TX_MALFORMED, Code.BAD_SIGNATURE, Code.WRONG_CHAIN_ID)


def test_a_handler_bug_fails_the_tx_not_the_chain(
    driver: AppDriver, consortium: Consortium, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An unexpected exception in a handler is INTERNAL: its writes are discarded, its nonce used,
    the exception type is in the log, and the other txs of the block apply."""
    driver.block([])
    alice = consortium.member("community-a/alice")
    bob = consortium.member("community-a/bob")
    carol = consortium.member("community-b/carol")
    original = registry.HANDLERS[Transfer]

    def buggy(ctx: TxContext, msg: Transfer) -> None:
        original(ctx, msg)  # writes first, then fails
        raise KeyError("boom")

    record_type = Transfer
    before_alice, before_bob = balance(driver, alice), balance(driver, bob)
    monkeypatch.setitem(registry.HANDLERS, record_type, buggy)
    bad = signed(driver, alice, transfer(bob, 7))
    monkeypatch.undo()
    good = signed(driver, carol, transfer(bob, 3))
    monkeypatch.setitem(registry.HANDLERS, record_type, buggy)
    result = driver.block([bad], check=False)
    monkeypatch.undo()
    assert result.codes == (Code.INTERNAL,)
    assert "KeyError" in result.tx_results[0].log
    assert balance(driver, alice) == before_alice
    assert balance(driver, bob) == before_bob
    assert account_nonce(driver, alice) == 1  # the nonce is used: the bytes cannot be replayed
    assert driver.block([good]).codes == (0,)
    assert balance(driver, bob) == before_bob + 3


def _raising_hook(store: Branch, block: BlockInfo) -> list[Event]:
    store.set(b"\x7fpoison", b"1")  # a write that must be discarded
    raise ZeroDivisionError("hook bug")


@pytest.fixture
def hook_domain(monkeypatch: pytest.MonkeyPatch) -> None:
    broken = Domain(
        name="broken",
        key_prefixes=frozenset({0x7F}),
        error_range=(900, 901),
        errors=Code,
        end_block=_raising_hook,
    )
    monkeypatch.setattr("abci_app.app.DOMAINS", (*registry.DOMAINS, broken))


@pytest.mark.usefixtures("hook_domain")
def test_a_failing_end_block_hook_is_recorded_and_discarded(driver: AppDriver, consortium: Consortium) -> None:
    """A hook that raises leaves no writes, a hook_failed event names it, and blocks keep committing."""
    driver.block([])
    alice = consortium.member("community-a/alice")
    bob = consortium.member("community-a/bob")
    result = driver.block([signed(driver, alice, transfer(bob, 2))])
    assert result.codes == (0,)
    failed = [e for e in result.response.events if e.type == "hook_failed"]
    assert [{a.key: a.value for a in e.attributes}["domain"] for e in failed] == ["broken"]
    assert driver.app.state.get(b"\x7fpoison") is None
    assert driver.block([]).height == result.height + 1


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    raw_txs=st.lists(st.binary(max_size=300), max_size=4),
    msgs=st.lists(msg_st(), min_size=1, max_size=3),
)
def test_random_and_hostile_blocks_never_raise(
    consortium: Consortium, raw_txs: list[bytes], msgs: list[Message]
) -> None:
    """Random bytes and signed txs of hostile messages, straight into FinalizeBlock (no CheckTx),
    give a result per tx with a registered code, never INTERNAL, and invariants hold."""
    driver = AppDriver(consortium)
    driver.block([])
    alice = consortium.member("community-a/alice")
    txs = [*raw_txs, signed(driver, alice, *msgs)]
    result = driver.block(txs, check=False)
    assert len(result.codes) == len(txs)
    assert all(c in registry.ERROR_NAMES for c in result.codes)
    assert Code.INTERNAL not in result.codes


def test_malformed_queries_answer_errors(driver: AppDriver) -> None:
    """Every malformed path gets a query error code and a readable log (the issue's crashers)."""
    driver.block([])
    for path in (
        f"/proposal/{2**64}",
        "/proposal/²",
        "/org/" + "o" * 300,
        "/members/" + "o" * 300,
        "/member/zz",
        "/orgs?limit=0",
        "/orgs?limit=100000",
        "/orgs?after=nothex",
        "/" + "x" * 5000,
        "/nope",
        "",
    ):
        resp = driver.app.query(abci.RequestQuery(path=path))
        assert resp.code in (Code.QUERY_BAD_REQUEST, Code.QUERY_UNKNOWN_PATH), path
        assert resp.log, path


def test_list_queries_are_paginated(driver: AppDriver) -> None:
    """Pages of `limit` members follow each other by cursor and cover the org exactly once."""
    from gridledger.identity.v1 import identity_pb2 as pb

    driver.block([])
    whole = pb.MemberList.FromString(driver.query("/members/community-a").value)
    assert len(whole.members) == 4
    assert not whole.page.next
    seen: list[bytes] = []
    path = "/members/community-a?limit=3"
    while True:
        page = pb.MemberList.FromString(driver.query(path).value)
        seen.extend(m.address for m in page.members)
        if not page.page.next:
            break
        path = f"/members/community-a?limit=3&after={page.page.next}"
    assert seen == [m.address for m in whole.members]


def test_one_signer_cannot_crowd_the_mempool(consortium: Consortium) -> None:
    """CheckTx admits at most max_pending_txs_per_signer txs per signer until a block commits;
    others are still admitted, and after the block the signer may submit again."""
    driver = AppDriver(consortium, params={"max_pending_txs_per_signer": 3})
    driver.block([])
    alice = consortium.member("community-a/alice")
    bob = consortium.member("community-a/bob")
    codes = [
        driver.app.check_tx(abci.RequestCheckTx(tx=signed(driver, alice, transfer(bob, 1)), type=abci.NEW)).code
        for _ in range(5)
    ]
    assert codes == [0, 0, 0, Code.MEMPOOL_SHARE_EXCEEDED, Code.MEMPOOL_SHARE_EXCEEDED]
    other = driver.app.check_tx(abci.RequestCheckTx(tx=signed(driver, bob, transfer(alice, 1)), type=abci.NEW))
    assert other.code == 0


def test_finalize_block_before_init_chain_is_refused_not_fatal() -> None:
    """abci-cli's `finalize_block` on a fresh app (no InitChain, zero time) gets a clear
    exception response; the app applies nothing and keeps serving."""
    from abci_app.app import GridLedgerApp
    from abci_app.server import AbciProtocol, _dispatch_table
    from abci_app.store.backend import MemoryBackend

    app = GridLedgerApp(MemoryBackend())
    proto = AbciProtocol(app, _dispatch_table(app))
    req = abci.Request(finalize_block=abci.RequestFinalizeBlock(height=1))
    req.finalize_block.time.seconds = -62135596800  # Go's zero time, as abci-cli sends it
    resp = proto._handle(req)
    assert isinstance(resp, abci.Response)
    assert "before InitChain" in resp.exception.error
    assert app.state.height == 0
    info = proto._handle(abci.Request(info=abci.RequestInfo()))
    assert info is not None


def test_process_proposal_judges_cached_txs_like_any_other(driver: AppDriver, consortium: Consortium) -> None:
    """A tx this node verified in CheckTx but proposed after its timeout height is rejected,
    as a node that never saw it rejects it: the answer does not depend on the cache."""
    driver.block([])
    alice = consortium.member("community-a/alice")
    bob = consortium.member("community-a/bob")
    raw = signed(driver, alice, transfer(bob, 1), timeout_height=driver.height + 1)
    assert driver.app.check_tx(abci.RequestCheckTx(tx=raw, type=abci.NEW)).code == 0
    late = abci.RequestProcessProposal(txs=[raw], height=driver.height + 5)
    assert driver.app.process_proposal(late).status == abci.ResponseProcessProposal.REJECT
    in_time = abci.RequestProcessProposal(txs=[raw], height=driver.height + 1)
    assert driver.app.process_proposal(in_time).status == abci.ResponseProcessProposal.ACCEPT


def test_out_of_order_consensus_requests_are_refused_not_fatal(driver: AppDriver) -> None:
    """A Commit with no finalized block and a second InitChain on a chain with blocks (abci-cli's
    misuse) each get a clear exception response; nothing is written and the app keeps serving."""
    from abci_app.server import AbciProtocol, _dispatch_table

    driver.block([])
    app = driver.app
    height, app_hash = app.state.height, app.state.app_hash
    proto = AbciProtocol(app, _dispatch_table(app))
    with structlog.testing.capture_logs() as logs:
        commit = proto._handle(abci.Request(commit=abci.RequestCommit()))
        init = proto._handle(abci.Request(init_chain=abci.RequestInitChain(chain_id="other")))
    assert isinstance(commit, abci.Response)
    assert "Commit without a finalized block" in commit.exception.error
    assert isinstance(init, abci.Response)
    assert f"already at height {height}" in init.exception.error
    assert [e["request"] for e in logs if e["event"] == "request_refused"] == ["commit", "init_chain"]
    assert (app.state.height, app.state.app_hash) == (height, app_hash)
    driver.block([])  # and the chain goes on
    assert app.state.height == height + 1
