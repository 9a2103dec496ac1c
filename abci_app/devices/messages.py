"""Devices messages as frozen records, and their converters (every bound checked here)."""

from __future__ import annotations

from dataclasses import dataclass

from gridledger.devices.v1 import devices_pb2

from abci_app.codec_util import (
    MAX_AMOUNT,
    address_field,
    bytes_field,
    grid_name_field,
    id_field,
    nonneg_field,
    positive_field,
    text_field,
)
from abci_app.devices.clearsky import MAX_LATITUDE_UDEG, MAX_LONGITUDE_UDEG
from abci_app.errors import Code, TxError
from abci_app.types import Address

__all__ = [
    "KIND_NAMES",
    "MAX_READINGS",
    "MAX_RULE_PRICE",
    "BatterySpec",
    "CommissionDevice",
    "MoveSite",
    "RegisterDevice",
    "RegisterSite",
    "ReinstateDevice",
    "RotateDeviceKey",
    "SetBatteryRules",
    "SignedReading",
    "SubmitReadings",
    "SuspendDevice",
    "TransferDevice",
    "WithdrawCommissioning",
    "location_error",
]

MAX_READINGS = 500  # per SubmitReadings message
MAX_TEXT = 64
MAX_CERT_BYTES = 8_192  # a device certificate (DER)
KIND_NAMES = {1: "meter", 2: "pv", 3: "wind", 4: "battery", 5: "ev_charger", 6: "heat_pump", 7: "appliance"}
BATTERY = 4


@dataclass(frozen=True, slots=True)
class RegisterSite:
    """A RegisterSite as its handler sees it."""

    site_id: str
    feeder: str
    grid_region: str
    owner: Address | None
    location: tuple[int, int] | None = None  # (latitude, longitude) in micro-degrees


@dataclass(frozen=True, slots=True)
class MoveSite:
    """A MoveSite as its handler sees it."""

    site_id: str
    feeder: str


@dataclass(frozen=True, slots=True)
class BatterySpec:
    """A battery's capacity, power limits and round-trip efficiency (basis points)."""

    capacity_wh: int
    max_charge_w: int
    max_discharge_w: int
    efficiency_bp: int


@dataclass(frozen=True, slots=True)
class RegisterDevice:
    """A RegisterDevice as its handler sees it."""

    device_id: str
    site_id: str
    kind: int
    public_key: bytes
    nameplate_w: int
    energy_source: str
    technology: str
    commissioning_date: int
    country: str
    grid_region: str
    feeder: str
    gateway: Address | None
    battery: BatterySpec | None
    owner: Address | None
    device_cert_der: bytes = b""  # empty: uncertified


@dataclass(frozen=True, slots=True)
class SuspendDevice:
    """A SuspendDevice as its handler sees it."""

    device_id: str
    reason: str


@dataclass(frozen=True, slots=True)
class ReinstateDevice:
    """A ReinstateDevice as its handler sees it."""

    device_id: str


@dataclass(frozen=True, slots=True)
class TransferDevice:
    """A TransferDevice as its handler sees it."""

    device_id: str
    new_owner: Address


@dataclass(frozen=True, slots=True)
class RotateDeviceKey:
    """A RotateDeviceKey as its handler sees it."""

    device_id: str
    new_public_key: bytes
    new_device_cert_der: bytes = b""


@dataclass(frozen=True, slots=True)
class CommissionDevice:
    """A CommissionDevice as its handler sees it."""

    device_id: str
    valid_from: int
    expiry: int


@dataclass(frozen=True, slots=True)
class WithdrawCommissioning:
    """A WithdrawCommissioning as its handler sees it."""

    device_id: str
    reason: str


@dataclass(frozen=True, slots=True)
class SignedReading:
    """One reading and the device's signature over its canonical bytes (gridwire.reading)."""

    device_id: str
    seq: int
    start: int
    end: int
    import_wh: int
    export_wh: int
    charged_wh: int
    discharged_wh: int
    soc_wh: int
    signature: bytes


@dataclass(frozen=True, slots=True)
class SubmitReadings:
    """A SubmitReadings as its handler sees it."""

    readings: tuple[SignedReading, ...]


@dataclass(frozen=True, slots=True)
class SetBatteryRules:
    """A SetBatteryRules as its handler sees it."""

    device_id: str
    charge_below_price: int
    discharge_above_price: int
    reserve_bp: int
    green_only: bool
    community: bool = False


def _optional_address(raw: bytes, name: str) -> Address | None:
    return None if not raw else address_field(raw, name)


