"""The device trust chain, attacked as a member would: device CAs admitted by governance,
X.509 device certificates at registration and rotation, certifier commissioning, and the
issuance and sale gates. Each attack runs as signed txs through the mempool and as the same
txs put straight into FinalizeBlock by a hostile proposer; the driver checks the invariants
(money conserved, trust chain consistent) after every block."""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import NameOID
from google.protobuf.message import Message
from gridledger.certificates.v1 import certificates_pb2 as cpb
from gridledger.devices.v1 import devices_pb2
from gridledger.governance.v1 import governance_pb2
from gridledger.identity.v1 import identity_pb2
from gridwire.reading import Reading

from abci_app.devices.domain import DOMAIN as DEVICES
from abci_app.devices.errors import DevicesCode
from abci_app.domain import GenesisError
from abci_app.errors import Code
from abci_app.genesis import apply_genesis
from abci_app.identity.domain import DOMAIN as IDENTITY
from abci_app.identity.errors import IdentityCode
from abci_app.store.backend import MemoryBackend
from abci_app.store.branch import Branch
from abci_app.types import BlockInfo
from clients import devices as dc
from clients import market as mc
from clients.commands.governance import build_proposal
from clients.gridctl import build_parser
from clients.keys_cli import generate_key
from clients.ops.consortium import TEST_DEVICE_CA, Consortium
from clients.pki import Identity, build_device_cert, new_device_ca
from tests.support.devices import CERTIFIER, FOREVER, certified_generator, certify, commission
from tests.support.driver import GENESIS_TIME, AppDriver
from tests.support.genesis_roundtrip import differences, export_and_import
from tests.support.gridctl import run_gridctl
from tests.unit.helpers import balance, signed, submit, vote
from tests.unit.test_market import Market

HOUR = 3600
PASSING_ORGS = ("utility", "gridop", "certissuer", "community-a")  # 4 of 5: above the 2/3 quorum
HOSTILE = pytest.mark.parametrize("hostile", [False, True], ids=["mempool", "proposer"])


def outcome(driver: AppDriver, who: Identity, *msgs: Message, hostile: bool, seconds: int = 1) -> int:
    """The code of one signed tx: through CheckTx and a block, or straight into FinalizeBlock.
    A tx CheckTx refuses never reaches a block, so its nonce is not used."""
    raw = signed(driver, who, *msgs)
    result = driver.block([raw], check=not hostile, seconds=seconds)
    if not hostile and result.check_codes[0]:
        driver.nonces[who.public_key] -= 1
        return result.check_codes[0]
    return result.codes[0]


def registered(driver: AppDriver, device_id: str) -> devices_pb2.Device | None:
    resp = driver.query(f"/device/{device_id}")
    return devices_pb2.Device.FromString(resp.value) if resp.value else None


def issued(driver: AppDriver, device: str, hour: int) -> int:
    resp = driver.query(f"/cert_issued/{device}/{hour}")
    return int.from_bytes(resp.value, "big") if resp.value else 0


def pv(
    device_id: str, key: Ed25519PrivateKey, nameplate_w: int = 5_000, cert: bytes = b""
) -> devices_pb2.RegisterDevice:
    return dc.register_device(
        device_id, "site-a", "pv", dc.device_public_key(key), nameplate_w, energy_source="solar", device_cert=cert
    )


def _site(driver: AppDriver, consortium: Consortium) -> Identity:
    driver.block([])
    alice = consortium.member("community-a/alice")
    assert driver.block([signed(driver, alice, dc.register_site("site-a", "feeder-1"))]).codes == (0,)
    return alice


def propose_and_pass(driver: AppDriver, consortium: Consortium, **action: Message) -> governance_pb2.Proposal:
    """utility's admin proposes, four of five orgs vote yes; the proposal as stored."""
    admin = consortium.member("utility/admin")
    res = driver.block([signed(driver, admin, submit("device CA", **action))])
    assert res.codes == (0,), res.tx_results[0].log
    pid = next(int(a.value) for e in res.tx_results[0].events for a in e.attributes if a.key == "proposal_id")
    for org in PASSING_ORGS:
        driver.block([signed(driver, consortium.member(f"{org}/admin"), vote(pid))])
    return governance_pb2.Proposal.FromString(driver.query(f"/proposal/{pid}").value)


