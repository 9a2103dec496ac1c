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
    }

Records use the protobuf JSON mapping of `gridledger.certificates.v1` (bytes in base64); every
part is optional. The import checks what the chain's rules keep true: owners are genesis
members and devices are registered (the devices section is imported first); the bundles of a
device-hour tile [0, issued) exactly (no overlap, no gap, nothing beyond the issued volume); a
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

from collections.abc import Mapping
from typing import Any, TypeVar

from google.protobuf.json_format import MessageToDict, ParseDict, ParseError
from google.protobuf.message import Message
from gridledger.certificates.v1 import certificates_pb2 as pb

from abci_app.certificates import keeper, keys, registry_keeper, storage
from abci_app.certificates.dvp import PENDING_COUNTER
from abci_app.certificates.invariants import standing_oversight_holds
from abci_app.certificates.keys import RECURRING, SCR, SDR
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
from abci_app.genesis_fields import address_at, object_at
from abci_app.identity.keeper import get_member
from abci_app.store.branch import Branch, KVReader
from abci_app.types import Address, BlockInfo

__all__ = ["SECTIONS", "export_genesis", "import_genesis"]

SECTIONS = ("certificates",)
FIELDS = (
    "bundles",
    "issued",
    "histories",
    "retirements",
    "claims",
    "storage",
    "counters",
    "oversights",
    "pending_deliveries",
    "clear_sky_holds",
    "registry",
    "scrs",
    "sdrs",
    "acceptances",
    "recurring",
)
COUNTERS = ("bundle", "retirement", "expiry_cursor", PENDING_COUNTER, "expiry_next_id", SCR, SDR, RECURRING)
BATTERY = 4  # gridledger.devices.v1.DeviceKind
_U64 = 1 << 64
M = TypeVar("M", bound=Message)


# ---- shapes -------------------------------------------------------------------------


def _list(obj: Mapping[str, Any], name: str, where: str) -> list[Any]:
    items = obj.get(name, [])
    if not isinstance(items, list):
        raise GenesisError(f"{where}.{name}: expected a list")
    return items


def _uint(obj: Mapping[str, Any], name: str, where: str, *, low: int = 0) -> int:
    value = obj.get(name)
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value < _U64:
        raise GenesisError(f"{where}.{name}: expected an integer in [{low}, 2^64)")
    return value


def _text(obj: Mapping[str, Any], name: str, where: str) -> str:
    value = obj.get(name)
    if not isinstance(value, str) or not value:
        raise GenesisError(f"{where}.{name}: expected a non-empty string")
    return value


def _only(obj: Mapping[str, Any], known: tuple[str, ...], where: str) -> None:
    unknown = sorted(set(obj) - set(known))
    if unknown:
        raise GenesisError(f"{where}: unknown fields {unknown}; known: {list(known)}")


def _parse(item: Any, message: M, where: str) -> M:
    obj = object_at(item, where)
    try:
        return ParseDict(obj, message)
    except (ParseError, TypeError, ValueError) as exc:
        raise GenesisError(f"{where}: {exc}") from exc


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


def _issued(store: KVReader, items: list[Any]) -> dict[tuple[str, int], tuple[int, int]]:
    """(device, hour) → (issued Wh, index in the list)."""
    out: dict[tuple[str, int], tuple[int, int]] = {}
    for i, item in enumerate(items):
        where = f"certificates.issued[{i}]"
        obj = object_at(item, where)
        _only(obj, ("device_id", "hour_start", "wh"), where)
        device_id, hour = _text(obj, "device_id", where), _uint(obj, "hour_start", where)
        wh = _uint(obj, "wh", where, low=1)
        _device(store, device_id, where)
        if (device_id, hour) in out:
            raise GenesisError(f"{where}: duplicate device-hour {device_id!r} {hour}")
        out[device_id, hour] = (wh, i)
    return out


def _retirement(store: KVReader, item: Any, where: str) -> Retirement:
    r = Retirement.from_proto(_parse(item, pb.Retirement(), where))
    if r.retirement_id == 0:
        raise GenesisError(f"{where}.retirementId: expected an id above 0")
    if r.wh == 0:
        raise GenesisError(f"{where}.wh: expected a volume above 0")
    _member(store, r.owner, where)
    if len(r.beneficiary) != 20:
        raise GenesisError(f"{where}.beneficiary: expected a 20-byte address")
    if not r.consumption_start < r.consumption_end:
        raise GenesisError(f"{where}: the consumption period must satisfy start < end")
    _device(store, r.device_id, where)
    return r


