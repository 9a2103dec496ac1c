"""Storage: a battery's charging consumes certificates, its discharging re-issues them.

Per battery-hour (after the hour's data is complete or its grace has passed), the new
charged Wh C first consume up to C Wh of the owner's active certificates of the same
production hour (status consumed_by_storage, `storage_device` the battery), in bundle id
order; the Wh become lots of the battery's FIFO with those certificates' attributes, and
the rest of C a lot without certificates. Lots hold input Wh [a, b) of the battery's
lifetime charge counter. Input prefix [0, x) is worth floor(x × η / 10 000) output Wh (η
the round-trip efficiency in basis points), so lot [a, b) yields output Wh
[floor(a·η/10⁴), floor(b·η/10⁴)). The hour's new discharged Wh D issue storage
certificates for the next min(D, floor(in_total·η/10⁴) − out_total) output Wh, each
piece with its lot's attributes (none for a lot without certificates). Green in is green
out, less exactly the efficiency loss; discharge beyond the tracked stored energy issues
nothing.

Lineage. A lot names the generation its certificates came from (device_id, hour_start;
for a storage certificate consumed again, that certificate's origin, so lineage survives
any number of batteries), and so does every storage certificate issued from it
(origin_device, origin_hour). Both are indexed by that source device-hour (keys
LOT_BY_SOURCE, BY_ORIGIN), so the certifier's suspension or revocation of a device
reaches them (handlers.py). A lot the certifier marked (`oversight` suspended or revoked)
issues its storage certificates in that status, not active, and so does a lot whose
source device-hour is under the certifier's standing oversight (the stronger of the two:
revoked over suspended), whatever its mark.

EnergyTag records. Each certified piece a charge consumes gets a storage charge record
(SCR: the consumed bundle, its Wh range and device-hour, the generation behind it, the lot)
and its lot names it (scr_id); each storage certificate a discharge issues gets a storage
discharge record (SDR: battery, discharge hour, Wh, the lot's SCR, the efficiency) and names
it (sdr_id, kept by every piece cut from it). So a storage certificate traces back, through
any number of batteries, to the cancelled certificates it came from
(registry_queries.lineage), and the storage_records_trace invariant keeps the trail whole.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

from abci_app.certificates import events, keeper, keys, ops, registry_keeper
from abci_app.certificates.keeper import Sink
from abci_app.certificates.records import (
    ACTIVE,
    CONSUMED,
    NO_BUNDLE,
    REVOKED,
    STATUS_NAMES,
    SUSPENDED,
    Bundle,
    BundleStatus,
    StorageLot,
    StorageState,
)
from abci_app.certificates.registry_records import StorageChargeRecord, StorageDischargeRecord
from abci_app.devices.records import NO_BATTERY, Device, DeviceId
from abci_app.store.backend import prefix_end
from abci_app.store.branch import Branch, KVReader
from abci_app.types import BlockInfo

__all__ = [
    "delete_lot",
    "get_lot",
    "get_state",
    "iter_lots",
    "iter_source_lots",
    "iter_states",
    "iter_storage_done",
    "process_battery_hour",
    "put_lot",
    "put_state",
    "set_storage_done",
    "storage_done",
]


def get_state(store: KVReader, battery_id: str) -> StorageState:
    """The battery's lot FIFO and lifetime counters (all zero for a battery that never stored certified
    energy)."""
    raw = store.get(keys.storage(battery_id))
    return StorageState() if raw is None else StorageState.decode(raw)


def put_state(store: Branch, battery_id: str, state: StorageState) -> None:
    """Store the battery's lot FIFO and lifetime counters."""
    store.set(keys.storage(battery_id), state.encode())


def iter_states(store: KVReader) -> Iterator[tuple[DeviceId, StorageState]]:
    """(battery id, storage state) of every battery with one, in key order."""
    prefix = keys.storage("")[:1]
    for k, v in store.iter_range(prefix, prefix_end(prefix)):
        yield DeviceId(k[2 : 2 + k[1]].decode()), StorageState.decode(v)


def get_lot(store: KVReader, battery_id: str, seq: int) -> StorageLot | None:
    """The battery's lot with sequence number `seq`, or None (discharged, or never made)."""
    raw = store.get(keys.lot(battery_id, seq))
    return None if raw is None else StorageLot.decode(raw)


def put_lot(store: Branch, battery_id: str, seq: int, lot: StorageLot) -> None:
    """Store lot `seq` of the battery, with its source entry when it carries certificates
    (a lot's source never changes: rewriting it to mark its oversight keeps the entry)."""
    store.set(keys.lot(battery_id, seq), lot.encode())
    if lot.device_id:
        store.set(keys.lot_by_source(lot.device_id, lot.hour_start, battery_id, seq), b"")


def delete_lot(store: Branch, battery_id: str, seq: int, lot: StorageLot) -> None:
    """Delete a lot and its entry in the source index (so the index stays in step)."""
    store.delete(keys.lot(battery_id, seq))
    if lot.device_id:
        store.delete(keys.lot_by_source(lot.device_id, lot.hour_start, battery_id, seq))


