"""The grid domain's contract with its clients: error codes, event types, query paths.

Grid error codes (300-349). Consensus: never renumber or reuse.
"""

from __future__ import annotations

from enum import IntEnum

from gridwire.contract.paths import QueryRoot

__all__ = [
    "ARCHIVE_COMMITMENT_PREFIX",
    "DR_ENROLLED",
    "DR_EVENT_PUBLISHED",
    "DR_EVENT_SETTLED",
    "DR_JOINED",
    "DR_LEFT",
    "DR_REWARDED",
    "ENROLMENT_PREFIX",
    "ERROR_RANGE",
    "EVENTS",
    "FEEDER_LIMIT_SET",
    "GRID_ARCHIVED",
    "GRID_FEES_SET",
    "TARIFFS_SET",
    "GridCode",
    "Paths",
    "archive_commitment_key",
    "enrolment_key",
]

ERROR_RANGE = (300, 349)


class GridCode(IntEnum):
    FEES_INVERTED = 300  # intra-feeder fee above the inter-feeder fee
    UNKNOWN_SUPPLIER = 301
    DR_EVENT_EXISTS = 302
    UNKNOWN_DR_EVENT = 303
    DR_BAD_WINDOW = 304  # end ≤ start, starts in the past, or too long
    DR_ENROLMENT_CLOSED = 305  # the event has started
    DR_ALREADY_ENROLLED = 306
    DR_WRONG_FEEDER = 307  # the device is not on the event's feeder
    NOT_DEVICE_OWNER = 308
    UNKNOWN_DEVICE = 309
    UNKNOWN_FEEDER_LIMIT = 310
    DR_TOO_MANY_ENROLMENTS = 311  # the event has grid.max_enrolments_per_event enrolments
    SUPPLIER_NOT_ELIGIBLE = 312  # not an active issuer of an org with the issuer capability (supplier.py)
    DR_NOT_IN_PROGRAMME = 313  # the device was not in its feeder's DR programme when the event was announced
    DR_DEVICE_TOO_NEW = 314  # registered less than baseline days × baseline period before the announcement
    DR_ALREADY_MEMBER = 315  # the device is already in its feeder's DR programme
    DR_NOT_MEMBER = 316  # the device is in no DR programme
    DR_PROGRAMME_FULL = 317  # the feeder's programme has grid.max_dr_members_per_feeder members
    DR_BUDGET_TOO_LARGE = 318  # requested_reduction_wh × reward_per_kwh ÷ 1000 above params.MAX_DR_BUDGET
    # the event's enrolments left live state after grid.dr_retention_seconds (prune.py): prove them from the archive
    DR_ENROLMENTS_ARCHIVED = 319


# ---- event types
TARIFFS_SET = "tariffs_set"
GRID_FEES_SET = "grid_fees_set"
FEEDER_LIMIT_SET = "feeder_limit_set"
DR_EVENT_PUBLISHED = "dr_event"
DR_ENROLLED = "dr_enrolled"
DR_REWARDED = "dr_rewarded"
DR_EVENT_SETTLED = "dr_event_settled"
DR_JOINED = "dr_joined"
DR_LEFT = "dr_left"
# a block's pruning archived settled events' enrolments (prune.py): their commitment and the records
GRID_ARCHIVED = "grid_archived"
EVENTS = frozenset(
    {
        TARIFFS_SET,
        GRID_FEES_SET,
        FEEDER_LIMIT_SET,
        DR_EVENT_PUBLISHED,
        DR_ENROLLED,
        DR_REWARDED,
        DR_EVENT_SETTLED,
        DR_JOINED,
        DR_LEFT,
        GRID_ARCHIVED,
    }
)


class Paths:
    """One builder per query root of the grid domain (abci_app/grid/queries.py routes them)."""

    TARIFFS = QueryRoot("tariffs")
    FEES = QueryRoot("fees")
    FEEDER = QueryRoot("feeder")
    FEEDERS = QueryRoot("feeders")
    DR = QueryRoot("dr")
    DR_EVENTS = QueryRoot("dr_events")
    DR_ENROLMENTS = QueryRoot("dr_enrolments")
    DR_MEMBER = QueryRoot("dr_member")
    # /grid_archive_commitment/<height>: the provable commitment of what the block's pruning archived
    ARCHIVE_COMMITMENT = QueryRoot("grid_archive_commitment")


# 0x6a u64(height) → gridwire.archive commitment (root, count) of what the grid's pruning removed in
# block `height` (abci_app/grid/prune.py)
ARCHIVE_COMMITMENT_PREFIX = b"\x6a"
# the state key family of the records an auditor proves from the grid's archive (abci_app/grid/keys.py)
ENROLMENT_PREFIX = b"\x64"  # lp(event id) lp(device id) → DrEnrolment


def archive_commitment_key(height: int) -> bytes:
    """The state key of the grid's archive commitment of block `height`, proven by
    `/grid_archive_commitment/<height>`."""
    return ARCHIVE_COMMITMENT_PREFIX + height.to_bytes(8, "big")


def enrolment_key(event_id: str, device_id: str) -> bytes:
    """The state key of a device's enrolment in a demand-response event."""
    return ENROLMENT_PREFIX + _lp(event_id) + _lp(device_id)


def _lp(text: str) -> bytes:
    raw = text.encode()
    if len(raw) > 255:
        raise ValueError(f"an id of {len(raw)} bytes is longer than 255")
    return bytes((len(raw),)) + raw