# ---- certificates at registration ------------------------------------------------------------

_T2020 = dt.datetime(2020, 1, 1, tzinfo=dt.UTC)


def _cases() -> list[tuple[str, int]]:
    return [
        ("garbage", DevicesCode.DEVICE_CERT_INVALID),
        ("member certificate", DevicesCode.DEVICE_CERT_INVALID),
        ("self-signed", DevicesCode.DEVICE_CA_UNKNOWN),
        ("self-signed naming the test CA as issuer", DevicesCode.DEVICE_CA_UNKNOWN),
        ("CA governance never admitted", DevicesCode.DEVICE_CA_UNKNOWN),
        ("expired", DevicesCode.DEVICE_CERT_EXPIRED),
        ("not yet valid", DevicesCode.DEVICE_CERT_EXPIRED),
        ("another key", DevicesCode.DEVICE_CERT_KEY_MISMATCH),
        ("another device id", DevicesCode.DEVICE_CERT_SERIAL_MISMATCH),
        ("a meter's certificate", DevicesCode.DEVICE_CERT_KIND_MISMATCH),
        ("a smaller nameplate", DevicesCode.DEVICE_CERT_NAMEPLATE_MISMATCH),
    ]


def _bad_cert(case: str, consortium: Consortium, key: Ed25519PrivateKey) -> tuple[bytes, int]:
    """(certificate, registered nameplate) of an attack case: the device is pv-x, 5 kW."""
    ca = consortium.device_ca()
    pub = dc.device_public_key(key)
    own_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "pv-x")])
    end = _T2020 + dt.timedelta(days=7300)
    if case == "garbage":
        return b"\x30\x03\x02\x01\x00", 5_000
    if case == "member certificate":
        return consortium.member("community-a/alice").cert_der, 5_000
    if case == "self-signed":
        return build_device_cert(key, own_name, "pv-x", 2, pub, 5_000, _T2020, end), 5_000
    if case == "self-signed naming the test CA as issuer":
        return build_device_cert(key, ca.cert.subject, "pv-x", 2, pub, 5_000, _T2020, end), 5_000
    if case == "CA governance never admitted":
        return new_device_ca("rogue").issue_device_cert("pv-x", "pv", pub, 5_000), 5_000
    if case == "expired":
        return ca.issue_device_cert("pv-x", "pv", pub, 5_000, not_after=_T2020 + dt.timedelta(days=365)), 5_000
    if case == "not yet valid":
        return ca.issue_device_cert("pv-x", "pv", pub, 5_000, not_before=dt.datetime(2030, 1, 1, tzinfo=dt.UTC)), 5_000
    if case == "another key":
        other = dc.device_public_key(Ed25519PrivateKey.generate())
        return ca.issue_device_cert("pv-x", "pv", other, 5_000), 5_000
    if case == "another device id":
        return ca.issue_device_cert("pv-y", "pv", pub, 5_000), 5_000
    if case == "a meter's certificate":
        return ca.issue_device_cert("pv-x", "meter", pub, 5_000), 5_000
    assert case == "a smaller nameplate"
    return ca.issue_device_cert("pv-x", "pv", pub, 5_000), 1_000_000_000


@HOSTILE
@pytest.mark.parametrize(("case", "code"), _cases(), ids=[c for c, _ in _cases()])
def test_a_device_certificate_that_does_not_vouch_is_refused(
    driver: AppDriver, consortium: Consortium, case: str, code: int, hostile: bool
) -> None:
    """Each forged, foreign, stale or mismatched device certificate is refused with its own code
    and registers nothing."""
    alice = _site(driver, consortium)
    before = balance(driver, alice)
    key = Ed25519PrivateKey.generate()
    cert, nameplate = _bad_cert(case, consortium, key)
    assert outcome(driver, alice, pv("pv-x", key, nameplate, cert), hostile=hostile) == code
    assert registered(driver, "pv-x") is None
    assert balance(driver, alice) == before