def iter_source_lots(store: KVReader, device_id: str, from_hour: int = 0) -> Iterator[tuple[DeviceId, int, StorageLot]]:
    """(battery id, sequence number, lot) of the stored lots whose certificates came from
    the device's generation of hours ≥ from_hour, by source hour, battery, sequence number."""
    prefix = keys.lot_by_source_prefix(device_id)
    for k, _v in store.iter_range(prefix + from_hour.to_bytes(8, "big"), prefix_end(prefix)):
        rest = k[len(prefix) + 8 :]
        n = rest[0]
        battery, seq = DeviceId(rest[1 : 1 + n].decode()), int.from_bytes(rest[1 + n : 9 + n], "big")
        lot = get_lot(store, battery, seq)
        if lot is not None:
            yield battery, seq, lot


def iter_lots(store: KVReader) -> Iterator[tuple[DeviceId, int, StorageLot]]:
    """(battery id, sequence number, lot) of every stored lot, in key order."""
    prefix = keys.lot_prefix("")[:1]
    for k, v in store.iter_range(prefix, prefix_end(prefix)):
        n = k[1]
        yield DeviceId(k[2 : 2 + n].decode()), int.from_bytes(k[2 + n : 10 + n], "big"), StorageLot.decode(v)


def storage_done(store: KVReader, battery_id: str, hour_start: int) -> tuple[int, int]:
    """(charged, discharged) Wh of the battery-hour already accounted for."""
    raw = store.get(keys.storage_done(battery_id, hour_start))
    if raw is None:
        return 0, 0
    return int.from_bytes(raw[:8], "big"), int.from_bytes(raw[8:16], "big")


def set_storage_done(store: Branch, battery_id: str, hour_start: int, charged: int, discharged: int) -> None:
    """Record the Wh charged and discharged that storage accounting has processed for the battery-hour (so
    it is never counted twice)."""
    store.set(keys.storage_done(battery_id, hour_start), charged.to_bytes(8, "big") + discharged.to_bytes(8, "big"))


def iter_storage_done(store: KVReader) -> Iterator[tuple[DeviceId, int, int, int]]:
    """(battery id, hour start, charged, discharged) of every accounted battery-hour, in key order."""
    prefix = keys.storage_done("", 0)[:1]
    for k, v in store.iter_range(prefix, prefix_end(prefix)):
        n = k[1]
        hour = int.from_bytes(k[2 + n : 10 + n], "big")
        yield DeviceId(k[2 : 2 + n].decode()), hour, int.from_bytes(v[:8], "big"), int.from_bytes(v[8:16], "big")


def _push(
    store: Branch, battery_id: str, state: StorageState, wh: int, source: Bundle | None, *, hour: int = 0
) -> StorageState:
    lot = StorageLot(in_start=state.in_total, in_end=state.in_total + wh)
    if source is not None:
        # the generation behind the certificate: a storage certificate passes its origin on
        origin = source.origin_device or source.device_id
        origin_hour = source.origin_hour if source.origin_device else source.hour_start
        scr = StorageChargeRecord(
            scr_id=registry_keeper.next_id(store, keys.SCR),
            battery=battery_id,
            charging_hour=hour,
            wh=wh,
            bundle_id=source.bundle_id,
            start_wh=source.start_wh,
            end_wh=source.end_wh,
            source_device=origin,
            source_hour=origin_hour,
            energy_source=source.energy_source,
            lot_seq=state.tail,
            bundle_device=source.device_id,
            bundle_hour=source.hour_start,
        )
        registry_keeper.put_scr(store, scr)
        lot = replace(
            lot,
            scr_id=scr.scr_id,
            device_id=origin,
            hour_start=origin_hour,
            energy_source=source.energy_source,
            technology=source.technology,
            country=source.country,
            grid_region=source.grid_region,
            commissioning_date=source.commissioning_date,
        )
    put_lot(store, battery_id, state.tail, lot)
    return replace(state, tail=state.tail + 1, in_total=state.in_total + wh)


def _charge(
    store: Branch, block: BlockInfo, battery: Device, hour: int, wh: int, *, state: StorageState, sink: Sink
) -> StorageState:
    left = wh
    for b in keeper.owner_hour_bundles(store, battery.owner, hour):
        if left == 0:
            break
        take = min(left, keeper.volume(b))
        piece = replace(keeper.cut(store, block, b, take), storage_device=battery.device_id)
        piece = ops.set_status(store, block, piece, CONSUMED, sink=sink, event=events.BUNDLE_CONSUMED)
        state = _push(store, battery.device_id, state, take, piece, hour=hour)
        left -= take
    if left:
        state = _push(store, battery.device_id, state, left, None)
    return state


