"""Governance error codes (40-59). Consensus: never renumber or reuse."""

from __future__ import annotations

from enum import IntEnum

__all__ = ["ERROR_RANGE", "GovernanceCode"]

ERROR_RANGE = (40, 59)


class GovernanceCode(IntEnum):
    UNKNOWN_PROPOSAL = 40
    PROPOSAL_CLOSED = 41
    ALREADY_VOTED = 42
    INVALID_PROPOSAL = 43
