"""Certificates records: decode∘encode is the identity on stored bytes (they are provable
query answers and feed the app hash), for full records, all-default ones and histories
with no entries or an all-default (empty) entry."""

from __future__ import annotations

import pytest
from google.protobuf.message import Message
from gridledger.certificates.v1 import certificates_pb2 as pb

from abci_app.certificates.records import (
    ACTIVE,
    NO_BUNDLE,
    NO_DEVICE,
    NO_RETIREMENT,
    RETIRED,
    STATUS_NAMES,
    Bundle,
    BundleHistory,
    BundleId,
    BundleStatus,
    HistoryEntry,
    Retirement,
    RetirementId,
    StandingOversight,
    StorageLot,
    StorageState,
)
from abci_app.devices.records import DeviceId
from abci_app.types import Address

Record = Bundle | HistoryEntry | BundleHistory | Retirement | StorageLot | StorageState | StandingOversight
ALICE, BOB = Address(b"\xaa" * 20), Address(b"\xbb" * 20)
BIG = 2**64 - 1

FULL_BUNDLE = Bundle(
    bundle_id=BundleId(BIG),
    device_id=DeviceId("bat-1"),
    hour_start=1_767_225_600,
    start_wh=1,
    end_wh=BIG,
    owner=ALICE,
    status=RETIRED,
    energy_source="solar",
    technology="pv-mono",
    country="NL",
    grid_region="nl-north",
    commissioning_date=1_600_000_000,
    issued_height=42,
    parent_id=BundleId(7),
    retirement_id=RetirementId(3),
    storage_device=DeviceId("bat-2"),
    storage=True,
    origin_device=DeviceId("pv-1"),
    origin_hour=1_767_222_000,
)
ENTRY = HistoryEntry("transferred", 5, 1_767_225_601, 800, from_=ALICE, to=BOB, other_bundle=9)
EMPTY_ENTRY = HistoryEntry("", 0, 0, 0)

CASES: list[tuple[Record, Message]] = [
    (FULL_BUNDLE, pb.Bundle()),
    (Bundle(NO_BUNDLE, NO_DEVICE, 0, 0, 0, Address(b""), BundleStatus.UNSPECIFIED), pb.Bundle()),
    (Bundle(BundleId(1), DeviceId("pv-1"), 0, 0, 10, ALICE, ACTIVE), pb.Bundle()),
    (ENTRY, pb.HistoryEntry()),
    (EMPTY_ENTRY, pb.HistoryEntry()),
    (BundleHistory(BundleId(4), (ENTRY, EMPTY_ENTRY, ENTRY)), pb.BundleHistory()),
    (BundleHistory(BundleId(4)), pb.BundleHistory()),
    (BundleHistory(NO_BUNDLE, (EMPTY_ENTRY,)), pb.BundleHistory()),
    (BundleHistory(NO_BUNDLE), pb.BundleHistory()),
    (
        Retirement(
            RetirementId(2),
            BundleId(9),
            300,
            ALICE,
            BOB,
            "hourly claim",
            10,
            20,
            6,
            77,
            DeviceId("pv-1"),
            0,
            "wind",
            "nl-north",
        ),
        pb.Retirement(),
    ),
    (
        Retirement(NO_RETIREMENT, NO_BUNDLE, 0, Address(b""), Address(b""), "", 0, 0, 0, 0, NO_DEVICE, 0, "", ""),
        pb.Retirement(),
    ),
    (StorageLot(0, 1000, DeviceId("pv-1"), 3600, "solar", "pv-mono", "NL", "nl-north", 1), pb.StorageLot()),
    (StorageLot(1000, 1400), pb.StorageLot()),
    (StorageLot(0, 1000, DeviceId("pv-1"), 3600, oversight=BundleStatus.REVOKED), pb.StorageLot()),
    (StorageLot(0, 0), pb.StorageLot()),
    (StorageState(1, 3, 1400, 810), pb.StorageState()),
    (StorageState(), pb.StorageState()),
    (StandingOversight(DeviceId("pv-1"), 3600, BundleStatus.SUSPENDED, BIG), pb.StandingOversight()),
    (StandingOversight(DeviceId("pv-1"), 0, BundleStatus.REVOKED), pb.StandingOversight()),
]


