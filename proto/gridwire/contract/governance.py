"""The governance domain's contract with its clients: error codes, event types, query paths.

Governance error codes (40-59). Consensus: never renumber or reuse.
"""

from __future__ import annotations

from enum import IntEnum

from gridwire.contract.paths import QueryRoot

__all__ = [
    "CAPABILITIES_SET",
    "DEVICE_CA_ADMITTED",
    "DEVICE_CA_REVOKED",
    "ERROR_RANGE",
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
    "GovernanceCode",
    "Paths",
]

ERROR_RANGE = (40, 59)


class GovernanceCode(IntEnum):
    UNKNOWN_PROPOSAL = 40
    PROPOSAL_CLOSED = 41
    ALREADY_VOTED = 42
    INVALID_PROPOSAL = 43


# ---- event types
PROPOSAL_SUBMITTED = "proposal_submitted"
PROPOSAL_VOTE = "proposal_vote"
PROPOSAL_PASSED = "proposal_passed"
PROPOSAL_FAILED = "proposal_failed"
PROPOSAL_REJECTED = "proposal_rejected"
PROPOSAL_EXPIRED = "proposal_expired"
ORG_ADMITTED = "org_admitted"
ORG_REMOVED = "org_removed"
VALIDATOR_UPDATED = "validator_updated"
PARAM_CHANGED = "param_changed"
CAPABILITIES_SET = "org_capabilities_set"
DEVICE_CA_ADMITTED = "device_ca_admitted"
DEVICE_CA_REVOKED = "device_ca_revoked"
EVENTS = frozenset(
    {
        PROPOSAL_SUBMITTED,
        PROPOSAL_VOTE,
        PROPOSAL_PASSED,
        PROPOSAL_FAILED,
        PROPOSAL_REJECTED,
        PROPOSAL_EXPIRED,
        ORG_ADMITTED,
        ORG_REMOVED,
        VALIDATOR_UPDATED,
        PARAM_CHANGED,
        CAPABILITIES_SET,
        DEVICE_CA_ADMITTED,
        DEVICE_CA_REVOKED,
    }
)


class Paths:
    """One builder per query root of the governance domain (abci_app/governance/queries.py routes them)."""

    PROPOSAL = QueryRoot("proposal")
    PROPOSALS = QueryRoot("proposals")
    VALIDATORS = QueryRoot("validators")
    PARAMS = QueryRoot("params")
    PARAM = QueryRoot("param")