def test_a_device_registered_with_a_good_certificate_records_its_ca(driver: AppDriver, consortium: Consortium) -> None:
    """A certificate from the admitted test CA binding key, id, kind and nameplate certifies the
    device; the registration event and record name the CA."""
    alice = _site(driver, consortium)
    key = Ed25519PrivateKey.generate()
    res = driver.block([signed(driver, alice, certify(consortium, pv("pv-x", key)))])
    assert res.codes == (0,), res.tx_results[0].log
    attrs = {a.key: a.value for e in res.tx_results[0].events if e.type == "device_registered" for a in e.attributes}
    assert attrs["certified_by"] == TEST_DEVICE_CA
    device = registered(driver, "pv-x")
    assert device is not None
    assert device.cert_ca_id == TEST_DEVICE_CA
    assert device.cert_serial


# ---- governance admits and revokes device CAs --------------------------------------------------


def test_governance_admits_and_revokes_a_device_ca_and_revocation_ends_trust(
    driver: AppDriver, consortium: Consortium
) -> None:
    """A manufacturer's CA admitted by vote certifies devices; once revoked it certifies no new
    device, and the devices it certified can neither sell nor earn certificates."""
    m = Market(driver, consortium)
    m.setup()
    acme = new_device_ca("acme", name="Acme inverters")
    admit = governance_pb2.AdmitDeviceCa(ca_id="acme", name="Acme", ca_der=acme.cert_der)
    assert propose_and_pass(driver, consortium, admit_device_ca=admit).status == governance_pb2.PROPOSAL_STATUS_PASSED
    cas = identity_pb2.DeviceCaList.FromString(driver.query("/device_cas").value).device_cas
    assert [c.ca_id for c in cas] == ["acme", TEST_DEVICE_CA]
    key = Ed25519PrivateKey.generate()
    cert = acme.issue_device_cert("pv-acme", "pv", dc.device_public_key(key), 5_000)
    m.ok(m.alice, pv("pv-acme", key, 5_000, cert))
    commission(driver, "pv-acme")
    iv = m.upcoming()
    m.order_id(m.alice, mc.sell("pv-acme", iv, 100, 10))
    # the same id again, a non-CA certificate, an unknown org: refused when proposed
    admin = consortium.member("utility/admin")
    again = governance_pb2.SubmitProposal(title="again", admit_device_ca=admit)
    assert m.code(admin, again) == IdentityCode.DEVICE_CA_EXISTS
    leaf = governance_pb2.AdmitDeviceCa(ca_id="leaf", ca_der=m.alice.cert_der)
    assert m.code(admin, governance_pb2.SubmitProposal(title="leaf", admit_device_ca=leaf)) == IdentityCode.CERT_INVALID
    foreign = governance_pb2.AdmitDeviceCa(ca_id="x-org", org_id="nope", ca_der=acme.cert_der)
    assert m.code(admin, governance_pb2.SubmitProposal(title="x", admit_device_ca=foreign)) == IdentityCode.UNKNOWN_ORG
    unknown = governance_pb2.SubmitProposal(title="u", revoke_device_ca=governance_pb2.RevokeDeviceCa(ca_id="nope"))
    assert m.code(admin, unknown) == IdentityCode.UNKNOWN_DEVICE_CA
    # revocation
    revoke = governance_pb2.RevokeDeviceCa(ca_id="acme")
    assert propose_and_pass(driver, consortium, revoke_device_ca=revoke).status == governance_pb2.PROPOSAL_STATUS_PASSED
    ca = identity_pb2.DeviceCa.FromString(driver.query("/device_ca/acme").value)
    assert ca.revoked_at > 0
    key2 = Ed25519PrivateKey.generate()
    cert2 = acme.issue_device_cert("pv-acme-2", "pv", dc.device_public_key(key2), 5_000)
    assert m.code(m.alice, pv("pv-acme-2", key2, 5_000, cert2)) == DevicesCode.DEVICE_CA_REVOKED
    assert m.code(m.alice, mc.sell("pv-acme", m.upcoming() + 900, 100, 10)) == DevicesCode.NOT_CERTIFIED
    # a reading of the revoked CA's device earns nothing
    t = (driver.time // HOUR + 1) * HOUR
    driver.block([], seconds=t + HOUR + 120 - driver.time)
    readings = [Reading("pv-acme", 1, t, t + 60, 0, 0), Reading("pv-acme", 2, t + 60, t + HOUR + 60, 0, 2_000)]
    m.ok(m.alice, dc.submit_readings([dc.sign_reading(key, driver.chain_id, r) for r in readings]))
    driver.block([])
    assert issued(driver, "pv-acme", t) == 0


# ---- uncertified devices and commissioning ----------------------------------------------------


@HOSTILE
def test_an_uncertified_generator_neither_sells_nor_is_commissioned(
    driver: AppDriver, consortium: Consortium, hostile: bool
) -> None:
    """A PV registered without a certificate (a self-declared key) cannot be named by a sell
    order, nor commissioned; its owner's money is untouched."""
    m = Market(driver, consortium)
    m.setup()
    key = Ed25519PrivateKey.generate()
    assert outcome(driver, m.alice, pv("pv-self", key, 1_000_000_000), hostile=hostile) == 0  # a plain registration
    before = balance(driver, m.alice)
    iv = m.upcoming()
    assert outcome(driver, m.alice, mc.sell("pv-self", iv, 1_000, 1), hostile=hostile) == DevicesCode.NOT_CERTIFIED
    certifier = consortium.member(CERTIFIER)
    msg = dc.commission_device("pv-self", 0, FOREVER)
    assert outcome(driver, certifier, msg, hostile=hostile) == DevicesCode.NOT_CERTIFIED
    assert balance(driver, m.alice) == before


@HOSTILE
def test_an_uncertified_generator_earns_no_certificates(
    driver: AppDriver, consortium: Consortium, hostile: bool
) -> None:
    """Readings of an uncertified PV (accepted as readings) issue no certificate."""
    alice = _site(driver, consortium)
    key = Ed25519PrivateKey.generate()
    assert outcome(driver, alice, pv("pv-self", key), hostile=hostile) == 0
    t = (driver.time // HOUR + 1) * HOUR
    driver.block([], seconds=t + HOUR + 120 - driver.time)
    readings = [Reading("pv-self", 1, t, t + 60, 0, 0), Reading("pv-self", 2, t + 60, t + HOUR + 60, 0, 3_000)]
    batch = dc.submit_readings([dc.sign_reading(key, driver.chain_id, r) for r in readings])
    assert outcome(driver, alice, batch, hostile=hostile) == 0
    driver.block([], seconds=2 * HOUR)
    assert issued(driver, "pv-self", t) == 0
    assert not cpb.BundleList.FromString(driver.query("/bundles/device/pv-self").value).bundles


@HOSTILE
def test_only_a_certifier_commissions_and_only_what_it_may(
    driver: AppDriver, consortium: Consortium, hostile: bool
) -> None:
    """Prosumers, admins and the owner cannot commission; a certifier cannot commission a meter,
    an unknown device, its own device or an empty or expired period; a withdrawal needs a
    certifier and an attestation."""
    alice = _site(driver, consortium)
    key = Ed25519PrivateKey.generate()
    assert driver.block([signed(driver, alice, certify(consortium, pv("pv-1", key)))]).codes == (0,)
    meter = dc.register_device("m-1", "site-a", "meter", dc.device_public_key(Ed25519PrivateKey.generate()), 20_000)
    assert driver.block([signed(driver, alice, certify(consortium, meter))]).codes == (0,)
    good = dc.commission_device("pv-1", 0, FOREVER)
    for ref in ("community-a/alice", "community-a/bob", "utility/admin", "certissuer/admin", "gridop/control"):
        assert outcome(driver, consortium.member(ref), good, hostile=hostile) == Code.UNAUTHORIZED, ref
    certifier = consortium.member(CERTIFIER)
    now = driver.time
    cases = [
        (dc.commission_device("m-1", 0, FOREVER), DevicesCode.NOT_A_GENERATOR),
        (dc.commission_device("ghost", 0, FOREVER), DevicesCode.UNKNOWN_DEVICE),
        (dc.commission_device("pv-1", 5_000, 5_000), DevicesCode.BAD_ATTESTATION),
        (dc.commission_device("pv-1", 0, now), DevicesCode.BAD_ATTESTATION),
        (dc.withdraw_commissioning("pv-1"), DevicesCode.NOT_COMMISSIONED),
    ]
    for msg, code in cases:
        assert outcome(driver, certifier, msg, hostile=hostile) == code, msg
    assert not driver.query("/commissioning/pv-1").value
    # the certifier's own device
    own_key = Ed25519PrivateKey.generate()
    own_site = dc.register_site("site-r", "feeder-1")
    own = dc.register_device("pv-r", "site-r", "pv", dc.device_public_key(own_key), 5_000)
    assert driver.block([signed(driver, certifier, own_site, certify(consortium, own))]).codes == (0,)
    assert outcome(driver, certifier, dc.commission_device("pv-r", 0, FOREVER), hostile=hostile) == (
        DevicesCode.SELF_ATTESTATION
    )
    # the real thing, then a withdrawal by someone else and by the certifier
    assert outcome(driver, certifier, good, hostile=hostile) == 0
    stored = devices_pb2.Commissioning.FromString(driver.query("/commissioning/pv-1").value)
    assert (stored.certifier, stored.certifier_org, stored.expiry) == (certifier.address, "certissuer", FOREVER)
    withdraw = dc.withdraw_commissioning("pv-1", "inspection failed")
    assert outcome(driver, alice, withdraw, hostile=hostile) == Code.UNAUTHORIZED
    assert outcome(driver, certifier, withdraw, hostile=hostile) == 0
    assert not driver.query("/commissioning/pv-1").value


@HOSTILE
def test_hours_outside_the_attestation_earn_no_certificates(
    driver: AppDriver, consortium: Consortium, hostile: bool
) -> None:
    """With an attestation for [T+1h, T+3h), only the two hours inside it are issued: the hour
    before and the hour after produce, and earn nothing."""
    alice = _site(driver, consortium)
    t = (driver.time // HOUR + 1) * HOUR
    key = certified_generator(driver, alice, "pv-1", "site-a", valid_from=t + HOUR, expiry=t + 3 * HOUR)
    driver.block([], seconds=t + 4 * HOUR + 120 - driver.time)
    readings = [
        Reading("pv-1", 1, t, t + 60, 0, 0),
        Reading("pv-1", 2, t + 60, t + HOUR, 0, 1_000),  # hour t: before the attestation
        Reading("pv-1", 3, t + HOUR, t + 2 * HOUR, 0, 3_000),  # inside
        Reading("pv-1", 4, t + 2 * HOUR, t + 3 * HOUR, 0, 4_500),  # inside
        Reading("pv-1", 5, t + 3 * HOUR, t + 4 * HOUR, 0, 5_000),  # after the expiry
        Reading("pv-1", 6, t + 4 * HOUR, t + 4 * HOUR + 60, 0, 5_000),
    ]
    batch = dc.submit_readings([dc.sign_reading(key, driver.chain_id, r) for r in readings])
    assert outcome(driver, alice, batch, hostile=hostile) == 0
    driver.block([])
    assert [issued(driver, "pv-1", t + h * HOUR) for h in range(4)] == [0, 2_000, 1_500, 0]


def test_a_sale_needs_an_attestation_covering_its_interval(driver: AppDriver, consortium: Consortium) -> None:
    """A commissioned PV sells; once the attestation is withdrawn, or for an interval past its
    expiry, the same sell order is refused."""
    m = Market(driver, consortium)
    m.setup()
    iv = m.upcoming()
    m.order_id(m.alice, mc.sell("pv-a", iv, 100, 10))
    certifier = consortium.member(CERTIFIER)
    m.ok(certifier, dc.commission_device("pv-a", 0, iv + 900))  # renewal: expires at the end of iv
    assert m.code(m.alice, mc.sell("pv-a", iv + 900, 100, 10)) == DevicesCode.NOT_COMMISSIONED
    m.ok(certifier, dc.withdraw_commissioning("pv-a", "meter tampered"))
    assert m.code(m.alice, mc.sell("pv-a", iv, 100, 10)) == DevicesCode.NOT_COMMISSIONED


# ---- key rotation --------------------------------------------------------------------------------


@HOSTILE
def test_a_certified_device_rotates_only_with_a_certificate_for_the_new_key(
    driver: AppDriver, consortium: Consortium, hostile: bool
) -> None:
    """Rotating a certified device's key without a certificate, or with one for another key, is
    refused; a certificate for the new key rotates it and keeps it certified."""
    alice = _site(driver, consortium)
    certified_generator(driver, alice, "pv-1", "site-a")
    new = Ed25519PrivateKey.generate()
    new_pub = dc.device_public_key(new)
    ca = consortium.device_ca()
    assert outcome(driver, alice, dc.rotate_key("pv-1", new_pub), hostile=hostile) == DevicesCode.DEVICE_CERT_REQUIRED
    stale = ca.issue_device_cert("pv-1", "pv", dc.device_public_key(Ed25519PrivateKey.generate()), 5_000)
    assert outcome(driver, alice, dc.rotate_key("pv-1", new_pub, stale), hostile=hostile) == (
        DevicesCode.DEVICE_CERT_KEY_MISMATCH
    )
    fresh = ca.issue_device_cert("pv-1", "pv", new_pub, 5_000)
    assert outcome(driver, alice, dc.rotate_key("pv-1", new_pub, fresh), hostile=hostile) == 0
    device = registered(driver, "pv-1")
    assert device is not None
    assert (device.public_key, device.cert_ca_id) == (new_pub, TEST_DEVICE_CA)


# ---- genesis ---------------------------------------------------------------------------------------


def test_genesis_carries_device_cas_certified_devices_and_attestations_byte_for_byte(
    driver: AppDriver, consortium: Consortium
) -> None:
    """An export with an admitted and a revoked device CA, a certified device and an attestation
    imports to the same identity and devices key ranges."""
    alice = _site(driver, consortium)
    certified_generator(driver, alice, "pv-1", "site-a", expiry=GENESIS_TIME + 10 * 86_400)
    acme = new_device_ca("acme")
    propose_and_pass(
        driver, consortium, admit_device_ca=governance_pb2.AdmitDeviceCa(ca_id="acme", ca_der=acme.cert_der)
    )
    propose_and_pass(driver, consortium, revoke_device_ca=governance_pb2.RevokeDeviceCa(ca_id="acme"))
    exported, fresh = export_and_import(driver.app.state)
    assert [d["ca_id"] for d in exported["device_cas"]] == ["acme", TEST_DEVICE_CA]
    assert exported["devices"]["commissionings"][0]["deviceId"] == "pv-1"
    assert differences(IDENTITY, driver.app.state, fresh) == []
    assert differences(DEVICES, driver.app.state, fresh) == []


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda s: s["device_cas"].append(dict(s["device_cas"][0])), "duplicate device CA"),
        (lambda s: s["device_cas"][0].update(ca_pem=s["device_cas"][0]["ca_pem"][:40]), "not a PEM certificate"),
        (lambda s: s["device_cas"][0].update(org_id="nope"), "org_id"),
        (lambda s: s["device_cas"][0].update(ca_id="Bad Id"), "ca_id"),
        (lambda s: s["devices"]["devices"][0].update(certCaId="nope"), "not a genesis device CA"),
        (lambda s: s["devices"]["commissionings"][0].update(deviceId="m-1"), "not a certified pv"),
        (lambda s: s["devices"]["commissionings"][0].update(validFrom="99", expiry="99"), "validFrom < expiry"),
    ],
    ids=["duplicate CA", "bad PEM", "unknown org", "bad id", "unknown CA", "meter commissioned", "empty period"],
)
def test_bad_trust_entries_in_genesis_are_refused(
    driver: AppDriver, consortium: Consortium, mutate: Callable[[dict[str, Any]], None], message: str
) -> None:
    """A genesis that names unknown or malformed device CAs or attestations is refused, naming the field."""
    alice = _site(driver, consortium)
    certified_generator(driver, alice, "pv-1", "site-a")
    meter = dc.register_device("m-1", "site-a", "meter", dc.device_public_key(Ed25519PrivateKey.generate()), 20_000)
    assert driver.block([signed(driver, alice, meter)]).codes == (0,)
    exported, _ = export_and_import(driver.app.state)
    exported["devices"]["devices"].sort(key=lambda d: d["deviceId"] != "pv-1")
    mutate(exported)
    with pytest.raises(GenesisError, match=message):
        apply_genesis(Branch(MemoryBackend()), BlockInfo("x", 1, 0), json.dumps(exported).encode(), [])