@pytest.mark.parametrize(("record", "empty"), CASES, ids=lambda x: type(x).__name__)
def test_decode_encode_round_trips(record: Record, empty: Message) -> None:
    raw = record.encode()
    assert type(record).decode(raw) == record
    assert type(record).decode(raw).encode() == raw
    # the bytes are the protobuf message's, field for field
    m = type(empty).FromString(raw)
    assert m.SerializeToString(deterministic=True) == raw
    assert type(record).from_proto(m) == record  # type: ignore[arg-type]
    assert record.to_proto() == m


def test_history_keeps_empty_entries_and_their_order() -> None:
    """An all-default entry still takes a place in the repeated field (an empty element)."""
    h = BundleHistory(BundleId(4), (EMPTY_ENTRY, ENTRY))
    raw = h.encode()
    assert len(pb.BundleHistory.FromString(raw).entries) == 2
    assert BundleHistory.decode(raw).entries == (EMPTY_ENTRY, ENTRY)
    assert BundleHistory(BundleId(4)).encode() != BundleHistory(BundleId(4), (EMPTY_ENTRY,)).encode()


def test_history_entry_from_is_the_protobuf_field_from() -> None:
    m = ENTRY.to_proto()
    assert getattr(m, "from") == ALICE
    assert m.to == BOB


def test_bytes_written_by_protobuf_decode_to_the_same_bytes() -> None:
    """Bytes as the protobuf-based keeper stored them (before the records were dataclasses)."""
    m = pb.Bundle(
        bundle_id=5, device_id="pv-1", hour_start=3600, end_wh=3000, owner=ALICE, status=pb.BUNDLE_STATUS_ACTIVE
    )
    raw = m.SerializeToString(deterministic=True)
    assert Bundle.decode(raw).encode() == raw
    h = pb.BundleHistory(bundle_id=5)
    h.entries.add(action="issued", height=3, time=3600, wh=3000, to=ALICE)
    h.entries.add()
    raw = h.SerializeToString(deterministic=True)
    assert BundleHistory.decode(raw).encode() == raw


def test_status_numbers_and_names_follow_the_proto_enum() -> None:
    for status in BundleStatus:
        assert pb.BundleStatus.Name(status).removeprefix("BUNDLE_STATUS_").lower() in {
            "unspecified",
            *(STATUS_NAMES[s] for s in STATUS_NAMES),
        }
    assert sorted(STATUS_NAMES) == sorted(s for s in pb.BundleStatus.values() if s)
    with pytest.raises(ValueError, match="99"):
        Bundle.from_proto(pb.Bundle(status=99))  # type: ignore[arg-type]


def test_a_lot_stored_before_oversight_existed_decodes_to_the_same_bytes() -> None:
    """StorageLot's oversight field is new: bytes without it decode as unmarked and re-encode
    unchanged, a marked lot adds only that field, and an unknown mark is refused."""
    old = pb.StorageLot(in_start=0, in_end=1000, device_id="pv-1", hour_start=3600, energy_source="solar")
    raw = old.SerializeToString(deterministic=True)
    lot = StorageLot.decode(raw)
    assert (lot.oversight, lot.encode()) == (BundleStatus.UNSPECIFIED, raw)
    marked = StorageLot(0, 1000, DeviceId("pv-1"), 3600, "solar", oversight=BundleStatus.SUSPENDED).encode()
    assert marked.startswith(raw)
    assert len(marked) == len(raw) + 2
    with pytest.raises(ValueError, match="99"):
        StorageLot.from_proto(pb.StorageLot(oversight=99))  # type: ignore[arg-type]


def test_a_standing_oversight_holds_hours_from_its_first_and_revokes_from_its_second() -> None:
    """status_at: none before from_hour, suspended until revoked_from_hour, then revoked;
    `of` drops a suspension the revocation covers and builds nothing from nothing."""
    both = StandingOversight.of(DeviceId("pv-1"), 3600, 7200)
    assert both == StandingOversight(DeviceId("pv-1"), 3600, BundleStatus.SUSPENDED, 7200)
    assert [both.status_at(h) for h in (0, 3600, 7199, 7200, BIG)] == [
        None,
        BundleStatus.SUSPENDED,
        BundleStatus.SUSPENDED,
        BundleStatus.REVOKED,
        BundleStatus.REVOKED,
    ]
    assert (both.suspended_from, both.revoked_from) == (3600, 7200)
    covered = StandingOversight.of(DeviceId("pv-1"), 7200, 3600)
    assert covered == StandingOversight(DeviceId("pv-1"), 3600, BundleStatus.REVOKED)
    assert (covered.suspended_from, covered.revoked_from) == (None, 3600)
    assert StandingOversight.of(DeviceId("pv-1"), None, None) is None
