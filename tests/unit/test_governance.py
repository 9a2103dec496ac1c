"""Governance: proposals are submitted by org admins, voted one vote per org, and executed at > 2/3."""

from __future__ import annotations

from collections.abc import Sequence

from google.protobuf.message import Message
from gridledger.governance.v1 import governance_pb2
from gridledger.identity.v1 import identity_pb2

from abci_app.errors import Code
from abci_app.governance.errors import GovernanceCode
from abci_app.identity.errors import IdentityCode
from abci_app.pb import abci, state_pb2
from clients.ops.consortium import Consortium
from clients.pki import new_org_ca
from tests.support.driver import AppDriver, BlockResult
from tests.unit.helpers import proposal, signed, submit, transfer, vote

ORGS = ("utility", "gridop", "certissuer", "community-a", "community-b")  # 5 orgs: 4 yes votes pass, 2 no reject
WEEK = 7 * 24 * 3600  # the default voting period


def _attrs(events: Sequence[abci.Event], type_: str) -> list[dict[str, str]]:
    return [{a.key: a.value for a in e.attributes} for e in events if e.type == type_]


def _admin(consortium: Consortium, org: str) -> str:
    return f"{org}/admin"


class Gov:
    def __init__(self, driver: AppDriver, consortium: Consortium) -> None:
        self.driver = driver
        self.c = consortium
        driver.block([])  # commit genesis

    def run(self, ref: str, *msgs: Message) -> BlockResult:
        """One tx in its own block (forced in, so failures show their FinalizeBlock code)."""
        return self.driver.block([signed(self.driver, self.c.member(ref), *msgs)], check=False)

    def propose(self, by: str = "utility", **action: object) -> int:
        result = self.run(_admin(self.c, by), submit("test proposal", **action))
        assert result.codes == (0,), result.tx_results[0].log
        (event,) = _attrs(result.tx_results[0].events, "proposal_submitted")
        assert event["org"] == by
        return int(event["proposal_id"])

    def vote(self, pid: int, org: str, approve: bool = True) -> BlockResult:
        return self.run(_admin(self.c, org), vote(pid, approve))

    def pass_(self, pid: int, orgs: Sequence[str] = ORGS[:4]) -> BlockResult:
        """Vote yes from `orgs`, one block each; returns the block of the deciding vote."""
        result = None
        for org in orgs:
            result = self.vote(pid, org)
            assert result.codes == (0,), result.tx_results[0].log
        assert result is not None
        assert proposal(self.driver, pid).status == governance_pb2.PROPOSAL_STATUS_PASSED
        return result


def test_admit_org_then_its_admin_self_enrols(driver: AppDriver, consortium: Consortium) -> None:
    """An admitted org's CA is trusted: its admin enrols itself and can vote; before passing it could not."""
    gov = Gov(driver, consortium)
    ca = new_org_ca("community-c", name="Community C root CA")
    admin = ca.issue("admin.community-c", ["admin"])
    enrol = identity_pb2.EnrollMember(certificate_der=admin.cert_der)
    # Before the org exists, enrolment fails.
    early = driver.block([signed(driver, admin, enrol)], check=False)
    assert early.codes == (IdentityCode.UNKNOWN_ORG,)

    pid = gov.propose(
        admit_org=governance_pb2.AdmitOrg(org_id="community-c", name="Community C", root_ca_der=ca.cert_der)
    )
    assert proposal(driver, pid).status == governance_pb2.PROPOSAL_STATUS_VOTING
    for org in ORGS[:3]:
        assert gov.vote(pid, org).codes == (0,)
    assert proposal(driver, pid).status == governance_pb2.PROPOSAL_STATUS_VOTING  # 3 of 5 is not > 2/3
    deciding = gov.pass_(pid, ORGS[3:4])
    events = deciding.tx_results[0].events
    assert _attrs(events, "org_admitted") == [{"org": "community-c", "name": "Community C"}]
    assert _attrs(events, "proposal_passed") == [{"proposal_id": str(pid)}]
    assert _attrs(events, "proposal_vote") == [{"proposal_id": str(pid), "org": "community-a", "approve": "True"}]
    record = proposal(driver, pid)
    assert list(record.yes_orgs) == sorted(ORGS[:4])
    assert record.result == "executed"

    result = driver.block([signed(driver, admin, enrol)])
    assert result.codes == (0,), result.tx_results[0].log
    (enrolled,) = _attrs(result.tx_results[0].events, "member_enrolled")
    assert enrolled["org"] == "community-c"
    assert enrolled["roles"] == "admin"
    orgs = identity_pb2.OrgList.FromString(driver.query("/orgs").value)
    assert "community-c" in [o.org_id for o in orgs.orgs]

    # The new org now votes: with 6 active orgs, 5 yes votes are needed.
    pid2 = gov.propose(change_param=governance_pb2.ChangeParam(name="max_memo_bytes", value=100))
    for org in ORGS[:4]:
        assert gov.vote(pid2, org).codes == (0,)
    assert proposal(driver, pid2).status == governance_pb2.PROPOSAL_STATUS_VOTING
    last = driver.block([signed(driver, admin, vote(pid2))])
    assert last.codes == (0,)
    assert proposal(driver, pid2).status == governance_pb2.PROPOSAL_STATUS_PASSED


