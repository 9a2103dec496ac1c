"""The stored proposal record."""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

from gridledger.governance.v1 import governance_pb2

__all__ = ["Proposal", "Status"]


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
        )
