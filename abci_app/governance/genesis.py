"""Governance's genesis section `governance`: proposals (with their votes), the id counter, and
the software upgrades (the pending plan, the applied ones).

    "governance": {"proposals": [Proposal as JSON], "last_proposal_id": 7,
                   "upgrade_plan": UpgradePlan as JSON,  "applied_upgrades": [AppliedUpgrade as JSON]}

`upgrade_plan` and `applied_upgrades` appear only when there is one (absent: none). A plan's
height must be at least the chain's first height (it then runs, or stops an app without its
migration, at that height); an applied upgrade never runs again on the imported chain.

The section is `gridledger.governance.v1.GenesisState` in protobuf's JSON mapping (bytes in
base64, 64-bit integers as strings or numbers, an export writes strings; a proposal's `action`
is the serialised SubmitProposal); an org's vote is its id in `yesOrgs` or
`noOrgs`. `last_proposal_id` is the last id handed out (0: none yet; absent: the highest
imported id), so a proposal submitted after the import never reuses an id. The deadline
index follows from the proposals (an open proposal expires at its deadline). An export
carries every stored record, so importing it rebuilds the proposals, the index and the
counter byte for byte.

The validator set is not part of this section: CometBFT's genesis `validators` carry it and
`abci_app.genesis.apply_genesis` stores it (an export's validators are the exporting
chain's current set, as `iter_validators` lists it).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from google.protobuf.message import DecodeError
from gridledger.governance.v1 import genesis_pb2 as gpb
from gridledger.governance.v1 import governance_pb2

from abci_app.domain import GenesisError
from abci_app.errors import TxError
from abci_app.genesis_fields import parse_section, sections_json
from abci_app.governance import keeper, keys, upgrades
from abci_app.governance.messages import MAX_PROPOSAL_ID, action_from_proto
from abci_app.governance.records import AppliedUpgrade, Proposal, Status, UpgradePlan
from abci_app.identity.keeper import get_member, get_org
from abci_app.store.branch import Branch, KVReader
from abci_app.types import BlockInfo

__all__ = ["SECTIONS", "export_genesis", "import_genesis"]

SECTIONS = ("governance",)
_MAX_TITLE = 256
_MAX_RESULT = 65_536


def _orgs(store: Branch, orgs: tuple[str, ...], where: str) -> None:
    if list(orgs) != sorted(set(orgs)):
        raise GenesisError(f"{where}: expected sorted, unique org ids")
    for org_id in orgs:
        if get_org(store, org_id) is None:
            raise GenesisError(f"{where}: unknown org {org_id[:40]!r}")


def _action(raw: bytes, status: Status, where: str) -> None:
    """The action must be a serialised SubmitProposal with an action; an open proposal's
    must still convert (it executes when it passes)."""
    try:
        submitted = governance_pb2.SubmitProposal.FromString(raw)
    except DecodeError as exc:
        raise GenesisError(f"{where}.action: not a serialised SubmitProposal") from exc
    if submitted.WhichOneof("action") is None:
        raise GenesisError(f"{where}.action: the proposal has no action")
    if status == Status.VOTING:
        try:
            action_from_proto(submitted)
        except TxError as exc:
            raise GenesisError(f"{where}.action: {exc.log}") from exc


def _proposal(store: Branch, pb: governance_pb2.Proposal, where: str) -> Proposal:
    if int(pb.status) not in {int(s) for s in Status}:
        raise GenesisError(f"{where}.status: expected one of {[governance_pb2.ProposalStatus.Name(s) for s in Status]}")
    status = Status(pb.status)
    p = Proposal.decode(pb.SerializeToString())
    if not 1 <= p.id <= MAX_PROPOSAL_ID:
        raise GenesisError(f"{where}.id: expected an id in [1, {MAX_PROPOSAL_ID}]")
    if keeper.get_proposal(store, p.id) is not None:
        raise GenesisError(f"{where}.id: duplicate proposal {p.id}")
    proposer = get_member(store, p.proposer)
    if proposer is None or proposer.org_id != p.proposer_org:
        raise GenesisError(f"{where}.proposer: not a member of org {p.proposer_org[:40]!r}")
    if len(p.title.encode()) > _MAX_TITLE or len(p.result.encode()) > _MAX_RESULT:
        raise GenesisError(f"{where}: title or result too long")
    if not 0 <= p.submitted_at <= p.deadline:
        raise GenesisError(f"{where}.deadline: expected 0 <= submittedAt <= deadline")
    _action(p.action, status, where)
    _orgs(store, p.yes_orgs, f"{where}.yesOrgs")
    _orgs(store, p.no_orgs, f"{where}.noOrgs")
    if set(p.yes_orgs) & set(p.no_orgs):
        raise GenesisError(f"{where}: an org voted both yes and no")
    return p


def _upgrades(store: Branch, block: BlockInfo, section: gpb.GenesisState) -> None:
    """The applied upgrades (unique), then the pending plan."""
    for i, pb in enumerate(section.applied_upgrades):
        where = f"governance.applied_upgrades[{i}]"
        if not upgrades.is_upgrade_name(pb.name) or not 1 <= pb.height < 1 << 62:
            raise GenesisError(f"{where}: expected a valid name and a positive height")
        if upgrades.is_applied(store, pb.name):
            raise GenesisError(f"{where}: duplicate upgrade {pb.name!r}")
        upgrades.mark_applied(store, AppliedUpgrade(pb.name, pb.height))
    if not section.HasField("upgrade_plan"):
        return
    where = "governance.upgrade_plan"
    plan = section.upgrade_plan
    if not upgrades.is_upgrade_name(plan.name) or upgrades.is_applied(store, plan.name):
        raise GenesisError(f"{where}.name: expected a valid name of an upgrade that has not run")
    if not block.height <= plan.height < 1 << 62 or len(plan.info.encode()) > upgrades.MAX_INFO_BYTES:
        raise GenesisError(f"{where}: expected a height of at least {block.height} and a short info")
    upgrades.set_plan(store, UpgradePlan(plan.name, plan.height, plan.info, plan.proposal_id))


def import_genesis(store: Branch, block: BlockInfo, sections: Mapping[str, Any]) -> None:
    """Store the upgrades, each proposal (checked against identity) and the id counter;
    GenesisError names the first field that is wrong."""
    section = parse_section(sections, "governance", gpb.GenesisState())
    _upgrades(store, block, section)
    highest = 0
    for i, item in enumerate(section.proposals):
        p = _proposal(store, item, f"governance.proposals[{i}]")
        keeper.put_proposal(store, p)
        highest = max(highest, p.id)
    last = section.last_proposal_id if section.HasField("last_proposal_id") else highest
    if not highest <= last <= MAX_PROPOSAL_ID:
        raise GenesisError(
            f"governance.last_proposal_id: expected an integer in [{highest}, {MAX_PROPOSAL_ID}] "
            "(at least the highest proposal id)"
        )
    if last:
        store.set(keys.proposal_seq(), last.to_bytes(8, "big"))


def export_genesis(store: KVReader) -> dict[str, Any]:
    """Every proposal in id order, the last id handed out, and the upgrades (when there are any)."""
    raw = store.get(keys.proposal_seq())
    section = gpb.GenesisState(
        proposals=[governance_pb2.Proposal.FromString(p.encode()) for p in keeper.iter_proposals(store)],
        last_proposal_id=0 if raw is None else int.from_bytes(raw, "big"),
        applied_upgrades=[governance_pb2.AppliedUpgrade.FromString(a.encode()) for a in upgrades.iter_applied(store)],
    )
    plan = upgrades.get_plan(store)
    if plan is not None:
        section.upgrade_plan.CopyFrom(governance_pb2.UpgradePlan.FromString(plan.encode()))
    return {"governance": sections_json(section)}
