"""Governance state keys: proposals, their deadline index, the id sequence, validators."""

from __future__ import annotations

from abci_app.keys import u64

__all__ = [
    "KEY_PREFIXES",
    "proposal",
    "proposal_deadline",
    "proposal_deadline_prefix",
    "proposal_prefix",
    "proposal_seq",
    "validator",
    "validator_prefix",
]

PROPOSAL = b"\x09"
PROPOSAL_DEADLINE = b"\x0a"
PROPOSAL_SEQ = b"\x0b"
VALIDATOR = b"\x0c"
KEY_PREFIXES = frozenset({PROPOSAL[0], PROPOSAL_DEADLINE[0], PROPOSAL_SEQ[0], VALIDATOR[0]})


def proposal_prefix() -> bytes:
    """The prefix of every proposal key."""
    return PROPOSAL


def proposal(proposal_id: int) -> bytes:
    """The key of proposal `proposal_id` (big-endian: id order is key order)."""
    return PROPOSAL + u64(proposal_id)


def proposal_seq() -> bytes:
    """The key of the last allocated proposal id."""
    return PROPOSAL_SEQ


def proposal_deadline_prefix() -> bytes:
    """The prefix of the open proposals' deadline index."""
    return PROPOSAL_DEADLINE


def proposal_deadline(deadline: int, proposal_id: int) -> bytes:
    """The deadline index key of an open proposal: deadline then id, so a range scan finds the due ones in
    order."""
    return PROPOSAL_DEADLINE + u64(deadline) + u64(proposal_id)


def validator_prefix() -> bytes:
    """The prefix of every validator key."""
    return VALIDATOR


def validator(pub_key: bytes) -> bytes:
    """The key of the validator with Ed25519 public key `pub_key`."""
    return VALIDATOR + pub_key
