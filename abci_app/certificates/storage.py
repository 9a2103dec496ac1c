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
"""

from __future__ import annotations

from abci_app.certificates import events, keeper, keys, ops
from abci_app.certificates.keeper import Sink
from abci_app.certificates.records import ACTIVE, CONSUMED, Bundle, StorageLot, StorageState
from abci_app.devices.records import NO_BATTERY, Device
from abci_app.store.branch import Branch, KVReader
from abci_app.types import BlockInfo

__all__ = ["get_state", "process_battery_hour", "storage_done"]


def get_state(store: KVReader, battery_id: str) -> StorageState:
    raw = store.get(keys.storage(battery_id))
    return StorageState() if raw is None else StorageState.FromString(raw)


def storage_done(store: KVReader, battery_id: str, hour_start: int) -> tuple[int, int]:
    """(charged, discharged) Wh of the battery-hour already accounted for."""
    raw = store.get(keys.storage_done(battery_id, hour_start))
    if raw is None:
        return 0, 0
    return int.from_bytes(raw[:8], "big"), int.from_bytes(raw[8:16], "big")


def _push(store: Branch, battery_id: str, state: StorageState, wh: int, source: Bundle | None) -> None:
    lot = StorageLot(in_start=state.in_total, in_end=state.in_total + wh)
    if source is not None:
        lot.device_id, lot.hour_start = source.device_id, source.hour_start
        lot.energy_source, lot.technology = source.energy_source, source.technology
        lot.country, lot.grid_region = source.country, source.grid_region
        lot.commissioning_date = source.commissioning_date
    store.set(keys.lot(battery_id, state.tail), lot.SerializeToString(deterministic=True))
    state.tail += 1
    state.in_total += wh


def _charge(
    store: Branch, block: BlockInfo, battery: Device, hour: int, wh: int, *, state: StorageState, sink: Sink
) -> None:
    left = wh
    for b in keeper.owner_hour_bundles(store, battery.owner, hour):
        if left == 0:
            break
        take = min(left, keeper.volume(b))
        piece = keeper.cut(store, block, b, take)
        piece.storage_device = battery.device_id
        ops.set_status(store, block, piece, CONSUMED, sink=sink, event=events.BUNDLE_CONSUMED)
        _push(store, battery.device_id, state, take, piece)
        left -= take
    if left:
        _push(store, battery.device_id, state, left, None)


def _discharge(
    store: Branch, block: BlockInfo, battery: Device, hour: int, wh: int, *, state: StorageState, sink: Sink
) -> None:
    eff = (battery.battery or NO_BATTERY).efficiency_bp
    end = min(state.out_total + wh, state.in_total * eff // 10_000)
    while state.head < state.tail and state.out_total < end:
        raw = store.get(keys.lot(battery.device_id, state.head))
        assert raw is not None, "storage lots are kept in step with head and tail"
        lot = StorageLot.FromString(raw)
        lot_out_end = lot.in_end * eff // 10_000
        n = min(end, lot_out_end) - state.out_total
        if n > 0 and lot.device_id:
            template = Bundle(
                device_id=battery.device_id,
                hour_start=hour,
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
            b = keeper.issue(store, block, template, n)
            sink.emit(events.BUNDLE_ISSUED, bundle=b.bundle_id, device=b.device_id, hour=hour, wh=n, storage=True)
        state.out_total += max(n, 0)
        if lot_out_end <= end:
            store.delete(keys.lot(battery.device_id, state.head))
            state.head += 1
    state.out_total = max(state.out_total, end)


def process_battery_hour(
    store: Branch, block: BlockInfo, battery: Device, hour: int, flow: tuple[int, int], *, sink: Sink
) -> None:
    """Account for the battery-hour's charged and discharged Wh (`flow`) not yet accounted
    for: charge first, then discharge (see the module doc)."""
    done_c, done_d = storage_done(store, battery.device_id, hour)
    new_c, new_d = flow[0] - done_c, flow[1] - done_d
    state = get_state(store, battery.device_id)
    if new_c > 0:
        _charge(store, block, battery, hour, new_c, state=state, sink=sink)
    if new_d > 0:
        _discharge(store, block, battery, hour, new_d, state=state, sink=sink)
    store.set(keys.storage(battery.device_id), state.SerializeToString(deterministic=True))
    store.set(keys.storage_done(battery.device_id, hour), flow[0].to_bytes(8, "big") + flow[1].to_bytes(8, "big"))
