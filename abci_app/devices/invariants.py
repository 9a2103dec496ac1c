"""Battery state of charge stays within [0, capacity]; the device trust chain is consistent."""

from __future__ import annotations

from abci_app.devices import keeper
from abci_app.devices.commissioning import COMMISSIONED_KINDS, iter_commissionings
from abci_app.devices.records import NO_BATTERY
from abci_app.identity.keeper import get_device_ca
from abci_app.store.branch import KVReader

__all__ = ["soc_within_capacity", "trust_chain_consistent"]

BATTERY = 4


def soc_within_capacity(store: KVReader) -> str | None:
    """Every battery's stored state of charge lies within [0, capacity]; the first one that does
    not, else None."""
    for dev in keeper.iter_devices(store):
        if dev.kind != BATTERY:
            continue
        state = keeper.get_battery(store, dev.device_id)
        capacity_wh = (dev.battery or NO_BATTERY).capacity_wh
        if state is not None and not 0 <= state.soc_mwh <= capacity_wh * 1000:
            return f"battery {dev.device_id}: soc {state.soc_mwh} mWh outside [0, {capacity_wh * 1000}]"
    return None


def trust_chain_consistent(store: KVReader) -> str | None:
    """Every certified device names a device CA governance admitted (revoked or not), and every
    commissioning attestation names a registered, CA-certified PV, wind turbine or battery
    and a non-empty period."""
    for dev in keeper.iter_devices(store):
        if dev.cert_ca_id and get_device_ca(store, dev.cert_ca_id) is None:
            return f"device {dev.device_id}: certified by {dev.cert_ca_id!r}, which was never admitted"
    for c in iter_commissionings(store):
        named = keeper.get_device(store, c.device_id)
        if named is None or named.kind not in COMMISSIONED_KINDS or not named.cert_ca_id:
            return f"commissioning of {c.device_id}: not a registered, certified pv, wind or battery"
        if not c.valid_from < c.expiry:
            return f"commissioning of {c.device_id}: empty period [{c.valid_from}, {c.expiry})"
    return None