def test_only_the_attesting_org_withdraws_and_a_withdrawn_capability_commissions_nothing(
    driver: AppDriver, consortium: Consortium
) -> None:
    """A certifier of a second certifying org cannot withdraw the first org's attestation; once
    governance withdraws that org's certifier capability, its certifier commissions nothing."""
    alice = _site(driver, consortium)
    certified_generator(driver, alice, "pv-1", "site-a")
    caps = governance_pb2.SetOrgCapabilities(org_id="utility", capabilities=["auditor", "certifier", "issuer"])
    propose_and_pass(driver, consortium, set_org_capabilities=caps)
    ops = consortium.member("utility/ops")
    grant = identity_pb2.GrantRole(member=ops.address, role="certifier")
    assert driver.block([signed(driver, consortium.member("utility/admin"), grant)]).codes == (0,)
    withdraw = dc.withdraw_commissioning("pv-1")
    for hostile in (False, True):
        assert outcome(driver, ops, withdraw, hostile=hostile) == DevicesCode.NOT_ATTESTING_ORG
    assert driver.query("/commissioning/pv-1").value
    caps = governance_pb2.SetOrgCapabilities(org_id="utility", capabilities=["auditor", "issuer"])
    propose_and_pass(driver, consortium, set_org_capabilities=caps)
    assert outcome(driver, ops, dc.commission_device("pv-1", 0, FOREVER), hostile=True) == Code.UNAUTHORIZED


