"""The generation feed: what an accepted reading tells the certificates domain.

An accepted reading of a renewable generator (kind pv or wind, or any non-battery device
whose `energy_source` names a renewable source) adds its exported Wh to per device-hour
aggregates; an accepted battery reading adds its charged and discharged Wh. Each touched
device-hour is marked pending, for the certificates domain's end-block issuance.

Integer rule (`gridwire.periods.split_by_period`, the same as settlement intervals): a delta
over [start, end) is split over the production hours (`certificates.period_seconds`) it
overlaps in proportion to seconds, rounded down, and the last hour gets the remainder, so
the parts always sum to the delta.
"""

from __future__ import annotations

from gridwire.periods import split_by_period

from abci_app.certificates.params import period
from abci_app.devices import keeper
from abci_app.devices.records import Device
from abci_app.store.branch import Branch

__all__ = ["RENEWABLE_SOURCES", "is_renewable", "record_flow"]

PV, WIND, BATTERY = 2, 3, 4
RENEWABLE_SOURCES = frozenset(
    {"solar", "pv", "wind", "hydro", "biomass", "biogas", "geothermal", "tidal", "wave", "renewable"}
)


def is_renewable(device: Device) -> bool:
    """True for a renewable generator: kind pv or wind, or a non-battery device whose
    energy_source (case-insensitive) is one of RENEWABLE_SOURCES."""
    if device.kind in (PV, WIND):
        return True
    return device.kind != BATTERY and device.energy_source.lower() in RENEWABLE_SOURCES


def record_flow(store: Branch, device: Device, start: int, end: int, delta: keeper.HourFlow) -> None:
    """Record an accepted reading's deltas over [start, end) in the device-hour aggregates
    (see the module doc): export Wh for a renewable generator, charged and discharged Wh
    for a battery, nothing for other devices."""
    hour = period(store)
    if device.kind == BATTERY:
        if delta.charged_wh or delta.discharged_wh:
            charged = dict(split_by_period(start, end, delta.charged_wh, hour))
            for h, d in split_by_period(start, end, delta.discharged_wh, hour):
                keeper.add_hour_flow(store, device.device_id, h, keeper.HourFlow(0, charged.get(h, 0), d))
    elif delta.export_wh and is_renewable(device):
        for h, e in split_by_period(start, end, delta.export_wh, hour):
            keeper.add_hour_flow(store, device.device_id, h, keeper.HourFlow(e, 0, 0))
