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

Records use the protobuf JSON mapping of `gridledger.devices.v1` (camelCase names, bytes in
base64, 64-bit integers as strings or numbers); the other entries follow the same style.
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

import base64
import binascii
from collections.abc import Iterator, Mapping
from typing import Any, TypeGuard, TypeVar

from google.protobuf.json_format import MessageToDict, ParseDict, ParseError
from google.protobuf.message import Message
from gridledger.devices.v1 import devices_pb2

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
from abci_app.identity.keeper import get_device_ca, get_member
from abci_app.store.backend import prefix_end
from abci_app.store.branch import Branch, KVReader
from abci_app.types import BlockInfo

__all__ = ["SECTIONS", "export_genesis", "import_genesis"]

SECTIONS = ("devices",)
BATTERY = 4
_U64 = 1 << 64
_PARTS = (
    "sites",
    "devices",
    "retired_keys",
    "readings",
    "recent_readings",
    "batteries",
    "battery_rules",
    "energy",
    "hour_flows",
    "pending_hours",
    "site_energy",
    "pruned_before",
    "commissionings",
)


# ---- reading the section ---------------------------------------------------------------


def _items(section: Mapping[str, Any], name: str) -> Iterator[tuple[str, dict[str, Any]]]:
    """(where, entry) of each entry of the list `name`."""
    items = section.get(name, [])
    if not isinstance(items, list):
        raise GenesisError(f"devices.{name}: expected a list")
    for i, item in enumerate(items):
        where = f"devices.{name}[{i}]"
        if not isinstance(item, dict):
            raise GenesisError(f"{where}: expected an object")
        yield where, item


M = TypeVar("M", bound=Message)


def _parse(item: dict[str, Any], pb: M, where: str) -> M:
    try:
        return ParseDict(item, pb)
    except (ParseError, TypeError, ValueError) as exc:
        raise GenesisError(f"{where}: {exc}") from exc


def _uint(item: Mapping[str, Any], name: str, where: str) -> int:
    """An unsigned 64-bit integer, as a JSON number or a decimal string (protobuf's JSON style)."""
    value = item.get(name, 0)
    if isinstance(value, str) and value.isascii() and value.isdigit():
        value = int(value)
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value < _U64:
        raise GenesisError(f"{where}.{name}: expected an unsigned 64-bit integer")
    return value