def _key(raw: bytes, name: str) -> bytes:
    if len(raw) != 32:
        raise TxError(Code.INVALID_ARGUMENT, f"{name} must be a 32-byte Ed25519 key, got {len(raw)} bytes")
    return bytes(raw)


def _device_id(text: str) -> str:
    return id_field(text, "device_id")


def _text(text: str, name: str) -> str:
    return text_field(text, name, MAX_TEXT)


def location_error(has_latitude: bool, latitude: int, has_longitude: bool, longitude: int) -> str | None:
    """Why a site location (micro-degrees) is not one, or None: both coordinates or neither,
    latitude within ±90°, longitude within ±180°."""
    if has_latitude != has_longitude:
        return "a site location needs both latitude_udeg and longitude_udeg, or neither"
    if has_latitude and not (abs(latitude) <= MAX_LATITUDE_UDEG and abs(longitude) <= MAX_LONGITUDE_UDEG):
        return f"latitude_udeg must be within ±{MAX_LATITUDE_UDEG} and longitude_udeg within ±{MAX_LONGITUDE_UDEG}"
    return None


def register_site_from_proto(m: devices_pb2.RegisterSite) -> RegisterSite:
    """Ids and names bounded, the owner a 20-byte address when given, the location both coordinates
    in range or none; INVALID_ARGUMENT naming the field otherwise."""
    has_lat, has_lon = m.HasField("latitude_udeg"), m.HasField("longitude_udeg")
    problem = location_error(has_lat, m.latitude_udeg, has_lon, m.longitude_udeg)
    if problem is not None:
        raise TxError(Code.INVALID_ARGUMENT, problem)
    return RegisterSite(
        id_field(m.site_id, "site_id"),
        grid_name_field(m.feeder, "feeder"),
        grid_name_field(m.grid_region, "grid_region", optional=True),
        _optional_address(m.owner, "owner"),
        (m.latitude_udeg, m.longitude_udeg) if has_lat else None,
    )


def move_site_from_proto(m: devices_pb2.MoveSite) -> MoveSite:
    """The site id and feeder bounded; INVALID_ARGUMENT otherwise."""
    return MoveSite(id_field(m.site_id, "site_id"), grid_name_field(m.feeder, "feeder"))


# Physical bounds of one device on a local energy system: a nameplate above 1 GW or a battery
# above 10 GWh is not a device behind one grid connection but an input error or an attempt to
# make any reading plausible (nameplate × span bounds the energy a reading may claim).
MAX_NAMEPLATE_W = 1_000_000_000
MAX_BATTERY_WH = 10_000_000_000
MAX_RULE_PRICE = 1_000_000_000  # a battery rule's prices per kWh (the market's absolute bound)


def _battery(b: devices_pb2.BatterySpec) -> BatterySpec:
    return BatterySpec(
        positive_field(b.capacity_wh, "battery.capacity_wh", MAX_BATTERY_WH),
        positive_field(b.max_charge_w, "battery.max_charge_w", MAX_NAMEPLATE_W),
        positive_field(b.max_discharge_w, "battery.max_discharge_w", MAX_NAMEPLATE_W),
        positive_field(b.efficiency_bp, "battery.efficiency_bp", 10_000),
    )


def register_device_from_proto(m: devices_pb2.RegisterDevice) -> RegisterDevice:
    """A known kind; a battery spec exactly for batteries, within physical bounds; a 32-byte key;
    nameplate within 1 GW; texts, names and certificate bytes bounded; INVALID_ARGUMENT naming the
    field otherwise."""
    if m.kind not in KIND_NAMES:
        raise TxError(Code.INVALID_ARGUMENT, f"kind must be one of {sorted(KIND_NAMES.values())}")
    battery = None
    if m.kind == BATTERY:
        if not m.HasField("battery"):
            raise TxError(Code.INVALID_ARGUMENT, "a battery needs its battery spec")
        battery = _battery(m.battery)
    elif m.HasField("battery"):
        raise TxError(Code.INVALID_ARGUMENT, "only batteries carry a battery spec")
    return RegisterDevice(
        _device_id(m.device_id),
        id_field(m.site_id, "site_id"),
        m.kind,
        _key(m.public_key, "public_key"),
        positive_field(m.nameplate_w, "nameplate_w", MAX_NAMEPLATE_W),
        _text(m.energy_source, "energy_source"),
        _text(m.technology, "technology"),
        nonneg_field(m.commissioning_date, "commissioning_date"),
        _text(m.country, "country"),
        grid_name_field(m.grid_region, "grid_region", optional=True),
        grid_name_field(m.feeder, "feeder", optional=True),
        _optional_address(m.gateway, "gateway"),
        battery,
        _optional_address(m.owner, "owner"),
        bytes_field(m.device_cert_der, "device_cert_der", MAX_CERT_BYTES),
    )