def test_a_makers_device_ca_made_and_admitted_with_gridctl_certifies_its_devices(
    driver: AppDriver, consortium: Consortium, tmp_path: Path
) -> None:
    """A maker makes its device CA (`gridctl ca init-device`) and a certificate for a PV's key
    (`gridctl ca issue-device`, from the PV's key file); `gridctl propose admit-device-ca` builds
    the proposal that passes; the site owner registers the PV with that certificate, certified by
    the maker's CA. A certificate issued for another nameplate is refused as the ledger says."""
    made = run_gridctl("--json", "ca", "init-device", str(tmp_path / "acme"), "--ca-id", "acme-pv", "--name", "Acme PV")
    assert made.returncode == 0, made.stderr
    bad_id = run_gridctl("ca", "init-device", str(tmp_path / "x"), "--ca-id", "Acme PV")
    assert bad_id.returncode == 2
    assert "not a device CA id" in bad_id.stderr
    key = generate_key(tmp_path / "pv.key.pem")
    for name, nameplate in (("pv.pem", "5000"), ("other.pem", "9000")):
        issued = run_gridctl(
            "--json", "ca", "issue-device", "pv-acme", str(tmp_path / name), "--ca-dir", str(tmp_path / "acme"),
            "--kind", "pv", "--key-file", str(tmp_path / "pv.key.pem"), "--nameplate-w", nameplate,
        )  # fmt: skip
        assert issued.returncode == 0, issued.stderr
        assert json.loads(issued.stdout)["public_key"] == dc.device_public_key(key).hex()

    argv = [
        "propose",
        "admit-device-ca",
        "--ca-id",
        "acme-pv",
        "--ca-cert",
        str(tmp_path / "acme" / "device-ca.cert.pem"),
    ]
    proposal = build_proposal(build_parser().parse_args(argv))
    assert proposal.admit_device_ca.name == "acme-pv"
    assert propose_and_pass(driver, consortium, admit_device_ca=proposal.admit_device_ca).status == (
        governance_pb2.PROPOSAL_STATUS_PASSED
    )
    driver.block([], seconds=max(1, int(time.time()) - driver.time))  # block time now: the CA dates from today
    m = Market(driver, consortium)
    m.setup()

    def der(name: str) -> bytes:
        return x509.load_pem_x509_certificate((tmp_path / name).read_bytes()).public_bytes(Encoding.DER)

    assert m.run(m.alice, pv("pv-acme", key, 5_000, der("other.pem")))[0] == DevicesCode.DEVICE_CERT_NAMEPLATE_MISMATCH
    m.ok(m.alice, pv("pv-acme", key, 5_000, der("pv.pem")))
    device = devices_pb2.Device.FromString(driver.query("/device/pv-acme").value)
    assert device.cert_ca_id == "acme-pv"
