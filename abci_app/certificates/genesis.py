"""The certificates genesis section `certificates`: every bundle with its history, the issued
tallies, retirements and hourly claims, battery storage and the counters.

    "certificates": {
      "bundles":     [Bundle as JSON],                        (indexes follow from them)
      "issued":      [{"device_id": "pv-1", "hour_start": 1767225600, "wh": 3000}],
      "histories":   [BundleHistory as JSON],
      "retirements": [Retirement as JSON],
      "claims":      [{"beneficiary": hex, "hour_start": 1767225600, "wh": 500}],
      "storage":     [{"battery": "bat-1", "state": StorageState as JSON,
                       "lots": [StorageLot as JSON, ...],      (sequence numbers head, head + 1, ...)
                       "done": [{"hour_start": ..., "charged_wh": ..., "discharged_wh": ...}]}],
      "counters":    {"bundle": 12, "retirement": 3, "expiry_cursor": 1767229200, "pending_delivery": 2},
                     (and "expiry_next_id" while expiry is part-way through the cursor's hour, issuance.py)
      "oversights":  [StandingOversight as JSON],              (the certifier's standing suspensions and revocations)
      "pending_deliveries": [PendingDelivery as JSON]          (delivery versus payment still owed, dvp.py)
      "clear_sky_holds": [ClearSkyHold as JSON]                (PV generation held above the clear-sky bound)
      "registry": RegistryInfo as JSON                          (issuing body, country, connected grid: EnergyTag)
      "scrs": [StorageChargeRecord as JSON], "sdrs": [StorageDischargeRecord as JSON]   (storage lineage)
      "acceptances": [TransferAcceptance as JSON]               (members accepting transfers from an allow-list only)
      "recurring": [RecurringAction as JSON]                    (standing transfers and cancellations)
      "archive_commitments": [{"height": 812, "root": base64, "count": 1400}]  (what pruning archived, prune.py)
      "residual_retired": [{"hour_start": 1767225600, "region": "nl-north", "wh": 750}]  (retired Wh whose bundles
                                                                 pruning archived: the residual mix counts them)
    }

An issued tally may carry "pruned_wh": the Wh of its device-hour's bundles pruning archived.

The section is `gridledger.certificates.v1.GenesisState` in protobuf's JSON mapping (bytes in
base64, 64-bit integers as strings or numbers; an export writes strings); every part is
optional. The import checks what the chain's rules keep true: owners are genesis
members and devices are registered (the devices section is imported first); the bundles of a
device-hour tile [0, issued) exactly (no overlap, no gap, nothing beyond the issued volume), or,
where pruned_wh is above 0, do not overlap and hold issued − pruned_wh Wh; an archive commitment
has a 32-byte root, a count above 0 and a height of its own; a
retired bundle and its retirement record name each other; a battery's lots are its FIFO
[head, tail) of contiguous input ranges ending at its input total; a storage certificate's
origin device and a lot's source device are registered, and a lot's oversight is none,
suspended or revoked (marked lots carry certificates); the counters are past every id in use
(absent: the highest id); a standing oversight names a registered device (once), has
status suspended or revoked and a revokedFromHour only after a suspension's fromHour, and
holds (no bundle or storage certificate of an hour it covers is active, nor suspended
where it revokes; stored lots from those hours are marked); a pending delivery has an id
above 0 (unique), a seller and a buyer that are genesis members and differ, and Wh above 0;
a clear-sky hold names a registered device (once per hour) and has status held, released or
rejected; SCR and SDR ids are above 0 and unique and name registered batteries; an acceptance
names a genesis member (once) and at most MAX_ALLOWED 20-byte senders in byte order; a standing
instruction has an id above 0 (unique), a genesis member as owner, kind transfer or cancel, a
20-byte target, Wh, every_hours and remaining above 0.
It writes through the keeper, so the owner, device-hour, hour, status and origin indexes and
the lots' source index are rebuilt, and an export imports into the same keys byte for byte.
Claims are carried, not recomputed from retirements: whether a retirement's consumption period
overlaps its certificate's production hour depends on the governed period, which may have
changed since (and claims credited under the earlier split-over-hours rule stay as they were).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

from gridledger.certificates.v1 import certificates_pb2 as pb
from gridledger.certificates.v1 import genesis_pb2 as gpb
from gridledger.state.v1 import state_pb2

from abci_app.archive import commitments_from_genesis, iter_commitments
from abci_app.certificates import keeper, keys, registry_keeper, storage
from abci_app.certificates.dvp import PENDING_COUNTER
from abci_app.certificates.invariants import standing_oversight_holds
from abci_app.certificates.keys import RECURRING, SCR, SDR
from abci_app.certificates.params import period
from abci_app.certificates.records import (
    RETIRED,
    REVOKED,
    SUSPENDED,
    Bundle,
    BundleHistory,
    BundleId,
    BundleStatus,
    ClearSkyHold,
    HoldStatus,
    PendingDelivery,
    Retirement,
    StandingOversight,
    StorageLot,
    StorageState,
)
from abci_app.certificates.registry_records import (
    RecurringAction,
    RecurringKind,
    RegistryInfo,
    StorageChargeRecord,
    StorageDischargeRecord,
    TransferAcceptance,
)
from abci_app.devices.keeper import get_device
from abci_app.devices.records import Device, DeviceId
from abci_app.domain import GenesisError
from abci_app.genesis_fields import hex_address, parse_section, sections_json
from abci_app.identity.keeper import get_member
from abci_app.store.branch import Branch, KVReader
from abci_app.types import Address, BlockInfo

__all__ = ["SECTIONS", "export_genesis", "import_genesis"]

SECTIONS = ("certificates",)
COUNTERS = tuple(f.name for f in gpb.Counters.DESCRIPTOR.fields)
BATTERY = 4  # gridledger.devices.v1.DeviceKind
R = TypeVar("R")


def _registered(store: KVReader, device_id: str) -> Device | None:
    """The device, or None when unknown (an id that cannot be a key, 1 to 255 bytes, is unknown too)."""
    return get_device(store, device_id) if 1 <= len(device_id.encode()) <= 255 else None


def _device(store: KVReader, device_id: str, where: str) -> None:
    if _registered(store, device_id) is None:
        raise GenesisError(f"{where}: unknown device {device_id[:64]!r} (not in the devices section)")


def _member(store: KVReader, address: bytes, where: str) -> None:
    if len(address) != 20 or get_member(store, address) is None:
        raise GenesisError(f"{where}: owner {address.hex()} is not a genesis member")


# ---- parts --------------------------------------------------------------------------


def _issued(store: KVReader, items: Sequence[gpb.IssuedTally]) -> dict[tuple[str, int], tuple[int, int]]:
    """(device, hour) → (issued Wh, index in the list)."""
    out: dict[tuple[str, int], tuple[int, int]] = {}
    for i, x in enumerate(items):
        where = f"certificates.issued[{i}]"
        if x.wh == 0:
            raise GenesisError(f"{where}.wh: expected a volume above 0")
        if x.pruned_wh > x.wh:
            raise GenesisError(f"{where}.pruned_wh: {x.pruned_wh} is above the {x.wh} Wh issued")
        _device(store, x.device_id, where)
        if (x.device_id, x.hour_start) in out:
            raise GenesisError(f"{where}: duplicate device-hour {x.device_id!r} {x.hour_start}")
        out[x.device_id, x.hour_start] = (x.wh, i)
    return out


def _retirement(store: KVReader, m: pb.Retirement, where: str) -> Retirement:
    r = Retirement.from_proto(m)
    if r.retirement_id == 0:
        raise GenesisError(f"{where}.retirementId: expected an id above 0")
    if r.wh == 0:
        raise GenesisError(f"{where}.wh: expected a volume above 0")
    _member(store, r.owner, where)
    if len(r.beneficiary) != 20:
        raise GenesisError(f"{where}.beneficiary: expected a 20-byte address")
    if not r.consumption_start < r.consumption_end:
        raise GenesisError(f"{where}: the consumption period must satisfy start < end")
    if r.end_wh and r.end_wh < r.wh:
        raise GenesisError(f"{where}.endWh: the retired range [endWh − wh, endWh) starts below 0")
    _device(store, r.device_id, where)
    return r


def _bundle(store: KVReader, m: pb.Bundle, where: str) -> Bundle:
    try:
        b = Bundle.from_proto(m)
    except ValueError as exc:
        raise GenesisError(f"{where}.status: unknown bundle status {int(m.status)}") from exc
    if b.bundle_id == 0:
        raise GenesisError(f"{where}.bundleId: expected an id above 0")
    if b.status == BundleStatus.UNSPECIFIED:
        raise GenesisError(f"{where}.status: expected a bundle status")
    if not b.start_wh < b.end_wh:
        raise GenesisError(f"{where}: the range [{b.start_wh}, {b.end_wh}) is empty")
    _member(store, b.owner, where)
    _device(store, b.device_id, where)
    if b.origin_device:
        _device(store, b.origin_device, f"{where}.originDevice")
    return b


def _tile(
    bundles: list[Bundle], issued: dict[tuple[str, int], tuple[int, int]], pruned: Mapping[tuple[str, int], int]
) -> None:
    """The bundles of every device-hour tile [0, issued) exactly; where pruning archived some of them,
    the live ones are disjoint within [0, issued) and hold issued − pruned Wh."""
    ranges: dict[tuple[str, int], list[tuple[int, int, int]]] = {}
    for i, b in enumerate(bundles):
        where = f"certificates.bundles[{i}]"
        dh = (b.device_id, b.hour_start)
        if dh not in issued:
            raise GenesisError(f"{where}: device-hour {b.device_id!r} {b.hour_start} has no certificates.issued entry")
        if b.end_wh > issued[dh][0]:
            raise GenesisError(
                f"{where}: [{b.start_wh}, {b.end_wh}) exceeds the {issued[dh][0]} Wh issued for "
                f"{b.device_id!r} {b.hour_start}"
            )
        ranges.setdefault(dh, []).append((b.start_wh, b.end_wh, i))
    for (device_id, hour), (wh, j) in sorted(issued.items()):
        gone = pruned.get((device_id, hour), 0)
        if gone:
            _disjoint((device_id, hour), wh, gone, j, sorted(ranges.get((device_id, hour), [])))
            continue
        covered = 0
        for start, end, i in sorted(ranges.get((device_id, hour), [])):
            if start != covered:
                what = "overlaps the bundle before it" if start < covered else f"leaves [{covered}, {start}) uncovered"
                raise GenesisError(f"certificates.bundles[{i}]: [{start}, {end}) {what} in {device_id!r} {hour}")
            covered = end
        if covered != wh:
            raise GenesisError(
                f"certificates.issued[{j}]: the bundles of {device_id!r} {hour} cover {covered} of its {wh} Wh"
            )


def _disjoint(dh: tuple[str, int], wh: int, gone: int, j: int, ranges: list[tuple[int, int, int]]) -> None:
    """A device-hour with archived bundles: its live ranges do not overlap and hold wh − gone Wh."""
    device_id, hour = dh
    end_before, live = 0, 0
    for start, end, i in ranges:
        if start < end_before:
            raise GenesisError(f"certificates.bundles[{i}]: [{start}, {end}) overlaps the bundle before it")
        end_before, live = end, live + end - start
    if live + gone != wh:
        raise GenesisError(
            f"certificates.issued[{j}]: the bundles of {device_id!r} {hour} hold {live} Wh, "
            f"and {gone} Wh were archived, of its {wh} Wh"
        )


def _cross_check(bundles: list[Bundle], retirements: list[Retirement], compacted: int) -> None:
    """A retired bundle and its retirement record name each other and agree (retired Wh
    never change: not their owner, range or device-hour). A retirement with an id up to
    `compacted` (prune.py's retired-bundle cursor) may have no bundle: it left live state."""
    by_id = {b.bundle_id: b for b in bundles}
    retired_by = {r.retirement_id: r for r in retirements}
    for i, r in enumerate(retirements):
        b = by_id.get(r.bundle_id)
        if b is None and r.retirement_id <= compacted:
            continue
        if (
            b is None
            or b.status != RETIRED
            or b.retirement_id != r.retirement_id
            or keeper.volume(b) != r.wh
            or (b.device_id, b.hour_start, b.owner) != (r.device_id, r.hour_start, r.owner)
            or (r.end_wh and r.end_wh != b.end_wh)
        ):
            raise GenesisError(
                f"certificates.retirements[{i}]: bundle {r.bundle_id} is not a retired bundle of {r.wh} Wh "
                f"with retirementId {r.retirement_id} of the same device-hour, owner and range"
            )
    for i, b in enumerate(bundles):
        if b.status == RETIRED and b.retirement_id not in retired_by:
            raise GenesisError(
                f"certificates.bundles[{i}]: retired, but retirement {b.retirement_id} "
                "is not in certificates.retirements"
            )
        if b.status == RETIRED and b.retirement_id <= compacted:
            raise GenesisError(
                f"certificates.bundles[{i}]: retired by retirement {b.retirement_id}, whose bundle pruning "
                f"has archived (counters.archive_retired_bundle {compacted})"
            )


def _compacted(counters: gpb.Counters) -> int:
    """The retirements whose bundles pruning has archived: up to the larger of its two retirement
    cursors (prune.archived_retired_bundle)."""
    return max(counters.archive_retired_bundle, counters.archive_retirement)


def _unique(ids: list[int], name: str) -> None:
    seen: set[int] = set()
    for i, n in enumerate(ids):
        if n in seen:
            raise GenesisError(f"certificates.{name}[{i}]: duplicate id {n}")
        seen.add(n)


def _histories(items: Sequence[pb.BundleHistory], bundle_ids: set[BundleId]) -> list[BundleHistory]:
    out = []
    for i, m in enumerate(items):
        h = BundleHistory.from_proto(m)
        if h.bundle_id not in bundle_ids:
            raise GenesisError(
                f"certificates.histories[{i}].bundleId: bundle {h.bundle_id} is not in certificates.bundles"
            )
        out.append(h)
    _unique([h.bundle_id for h in out], "histories")
    return out


def _residual_retired(store: KVReader, items: Sequence[gpb.ResidualRetired]) -> list[tuple[int, str, int]]:
    out: dict[tuple[int, str], int] = {}
    length = period(store)
    for i, x in enumerate(items):
        where = f"certificates.residual_retired[{i}]"
        if len(x.region.encode()) > 255:
            raise GenesisError(f"{where}.region: longer than 255 bytes")
        if x.hour_start % length:
            raise GenesisError(f"{where}.hour_start: {x.hour_start} is not a multiple of the certificate period")
        if (x.hour_start, x.region) in out:
            raise GenesisError(f"{where}: duplicate hour-region {x.hour_start} {x.region[:64]!r}")
        if x.wh == 0:
            raise GenesisError(f"{where}.wh: expected a volume above 0")
        out[(x.hour_start, x.region)] = x.wh
    return [(h, r, wh) for (h, r), wh in sorted(out.items())]


def _claims(items: Sequence[gpb.HourClaim]) -> list[tuple[Address, int, int]]:
    out: dict[tuple[Address, int], int] = {}
    for i, x in enumerate(items):
        where = f"certificates.claims[{i}]"
        key = (hex_address(x.beneficiary, f"{where}.beneficiary"), x.hour_start)
        if key in out:
            raise GenesisError(f"{where}: duplicate beneficiary-hour {key[0].hex()} {key[1]}")
        if x.wh == 0:
            raise GenesisError(f"{where}.wh: expected a volume above 0")
        out[key] = x.wh
    return [(a, h, wh) for (a, h), wh in out.items()]


_StorageEntry = tuple[DeviceId, StorageState | None, list[StorageLot], list[tuple[int, int, int]]]


def _lot(store: KVReader, m: pb.StorageLot, where: str) -> StorageLot:
    try:
        lot = StorageLot.from_proto(m)
    except ValueError as exc:
        raise GenesisError(f"{where}.oversight: unknown bundle status {int(m.oversight)}") from exc
    if lot.oversight not in (BundleStatus.UNSPECIFIED, SUSPENDED, REVOKED):
        raise GenesisError(f"{where}.oversight: expected none, suspended or revoked")
    if lot.device_id:
        _device(store, lot.device_id, f"{where}.deviceId")
    elif lot.oversight:
        raise GenesisError(f"{where}.oversight: a lot without certificates cannot be marked")
    return lot


def _lots(store: KVReader, items: Sequence[pb.StorageLot], state: StorageState | None, where: str) -> list[StorageLot]:
    lots = [_lot(store, x, f"{where}.lots[{i}]") for i, x in enumerate(items)]
    if state is None:
        if lots:
            raise GenesisError(f"{where}.lots: lots need a state (their head and tail)")
        return lots
    if not state.head <= state.tail or len(lots) != state.tail - state.head:
        raise GenesisError(f"{where}.lots: expected tail - head = {state.tail - state.head} lots, got {len(lots)}")
    for i, lot in enumerate(lots):
        if not lot.in_start < lot.in_end:
            raise GenesisError(f"{where}.lots[{i}]: the input range [{lot.in_start}, {lot.in_end}) is empty")
        if i and lots[i - 1].in_end != lot.in_start:
            raise GenesisError(f"{where}.lots[{i}]: does not start where the lot before it ends")
    if lots and lots[-1].in_end != state.in_total:
        raise GenesisError(f"{where}.lots: the last lot ends at {lots[-1].in_end}, not at inTotal {state.in_total}")
    return lots


def _storage(store: KVReader, items: Sequence[gpb.BatteryStorage]) -> list[_StorageEntry]:
    out: list[_StorageEntry] = []
    seen: set[str] = set()
    for i, x in enumerate(items):
        where = f"certificates.storage[{i}]"
        _battery(store, x.battery, where)
        if x.battery in seen:
            raise GenesisError(f"{where}.battery: duplicate battery {x.battery!r}")
        seen.add(x.battery)
        state = StorageState.from_proto(x.state) if x.HasField("state") else None
        lots = _lots(store, x.lots, state, where)
        done: dict[int, tuple[int, int]] = {}
        for j, d in enumerate(x.done):
            if d.hour_start in done:
                raise GenesisError(f"{where}.done[{j}].hour_start: duplicate hour {d.hour_start}")
            done[d.hour_start] = (d.charged_wh, d.discharged_wh)
        out.append((DeviceId(x.battery), state, lots, [(h, c, dc) for h, (c, dc) in done.items()]))
    return out


def _counters(
    counters: gpb.Counters,
    bundles: list[Bundle],
    retirements: list[Retirement],
    pending: list[PendingDelivery],
    more: tuple[tuple[str, int], ...] = (),
) -> dict[str, int]:
    out: dict[str, int] = {name: getattr(counters, name) for name in COUNTERS if counters.HasField(name)}
    for name, used in (
        ("bundle", max((b.bundle_id for b in bundles), default=0)),
        ("retirement", max((r.retirement_id for r in retirements), default=0)),
        (PENDING_COUNTER, max((p.delivery_id for p in pending), default=0)),
        *more,
    ):
        if name not in out:
            if used:
                out[name] = used
        elif out[name] < used:
            raise GenesisError(f"certificates.counters.{name}: {out[name]} is below id {used} in use")
    return out


def _oversights(store: KVReader, items: Sequence[pb.StandingOversight]) -> list[StandingOversight]:
    out: list[StandingOversight] = []
    seen: set[str] = set()
    for i, m in enumerate(items):
        where = f"certificates.oversights[{i}]"
        try:
            record = StandingOversight.from_proto(m)
        except ValueError as exc:
            raise GenesisError(f"{where}.status: unknown bundle status {int(m.status)}") from exc
        _device(store, record.device_id, f"{where}.deviceId")
        if record.device_id in seen:
            raise GenesisError(f"{where}.deviceId: duplicate device {record.device_id!r}")
        seen.add(record.device_id)
        if record.status not in (SUSPENDED, REVOKED):
            raise GenesisError(f"{where}.status: expected suspended or revoked")
        if record.revoked_from_hour and (record.status != SUSPENDED or record.revoked_from_hour <= record.from_hour):
            raise GenesisError(f"{where}.revokedFromHour: only after a suspension's fromHour")
        out.append(record)
    return out


def _pending(store: KVReader, items: Sequence[pb.PendingDelivery]) -> list[PendingDelivery]:
    out: list[PendingDelivery] = []
    for i, m in enumerate(items):
        where = f"certificates.pending_deliveries[{i}]"
        p = PendingDelivery.from_proto(m)
        if p.delivery_id == 0:
            raise GenesisError(f"{where}.deliveryId: expected an id above 0")
        if p.wh == 0:
            raise GenesisError(f"{where}.wh: expected a volume above 0")
        _member(store, p.seller, f"{where}.seller")
        _member(store, p.buyer, f"{where}.buyer")
        if p.seller == p.buyer:
            raise GenesisError(f"{where}: the seller and the buyer must differ")
        out.append(p)
    _unique([p.delivery_id for p in out], "pending_deliveries")
    return out


def _holds(store: KVReader, items: Sequence[pb.ClearSkyHold]) -> list[ClearSkyHold]:
    out: list[ClearSkyHold] = []
    seen: set[tuple[str, int]] = set()
    for i, m in enumerate(items):
        where = f"certificates.clear_sky_holds[{i}]"
        try:
            hold = ClearSkyHold.from_proto(m)
        except ValueError as exc:
            raise GenesisError(f"{where}.status: unknown hold status {int(m.status)}") from exc
        _device(store, hold.device_id, f"{where}.deviceId")
        if (hold.device_id, hold.hour_start) in seen:
            raise GenesisError(f"{where}: duplicate hold of device {hold.device_id!r} hour {hold.hour_start}")
        seen.add((hold.device_id, hold.hour_start))
        if hold.status == HoldStatus.UNSPECIFIED:
            raise GenesisError(f"{where}.status: expected held, released or rejected")
        out.append(hold)
    return out


def _ids(items: Sequence[Any], where: str, decode: Callable[[Any], R], id_name: str) -> list[tuple[str, R]]:
    out = []
    for i, m in enumerate(items):
        w = f"certificates.{where}[{i}]"
        try:
            rec = decode(m)
        except ValueError as exc:
            raise GenesisError(f"{w}: {exc}") from exc
        if getattr(rec, id_name) == 0:
            raise GenesisError(f"{w}: expected an id above 0")
        out.append((w, rec))
    _unique([getattr(rec, id_name) for _w, rec in out], where)
    return out


def _battery(store: KVReader, battery: str, where: str) -> None:
    device = _registered(store, battery)
    if device is None or device.kind != BATTERY:
        raise GenesisError(f"{where}.battery: {battery[:64]!r} is not a registered battery")


def _scrs(store: KVReader, items: Sequence[pb.StorageChargeRecord]) -> list[StorageChargeRecord]:
    out = []
    for w, r in _ids(items, "scrs", StorageChargeRecord.from_proto, "scr_id"):
        _battery(store, r.battery, w)
        out.append(r)
    return out


def _sdrs(store: KVReader, items: Sequence[pb.StorageDischargeRecord]) -> list[StorageDischargeRecord]:
    out = []
    for w, r in _ids(items, "sdrs", StorageDischargeRecord.from_proto, "sdr_id"):
        _battery(store, r.battery, w)
        out.append(r)
    return out


def _acceptances(store: KVReader, items: Sequence[pb.TransferAcceptance]) -> list[TransferAcceptance]:
    out: list[TransferAcceptance] = []
    seen: set[bytes] = set()
    for i, m in enumerate(items):
        where = f"certificates.acceptances[{i}]"
        a = TransferAcceptance.from_proto(m)
        _member(store, a.member, f"{where}.member")
        if a.member in seen:
            raise GenesisError(f"{where}.member: duplicate member {a.member.hex()}")
        seen.add(a.member)
        if len(a.allowed) > registry_keeper.MAX_ALLOWED or any(len(x) != 20 for x in a.allowed):
            raise GenesisError(f"{where}.allowed: at most {registry_keeper.MAX_ALLOWED} 20-byte addresses")
        if list(a.allowed) != sorted(set(a.allowed)):
            raise GenesisError(f"{where}.allowed: expected unique addresses in byte order")
        if not a.restricted and not a.allowed:
            raise GenesisError(f"{where}: an unrestricted acceptance with no allow-list is the default, leave it out")
        out.append(a)
    return out


def _recurring(store: KVReader, items: Sequence[pb.RecurringAction]) -> list[RecurringAction]:
    out = []
    for w, a in _ids(items, "recurring", RecurringAction.from_proto, "action_id"):
        _member(store, a.owner, f"{w}.owner")
        if a.kind not in (RecurringKind.TRANSFER, RecurringKind.CANCEL):
            raise GenesisError(f"{w}.kind: expected transfer or cancel")
        if len(a.target) != 20:
            raise GenesisError(f"{w}.target: expected a 20-byte address")
        if not (a.wh and a.every_hours and a.remaining):
            raise GenesisError(f"{w}: wh, everyHours and remaining must be above 0")
        out.append(a)
    return out


# ---- import / export ----------------------------------------------------------------


def import_genesis(store: Branch, block: BlockInfo, sections: Mapping[str, Any]) -> None:
    """Check the `certificates` section against the devices and identity sections and the
    chain's rules, then write it through the keeper (indexes rebuilt); GenesisError names the
    first field that is wrong."""
    if "certificates" not in sections:
        return
    section = parse_section(sections, "certificates", gpb.GenesisState())
    issued = _issued(store, section.issued)
    pruned = {(x.device_id, x.hour_start): x.pruned_wh for x in section.issued if x.pruned_wh}
    commitments = commitments_from_genesis(section.archive_commitments, "certificates.archive_commitments")
    retirements = [_retirement(store, x, f"certificates.retirements[{i}]") for i, x in enumerate(section.retirements)]
    _unique([r.retirement_id for r in retirements], "retirements")
    bundles = [_bundle(store, x, f"certificates.bundles[{i}]") for i, x in enumerate(section.bundles)]
    _unique([b.bundle_id for b in bundles], "bundles")
    _tile(bundles, issued, pruned)
    _cross_check(bundles, retirements, _compacted(section.counters))
    histories = _histories(section.histories, {b.bundle_id for b in bundles})
    claims = _claims(section.claims)
    residual_retired = _residual_retired(store, section.residual_retired)
    batteries = _storage(store, section.storage)
    oversights = _oversights(store, section.oversights)
    pending = _pending(store, section.pending_deliveries)
    holds = _holds(store, section.clear_sky_holds)
    registry = RegistryInfo.from_proto(section.registry) if section.HasField("registry") else None
    scrs = _scrs(store, section.scrs)
    sdrs = _sdrs(store, section.sdrs)
    acceptances = _acceptances(store, section.acceptances)
    recurring = _recurring(store, section.recurring)
    used = (
        (SCR, max((r.scr_id for r in scrs), default=0)),
        (SDR, max((r.sdr_id for r in sdrs), default=0)),
        (RECURRING, max((a.action_id for a in recurring), default=0)),
    )
    counters = _counters(section.counters, bundles, retirements, pending, used)

    for b in bundles:
        keeper.put_bundle(store, b)
    for (device_id, hour), (wh, _i) in issued.items():
        keeper.set_issued_tally(store, device_id, hour, wh, pruned.get((device_id, hour), 0))
    for height, commitment in commitments:
        store.set(keys.archive_commitment(height), commitment)
    for h in histories:
        keeper.put_history(store, h)
    for r in retirements:
        keeper.put_retirement(store, r)
    for beneficiary, hour, wh in claims:
        keeper.add_claim(store, beneficiary, hour, wh)
    for hour, region, wh in residual_retired:
        keeper.add_residual_retired(store, hour, region, wh)
    for battery, state, lots, done in batteries:
        if state is not None:
            storage.put_state(store, battery, state)
            for seq, lot in enumerate(lots, start=state.head):
                storage.put_lot(store, battery, seq, lot)
        for hour, charged, discharged in done:
            storage.set_storage_done(store, battery, hour, charged, discharged)
    for name, value in counters.items():
        keeper.set_counter(store, name, value)
    for record in oversights:
        keeper.put_oversight(store, record.device_id, record)
    for p in pending:
        keeper.put_pending_delivery(store, p)
    for hold in holds:
        keeper.put_hold(store, hold)
    if registry is not None:
        registry_keeper.set_registry_info(store, registry)
    for scr in scrs:
        registry_keeper.put_scr(store, scr)
    for sdr in sdrs:
        registry_keeper.put_sdr(store, sdr)
    for acceptance in acceptances:
        registry_keeper.put_acceptance(store, acceptance)
    for action in recurring:
        registry_keeper.put_recurring(store, action)
    if oversights and (breach := standing_oversight_holds(store)):
        raise GenesisError(f"certificates.oversights: does not hold: {breach}")


def _storage_export(store: KVReader) -> list[gpb.BatteryStorage]:
    out: dict[str, gpb.BatteryStorage] = {}
    for battery, state in storage.iter_states(store):
        out.setdefault(battery, gpb.BatteryStorage(battery=battery)).state.CopyFrom(state.to_proto())
    for battery, _seq, lot in storage.iter_lots(store):  # in sequence order per battery
        out.setdefault(battery, gpb.BatteryStorage(battery=battery)).lots.append(lot.to_proto())
    for battery, hour, charged, discharged in storage.iter_storage_done(store):
        done = gpb.StorageDone(hour_start=hour, charged_wh=charged, discharged_wh=discharged)
        out.setdefault(battery, gpb.BatteryStorage(battery=battery)).done.append(done)
    return [out[name] for name in sorted(out)]


def export_genesis(store: KVReader) -> dict[str, Any]:
    """Every stored certificates record, tally, claim and counter (indexes follow from the bundles)."""
    section = gpb.GenesisState(
        bundles=[b.to_proto() for b in keeper.iter_bundles(store)],
        issued=[
            gpb.IssuedTally(device_id=d, hour_start=h, wh=wh, pruned_wh=p)
            for d, h, wh, p in keeper.iter_issued_tallies(store)
        ],
        histories=[h.to_proto() for h in keeper.iter_histories(store)],
        retirements=[r.to_proto() for r in keeper.iter_retirements(store)],
        claims=[gpb.HourClaim(beneficiary=a.hex(), hour_start=h, wh=wh) for a, h, wh in keeper.iter_claims(store)],
        residual_retired=[
            gpb.ResidualRetired(hour_start=h, region=r, wh=wh) for h, r, wh in keeper.iter_residual_retired(store)
        ],
        storage=_storage_export(store),
        counters=gpb.Counters(**dict(keeper.iter_counters(store))),
        oversights=[r.to_proto() for r in keeper.iter_oversights(store)],
        pending_deliveries=[p.to_proto() for p in keeper.iter_pending_deliveries(store)],
        clear_sky_holds=[h.to_proto() for h in keeper.iter_holds(store)],
        scrs=[r.to_proto() for r in registry_keeper.iter_scrs(store)],
        sdrs=[r.to_proto() for r in registry_keeper.iter_sdrs(store)],
        acceptances=[a.to_proto() for a in registry_keeper.iter_acceptances(store)],
        recurring=[a.to_proto() for a in registry_keeper.iter_recurring(store)],
        archive_commitments=[
            state_pb2.ArchiveCommitment(height=height, root=root, count=count)
            for height, root, count in iter_commitments(store, keys.archive_commitment_prefix())
        ],
    )
    if store.get(keys.registry_info()) is not None:
        section.registry.CopyFrom(registry_keeper.registry_info(store).to_proto())
    return {"certificates": sections_json(section)}
