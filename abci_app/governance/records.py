"""The stored records: proposals, the pending upgrade plan, applied upgrades."""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

from gridledger.governance.v1 import governance_pb2

__all__ = ["AppliedUpgrade", "Proposal", "Status", "UpgradePlan"]


class Status(IntEnum):
    VOTING = governance_pb2.PROPOSAL_STATUS_VOTING
    PASSED = governance_pb2.PROPOSAL_STATUS_PASSED
    REJECTED = governance_pb2.PROPOSAL_STATUS_REJECTED
    EXPIRED = governance_pb2.PROPOSAL_STATUS_EXPIRED
    FAILED = governance_pb2.PROPOSAL_STATUS_FAILED


@dataclass(frozen=True, slots=True)
class Proposal:
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

    def encode(self) -> bytes:
        return governance_pb2.Proposal(
            id=self.id,
            proposer=self.proposer,
            proposer_org=self.proposer_org,
            title=self.title,
            action=self.action,
            submitted_at=self.submitted_at,
            deadline=self.deadline,
            status=int(self.status),  # type: ignore[arg-type]
            yes_orgs=self.yes_orgs,
            no_orgs=self.no_orgs,
            result=self.result,
            action_kind=self.action_kind,
        ).SerializeToString()

    @staticmethod
    def decode(raw: bytes) -> Proposal:
        pb = governance_pb2.Proposal.FromString(raw)
        return Proposal(
            id=pb.id,
            proposer=pb.proposer,
            proposer_org=pb.proposer_org,
            title=pb.title,
            action=pb.action,
            submitted_at=pb.submitted_at,
            deadline=pb.deadline,
            status=Status(pb.status),
            yes_orgs=tuple(pb.yes_orgs),
            no_orgs=tuple(pb.no_orgs),
            result=pb.result,
            action_kind=pb.action_kind,
        )


@dataclass(frozen=True, slots=True)
class UpgradePlan:
    """The pending software upgrade: at block `height` the migration `name` runs (or the app stops)."""

    name: str
    height: int
    info: str
    proposal_id: int

    def encode(self) -> bytes:
        return governance_pb2.UpgradePlan(
            name=self.name, height=self.height, info=self.info, proposal_id=self.proposal_id
        ).SerializeToString()

    @staticmethod
    def decode(raw: bytes) -> UpgradePlan:
        pb = governance_pb2.UpgradePlan.FromString(raw)
        return UpgradePlan(pb.name, pb.height, pb.info, pb.proposal_id)


@dataclass(frozen=True, slots=True)
class AppliedUpgrade:
    """An upgrade whose migration ran at `height` (it never runs again)."""

    name: str
    height: int

    def encode(self) -> bytes:
        return governance_pb2.AppliedUpgrade(name=self.name, height=self.height).SerializeToString()

    @staticmethod
    def decode(raw: bytes) -> AppliedUpgrade:
        pb = governance_pb2.AppliedUpgrade.FromString(raw)
        return AppliedUpgrade(pb.name, pb.height)
