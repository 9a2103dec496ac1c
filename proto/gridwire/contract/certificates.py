"""The certificates domain's contract with its clients: error codes, event types, query paths.

Certificates error codes (250-299). Consensus: never renumber or reuse.
"""

from __future__ import annotations

from enum import IntEnum

from gridwire.contract.paths import QueryRoot

__all__ = [
    "ARCHIVE_COMMITMENT_PREFIX",
    "BUNDLE_CLAIMED",
    "BUNDLE_CONSUMED",
    "BUNDLE_EXPIRED",
    "BUNDLE_ISSUED",
    "BUNDLE_LOCKED",
    "BUNDLE_MERGED",
    "BUNDLE_PREFIX",
    "BUNDLE_REINSTATED",
    "BUNDLE_RELEASED",
    "BUNDLE_RESERVED",
    "BUNDLE_RETIRED",
    "BUNDLE_REVOKED",
    "BUNDLE_SPLIT",
    "BUNDLE_SUSPENDED",
    "BUNDLE_TRANSFERRED",
    "BUNDLE_WITHDRAWN",
    "CERTIFICATES_ARCHIVED",
    "CERTIFICATES_DELIVERED",
    "CERTIFICATES_DELIVERY_DROPPED",
    "ERROR_RANGE",
    "EVENTS",
    "GENERATION_WITHHELD",
    "HELD_GENERATION_REJECTED",
    "HELD_GENERATION_RELEASED",
    "HISTORY_PREFIX",
    "OVERSIGHT_LIFTED",
    "OVERSIGHT_SET",
    "REASON_ABOVE_CLEAR_SKY",
    "REASON_BEFORE_COMMISSIONING",
    "REASON_STANDING",
    "RECURRING_ACTION_CANCELLED",
    "RECURRING_ACTION_CREATED",
    "RECURRING_ACTION_EXECUTED",
    "REGISTRY_EVENTS",
    "RETIRED_BUNDLE_FLAGGED",
    "RETIREMENT_PREFIX",
    "STORAGE_LOT_MARKED",
    "STORAGE_LOT_UNMARKED",
    "TRANSFER_ACCEPTANCE_SET",
    "VIA_DVP",
    "VIA_STORAGE",
    "CertificatesCode",
    "Paths",
    "archive_commitment_key",
    "bundle_key",
    "history_key",
    "retirement_key",
]

ERROR_RANGE = (250, 299)


class CertificatesCode(IntEnum):
    UNKNOWN_BUNDLE = 250
    NOT_BUNDLE_OWNER = 251
    BUNDLE_NOT_ACTIVE = 252  # retired, suspended, revoked, consumed by storage or expired
    VOLUME_EXCEEDED = 253  # more Wh than the bundle holds
    UNKNOWN_RECIPIENT = 254  # not an enrolled, active member
    BAD_CONSUMPTION_PERIOD = 255  # start >= end or longer than MAX_CONSUMPTION_SECONDS
    UNKNOWN_DEVICE = 256
    OVERSIGHT_REVOKED = 257  # reinstate from an hour the device's standing revocation covers (revoked is final)
    PARTIAL_REINSTATE = 258  # reinstate from after the standing suspension's first hour (lifted whole)
    UNKNOWN_HOLD = 259  # no clear-sky hold of that device-hour
    HOLD_DECIDED = 260  # the clear-sky hold holds nothing awaiting the certifier (released or rejected)
    # EnergyTag GC Registry API actions (abci_app/certificates/registry_actions.py)
    NOT_ACCEPTED = 261  # the recipient accepts transfers only from its allow-list, and the sender is not on it
    UNKNOWN_RETIREMENT = 262
    NOT_BENEFICIARY = 263  # only a retirement's beneficiary claims it
    ALREADY_CLAIMED = 264
    NOT_WITHDRAWABLE = 265  # retired, consumed by storage, revoked or withdrawn already
    NOT_LOCKED_OR_RESERVED = 266  # release of a bundle that is neither locked nor reserved
    UNKNOWN_RECURRING_ACTION = 267
    NOT_ACTION_OWNER = 268  # only the owner of a standing instruction cancels it
    ALLOW_LIST_FULL = 269  # more than MAX_ALLOWED senders on one allow-list
    BAD_RECURRENCE = 270  # first_hour not a production-hour boundary
    RECORD_ARCHIVED = 271  # the record left live state after its retention (prune.py): prove it from the archive
    HOLD_LAPSED = 272  # the hold's hour is past the devices' retention: its generation may be pruned, never issued


