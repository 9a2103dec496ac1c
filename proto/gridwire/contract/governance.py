"""The governance domain's contract with its clients: error codes, event types, query paths, and
the exit codes and file by which an app tells its supervisor that an upgrade is due.

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
    "EXIT_UPGRADE_NEEDED",
    "EXIT_UPGRADE_TOO_EARLY",
    "ORG_ADMITTED",
    "ORG_REMOVED",
    "PARAM_CHANGED",
    "PROPOSAL_EXPIRED",
    "PROPOSAL_FAILED",
    "PROPOSAL_PASSED",
    "PROPOSAL_REJECTED",
    "PROPOSAL_SUBMITTED",
    "PROPOSAL_VOTE",
    "UPGRADE_APPLIED",
    "UPGRADE_CANCELLED",
    "UPGRADE_INFO_FILE",
    "UPGRADE_NAME_PATTERN",
    "UPGRADE_SCHEDULED",
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
    UPGRADE_HEIGHT_INVALID = 44  # a planned upgrade's height is not in the future or too far ahead
    UPGRADE_PLAN_PENDING = 45  # another upgrade is already planned (cancel it first)
    UNKNOWN_UPGRADE_PLAN = 46  # no pending upgrade plan of that name
    UPGRADE_ALREADY_APPLIED = 47  # an upgrade of that name ran already


# ---- upgrades: how an app stops for one (python -m abci_app exits with these, nothing else does)
# The app does not implement the planned upgrade due at the next height: it executed nothing of
# that height, wrote UPGRADE_INFO_FILE into its home, and its supervisor should start the new version.
EXIT_UPGRADE_NEEDED = 10
# The app implements a planned upgrade whose height is still ahead: it refuses to start; run the
# previous version until the height.
EXIT_UPGRADE_TOO_EARLY = 11
UPGRADE_NAME_PATTERN = r"[a-z0-9][a-z0-9._-]{0,63}"  # an upgrade's name (safe as a folder name)
UPGRADE_INFO_FILE = "upgrade-info.json"  # {"name", "height", "info"} of the upgrade due, in the app's home


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
UPGRADE_SCHEDULED = "upgrade_scheduled"
UPGRADE_CANCELLED = "upgrade_cancelled"
UPGRADE_APPLIED = "upgrade_applied"
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
        UPGRADE_SCHEDULED,
        UPGRADE_CANCELLED,
        UPGRADE_APPLIED,
    }
)


class Paths:
    """One builder per query root of the governance domain (abci_app/governance/queries.py routes them)."""

    PROPOSAL = QueryRoot("proposal")
    PROPOSALS = QueryRoot("proposals")
    VALIDATORS = QueryRoot("validators")
    PARAMS = QueryRoot("params")
    PARAM = QueryRoot("param")
    UPGRADE_PLAN = QueryRoot("upgrade_plan")  # the pending UpgradePlan (not found: none)
    APPLIED_UPGRADES = QueryRoot("applied_upgrades")  # AppliedUpgradeList, in name order