def _b64(item: Mapping[str, Any], name: str, where: str, size: int) -> bytes:
    value = item.get(name, "")
    try:
        raw = base64.b64decode(str(value), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise GenesisError(f"{where}.{name}: not base64") from exc
    if len(raw) != size:
        raise GenesisError(f"{where}.{name}: expected {size} bytes")
    return raw


def _short(value: Any) -> Any:
    """An id as an error message quotes it (at most 64 characters)."""
    return value[:64] if isinstance(value, str) else value


def _is_id(value: object) -> TypeGuard[str]:
    """A string that can be a key component (1 to 255 bytes)."""
    return isinstance(value, str) and 1 <= len(value.encode()) <= 255


def _device(store: Branch, item: Mapping[str, Any], where: str) -> tuple[Device, dict[str, Any]]:
    """The registered device an entry names by `deviceId`, and the entry without it."""
    rest = dict(item)
    device_id = rest.pop("deviceId", None)
    device = keeper.get_device(store, device_id) if _is_id(device_id) else None
    if device is None:
        raise GenesisError(f"{where}: unknown device {_short(device_id)!r}")
    return device, rest


def _once(seen: set[tuple[object, ...]], key: tuple[object, ...], where: str, what: str) -> None:
    if key in seen:
        raise GenesisError(f"{where}: duplicate {what}")
    seen.add(key)


# ---- importing each part -----------------------------------------------------------------


def _sites(store: Branch, section: Mapping[str, Any]) -> None:
    for where, item in _items(section, "sites"):
        site = Site.from_proto(_parse(item, devices_pb2.Site(), where))
        if not _is_id(site.site_id) or keeper.get_site(store, site.site_id) is not None:
            raise GenesisError(f"{where}.siteId: missing or duplicate site id {_short(site.site_id)!r}")
        if get_member(store, site.owner) is None:
            raise GenesisError(f"{where}: owner is not a genesis member")
        lat, lon = site.location or (0, 0)
        problem = location_error("latitudeUdeg" in item, lat, "longitudeUdeg" in item, lon)
        if problem is not None:
            raise GenesisError(f"{where}: {problem}")
        keeper.put_site(store, site)


def _devices(store: Branch, section: Mapping[str, Any]) -> None:
    for where, item in _items(section, "devices"):
        device = Device.from_proto(_parse(item, devices_pb2.Device(), where))
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


def _retired_keys(store: Branch, section: Mapping[str, Any]) -> None:
    seen: set[tuple[object, ...]] = set()
    for where, item in _items(section, "retired_keys"):
        device, rest = _device(store, item, where)
        public_key = _b64(rest, "publicKey", where, 32)
        _once(seen, (device.device_id, public_key), where, "retired key")
        if public_key == device.public_key:
            raise GenesisError(f"{where}.publicKey: the device's current key cannot be retired")
        keeper.retire_key(store, device.device_id, public_key, _uint(rest, "retiredAt", where))


def _readings(store: Branch, section: Mapping[str, Any]) -> None:
    for where, item in _items(section, "readings"):
        device, rest = _device(store, item, where)
        state = ReadingState.from_proto(_parse(rest, devices_pb2.ReadingState(), where))
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


def _recent_readings(store: Branch, section: Mapping[str, Any]) -> None:
    seen: set[tuple[object, ...]] = set()
    for where, item in _items(section, "recent_readings"):
        device, rest = _device(store, item, where)
        seq, digest = _uint(rest, "seq", where), _b64(rest, "hash", where, 32)
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


def _batteries(store: Branch, section: Mapping[str, Any]) -> None:
    for where, item in _items(section, "batteries"):
        device, rest = _device(store, item, where)
        capacity = _battery(device, where)
        state = BatteryState.from_proto(_parse(rest, devices_pb2.BatteryState(), where))
        if keeper.get_battery(store, device.device_id) is not None:
            raise GenesisError(f"{where}: duplicate state of battery {device.device_id!r}")
        if state.soc_mwh > capacity:
            raise GenesisError(f"{where}.socMwh: {state.soc_mwh} is above the capacity {capacity} mWh")
        keeper.put_battery(store, device.device_id, state.soc_mwh)


def _battery_rules(store: Branch, section: Mapping[str, Any]) -> None:
    for where, item in _items(section, "battery_rules"):
        device, rest = _device(store, item, where)
        _battery(device, where)
        rules = BatteryRules.from_proto(_parse(rest, devices_pb2.BatteryRules(), where))
        if keeper.get_rules(store, device.device_id) is not None:
            raise GenesisError(f"{where}: duplicate rules of battery {device.device_id!r}")
        if rules.reserve_bp > 10_000:
            raise GenesisError(f"{where}.reserveBp: expected at most 10000 basis points")
        keeper.put_rules(store, device.device_id, rules)
        keeper.set_community(store, device.device_id, rules.community)


def _energy(store: Branch, section: Mapping[str, Any]) -> None:
    for where, item in _items(section, "energy"):
        device, rest = _device(store, item, where)
        energy = IntervalEnergy.from_proto(_parse(rest, devices_pb2.IntervalEnergy(), where))
        if keeper.get_energy(store, device.device_id, energy.interval_start) is not None:
            raise GenesisError(f"{where}: duplicate interval {energy.interval_start} of device {device.device_id!r}")
        keeper.put_energy(store, device.device_id, energy)


def _hour_flows(store: Branch, section: Mapping[str, Any]) -> None:
    for where, item in _items(section, "hour_flows"):
        device, rest = _device(store, item, where)
        hour = _uint(rest, "hourStart", where)
        if store.get(keys.hour_flow(device.device_id, hour)) is not None:
            raise GenesisError(f"{where}: duplicate hour {hour} of device {device.device_id!r}")
        flow = HourFlow(*(_uint(rest, name, where) for name in ("exportWh", "chargedWh", "dischargedWh")))
        keeper.put_hour_flow(store, device.device_id, hour, flow)


def _markers(store: Branch, section: Mapping[str, Any]) -> None:
    """Device-hours pending issuance and sites with energy awaiting settlement."""
    for where, item in _items(section, "pending_hours"):
        device, rest = _device(store, item, where)
        store.set(keys.pending(_uint(rest, "hourStart", where), device.device_id), b"")
    for where, item in _items(section, "site_energy"):
        site_id = item.get("siteId")
        if not _is_id(site_id) or keeper.get_site(store, site_id) is None:
            raise GenesisError(f"{where}: unknown site {_short(site_id)!r}")
        store.set(keys.site_energy(_uint(item, "intervalStart", where), site_id), b"")
    if "pruned_before" in section:
        keeper.set_pruned_before(store, _uint(section, "pruned_before", "devices"))


def _commissionings(store: Branch, section: Mapping[str, Any]) -> None:
    for where, item in _items(section, "commissionings"):
        c = Commissioning.from_proto(_parse(item, devices_pb2.Commissioning(), where))
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
    section = sections.get("devices", {})
    if not isinstance(section, dict):
        raise GenesisError("devices: expected an object")
    unknown = set(section) - set(_PARTS)
    if unknown:
        raise GenesisError(f"devices: unknown fields {sorted(unknown)}; known: {list(_PARTS)}")
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


def _with_device(device_id: str, record: Message) -> dict[str, Any]:
    return {"deviceId": device_id, **MessageToDict(record)}


def _b64text(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


def _hour_flow(device_id: str, hour: bytes, raw: bytes) -> dict[str, Any]:
    export_wh, charged_wh, discharged_wh = (int.from_bytes(raw[i : i + 8], "big") for i in (0, 8, 16))
    return {
        "deviceId": device_id,
        "hourStart": int.from_bytes(hour, "big"),
        "exportWh": export_wh,
        "chargedWh": charged_wh,
        "dischargedWh": discharged_wh,
    }


def export_genesis(store: KVReader) -> dict[str, Any]:
    """Every record of the domain in key order (see the module doc)."""
    out: dict[str, Any] = {
        "sites": [MessageToDict(s.to_proto()) for s in keeper.iter_sites(store)],
        "devices": [MessageToDict(d.to_proto()) for d in keeper.iter_devices(store)],
        "retired_keys": [
            {"deviceId": d, "publicKey": _b64text(key), "retiredAt": int.from_bytes(v, "big")}
            for d, key, v in _rows(store, keys.RETIRED)
        ],
        "readings": [_with_device(d, ReadingState.decode(v).to_proto()) for d, _r, v in _rows(store, keys.READING)],
        "recent_readings": [
            {"deviceId": d, "seq": int.from_bytes(v[:8], "big"), "hash": _b64text(v[8:])}
            for d, _slot, v in _rows(store, keys.RECENT)
        ],
        "batteries": [_with_device(d, BatteryState.decode(v).to_proto()) for d, _r, v in _rows(store, keys.BATTERY)],
        "battery_rules": [_with_device(d, BatteryRules.decode(v).to_proto()) for d, _r, v in _rows(store, keys.RULES)],
        "energy": [_with_device(d, IntervalEnergy.decode(v).to_proto()) for d, _r, v in _rows(store, keys.ENERGY)],
        "hour_flows": [_hour_flow(d, hour, v) for d, hour, v in _rows(store, keys.HOUR_FLOW)],
        "pending_hours": [
            {"deviceId": k[10:].decode(), "hourStart": int.from_bytes(k[1:9], "big")}
            for k, _v in store.iter_range(keys.PENDING, prefix_end(keys.PENDING))
        ],
        "site_energy": [
            {"siteId": k[10:].decode(), "intervalStart": int.from_bytes(k[1:9], "big")}
            for k, _v in store.iter_range(keys.SITE_ENERGY, prefix_end(keys.SITE_ENERGY))
        ],
    }
    if keeper.has_pruned_before(store):
        out["pruned_before"] = keeper.pruned_before(store)
    out["commissionings"] = [MessageToDict(c.to_proto()) for c in iter_commissionings(store)]
    return {"devices": out}