def _bundle(store: KVReader, item: Any, where: str) -> Bundle:
    m = _parse(item, pb.Bundle(), where)
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


def _tile(bundles: list[Bundle], issued: dict[tuple[str, int], tuple[int, int]]) -> None:
    """The bundles of every device-hour tile [0, issued) exactly."""
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


def _cross_check(bundles: list[Bundle], retirements: list[Retirement]) -> None:
    """A retired bundle and its retirement record name each other and agree (retired Wh
    never change: not their owner, range or device-hour)."""
    by_id = {b.bundle_id: b for b in bundles}
    retired_by = {r.retirement_id: r for r in retirements}
    for i, r in enumerate(retirements):
        b = by_id.get(r.bundle_id)
        if (
            b is None
            or b.status != RETIRED
            or b.retirement_id != r.retirement_id
            or keeper.volume(b) != r.wh
            or (b.device_id, b.hour_start, b.owner) != (r.device_id, r.hour_start, r.owner)
        ):
            raise GenesisError(
                f"certificates.retirements[{i}]: bundle {r.bundle_id} is not a retired bundle of {r.wh} Wh "
                f"with retirementId {r.retirement_id} of the same device-hour and owner"
            )
    for i, b in enumerate(bundles):
        if b.status == RETIRED and b.retirement_id not in retired_by:
            raise GenesisError(
                f"certificates.bundles[{i}]: retired, but retirement {b.retirement_id} "
                "is not in certificates.retirements"
            )


def _unique(ids: list[int], name: str) -> None:
    seen: set[int] = set()
    for i, n in enumerate(ids):
        if n in seen:
            raise GenesisError(f"certificates.{name}[{i}]: duplicate id {n}")
        seen.add(n)


def _histories(items: list[Any], bundle_ids: set[BundleId]) -> list[BundleHistory]:
    out = []
    for i, item in enumerate(items):
        where = f"certificates.histories[{i}]"
        h = BundleHistory.from_proto(_parse(item, pb.BundleHistory(), where))
        if h.bundle_id not in bundle_ids:
            raise GenesisError(f"{where}.bundleId: bundle {h.bundle_id} is not in certificates.bundles")
        out.append(h)
    _unique([h.bundle_id for h in out], "histories")
    return out


def _claims(items: list[Any]) -> list[tuple[Address, int, int]]:
    out: dict[tuple[Address, int], int] = {}
    for i, item in enumerate(items):
        where = f"certificates.claims[{i}]"
        obj = object_at(item, where)
        _only(obj, ("beneficiary", "hour_start", "wh"), where)
        key = (address_at(obj, "beneficiary", where), _uint(obj, "hour_start", where))
        if key in out:
            raise GenesisError(f"{where}: duplicate beneficiary-hour {key[0].hex()} {key[1]}")
        out[key] = _uint(obj, "wh", where, low=1)
    return [(a, h, wh) for (a, h), wh in out.items()]


_StorageEntry = tuple[DeviceId, StorageState | None, list[StorageLot], list[tuple[int, int, int]]]


def _lot(store: KVReader, item: Any, where: str) -> StorageLot:
    m = _parse(item, pb.StorageLot(), where)
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


def _lots(store: KVReader, items: list[Any], state: StorageState | None, where: str) -> list[StorageLot]:
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


def _storage(store: KVReader, items: list[Any]) -> list[_StorageEntry]:
    out: list[_StorageEntry] = []
    seen: set[str] = set()
    for i, item in enumerate(items):
        where = f"certificates.storage[{i}]"
        obj = object_at(item, where)
        _only(obj, ("battery", "state", "lots", "done"), where)
        battery = _text(obj, "battery", where)
        device = _registered(store, battery)
        if device is None or device.kind != BATTERY:
            raise GenesisError(f"{where}.battery: {battery[:64]!r} is not a registered battery")
        if battery in seen:
            raise GenesisError(f"{where}.battery: duplicate battery {battery!r}")
        seen.add(battery)
        state = None
        if "state" in obj:
            state = StorageState.from_proto(_parse(obj["state"], pb.StorageState(), f"{where}.state"))
        lots = _lots(store, _list(obj, "lots", where), state, where)
        done: dict[int, tuple[int, int]] = {}
        for j, d in enumerate(_list(obj, "done", where)):
            w = f"{where}.done[{j}]"
            _only(object_at(d, w), ("hour_start", "charged_wh", "discharged_wh"), w)
            hour = _uint(d, "hour_start", w)
            if hour in done:
                raise GenesisError(f"{w}.hour_start: duplicate hour {hour}")
            done[hour] = (_uint(d, "charged_wh", w), _uint(d, "discharged_wh", w))
        out.append((DeviceId(battery), state, lots, [(h, c, dc) for h, (c, dc) in done.items()]))
    return out


