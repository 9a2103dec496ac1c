"""Governance state keys: proposals, their deadline index, the id sequence, validators, the pending
upgrade plan and the applied upgrades."""

from __future__ import annotations

from abci_app.keys import lp, u64

__all__ = [
    "KEY_PREFIXES",
    "applied_upgrade",
    "applied_upgrade_prefix",
    "proposal",
    "proposal_deadline",
    "proposal_deadline_prefix",
    "proposal_prefix",
    "proposal_seq",
    "upgrade_plan",
    "validator",
    "validator_prefix",
]

PROPOSAL = b"\x09"
PROPOSAL_DEADLINE = b"\x0a"
PROPOSAL_SEQ = b"\x0b"
VALIDATOR = b"\x0c"
UPGRADE_PLAN = b"\x0e"  # → UpgradePlan (at most one: the pending plan)
APPLIED_UPGRADE = b"\x0f"  # lp(name) → AppliedUpgrade
KEY_PREFIXES = frozenset(
    {PROPOSAL[0], PROPOSAL_DEADLINE[0], PROPOSAL_SEQ[0], VALIDATOR[0], UPGRADE_PLAN[0], APPLIED_UPGRADE[0]}
)


def proposal_prefix() -> bytes:
    return PROPOSAL


def proposal(proposal_id: int) -> bytes:
    return PROPOSAL + u64(proposal_id)


def proposal_seq() -> bytes:
    return PROPOSAL_SEQ


def proposal_deadline_prefix() -> bytes:
    return PROPOSAL_DEADLINE


def proposal_deadline(deadline: int, proposal_id: int) -> bytes:
    return PROPOSAL_DEADLINE + u64(deadline) + u64(proposal_id)


def validator_prefix() -> bytes:
    return VALIDATOR


def validator(pub_key: bytes) -> bytes:
    return VALIDATOR + pub_key


def upgrade_plan() -> bytes:
    return UPGRADE_PLAN


def applied_upgrade_prefix() -> bytes:
    return APPLIED_UPGRADE


def applied_upgrade(name: str) -> bytes:
    return APPLIED_UPGRADE + lp(name)