def _held(store: KVReader, lot: StorageLot, battery_id: str, hour: int) -> tuple[BundleStatus, bool]:
    """The status a lot's storage certificates discharged by the battery in `hour` are
    issued in (UNSPECIFIED: active), and whether a standing oversight (of the lot's source
    device-hour, or of the battery itself at that hour), rather than the lot's mark,
    decided it. The strongest wins: revoked over suspended over none."""
    standing = max(
        (
            keeper.held_status(store, lot.device_id, lot.hour_start) or BundleStatus.UNSPECIFIED,
            keeper.held_status(store, battery_id, hour) or BundleStatus.UNSPECIFIED,
        ),
        key=_SEVERITY.__getitem__,
    )
    if _SEVERITY[standing] > _SEVERITY[lot.oversight]:
        return standing, True
    return lot.oversight, False


_SEVERITY = {BundleStatus.UNSPECIFIED: 0, SUSPENDED: 1, REVOKED: 2}  # a lot's mark is one of these


def _sdr(store: Branch, template: Bundle, lot: StorageLot, wh: int, eff: int) -> int:
    """Record the storage discharge of `wh` Wh from `lot` (the bundle id is the next one:
    keeper.issue takes it right after); its id."""
    sdr = StorageDischargeRecord(
        sdr_id=registry_keeper.next_id(store, keys.SDR),
        battery=template.device_id,
        discharging_hour=template.hour_start,
        wh=wh,
        bundle_id=keeper.peek_counter(store, "bundle") + 1,
        scr_id=lot.scr_id,
        efficiency_bp=eff,
    )
    registry_keeper.put_sdr(store, sdr)
    return sdr.sdr_id


def _issue_from_lot(
    store: Branch, block: BlockInfo, template: Bundle, lot: StorageLot, wh: int, *, eff: int, sink: Sink
) -> None:
    """Issue `wh` storage certificates from a lot: active, or in the status the certifier
    put the lot's source under (suspended or revoked, with that history entry and event;
    `reason` standing_oversight when the standing oversight, not the lot's mark, decided)."""
    oversight, standing = _held(store, lot, template.device_id, template.hour_start)
    template = replace(template, sdr_id=_sdr(store, template, lot, wh, eff))
    if oversight == BundleStatus.UNSPECIFIED:
        b = keeper.issue(store, block, template, wh)
        sink.emit(events.BUNDLE_ISSUED, bundle=b.bundle_id, device=b.device_id, hour=b.hour_start, wh=wh, storage=True)
        return
    b = keeper.issue(store, block, replace(template, status=oversight), wh)
    name = STATUS_NAMES[oversight]
    attrs = {"bundle": b.bundle_id, "device": b.device_id, "hour": b.hour_start, "wh": wh}
    why = {"reason": events.REASON_STANDING} if standing else {}
    sink.emit(events.BUNDLE_ISSUED, **attrs, storage=True, status=name, **why)
    keeper.add_history(store, b.bundle_id, block, name, wh)
    sink.emit(
        events.OVERSIGHT_EVENTS[oversight],
        **attrs,
        via=events.VIA_STORAGE,
        origin_device=b.origin_device,
        origin_hour=b.origin_hour,
        **why,
    )


def _discharge(
    store: Branch, block: BlockInfo, battery: Device, hour: int, wh: int, *, state: StorageState, sink: Sink
) -> StorageState:
    eff = (battery.battery or NO_BATTERY).efficiency_bp
    end = min(state.out_total + wh, state.in_total * eff // 10_000)
    head, out_total = state.head, state.out_total
    while head < state.tail and out_total < end:
        lot = get_lot(store, battery.device_id, head)
        assert lot is not None, "storage lots are kept in step with head and tail"
        lot_out_end = lot.in_end * eff // 10_000
        n = min(end, lot_out_end) - out_total
        if n > 0 and lot.device_id:
            template = Bundle(
                bundle_id=NO_BUNDLE,
                device_id=battery.device_id,
                hour_start=hour,
                start_wh=0,
                end_wh=0,
                owner=battery.owner,
                status=ACTIVE,
                energy_source=lot.energy_source,
                technology=lot.technology,
                country=lot.country,
                grid_region=lot.grid_region,
                commissioning_date=lot.commissioning_date,
                storage=True,
                origin_device=lot.device_id,
                origin_hour=lot.hour_start,
            )
            _issue_from_lot(store, block, template, lot, n, eff=eff, sink=sink)
        out_total += max(n, 0)
        if lot_out_end <= end:
            delete_lot(store, battery.device_id, head, lot)
            head += 1
    return replace(state, head=head, out_total=max(out_total, end))


def process_battery_hour(
    store: Branch, block: BlockInfo, battery: Device, hour: int, flow: tuple[int, int], *, sink: Sink
) -> None:
    """Account for the battery-hour's charged and discharged Wh (`flow`) not yet accounted
    for: charge first, then discharge (see the module doc)."""
    done_c, done_d = storage_done(store, battery.device_id, hour)
    new_c, new_d = flow[0] - done_c, flow[1] - done_d
    state = get_state(store, battery.device_id)
    if new_c > 0:
        state = _charge(store, block, battery, hour, new_c, state=state, sink=sink)
    if new_d > 0:
        state = _discharge(store, block, battery, hour, new_d, state=state, sink=sink)
    put_state(store, battery.device_id, state)
    set_storage_done(store, battery.device_id, hour, flow[0], flow[1])
