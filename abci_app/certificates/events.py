"""Certificates event types (tx events and end-block hook events).

Oversight reaching storage (handlers.py): a storage certificate suspended or revoked
because of its origin emits bundle_suspended / bundle_revoked with `via` = "storage" and
its origin_device and origin_hour, as does a discharge issuing certificates from a marked
lot (after its bundle_issued, which then has a `status` attribute); a stored lot marked
emits storage_lot_marked, and a retired storage certificate whose origin was acted on
(it stays retired) emits retired_bundle_flagged.

Standing oversight: a bundle issued (from generation or a battery's discharge) for a
device-hour under the certifier's standing suspension or revocation is issued in that
status: bundle_issued with `status` and `reason` = "standing_oversight", then
bundle_suspended / bundle_revoked with the same `reason`. ReinstateBundles emits
bundle_reinstated (with `reinstated_as`: active, or expired when the bundle's age is past expiry;
`via` = storage for a derived certificate), storage_lot_unmarked per stored lot,
retired_bundle_flagged (`status` reinstated) per retired storage certificate flagged
origin_suspended, and oversight_lifted once; suspend and revoke emit oversight_set with the device's new
standing oversight.

Pending deliveries (dvp.py), in the end-block hook: certificates_delivered when a pending
delivery moves Wh (after the bundle_transferred / bundle_retired events of the move), and
certificates_delivery_dropped when its hour's issuance is final with Wh still uncovered;
both carry delivery, seller, buyer, hour, interval, retired (1/0), wh and `via` = "dvp"
(delivered also `remaining`).

EnergyTag actions (registry_actions.py, recurring.py): bundle_locked / bundle_reserved
(bundle, device, hour, wh; after a bundle_split when part of a bundle), bundle_released
(released_as: active, or expired / suspended / revoked), bundle_withdrawn (by, reason),
bundle_claimed (retirement, bundle, beneficiary, wh), transfer_acceptance_set (member,
restricted, allowed = the list's length), recurring_action_created / _cancelled (action,
owner, kind), and in the end-block hook recurring_action_executed (action, owner, kind,
hour, wh moved, remaining, skipped = a reason when nothing could move: no_certificates,
not_accepted, unknown_recipient).

Withheld generation (issuance.py): generation_withheld when a generator's device-hour has
recorded energy that is not issued (device, hour, wh = the hour's withheld Wh so far,
reason): "before_commissioning" (never issued), or "above_clear_sky" (held for the
certifier; also `status` held or rejected). The certifier's ReleaseHeldGeneration emits
held_generation_released (device, hour, wh, by) and then the bundle_issued of the
released Wh; RejectHeldGeneration emits held_generation_rejected (device, hour, wh, by,
reason).
"""

from __future__ import annotations

from abci_app.certificates.records import REVOKED, SUSPENDED, BundleStatus

__all__ = [
    "BUNDLE_CLAIMED",
    "BUNDLE_CONSUMED",
    "BUNDLE_EXPIRED",
    "BUNDLE_ISSUED",
    "BUNDLE_LOCKED",
    "BUNDLE_MERGED",
    "BUNDLE_REINSTATED",
    "BUNDLE_RELEASED",
    "BUNDLE_RESERVED",
    "BUNDLE_RETIRED",
    "BUNDLE_REVOKED",
    "BUNDLE_SPLIT",
    "BUNDLE_SUSPENDED",
    "BUNDLE_TRANSFERRED",
    "BUNDLE_WITHDRAWN",
    "CERTIFICATES_DELIVERED",
    "CERTIFICATES_DELIVERY_DROPPED",
    "EVENTS",
    "GENERATION_WITHHELD",
    "HELD_GENERATION_REJECTED",
    "HELD_GENERATION_RELEASED",
    "OVERSIGHT_EVENTS",
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
    "STORAGE_LOT_MARKED",
    "STORAGE_LOT_UNMARKED",
    "TRANSFER_ACCEPTANCE_SET",
    "VIA_DVP",
    "VIA_STORAGE",
]

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
    }
)
VIA_DVP = "dvp"  # the `via` attribute of a pending delivery's events
VIA_STORAGE = "storage"  # the `via` attribute of a status change that reached a bundle through storage
OVERSIGHT_EVENTS: dict[BundleStatus, str] = {SUSPENDED: BUNDLE_SUSPENDED, REVOKED: BUNDLE_REVOKED}
REASON_STANDING = "standing_oversight"  # the `reason` of a bundle issued already suspended or revoked
REASON_BEFORE_COMMISSIONING = "before_commissioning"  # generation of an hour starting before commissioning
REASON_ABOVE_CLEAR_SKY = "above_clear_sky"  # PV generation above the clear-sky bound, held for the certifier