def test_remove_org_stops_its_members(driver: AppDriver, consortium: Consortium) -> None:
    """After an org is removed, its members' txs fail with ORG_INACTIVE, nobody can pay them, and
    its admin cannot vote."""
    gov = Gov(driver, consortium)
    carol = consortium.member("community-b/carol")
    assert gov.run("community-b/carol", transfer(consortium.member("community-a/alice"), 1)).codes == (0,)
    pid = gov.propose(remove_org=governance_pb2.RemoveOrg(org_id="community-b"))
    deciding = gov.pass_(pid)
    assert _attrs(deciding.tx_results[0].events, "org_removed") == [{"org": "community-b"}]
    tx = signed(driver, carol, transfer(consortium.member("community-a/alice"), 1))
    assert driver.block([tx]).check_codes == (Code.ORG_INACTIVE,)
    assert driver.block([tx], check=False).codes == (Code.ORG_INACTIVE,)
    to_carol = signed(driver, consortium.member("community-a/alice"), transfer(carol, 1))
    assert driver.block([to_carol]).check_codes == (Code.ORG_INACTIVE,)
    pid2 = gov.propose(change_param=governance_pb2.ChangeParam(name="max_memo_bytes", value=100))
    assert gov.vote(pid2, "community-b").codes == (Code.ORG_INACTIVE,)
    # Four orgs remain: 3 yes votes are now > 2/3.
    gov.pass_(pid2, ORGS[:3])


def test_change_param_takes_effect(driver: AppDriver, consortium: Consortium) -> None:
    """A passed ChangeParam updates /params and the next txs are judged by the new value."""
    gov = Gov(driver, consortium)
    alice, bob = consortium.member("community-a/alice"), consortium.member("community-a/bob")
    memo = "m" * 20
    assert driver.block([signed(driver, alice, transfer(bob, 1), memo=memo)]).codes == (0,)
    pid = gov.propose(change_param=governance_pb2.ChangeParam(name="max_memo_bytes", value=10))
    deciding = gov.pass_(pid)
    assert _attrs(deciding.tx_results[0].events, "param_changed") == [{"name": "max_memo_bytes", "value": "10"}]
    assert state_pb2.Params.FromString(driver.query("/params").value).max_memo_bytes == 10
    result = driver.block([signed(driver, alice, transfer(bob, 1), memo=memo)], check=False)
    assert result.codes == (Code.MEMO_TOO_LONG,)
    assert driver.block([signed(driver, alice, transfer(bob, 1), memo="short")]).codes == (0,)


