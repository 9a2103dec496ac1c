"""Governance event types: declared in the domain's contract (gridwire/contract/governance.py)."""

from __future__ import annotations

from gridwire.contract.governance import (
    CAPABILITIES_SET,
    DEVICE_CA_ADMITTED,
    DEVICE_CA_REVOKED,
    EVENTS,
    ORG_ADMITTED,
    ORG_REMOVED,
    PARAM_CHANGED,
    PROPOSAL_EXPIRED,
    PROPOSAL_FAILED,
    PROPOSAL_PASSED,
    PROPOSAL_REJECTED,
    PROPOSAL_SUBMITTED,
    PROPOSAL_VOTE,
    VALIDATOR_UPDATED,
)

__all__ = [
    "CAPABILITIES_SET",
    "DEVICE_CA_ADMITTED",
    "DEVICE_CA_REVOKED",
    "EVENTS",
    "ORG_ADMITTED",
    "ORG_REMOVED",
    "PARAM_CHANGED",
    "PROPOSAL_EXPIRED",
    "PROPOSAL_FAILED",
    "PROPOSAL_PASSED",
    "PROPOSAL_REJECTED",
    "PROPOSAL_SUBMITTED",
    "PROPOSAL_VOTE",
    "VALIDATOR_UPDATED",
]