# ---- events: tx events and end-block hook events (which carry what: abci_app/certificates/events.py)
BUNDLE_ISSUED = "bundle_issued"
BUNDLE_SPLIT = "bundle_split"
BUNDLE_TRANSFERRED = "bundle_transferred"
BUNDLE_MERGED = "bundle_merged"
BUNDLE_RETIRED = "bundle_retired"
BUNDLE_SUSPENDED = "bundle_suspended"
BUNDLE_REVOKED = "bundle_revoked"
BUNDLE_EXPIRED = "bundle_expired"
BUNDLE_CONSUMED = "bundle_consumed_by_storage"
STORAGE_LOT_MARKED = "storage_lot_marked"
RETIRED_BUNDLE_FLAGGED = "retired_bundle_flagged"
BUNDLE_REINSTATED = "bundle_reinstated"
STORAGE_LOT_UNMARKED = "storage_lot_unmarked"
OVERSIGHT_SET = "oversight_set"
OVERSIGHT_LIFTED = "oversight_lifted"
CERTIFICATES_DELIVERED = "certificates_delivered"
CERTIFICATES_DELIVERY_DROPPED = "certificates_delivery_dropped"
GENERATION_WITHHELD = "generation_withheld"
CERTIFICATES_ARCHIVED = "certificates_archived"  # a block's pruning: height, count, root, archive (the records)
HELD_GENERATION_RELEASED = "held_generation_released"
HELD_GENERATION_REJECTED = "held_generation_rejected"
# EnergyTag GC Registry API actions (registry_actions.py, recurring.py)
BUNDLE_LOCKED = "bundle_locked"
BUNDLE_RESERVED = "bundle_reserved"
BUNDLE_RELEASED = "bundle_released"
BUNDLE_WITHDRAWN = "bundle_withdrawn"
BUNDLE_CLAIMED = "bundle_claimed"
TRANSFER_ACCEPTANCE_SET = "transfer_acceptance_set"
RECURRING_ACTION_CREATED = "recurring_action_created"
RECURRING_ACTION_CANCELLED = "recurring_action_cancelled"
RECURRING_ACTION_EXECUTED = "recurring_action_executed"
REGISTRY_EVENTS = frozenset(
    {
        BUNDLE_LOCKED,
        BUNDLE_RESERVED,
        BUNDLE_RELEASED,
        BUNDLE_WITHDRAWN,
        BUNDLE_CLAIMED,
        TRANSFER_ACCEPTANCE_SET,
        RECURRING_ACTION_CREATED,
        RECURRING_ACTION_CANCELLED,
        RECURRING_ACTION_EXECUTED,
    }
)
EVENTS = REGISTRY_EVENTS | frozenset(
    {
        BUNDLE_ISSUED,
        BUNDLE_SPLIT,
        BUNDLE_TRANSFERRED,
        BUNDLE_MERGED,
        BUNDLE_RETIRED,
        BUNDLE_SUSPENDED,
        BUNDLE_REVOKED,
        BUNDLE_EXPIRED,
        BUNDLE_CONSUMED,
        STORAGE_LOT_MARKED,
        RETIRED_BUNDLE_FLAGGED,
        BUNDLE_REINSTATED,
        STORAGE_LOT_UNMARKED,
        OVERSIGHT_SET,
        OVERSIGHT_LIFTED,
        CERTIFICATES_DELIVERED,
        CERTIFICATES_DELIVERY_DROPPED,
        GENERATION_WITHHELD,
        HELD_GENERATION_RELEASED,
        HELD_GENERATION_REJECTED,
        CERTIFICATES_ARCHIVED,
    }
)
VIA_DVP = "dvp"  # the `via` attribute of a pending delivery's events
VIA_STORAGE = "storage"  # the `via` attribute of a status change that reached a bundle through storage
REASON_STANDING = "standing_oversight"  # the `reason` of a bundle issued already suspended or revoked
REASON_BEFORE_COMMISSIONING = "before_commissioning"  # generation of an hour starting before commissioning
REASON_ABOVE_CLEAR_SKY = "above_clear_sky"  # PV generation above the clear-sky bound, held for the certifier


