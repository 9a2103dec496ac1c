"""Governance event types."""

from __future__ import annotations

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
