"""Grid state keys: tariffs, fees, feeder limits, demand-response events and enrolments."""

from __future__ import annotations

from gridwire.contract.grid import ARCHIVE_COMMITMENT_PREFIX, ENROLMENT_PREFIX, archive_commitment_key

from abci_app.keys import lp, u64

__all__ = [
    "ARCHIVE",
    "DR_ESCROW",
    "KEY_PREFIXES",
    "archive_commitment",
    "dr_due",
    "dr_due_prefix",
    "dr_enrolment",
    "dr_enrolment_prefix",
    "dr_event",
    "dr_event_prefix",
    "dr_feeder_member",
    "dr_feeder_member_prefix",
    "dr_member",
    "dr_member_prefix",
    "dr_settled",
    "dr_settled_prefix",
    "dr_snapshot",
    "dr_snapshot_prefix",
    "feeder_limit",
    "feeder_limit_prefix",
    "fees",
    "tariffs",
]

TARIFFS = b"\x60"
FEES = b"\x61"
FEEDER_LIMIT = b"\x62"
DR_EVENT = b"\x63"
DR_ENROLMENT = ENROLMENT_PREFIX  # b"\x64" (gridwire's contract: an auditor proves enrolments)
DR_DUE = b"\x65"  # settlement index: event end ‖ event id
DR_MEMBER = b"\x66"  # lp(device) → DrMember (the feeder's demand-response programme)
DR_FEEDER_MEMBER = b"\x67"  # lp(feeder) lp(device) → '' (members by feeder, for the snapshot)
DR_SNAPSHOT = b"\x68"  # lp(event) lp(device) → DrSnapshot (reading end at the announcement)
DR_SETTLED = b"\x69"  # pruning index: event end ‖ event id of settled events whose enrolments are live
ARCHIVE = ARCHIVE_COMMITMENT_PREFIX  # b"\x6a" u64(height) → root(32) u64(count): what block `height`'s pruning archived
KEY_PREFIXES = frozenset(
    {
        TARIFFS[0],
        FEES[0],
        FEEDER_LIMIT[0],
        DR_EVENT[0],
        DR_ENROLMENT[0],
        DR_DUE[0],
        DR_MEMBER[0],
        DR_FEEDER_MEMBER[0],
        DR_SNAPSHOT[0],
        DR_SETTLED[0],
        ARCHIVE[0],
    }
)

# The account that holds demand-response budgets between publication and settlement (no
# key can sign for it: it is not an Ed25519 public key's hash prefix by construction).
DR_ESCROW = b"grid/dr-escrow\x00\x00\x00\x00\x00\x00"


def tariffs() -> bytes:
    """The key of the tariffs (one record)."""
    return TARIFFS


def fees() -> bytes:
    """The key of the grid fees (one record)."""
    return FEES


def feeder_limit_prefix() -> bytes:
    """The prefix of every feeder limit."""
    return FEEDER_LIMIT


def feeder_limit(feeder: str) -> bytes:
    """The key of one feeder's limit."""
    return FEEDER_LIMIT + lp(feeder)


def dr_event_prefix() -> bytes:
    """The prefix of every demand-response event."""
    return DR_EVENT


def dr_event(event_id: str) -> bytes:
    """The key of one demand-response event."""
    return DR_EVENT + lp(event_id)


def dr_enrolment_prefix(event_id: str) -> bytes:
    """The prefix of one event's enrolments (ordered by device id)."""
    return DR_ENROLMENT + lp(event_id)


def dr_enrolment(event_id: str, device_id: str) -> bytes:
    """The key of one device's enrolment in an event."""
    return dr_enrolment_prefix(event_id) + lp(device_id)


def dr_due_prefix() -> bytes:
    """The prefix of the settlement index (ordered by event end)."""
    return DR_DUE


def dr_due(end: int, event_id: str) -> bytes:
    """The settlement-index entry of an event ending at `end`."""
    return DR_DUE + u64(end) + lp(event_id)


def dr_member_prefix() -> bytes:
    """The prefix of every programme membership."""
    return DR_MEMBER


def dr_member(device_id: str) -> bytes:
    """The key of one device's programme membership."""
    return DR_MEMBER + lp(device_id)


def dr_feeder_member_prefix(feeder: str) -> bytes:
    """The prefix of one feeder's programme members."""
    return DR_FEEDER_MEMBER + lp(feeder)


def dr_feeder_member(feeder: str, device_id: str) -> bytes:
    """The members-by-feeder index entry of one device."""
    return dr_feeder_member_prefix(feeder) + lp(device_id)


def dr_snapshot_prefix(event_id: str) -> bytes:
    """The prefix of one event's member snapshots."""
    return DR_SNAPSHOT + lp(event_id)


def dr_snapshot(event_id: str, device_id: str) -> bytes:
    """The key of one member's snapshot for an event."""
    return dr_snapshot_prefix(event_id) + lp(device_id)


def dr_settled_prefix() -> bytes:
    """The prefix of the pruning index (ordered by event end)."""
    return DR_SETTLED


def dr_settled(end: int, event_id: str) -> bytes:
    """The pruning-index entry of a settled event ending at `end` whose enrolments are still live."""
    return DR_SETTLED + u64(end) + lp(event_id)


def archive_commitment(height: int) -> bytes:
    """The key of the archive commitment of what block `height`'s pruning removed (the contract's,
    which auditors' clients build)."""
    return archive_commitment_key(height)