def suspend_from_proto(m: devices_pb2.SuspendDevice) -> SuspendDevice:
    """The device id and a reason of at most 256 bytes; INVALID_ARGUMENT otherwise."""
    return SuspendDevice(_device_id(m.device_id), text_field(m.reason, "reason", 256))


def reinstate_from_proto(m: devices_pb2.ReinstateDevice) -> ReinstateDevice:
    """The device id bounded; INVALID_ARGUMENT otherwise."""
    return ReinstateDevice(_device_id(m.device_id))


def transfer_from_proto(m: devices_pb2.TransferDevice) -> TransferDevice:
    """The device id bounded and the new owner a 20-byte address; INVALID_ARGUMENT otherwise."""
    return TransferDevice(_device_id(m.device_id), address_field(m.new_owner, "new_owner"))


def rotate_from_proto(m: devices_pb2.RotateDeviceKey) -> RotateDeviceKey:
    """The device id bounded, a 32-byte new key, certificate bytes bounded; INVALID_ARGUMENT
    otherwise."""
    return RotateDeviceKey(
        _device_id(m.device_id),
        _key(m.new_public_key, "new_public_key"),
        bytes_field(m.new_device_cert_der, "new_device_cert_der", MAX_CERT_BYTES),
    )


def commission_from_proto(m: devices_pb2.CommissionDevice) -> CommissionDevice:
    """The device id bounded and the validity window's ends in range (their order is the handler's:
    BAD_ATTESTATION); INVALID_ARGUMENT otherwise."""
    return CommissionDevice(
        _device_id(m.device_id),
        nonneg_field(m.valid_from, "valid_from", MAX_AMOUNT),
        positive_field(m.expiry, "expiry", MAX_AMOUNT),
    )


def withdraw_commissioning_from_proto(m: devices_pb2.WithdrawCommissioning) -> WithdrawCommissioning:
    """The device id and a reason of at most 256 bytes; INVALID_ARGUMENT otherwise."""
    return WithdrawCommissioning(_device_id(m.device_id), text_field(m.reason, "reason", 256))


def _reading(i: int, r: devices_pb2.SignedReading) -> SignedReading:
    where = f"readings[{i}]"
    if len(r.signature) != 64:
        raise TxError(Code.INVALID_ARGUMENT, f"{where}.signature must be 64 bytes, got {len(r.signature)}")

    def n(value: int, name: str) -> int:
        return nonneg_field(value, f"{where}.{name}", MAX_AMOUNT)

    return SignedReading(
        id_field(r.device_id, f"{where}.device_id"),
        n(r.seq, "seq"),
        n(r.start, "start"),
        n(r.end, "end"),
        n(r.import_wh, "import_wh"),
        n(r.export_wh, "export_wh"),
        n(r.charged_wh, "charged_wh"),
        n(r.discharged_wh, "discharged_wh"),
        n(r.soc_wh, "soc_wh"),
        bytes(r.signature),
    )


def submit_readings_from_proto(m: devices_pb2.SubmitReadings) -> SubmitReadings:
    """1..MAX_READINGS readings, each with a 64-byte signature and every number in range;
    INVALID_ARGUMENT naming the reading's field otherwise."""
    if not 1 <= len(m.readings) <= MAX_READINGS:
        raise TxError(Code.INVALID_ARGUMENT, f"a SubmitReadings carries 1..{MAX_READINGS} readings")
    return SubmitReadings(tuple(_reading(i, r) for i, r in enumerate(m.readings)))


def set_rules_from_proto(m: devices_pb2.SetBatteryRules) -> SetBatteryRules:
    """Prices within the absolute bound (the market's governed limit is checked where they are used)
    and a reserve of at most 10,000 basis points; INVALID_ARGUMENT otherwise."""
    return SetBatteryRules(
        _device_id(m.device_id),
        # a fixed absolute bound here: the market's governed limit (market.max_price_per_kwh) is
        # checked where the prices are used, by the market's battery hook
        nonneg_field(m.charge_below_price, "charge_below_price", MAX_RULE_PRICE),
        nonneg_field(m.discharge_above_price, "discharge_above_price", MAX_RULE_PRICE),
        nonneg_field(m.reserve_bp, "reserve_bp", 10_000),
        bool(m.green_only),
        bool(m.community),
    )
