"""The stored records of governance: proposals, the pending upgrade plan, applied upgrades.

Each encodes field by field (abci_app/proto_record.py) to the `gridledger.governance.v1`
message of the same name; `decode(raw).encode() == raw`.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

from gridledger.governance.v1 import governance_pb2

from abci_app.proto_record import ProtoRecord, proto_record

__all__ = ["AppliedUpgrade", "Proposal", "Status", "UpgradePlan"]


class Status(IntEnum):
    """A proposal's status (the numbers of gridledger.governance.v1.ProposalStatus; consensus)."""

    VOTING = governance_pb2.PROPOSAL_STATUS_VOTING
    PASSED = governance_pb2.PROPOSAL_STATUS_PASSED
    REJECTED = governance_pb2.PROPOSAL_STATUS_REJECTED
    EXPIRED = governance_pb2.PROPOSAL_STATUS_EXPIRED
    FAILED = governance_pb2.PROPOSAL_STATUS_FAILED


@proto_record()
@dataclass(frozen=True, slots=True)
class Proposal(ProtoRecord[governance_pb2.Proposal]):
    """A proposal: who opened it and when, its action's bytes, its deadline and status, the orgs that voted
    yes and no (sorted), and what executing it gave."""

    id: int
    proposer: bytes
    proposer_org: str
    title: str
    action: bytes
    submitted_at: int
    deadline: int
    status: Status
    yes_orgs: tuple[str, ...]
    no_orgs: tuple[str, ...]
    result: str
    action_kind: str = ""  # set once the upgrade "proposal-kinds" ran (abci_app/upgrades/proposal_kinds.py)


@proto_record()
@dataclass(frozen=True, slots=True)
class UpgradePlan(ProtoRecord[governance_pb2.UpgradePlan]):
    """The pending software upgrade: at block `height` the migration `name` runs (or the app stops)."""

    name: str
    height: int
    info: str
    proposal_id: int


@proto_record()
@dataclass(frozen=True, slots=True)
class AppliedUpgrade(ProtoRecord[governance_pb2.AppliedUpgrade]):
    """An upgrade whose migration ran at `height` (it never runs again)."""

    name: str
    height: int
