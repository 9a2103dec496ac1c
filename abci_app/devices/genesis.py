"""The devices genesis section: sites, devices and everything the readings left behind.

"devices": {
  "sites":   [Site as JSON],                                   registered sites (location optional)
  "devices": [Device as JSON],                                 registered devices
  "retired_keys":    [{"deviceId", "publicKey": b64, "retiredAt"}]    rotated-out keys
  "readings":        [{"deviceId", ...ReadingState}]            each device's last accepted reading
                                                               (with its nameplate window's anchor)
  "recent_readings": [{"deviceId", "seq", "hash": b64}]         hashes of recent accepted readings
  "batteries":       [{"deviceId", ...BatteryState}]            state of charge (mWh)
  "battery_rules":   [{"deviceId", ...BatteryRules}]
  "energy":          [{"deviceId", ...IntervalEnergy}]          energy per settlement interval
  "hour_flows":      [{"deviceId", "hourStart", "exportWh", "chargedWh", "dischargedWh"}]
  "pending_hours":   [{"deviceId", "hourStart"}]                device-hours awaiting issuance
  "site_energy":     [{"siteId", "intervalStart"}]              intervals awaiting settlement
  "pruned_before":   1767225600                                 the pruning watermark (when set)
  "commissionings":  [Commissioning as JSON]                    certifiers' attestations in force
}

The section is `gridledger.devices.v1.GenesisState` in protobuf's JSON mapping (camelCase
names, bytes in base64, 64-bit integers as strings or numbers; an export writes strings).
Every part is optional. The indexes follow from the records: owner, feeder and site indexes
from the devices, the community-battery index from the rules, the pruning index from the
interval energy and hour flows, each device's recent-retired-keys index (the keys a reading's
failed signature is tried against, keeper.RECENT_RETIRED_KEYS) from its retired keys.

An export carries every stored key of the domain, so importing it rebuilds the devices key
range byte for byte. In particular each device's last accepted reading and recent hashes
carry over: after a restart from an export, a reading already counted is still a
duplicate or a replayed sequence, never counted twice.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any, TypeGuard, TypeVar

from google.protobuf.message import Message
from gridledger.devices.v1 import devices_pb2
from gridledger.devices.v1 import genesis_pb2 as gpb

from abci_app.devices import keeper, keys
from abci_app.devices.commissioning import COMMISSIONED_KINDS, iter_commissionings, put_commissioning
from abci_app.devices.keeper import RECENT_WINDOW, HourFlow
from abci_app.devices.messages import KIND_NAMES, location_error
from abci_app.devices.records import (
    NO_BATTERY,
    BatteryRules,
    BatteryState,
    Commissioning,
    Device,
    IntervalEnergy,
    ReadingState,
    Site,
)
from abci_app.domain import GenesisError
from abci_app.genesis_fields import parse_section, sections_json
from abci_app.identity.keeper import get_device_ca, get_member
from abci_app.store.backend import prefix_end
from abci_app.store.branch import Branch, KVReader
from abci_app.types import BlockInfo

__all__ = ["SECTIONS", "export_genesis", "import_genesis"]

SECTIONS = ("devices",)
BATTERY = 4
M = TypeVar("M", bound=Message)


# ---- reading the section ---------------------------------------------------------------


def _as(record: type[M], entry: Message) -> M:
    """A per-device entry as its record message (the same field numbers; device_id, field 100,
    is not one of the record's)."""
    m = record.FromString(entry.SerializeToString())
    m.DiscardUnknownFields()
    return m


def _entry(entry: type[M], device_id: str, record: Message) -> M:
    """A stored record as its per-device entry."""
    m = entry.FromString(record.SerializeToString())
    m.device_id = device_id  # type: ignore[attr-defined]
    return m


def _bytes(value: bytes, where: str, size: int) -> bytes:
    if len(value) != size:
        raise GenesisError(f"{where}: expected {size} bytes")
    return value


def _short(value: str) -> str:
    """An id as an error message quotes it (at most 64 characters)."""
    return value[:64]


def _is_id(value: object) -> TypeGuard[str]:
    """A string that can be a key component (1 to 255 bytes)."""
    return isinstance(value, str) and 1 <= len(value.encode()) <= 255


def _device(store: Branch, device_id: str, where: str) -> Device:
    """The registered device an entry names by `deviceId`."""
    device = keeper.get_device(store, device_id) if _is_id(device_id) else None
    if device is None:
        raise GenesisError(f"{where}: unknown device {_short(device_id)!r}")
    return device


def _once(seen: set[tuple[object, ...]], key: tuple[object, ...], where: str, what: str) -> None:
    if key in seen:
        raise GenesisError(f"{where}: duplicate {what}")
    seen.add(key)


def _items(section: gpb.GenesisState, name: str) -> Iterator[tuple[str, Any]]:
    """(where, entry) of each entry of the list `name`."""
    for i, item in enumerate(getattr(section, name)):
        yield f"devices.{name}[{i}]", item


# ---- importing each part -----------------------------------------------------------------


def _sites(store: Branch, section: gpb.GenesisState) -> None:
    for where, m in _items(section, "sites"):
        site = Site.from_proto(m)
        if not _is_id(site.site_id) or keeper.get_site(store, site.site_id) is not None:
            raise GenesisError(f"{where}.siteId: missing or duplicate site id {_short(site.site_id)!r}")
        if get_member(store, site.owner) is None:
            raise GenesisError(f"{where}: owner is not a genesis member")
        has_lat, has_lon = m.HasField("latitude_udeg"), m.HasField("longitude_udeg")
        problem = location_error(has_lat, m.latitude_udeg, has_lon, m.longitude_udeg)
        if problem is not None:
            raise GenesisError(f"{where}: {problem}")
        keeper.put_site(store, site)


def _devices(store: Branch, section: gpb.GenesisState) -> None:
    for where, m in _items(section, "devices"):
        device = Device.from_proto(m)
        if not _is_id(device.device_id) or keeper.get_device(store, device.device_id) is not None:
            raise GenesisError(f"{where}.deviceId: missing or duplicate device id {_short(device.device_id)!r}")
        if get_member(store, device.owner) is None:
            raise GenesisError(f"{where}: owner is not a genesis member")
        if not _is_id(device.site_id) or keeper.get_site(store, device.site_id) is None:
            raise GenesisError(f"{where}: unknown site {_short(device.site_id)!r}")
        if len(device.feeder.encode()) > 255:
            raise GenesisError(f"{where}.feeder: longer than 255 bytes")
        if device.kind not in KIND_NAMES:
            raise GenesisError(f"{where}.kind: unknown device kind {device.kind}")
        if len(device.public_key) != 32 or len(device.gateway) not in {0, 20}:
            raise GenesisError(f"{where}: expected a 32-byte publicKey and an empty or 20-byte gateway")
        if device.cert_ca_id and get_device_ca(store, device.cert_ca_id) is None:
            raise GenesisError(f"{where}.certCaId: {_short(device.cert_ca_id)!r} is not a genesis device CA")
        keeper.put_device(store, device)


def _retired_keys(store: Branch, section: gpb.GenesisState) -> None:
    seen: set[tuple[object, ...]] = set()
    for where, m in _items(section, "retired_keys"):
        device = _device(store, m.device_id, where)
        public_key = _bytes(m.public_key, f"{where}.publicKey", 32)
        _once(seen, (device.device_id, public_key), where, "retired key")
        if public_key == device.public_key:
            raise GenesisError(f"{where}.publicKey: the device's current key cannot be retired")
        keeper.retire_key(store, device.device_id, public_key, m.retired_at)


def _readings(store: Branch, section: gpb.GenesisState) -> None:
    for where, m in _items(section, "readings"):
        device = _device(store, m.device_id, where)
        state = ReadingState.from_proto(_as(devices_pb2.ReadingState, m))
        if keeper.get_reading(store, device.device_id) is not None:
            raise GenesisError(f"{where}: duplicate reading state of device {device.device_id!r}")
        if len(state.hash) != 32:
            raise GenesisError(f"{where}.hash: expected a 32-byte SHA-256")
        if state.start >= state.end:
            raise GenesisError(f"{where}: expected start < end")
        if state.window_start > state.end or any(
            w > r for w, r in zip(state.window_registers(), state.registers(), strict=True)
        ):
            raise GenesisError(f"{where}: the nameplate window's anchor must not be past the reading")
        keeper.put_reading(store, device.device_id, state)


def _recent_readings(store: Branch, section: gpb.GenesisState) -> None:
    seen: set[tuple[object, ...]] = set()
    for where, m in _items(section, "recent_readings"):
        device = _device(store, m.device_id, where)
        seq, digest = m.seq, _bytes(m.hash, f"{where}.hash", 32)
        last = keeper.get_reading(store, device.device_id)
        if last is None or seq > last.seq:
            raise GenesisError(f"{where}.seq: {seq} is after the device's last accepted reading")
        if seq == last.seq and digest != last.hash:
            raise GenesisError(f"{where}.hash: not the hash of the device's last accepted reading")
        _once(seen, (device.device_id, seq % RECENT_WINDOW), where, f"slot (seq mod {RECENT_WINDOW})")
        keeper.remember(store, device.device_id, seq, digest)


def _battery(device: Device, where: str) -> int:
    """The battery's capacity in mWh (a battery entry names a battery)."""
    if device.kind != BATTERY:
        raise GenesisError(f"{where}: device {device.device_id!r} is not a battery")
    return (device.battery or NO_BATTERY).capacity_wh * 1000


def _batteries(store: Branch, section: gpb.GenesisState) -> None:
    for where, m in _items(section, "batteries"):
        device = _device(store, m.device_id, where)
        capacity = _battery(device, where)
        state = BatteryState.from_proto(_as(devices_pb2.BatteryState, m))
        if keeper.get_battery(store, device.device_id) is not None:
            raise GenesisError(f"{where}: duplicate state of battery {device.device_id!r}")
        if state.soc_mwh > capacity:
            raise GenesisError(f"{where}.socMwh: {state.soc_mwh} is above the capacity {capacity} mWh")
        keeper.put_battery(store, device.device_id, state.soc_mwh)


def _battery_rules(store: Branch, section: gpb.GenesisState) -> None:
    for where, m in _items(section, "battery_rules"):
        device = _device(store, m.device_id, where)
        _battery(device, where)
        rules = BatteryRules.from_proto(_as(devices_pb2.BatteryRules, m))
        if keeper.get_rules(store, device.device_id) is not None:
            raise GenesisError(f"{where}: duplicate rules of battery {device.device_id!r}")
        if rules.reserve_bp > 10_000:
            raise GenesisError(f"{where}.reserveBp: expected at most 10000 basis points")
        keeper.put_rules(store, device.device_id, rules)
        keeper.set_community(store, device.device_id, rules.community)


def _energy(store: Branch, section: gpb.GenesisState) -> None:
    for where, m in _items(section, "energy"):
        device = _device(store, m.device_id, where)
        energy = IntervalEnergy.from_proto(_as(devices_pb2.IntervalEnergy, m))
        if keeper.get_energy(store, device.device_id, energy.interval_start) is not None:
            raise GenesisError(f"{where}: duplicate interval {energy.interval_start} of device {device.device_id!r}")
        keeper.put_energy(store, device.device_id, energy)


def _hour_flows(store: Branch, section: gpb.GenesisState) -> None:
    for where, m in _items(section, "hour_flows"):
        device = _device(store, m.device_id, where)
        if store.get(keys.hour_flow(device.device_id, m.hour_start)) is not None:
            raise GenesisError(f"{where}: duplicate hour {m.hour_start} of device {device.device_id!r}")
        keeper.put_hour_flow(
            store, device.device_id, m.hour_start, HourFlow(m.export_wh, m.charged_wh, m.discharged_wh)
        )


def _markers(store: Branch, section: gpb.GenesisState) -> None:
    """Device-hours pending issuance and sites with energy awaiting settlement."""
    for where, m in _items(section, "pending_hours"):
        device = _device(store, m.device_id, where)
        store.set(keys.pending(m.hour_start, device.device_id), b"")
    for where, m in _items(section, "site_energy"):
        if not _is_id(m.site_id) or keeper.get_site(store, m.site_id) is None:
            raise GenesisError(f"{where}: unknown site {_short(m.site_id)!r}")
        store.set(keys.site_energy(m.interval_start, m.site_id), b"")
    if section.HasField("pruned_before"):
        keeper.set_pruned_before(store, section.pruned_before)


def _commissionings(store: Branch, section: gpb.GenesisState) -> None:
    for where, m in _items(section, "commissionings"):
        c = Commissioning.from_proto(m)
        device = keeper.get_device(store, c.device_id) if _is_id(c.device_id) else None
        if device is None or device.kind not in COMMISSIONED_KINDS or not device.cert_ca_id:
            raise GenesisError(f"{where}: {_short(c.device_id)!r} is not a certified pv, wind or battery")
        if store.get(keys.commissioning(c.device_id)) is not None:
            raise GenesisError(f"{where}: duplicate attestation of device {c.device_id!r}")
        if get_member(store, c.certifier) is None:
            raise GenesisError(f"{where}.certifier: not a genesis member")
        if not c.valid_from < c.expiry:
            raise GenesisError(f"{where}: expected validFrom < expiry")
        put_commissioning(store, c)


def import_genesis(store: Branch, block: BlockInfo, sections: Mapping[str, Any]) -> None:
    """Import the `devices` section (every part optional; an unknown part is a GenesisError naming
    it), rebuilding records and indexes exactly as export wrote them."""
    section = parse_section(sections, "devices", gpb.GenesisState())
    for part in (
        _sites,
        _devices,
        _retired_keys,
        _readings,
        _recent_readings,
        _batteries,
        _battery_rules,
        _energy,
        _hour_flows,
        _markers,
        _commissionings,
    ):
        part(store, section)


# ---- export ----------------------------------------------------------------------------


def _rows(store: KVReader, prefix: bytes) -> Iterator[tuple[str, bytes, bytes]]:
    """(device or site id, the rest of the key, value) of each key under a prefix whose keys
    start with lp(id)."""
    for k, v in store.iter_range(prefix, prefix_end(prefix)):
        n = k[len(prefix)]
        start = len(prefix) + 1
        yield k[start : start + n].decode(), k[start + n :], v


def _hour_flow(device_id: str, hour: bytes, raw: bytes) -> gpb.HourFlow:
    export_wh, charged_wh, discharged_wh = (int.from_bytes(raw[i : i + 8], "big") for i in (0, 8, 16))
    return gpb.HourFlow(
        device_id=device_id,
        hour_start=int.from_bytes(hour, "big"),
        export_wh=export_wh,
        charged_wh=charged_wh,
        discharged_wh=discharged_wh,
    )


def export_genesis(store: KVReader) -> dict[str, Any]:
    """Every record of the domain in key order (see the module doc)."""
    section = gpb.GenesisState(
        sites=[s.to_proto() for s in keeper.iter_sites(store)],
        devices=[d.to_proto() for d in keeper.iter_devices(store)],
        retired_keys=[
            gpb.RetiredKey(device_id=d, public_key=key, retired_at=int.from_bytes(v, "big"))
            for d, key, v in _rows(store, keys.RETIRED)
        ],
        readings=[
            _entry(gpb.DeviceReading, d, ReadingState.decode(v).to_proto()) for d, _r, v in _rows(store, keys.READING)
        ],
        recent_readings=[
            gpb.RecentReading(device_id=d, seq=int.from_bytes(v[:8], "big"), hash=v[8:])
            for d, _slot, v in _rows(store, keys.RECENT)
        ],
        batteries=[
            _entry(gpb.DeviceBattery, d, BatteryState.decode(v).to_proto()) for d, _r, v in _rows(store, keys.BATTERY)
        ],
        battery_rules=[
            _entry(gpb.DeviceBatteryRules, d, BatteryRules.decode(v).to_proto())
            for d, _r, v in _rows(store, keys.RULES)
        ],
        energy=[
            _entry(gpb.DeviceEnergy, d, IntervalEnergy.decode(v).to_proto()) for d, _r, v in _rows(store, keys.ENERGY)
        ],
        hour_flows=[_hour_flow(d, hour, v) for d, hour, v in _rows(store, keys.HOUR_FLOW)],
        pending_hours=[
            gpb.PendingHour(device_id=k[10:].decode(), hour_start=int.from_bytes(k[1:9], "big"))
            for k, _v in store.iter_range(keys.PENDING, prefix_end(keys.PENDING))
        ],
        site_energy=[
            gpb.SiteEnergy(site_id=k[10:].decode(), interval_start=int.from_bytes(k[1:9], "big"))
            for k, _v in store.iter_range(keys.SITE_ENERGY, prefix_end(keys.SITE_ENERGY))
        ],
        commissionings=[c.to_proto() for c in iter_commissionings(store)],
    )
    if keeper.has_pruned_before(store):
        section.pruned_before = keeper.pruned_before(store)
    return {"devices": sections_json(section)}