def test_update_validator_is_returned_by_finalize_block(driver: AppDriver, consortium: Consortium) -> None:
    """A passed UpdateValidator shows in FinalizeBlock's updates and /validators; removing the last is refused."""
    gov = Gov(driver, consortium)
    new_key = b"\x02" * 32
    pid = gov.propose(update_validator=governance_pb2.UpdateValidator(pub_key_ed25519=new_key, power=7))
    for org in ORGS[:3]:
        assert not gov.vote(pid, org).response.validator_updates
    deciding = gov.pass_(pid, ORGS[3:4])
    updates = [(u.pub_key.ed25519, u.power) for u in deciding.response.validator_updates]
    assert updates == [(new_key, 7)]
    (event,) = _attrs(deciding.tx_results[0].events, "validator_updated")
    assert event == {"pub_key": new_key.hex(), "power": "7"}
    listed = governance_pb2.ValidatorList.FromString(driver.query("/validators").value)
    assert {(v.pub_key_ed25519, v.power) for v in listed.validators} == {(b"\x01" * 32, 10), (new_key, 7)}
    # Removing the last remaining validator is refused at submission.
    only = AppDriver(consortium)
    Gov(only, consortium)
    refused = only.block(
        [
            signed(
                only,
                consortium.member("utility/admin"),
                submit(update_validator=governance_pb2.UpdateValidator(pub_key_ed25519=b"\x01" * 32, power=0)),
            )
        ]
    )
    assert refused.check_codes == (GovernanceCode.INVALID_PROPOSAL,)


def test_rejected_when_threshold_unreachable(driver: AppDriver, consortium: Consortium) -> None:
    """Two no votes of five make > 2/3 unreachable: the proposal is REJECTED and closed to further votes."""
    gov = Gov(driver, consortium)
    pid = gov.propose(change_param=governance_pb2.ChangeParam(name="max_memo_bytes", value=10))
    assert gov.vote(pid, "utility").codes == (0,)
    assert gov.vote(pid, "gridop", approve=False).codes == (0,)
    assert proposal(driver, pid).status == governance_pb2.PROPOSAL_STATUS_VOTING
    result = gov.vote(pid, "certissuer", approve=False)
    assert result.codes == (0,)
    assert _attrs(result.tx_results[0].events, "proposal_rejected") == [{"proposal_id": str(pid)}]
    record = proposal(driver, pid)
    assert record.status == governance_pb2.PROPOSAL_STATUS_REJECTED
    assert list(record.no_orgs) == ["certissuer", "gridop"]
    assert gov.vote(pid, "community-a").codes == (GovernanceCode.PROPOSAL_CLOSED,)
    assert state_pb2.Params.FromString(driver.query("/params").value).max_memo_bytes == 256


def test_expires_at_the_deadline(driver: AppDriver, consortium: Consortium) -> None:
    """A proposal still voting at its deadline is EXPIRED by the first block at or after it, with an event."""
    gov = Gov(driver, consortium)
    pid = gov.propose(change_param=governance_pb2.ChangeParam(name="max_memo_bytes", value=10))
    deadline = proposal(driver, pid).deadline
    assert deadline == driver.time + WEEK
    driver.block([], seconds=deadline - driver.time - 2)  # one second before the next block hits the deadline
    assert gov.vote(pid, "utility").codes == (0,)  # block time is deadline - 1: still open
    assert driver.time == deadline - 1
    expiring = driver.block([], seconds=1)
    assert driver.time == deadline
    assert _attrs(expiring.response.events, "proposal_expired") == [{"proposal_id": str(pid)}]
    record = proposal(driver, pid)
    assert record.status == governance_pb2.PROPOSAL_STATUS_EXPIRED
    assert record.result == "deadline passed"
    assert gov.vote(pid, "gridop").codes == (GovernanceCode.PROPOSAL_CLOSED,)


def test_already_voted_and_closed(driver: AppDriver, consortium: Consortium) -> None:
    """An org votes once (ALREADY_VOTED); votes on passed or unknown proposals and by non-admins fail."""
    gov = Gov(driver, consortium)
    pid = gov.propose(change_param=governance_pb2.ChangeParam(name="max_memo_bytes", value=10))
    assert gov.vote(pid, "utility").codes == (0,)
    again = gov.vote(pid, "utility", approve=False)
    assert again.codes == (GovernanceCode.ALREADY_VOTED,)
    assert list(proposal(driver, pid).no_orgs) == []
    gov.pass_(pid, ORGS[1:4])
    assert gov.vote(pid, "community-b").codes == (GovernanceCode.PROPOSAL_CLOSED,)
    assert gov.vote(999, "community-b").codes == (GovernanceCode.UNKNOWN_PROPOSAL,)
    # Only admins vote.
    assert gov.run("community-a/alice", vote(pid)).codes == (Code.UNAUTHORIZED,)


