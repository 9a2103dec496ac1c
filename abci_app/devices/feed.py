"""The generation feed: what an accepted reading tells the certificates domain.

An accepted reading of a renewable generator (a device of a generating kind, pv or wind)
adds its exported Wh to per device-hour aggregates; an accepted battery reading adds its
charged and discharged Wh. Each touched device-hour is marked pending, for the
certificates domain's end-block issuance. A meter, appliance, EV charger or heat pump is
never a generator, whatever `energy_source` it declares (RegisterDevice refuses such a
declaration, NOT_A_GENERATOR; a device from genesis or older state may still carry one):
a meter measures energy from anywhere (a battery charged from the grid, or the site's own
PV, which is certified already), so counting it would certify energy that is not
renewable or certify the same energy twice.

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

__all__ = ["GENERATOR_KINDS", "RENEWABLE_SOURCES", "is_renewable", "record_flow"]

PV, WIND, BATTERY = 2, 3, 4
GENERATOR_KINDS = frozenset({PV, WIND})  # the device kinds that generate renewable energy
RENEWABLE_SOURCES = frozenset(
    {"solar", "pv", "wind", "hydro", "biomass", "biogas", "geothermal", "tidal", "wave", "renewable"}
)


def is_renewable(device: Device) -> bool:
    """True exactly for a renewable generator: a device of a GENERATOR_KINDS kind (pv or
    wind). The declared energy_source never makes a device a generator."""
    return device.kind in GENERATOR_KINDS


def record_flow(
    store: Branch, device: Device, start: int, end: int, delta: keeper.HourFlow, *, hour: int | None = None
) -> None:
    """Record an accepted reading's deltas over [start, end) in the device-hour aggregates
    (see the module doc): export Wh for a renewable generator, charged and discharged Wh
    for a battery, nothing for other devices. `hour` is the certificates' period (read from
    `store` unless the caller has it)."""
    if hour is None:
        hour = period(store)
    if device.kind == BATTERY:
        if delta.charged_wh or delta.discharged_wh:
            charged = dict(split_by_period(start, end, delta.charged_wh, hour))
            for h, d in split_by_period(start, end, delta.discharged_wh, hour):
                keeper.add_hour_flow(store, device.device_id, h, keeper.HourFlow(0, charged.get(h, 0), d))
    elif delta.export_wh and is_renewable(device):
        for h, e in split_by_period(start, end, delta.export_wh, hour):
            keeper.add_hour_flow(store, device.device_id, h, keeper.HourFlow(e, 0, 0))
