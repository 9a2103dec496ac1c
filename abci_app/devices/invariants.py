"""Battery state of charge stays within [0, capacity]."""

from __future__ import annotations

from abci_app.devices import keeper
from abci_app.devices.records import NO_BATTERY
from abci_app.store.branch import KVReader

__all__ = ["soc_within_capacity"]

BATTERY = 4


def soc_within_capacity(store: KVReader) -> str | None:
    for dev in keeper.iter_devices(store):
        if dev.kind != BATTERY:
            continue
        state = keeper.get_battery(store, dev.device_id)
        capacity_wh = (dev.battery or NO_BATTERY).capacity_wh
        if state is not None and not 0 <= state.soc_mwh <= capacity_wh * 1000:
            return f"battery {dev.device_id}: soc {state.soc_mwh} mWh outside [0, {capacity_wh * 1000}]"
    return None