def test_failed_execution_marks_failed_but_the_vote_succeeds(driver: AppDriver, consortium: Consortium) -> None:
    """A passed proposal that cannot execute any more is FAILED with the reason, while the deciding vote succeeds."""
    gov = Gov(driver, consortium)
    ca = new_org_ca("community-d")
    admit = governance_pb2.AdmitOrg(org_id="community-d", name="D", root_ca_der=ca.cert_der)
    first = gov.propose(admit_org=admit)
    second = gov.propose(by="gridop", admit_org=admit)  # valid when submitted: the org does not exist yet
    gov.pass_(first)
    # Six active orgs now (community-d has no members yet): all five others must approve.
    for org in ORGS[:4]:
        assert gov.vote(second, org).codes == (0,)
    assert proposal(driver, second).status == governance_pb2.PROPOSAL_STATUS_VOTING
    deciding = gov.vote(second, ORGS[4])
    assert deciding.codes == (0,)
    events = deciding.tx_results[0].events
    (failed,) = _attrs(events, "proposal_failed")
    assert failed["proposal_id"] == str(second)
    assert failed["code"] == str(int(IdentityCode.ORG_EXISTS))
    assert not _attrs(events, "org_admitted")
    record = proposal(driver, second)
    assert record.status == governance_pb2.PROPOSAL_STATUS_FAILED
    assert "already exists" in record.result
    assert list(record.yes_orgs) == sorted(ORGS)  # the deciding vote was recorded


def test_invalid_proposals_are_refused_at_submission(driver: AppDriver, consortium: Consortium) -> None:
    """Proposals that could never execute are refused when submitted, with specific codes."""
    gov = Gov(driver, consortium)
    admin = "utility/admin"
    assert gov.run(admin, submit(change_param=governance_pb2.ChangeParam(name="no_such", value=1))).codes == (
        GovernanceCode.INVALID_PROPOSAL,
    )
    assert gov.run(admin, submit(change_param=governance_pb2.ChangeParam(name="max_tx_bytes", value=1))).codes == (
        GovernanceCode.INVALID_PROPOSAL,
    )
    existing = governance_pb2.AdmitOrg(org_id="gridop", name="again", root_ca_der=consortium.cas["gridop"].cert_der)
    assert gov.run(admin, submit(admit_org=existing)).codes == (IdentityCode.ORG_EXISTS,)
    not_ca = governance_pb2.AdmitOrg(
        org_id="community-e", name="E", root_ca_der=consortium.member("gridop/admin").cert_der
    )
    assert gov.run(admin, submit(admit_org=not_ca)).codes == (IdentityCode.CERT_INVALID,)
    assert gov.run(admin, submit(remove_org=governance_pb2.RemoveOrg(org_id="nobody"))).codes == (
        IdentityCode.UNKNOWN_ORG,
    )
    assert gov.run(admin, submit()).codes == (GovernanceCode.INVALID_PROPOSAL,)
    proposals = governance_pb2.ProposalList.FromString(driver.query("/proposals").value)
    assert list(proposals.proposals) == []


def test_a_parameter_set_to_zero_stays_zero() -> None:
    """max_memo_bytes may be 0; a stored 0 decodes as 0, while a record written before
    max_pending_txs_per_signer existed decodes to that field's default."""
    from abci_app.params import Params

    zero_memo = Params().with_value("max_memo_bytes", 0)
    assert Params.decode(zero_memo.encode()).max_memo_bytes == 0
    old_record = state_pb2.Params(max_tx_bytes=65_536, max_msgs_per_tx=64, quorum_numerator=2, quorum_denominator=3)
    assert (
        Params.decode(old_record.SerializeToString()).max_pending_txs_per_signer == Params().max_pending_txs_per_signer
    )