def _counters(
    value: Any,
    bundles: list[Bundle],
    retirements: list[Retirement],
    pending: list[PendingDelivery],
    more: tuple[tuple[str, int], ...] = (),
) -> dict[str, int]:
    obj = object_at(value, "certificates.counters")
    _only(obj, COUNTERS, "certificates.counters")
    out = {name: _uint(obj, name, "certificates.counters") for name in COUNTERS if name in obj}
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


def _oversights(store: KVReader, items: list[Any]) -> list[StandingOversight]:
    out: list[StandingOversight] = []
    seen: set[str] = set()
    for i, item in enumerate(items):
        where = f"certificates.oversights[{i}]"
        m = _parse(item, pb.StandingOversight(), where)
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


def _pending(store: KVReader, items: list[Any]) -> list[PendingDelivery]:
    out: list[PendingDelivery] = []
    for i, item in enumerate(items):
        where = f"certificates.pending_deliveries[{i}]"
        p = PendingDelivery.from_proto(_parse(item, pb.PendingDelivery(), where))
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


def _holds(store: KVReader, items: list[Any]) -> list[ClearSkyHold]:
    out: list[ClearSkyHold] = []
    seen: set[tuple[str, int]] = set()
    for i, item in enumerate(items):
        where = f"certificates.clear_sky_holds[{i}]"
        m = _parse(item, pb.ClearSkyHold(), where)
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


def _ids(items: list[Any], message: M, where: str, decode: Any, id_name: str) -> list[Any]:
    out = []
    for i, item in enumerate(items):
        w = f"certificates.{where}[{i}]"
        try:
            rec = decode(_parse(item, message.__class__(), w))
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


def _scrs(store: KVReader, items: list[Any]) -> list[StorageChargeRecord]:
    out = []
    for w, r in _ids(items, pb.StorageChargeRecord(), "scrs", StorageChargeRecord.from_proto, "scr_id"):
        _battery(store, r.battery, w)
        out.append(r)
    return out


def _sdrs(store: KVReader, items: list[Any]) -> list[StorageDischargeRecord]:
    out = []
    for w, r in _ids(items, pb.StorageDischargeRecord(), "sdrs", StorageDischargeRecord.from_proto, "sdr_id"):
        _battery(store, r.battery, w)
        out.append(r)
    return out


def _acceptances(store: KVReader, items: list[Any]) -> list[TransferAcceptance]:
    out: list[TransferAcceptance] = []
    seen: set[bytes] = set()
    for i, item in enumerate(items):
        where = f"certificates.acceptances[{i}]"
        a = TransferAcceptance.from_proto(_parse(item, pb.TransferAcceptance(), where))
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


def _recurring(store: KVReader, items: list[Any]) -> list[RecurringAction]:
    out = []
    for w, a in _ids(items, pb.RecurringAction(), "recurring", RecurringAction.from_proto, "action_id"):
        _member(store, a.owner, f"{w}.owner")
        if a.kind not in (RecurringKind.TRANSFER, RecurringKind.CANCEL):
            raise GenesisError(f"{w}.kind: expected transfer or cancel")
        if len(a.target) != 20:
            raise GenesisError(f"{w}.target: expected a 20-byte address")
        if not (a.wh and a.every_hours and a.remaining):
            raise GenesisError(f"{w}: wh, everyHours and remaining must be above 0")
        out.append(a)
    return out


def _registry(value: Any) -> RegistryInfo | None:
    if value is None:
        return None
    return RegistryInfo.from_proto(_parse(value, pb.RegistryInfo(), "certificates.registry"))


# ---- import / export ----------------------------------------------------------------


