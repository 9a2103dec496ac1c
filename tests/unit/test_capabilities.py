"""Least privilege: an org's capabilities bound its members' roles; only governance changes them."""

from __future__ import annotations

from google.protobuf.message import Message
from gridledger.accounts.v1 import accounts_pb2
from gridledger.governance.v1 import governance_pb2
from gridledger.identity.v1 import identity_pb2

from abci_app.errors import Code
from abci_app.identity.errors import IdentityCode
from clients.ops.consortium import Consortium
from clients.pki import Identity
from tests.support.driver import AppDriver
from tests.unit.helpers import mint, signed, submit, vote

PASSING_ORGS = ("utility", "gridop", "certissuer", "community-a")


def _supply(driver: AppDriver) -> bytes:
    return driver.query("/supply").value


def _one(driver: AppDriver, who: Identity, *msgs: Message) -> int:
    result = driver.block([signed(driver, who, *msgs)], check=False)
    return result.codes[0]


def test_admin_cannot_grant_its_own_org_the_issuer_role(driver: AppDriver, consortium: Consortium) -> None:
    """The issue's attack: community-a's admin grants itself issuer, then mints. Both refused, supply unchanged."""
    driver.block([])
    admin = consortium.member("community-a/admin")
    before = _supply(driver)
    grant = identity_pb2.GrantRole(member=admin.address, role="issuer")
    assert _one(driver, admin, grant) == IdentityCode.ROLE_NOT_ALLOWED
    assert _one(driver, admin, mint(admin, 1_000_000_000)) == Code.UNAUTHORIZED
    assert _supply(driver) == before


def test_certificate_ou_beyond_capabilities_is_refused(driver: AppDriver, consortium: Consortium) -> None:
    """A community CA that writes OU=issuer (or operator) into a certificate cannot enrol it."""
    driver.block([])
    ca = consortium.cas["community-a"]
    for role in ("issuer", "operator", "certifier"):
        rogue = ca.issue(f"rogue-{role}.community-a", ["prosumer", role])
        code = _one(driver, rogue, identity_pb2.EnrollMember(certificate_der=rogue.cert_der))
        assert code == IdentityCode.CERT_ROLE_NOT_ALLOWED, role
    # Within the capabilities the same CA enrols fine.
    ok = ca.issue("fine.community-a", ["prosumer", "gateway"])
    assert _one(driver, ok, identity_pb2.EnrollMember(certificate_der=ok.cert_der)) == 0


def test_admin_of_another_org_and_revoked_admin_are_refused(driver: AppDriver, consortium: Consortium) -> None:
    """An admin acts only on its own org's members; a revoked admin cannot act at all."""
    driver.block([])
    util_admin = consortium.member("utility/admin")
    alice = consortium.member("community-a/alice")
    before = _supply(driver)
    grant = identity_pb2.GrantRole(member=alice.address, role="prosumer")
    assert _one(driver, util_admin, grant) == IdentityCode.NOT_ADMIN_OF_ORG
    # community-b's admin is revoked by a second admin of its org, then tries to grant.
    b_ca = consortium.cas["community-b"]
    second = b_ca.issue("admin2.community-b", ["admin"])
    assert _one(driver, second, identity_pb2.EnrollMember(certificate_der=second.cert_der)) == 0
    b_admin = consortium.member("community-b/admin")
    assert _one(driver, second, identity_pb2.RevokeMember(member=b_admin.address, reason="lost laptop")) == 0
    carol = consortium.member("community-b/carol")
    regrant = identity_pb2.GrantRole(member=carol.address, role="gateway")
    assert _one(driver, b_admin, regrant) == Code.MEMBER_REVOKED
    assert _supply(driver) == before


def _pass(driver: AppDriver, consortium: Consortium, action: Message) -> None:
    admin = consortium.member("utility/admin")
    result = driver.block([signed(driver, admin, action)], check=False)
    assert result.codes == (0,), result.tx_results[0].log
    pid = next(
        int(a.value)
        for e in result.tx_results[0].events
        if e.type == "proposal_submitted"
        for a in e.attributes
        if a.key == "proposal_id"
    )
    for org in PASSING_ORGS:
        assert _one(driver, consortium.member(f"{org}/admin"), vote(pid)) == 0


def test_governance_grants_and_withdraws_a_capability(driver: AppDriver, consortium: Consortium) -> None:
    """Only a passed proposal widens an org's capabilities; withdrawing one disables the role at once."""
    driver.block([])
    admin = consortium.member("community-a/admin")
    bob = consortium.member("community-a/bob")
    grant = identity_pb2.GrantRole(member=bob.address, role="issuer")
    assert _one(driver, admin, grant) == IdentityCode.ROLE_NOT_ALLOWED
    widen = governance_pb2.SetOrgCapabilities(org_id="community-a", capabilities=["gateway", "prosumer", "issuer"])
    _pass(driver, consortium, submit(set_org_capabilities=widen))
    assert _one(driver, admin, grant) == 0
    assert _one(driver, bob, mint(bob, 5)) == 0
    narrow = governance_pb2.SetOrgCapabilities(org_id="community-a", capabilities=["gateway", "prosumer"])
    _pass(driver, consortium, submit(set_org_capabilities=narrow))
    assert _one(driver, bob, mint(bob, 5)) == Code.UNAUTHORIZED  # role still stored, capability gone


def test_bad_capabilities_are_invalid_arguments(driver: AppDriver, consortium: Consortium) -> None:
    """Unknown roles and `admin` are not capabilities."""
    driver.block([])
    admin = consortium.member("utility/admin")
    for caps in (["wizard"], ["admin"]):
        bad = governance_pb2.SetOrgCapabilities(org_id="utility", capabilities=caps)
        assert _one(driver, admin, submit(set_org_capabilities=bad)) == Code.INVALID_ARGUMENT
    mint_msg = accounts_pb2.Mint(to=admin.address, amount=1)
    assert _one(driver, admin, mint_msg) == Code.UNAUTHORIZED  # utility's admin holds no issuer role