class Paths:
    """One builder per query root of the certificates domain (abci_app/certificates/queries.py routes them)."""

    BUNDLE = QueryRoot("bundle")
    BUNDLES = QueryRoot("bundles")
    BUNDLE_HISTORY = QueryRoot("bundle_history")
    RETIREMENT = QueryRoot("retirement")
    RETIREMENTS = QueryRoot("retirements")  # /retirements/owner/<address hex>[/<hour>]: RetirementList
    CERT_ISSUED = QueryRoot("cert_issued")
    MATCHING = QueryRoot("matching")
    SCORE = QueryRoot("score")
    RESIDUAL = QueryRoot("residual")
    OVERSIGHT = QueryRoot("oversight")
    PENDING_DELIVERIES = QueryRoot("pending_deliveries")
    CLEAR_SKY_HOLD = QueryRoot("clear_sky_hold")
    ARCHIVE_COMMITMENT = QueryRoot("archive_commitment")  # /archive_commitment/<height>: provable commitment
    # EnergyTag registry views (abci_app/certificates/registry_queries.py)
    SCR = QueryRoot("scr")
    SDR = QueryRoot("sdr")
    STORAGE_LINEAGE = QueryRoot("storage_lineage")
    REGISTRY_INFO = QueryRoot("registry_info")
    RECURRING_ACTION = QueryRoot("recurring_action")
    TRANSFER_ACCEPTANCE = QueryRoot("transfer_acceptance")


# State keys a client needs to check a proof (abci_app/certificates/keys.py builds the others).
BUNDLE_PREFIX = b"\x50"  # u64(bundle id) → Bundle
HISTORY_PREFIX = b"\x56"  # u64(bundle id) → BundleHistory
RETIREMENT_PREFIX = b"\x57"  # u64(retirement id) → Retirement


def bundle_key(bundle_id: int) -> bytes:
    """The state key of bundle `bundle_id`, proven by `/bundle/<id>` (and in the archive once it left)."""
    return BUNDLE_PREFIX + bundle_id.to_bytes(8, "big")


def history_key(bundle_id: int) -> bytes:
    """The state key of bundle `bundle_id`'s history (in the archive once the bundle left)."""
    return HISTORY_PREFIX + bundle_id.to_bytes(8, "big")


def retirement_key(retirement_id: int) -> bytes:
    """The state key of retirement `retirement_id`, proven by `/retirement/<id>`."""
    return RETIREMENT_PREFIX + retirement_id.to_bytes(8, "big")


# COUNTER (0x5c) lp("archive") u64(height) → gridwire.archive commitment (root, count) of what the
# certificates' pruning removed in block `height` (abci_app/certificates/prune.py)
ARCHIVE_COMMITMENT_PREFIX = b"\x5c\x07archive"


def archive_commitment_key(height: int) -> bytes:
    """The state key of the archive commitment of block `height`, proven by `/archive_commitment/<height>`."""
    return ARCHIVE_COMMITMENT_PREFIX + height.to_bytes(8, "big")