def import_genesis(store: Branch, block: BlockInfo, sections: Mapping[str, Any]) -> None:
    if "certificates" not in sections:
        return
    section = object_at(sections["certificates"], "certificates")
    _only(section, FIELDS, "certificates")
    issued = _issued(store, _list(section, "issued", "certificates"))
    retirements = [
        _retirement(store, x, f"certificates.retirements[{i}]")
        for i, x in enumerate(_list(section, "retirements", "certificates"))
    ]
    _unique([r.retirement_id for r in retirements], "retirements")
    bundles = [
        _bundle(store, x, f"certificates.bundles[{i}]") for i, x in enumerate(_list(section, "bundles", "certificates"))
    ]
    _unique([b.bundle_id for b in bundles], "bundles")
    _tile(bundles, issued)
    _cross_check(bundles, retirements)
    histories = _histories(_list(section, "histories", "certificates"), {b.bundle_id for b in bundles})
    claims = _claims(_list(section, "claims", "certificates"))
    batteries = _storage(store, _list(section, "storage", "certificates"))
    oversights = _oversights(store, _list(section, "oversights", "certificates"))
    pending = _pending(store, _list(section, "pending_deliveries", "certificates"))
    holds = _holds(store, _list(section, "clear_sky_holds", "certificates"))
    registry = _registry(section.get("registry"))
    scrs = _scrs(store, _list(section, "scrs", "certificates"))
    sdrs = _sdrs(store, _list(section, "sdrs", "certificates"))
    acceptances = _acceptances(store, _list(section, "acceptances", "certificates"))
    recurring = _recurring(store, _list(section, "recurring", "certificates"))
    used = (
        (SCR, max((r.scr_id for r in scrs), default=0)),
        (SDR, max((r.sdr_id for r in sdrs), default=0)),
        (RECURRING, max((a.action_id for a in recurring), default=0)),
    )
    counters = _counters(section.get("counters", {}), bundles, retirements, pending, used)

    for b in bundles:
        keeper.put_bundle(store, b)
    for (device_id, hour), (wh, _i) in issued.items():
        keeper.set_issued(store, device_id, hour, wh)
    for h in histories:
        keeper.put_history(store, h)
    for r in retirements:
        keeper.put_retirement(store, r)
    for beneficiary, hour, wh in claims:
        keeper.add_claim(store, beneficiary, hour, wh)
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


def _storage_export(store: KVReader) -> list[dict[str, Any]]:
    states = dict(storage.iter_states(store))
    lots: dict[str, list[dict[str, Any]]] = {}
    for battery, _seq, lot in storage.iter_lots(store):  # in sequence order per battery
        lots.setdefault(battery, []).append(MessageToDict(lot.to_proto()))
    done: dict[str, list[dict[str, int]]] = {}
    for battery, hour, charged, discharged in storage.iter_storage_done(store):
        done.setdefault(battery, []).append({"hour_start": hour, "charged_wh": charged, "discharged_wh": discharged})
    out = []
    for name in sorted(states.keys() | lots.keys() | done.keys()):
        entry: dict[str, Any] = {"battery": name}
        if name in states:
            entry["state"] = MessageToDict(states[DeviceId(name)].to_proto())
        entry["lots"] = lots.get(name, [])
        entry["done"] = done.get(name, [])
        out.append(entry)
    return out


def export_genesis(store: KVReader) -> dict[str, Any]:
    """Every stored certificates record, tally, claim and counter (indexes follow from the bundles)."""
    return {
        "certificates": {
            "bundles": [MessageToDict(b.to_proto()) for b in keeper.iter_bundles(store)],
            "issued": [{"device_id": d, "hour_start": h, "wh": wh} for d, h, wh in keeper.iter_issued(store)],
            "histories": [MessageToDict(h.to_proto()) for h in keeper.iter_histories(store)],
            "retirements": [MessageToDict(r.to_proto()) for r in keeper.iter_retirements(store)],
            "claims": [{"beneficiary": a.hex(), "hour_start": h, "wh": wh} for a, h, wh in keeper.iter_claims(store)],
            "storage": _storage_export(store),
            "counters": dict(keeper.iter_counters(store)),
            "oversights": [MessageToDict(r.to_proto()) for r in keeper.iter_oversights(store)],
            "pending_deliveries": [MessageToDict(p.to_proto()) for p in keeper.iter_pending_deliveries(store)],
            "clear_sky_holds": [MessageToDict(h.to_proto()) for h in keeper.iter_holds(store)],
            **_registry_export(store),
        }
    }


def _registry_export(store: KVReader) -> dict[str, Any]:
    out: dict[str, Any] = {
        "scrs": [MessageToDict(r.to_proto()) for r in registry_keeper.iter_scrs(store)],
        "sdrs": [MessageToDict(r.to_proto()) for r in registry_keeper.iter_sdrs(store)],
        "acceptances": [MessageToDict(a.to_proto()) for a in registry_keeper.iter_acceptances(store)],
        "recurring": [MessageToDict(a.to_proto()) for a in registry_keeper.iter_recurring(store)],
    }
    if store.get(keys.registry_info()) is not None:
        out["registry"] = MessageToDict(registry_keeper.registry_info(store).to_proto())
    return out
