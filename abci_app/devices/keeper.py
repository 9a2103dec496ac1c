"""Reads and writes of the devices domain's collections (indexes kept in step)."""

from __future__ import annotations

from collections.abc import Iterator

from abci_app.devices import keys
from abci_app.devices.records import BatteryRules, BatteryState, Device, IntervalEnergy, ReadingState, Site
from abci_app.store.backend import prefix_end
from abci_app.store.branch import Branch, KVReader

__all__ = [
    "add_energy",
    "get_battery",
    "get_device",
    "get_energy",
    "get_reading",
    "get_rules",
    "get_site",
    "is_retired",
    "iter_devices",
    "iter_retired",
    "iter_site_devices",
    "iter_sites",
    "put_battery",
    "put_device",
    "put_reading",
    "put_rules",
    "put_site",
    "recent_hash",
    "remember",
    "retire_key",
]


def get_site(store: KVReader, site_id: str) -> Site | None:
    raw = store.get(keys.site(site_id))
    return None if raw is None else Site.FromString(raw)


def put_site(store: Branch, site: Site) -> None:
    store.set(keys.site(site.site_id), site.SerializeToString(deterministic=True))


def iter_sites(store: KVReader) -> Iterator[Site]:
    for _k, v in store.iter_range(keys.site_prefix(), prefix_end(keys.site_prefix())):
        yield Site.FromString(v)


def get_device(store: KVReader, device_id: str) -> Device | None:
    raw = store.get(keys.device(device_id))
    return None if raw is None else Device.FromString(raw)


def put_device(store: Branch, device: Device, old: Device | None = None) -> None:
    """Store `device`, moving its owner/feeder/site index entries from `old` if they changed."""
    d = device.device_id
    if old is not None:
        if old.owner != device.owner:
            store.delete(keys.by_owner(old.owner, d))
        if old.feeder != device.feeder:
            store.delete(keys.by_feeder(old.feeder, d))
        if old.site_id != device.site_id:
            store.delete(keys.by_site(old.site_id, d))
    store.set(keys.device(d), device.SerializeToString(deterministic=True))
    store.set(keys.by_owner(device.owner, d), b"")
    store.set(keys.by_feeder(device.feeder, d), b"")
    store.set(keys.by_site(device.site_id, d), b"")


def iter_devices(store: KVReader) -> Iterator[Device]:
    for _k, v in store.iter_range(keys.device_prefix(), prefix_end(keys.device_prefix())):
        yield Device.FromString(v)


def iter_site_devices(store: KVReader, site_id: str) -> Iterator[str]:
    prefix = keys.by_site_prefix(site_id)
    for k, _v in store.iter_range(prefix, prefix_end(prefix)):
        yield k[len(prefix) + 1 :].decode()


def retire_key(store: Branch, device_id: str, public_key: bytes, at: int) -> None:
    store.set(keys.retired(device_id, public_key), at.to_bytes(8, "big"))


def is_retired(store: KVReader, device_id: str, public_key: bytes) -> bool:
    return store.get(keys.retired(device_id, public_key)) is not None


def iter_retired(store: KVReader, device_id: str) -> Iterator[bytes]:
    """The device's retired public keys, in key order."""
    prefix = keys.retired_prefix(device_id)
    for k, _v in store.iter_range(prefix, prefix_end(prefix)):
        yield k[len(prefix) :]


def get_reading(store: KVReader, device_id: str) -> ReadingState | None:
    raw = store.get(keys.reading(device_id))
    return None if raw is None else ReadingState.FromString(raw)


def put_reading(store: Branch, device_id: str, state: ReadingState) -> None:
    store.set(keys.reading(device_id), state.SerializeToString(deterministic=True))


def get_energy(store: KVReader, device_id: str, interval_start: int) -> IntervalEnergy | None:
    raw = store.get(keys.energy(device_id, interval_start))
    return None if raw is None else IntervalEnergy.FromString(raw)


def add_energy(store: Branch, device_id: str, interval_start: int, import_wh: int, export_wh: int) -> None:
    have = get_energy(store, device_id, interval_start) or IntervalEnergy(interval_start=interval_start)
    have.import_wh += import_wh
    have.export_wh += export_wh
    store.set(keys.energy(device_id, interval_start), have.SerializeToString(deterministic=True))


def get_battery(store: KVReader, device_id: str) -> BatteryState | None:
    raw = store.get(keys.battery(device_id))
    return None if raw is None else BatteryState.FromString(raw)


def put_battery(store: Branch, device_id: str, soc_mwh: int) -> None:
    store.set(keys.battery(device_id), BatteryState(soc_mwh=soc_mwh).SerializeToString(deterministic=True))


def get_rules(store: KVReader, device_id: str) -> BatteryRules | None:
    raw = store.get(keys.rules(device_id))
    return None if raw is None else BatteryRules.FromString(raw)


def put_rules(store: Branch, device_id: str, rules: BatteryRules) -> None:
    store.set(keys.rules(device_id), rules.SerializeToString(deterministic=True))


# Hashes of a device's recent accepted readings, one slot per seq mod RECENT_WINDOW, so a
# gateway resending up to RECENT_WINDOW readings after an outage gets "duplicate" answers.
RECENT_WINDOW = 96  # a day of 15-minute readings; ~4 KB per device


def recent_hash(store: KVReader, device_id: str, seq: int) -> bytes | None:
    """The hash of the accepted reading with this seq, if still in the window."""
    raw = store.get(keys.recent(device_id, seq % RECENT_WINDOW))
    if raw is None or int.from_bytes(raw[:8], "big") != seq:
        return None
    return raw[8:]


def remember(store: Branch, device_id: str, seq: int, digest: bytes) -> None:
    store.set(keys.recent(device_id, seq % RECENT_WINDOW), seq.to_bytes(8, "big") + digest)
