"""Stored records of the devices domain (frozen) and their stored protobuf encoding.

Each record encodes to the protobuf message of `gridledger.devices.v1` of the same name
(Site, Device, BatterySpec, ReadingState, IntervalEnergy, BatteryState, BatteryRules,
Commissioning), field by field as abci_app/proto_record.py maps them (a device and a
reading state decode cached by their bytes: every reading reads both), and
those bytes are the provable query answers: `decode(raw).encode() == raw` for every stored
record. A device's `battery` keeps the submessage's presence (None: absent), since a
present but empty spec encodes to different bytes than an absent one; a site's `location`
keeps the presence of its optional latitude and longitude the same way.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, NewType

from gridledger.devices.v1 import devices_pb2

from abci_app.proto_record import Derived, ProtoRecord, proto_record
from abci_app.types import Address

__all__ = [
    "NO_BATTERY",
    "BatteryRules",
    "BatterySpec",
    "BatteryState",
    "Commissioning",
    "Device",
    "DeviceId",
    "IntervalEnergy",
    "ReadingState",
    "Site",
    "SiteId",
]

DeviceId = NewType("DeviceId", str)
SiteId = NewType("SiteId", str)


def _write_location(location: tuple[int, int] | None) -> dict[str, Any]:
    return {} if location is None else {"latitude_udeg": location[0], "longitude_udeg": location[1]}


def _read_location(pb: devices_pb2.Site) -> tuple[int, int] | None:
    return (pb.latitude_udeg, pb.longitude_udeg) if pb.HasField("latitude_udeg") else None


_LOCATION = Derived(("latitude_udeg", "longitude_udeg"), _write_location, _read_location)


@proto_record(location=_LOCATION)
@dataclass(frozen=True, slots=True)
class Site(ProtoRecord[devices_pb2.Site]):
    """A registered site: its owner, feeder and grid region, when it was registered, and its
    location when given."""

    site_id: SiteId
    owner: Address
    feeder: str
    grid_region: str
    registered_at: int
    location: tuple[int, int] | None = None  # (latitude, longitude) in micro-degrees; None: not given


@proto_record()
@dataclass(frozen=True, slots=True)
class BatterySpec(ProtoRecord[devices_pb2.BatterySpec]):
    """A battery's capacity, power limits and round-trip efficiency (basis points), as registered."""

    capacity_wh: int
    max_charge_w: int
    max_discharge_w: int
    efficiency_bp: int  # round-trip efficiency, 1..10000 basis points


NO_BATTERY = BatterySpec(0, 0, 0, 0)
"""What an absent spec reads as (a battery-kind device without one, possible only from genesis)."""


@proto_record(cached=65_536)
@dataclass(frozen=True, slots=True)
class Device(ProtoRecord[devices_pb2.Device]):
    """A registered device: its site, owner, kind, current key and nameplate, its attributes for
    certificates, its gateway, battery spec and certificate, and whether it is suspended."""

    device_id: DeviceId
    site_id: SiteId
    owner: Address
    kind: int  # a gridledger.devices.v1.DeviceKind number
    public_key: bytes
    nameplate_w: int
    energy_source: str
    technology: str
    commissioning_date: int
    country: str
    grid_region: str
    feeder: str
    gateway: bytes  # empty: none
    battery: BatterySpec | None
    suspended: bool
    registered_at: int
    cert_ca_id: str = ""  # the device CA that certified its key ('' : uncertified, devcert.py)
    cert_serial: bytes = b""
    owner_since: int = 0  # block time of its last transfer (0: never transferred); see `owned_since`

    @property
    def owned_since(self) -> int:
        """The block time since which its current owner has held it: its last transfer, else its
        registration."""
        return self.owner_since or self.registered_at


@proto_record(cached=65_536)
@dataclass(frozen=True, slots=True)
class ReadingState(ProtoRecord[devices_pb2.ReadingState]):
    """The last accepted reading of a device (what duplicate and order checks need)."""

    seq: int
    start: int
    end: int
    import_wh: int
    export_wh: int
    charged_wh: int
    discharged_wh: int
    soc_wh: int
    hash: bytes  # SHA-256 of the signed bytes
    # the nameplate window's anchor (handlers.py): its start and the four registers there
    window_start: int = 0
    window_import_wh: int = 0
    window_export_wh: int = 0
    window_charged_wh: int = 0
    window_discharged_wh: int = 0
    # the end of the first accepted reading: energy is recorded from then on (0: not known)
    reporting_since: int = 0

    def registers(self) -> tuple[int, int, int, int]:
        """(import, export, charged, discharged) Wh: the cumulative registers of the reading."""
        return (self.import_wh, self.export_wh, self.charged_wh, self.discharged_wh)

    def window_registers(self) -> tuple[int, int, int, int]:
        """(import, export, charged, discharged) Wh at the nameplate window's anchor."""
        return (self.window_import_wh, self.window_export_wh, self.window_charged_wh, self.window_discharged_wh)


@proto_record()
@dataclass(frozen=True, slots=True)
class IntervalEnergy(ProtoRecord[devices_pb2.IntervalEnergy]):
    """Energy of one device in one settlement interval."""

    interval_start: int
    import_wh: int = 0
    export_wh: int = 0


@proto_record()
@dataclass(frozen=True, slots=True)
class BatteryState(ProtoRecord[devices_pb2.BatteryState]):
    """A battery's state of charge, in mWh (0 to its capacity × 1000, an invariant)."""

    soc_mwh: int


@proto_record()
@dataclass(frozen=True, slots=True)
class BatteryRules(ProtoRecord[devices_pb2.BatteryRules]):
    """A battery owner's rules: prices below which it charges and above which it discharges, the
    reserve it keeps, green-only charging and community sharing."""

    charge_below_price: int  # minor units per kWh
    discharge_above_price: int
    reserve_bp: int
    green_only: bool
    community: bool


@proto_record()
@dataclass(frozen=True, slots=True)
class Commissioning(ProtoRecord[devices_pb2.Commissioning]):
    """A certifier's attestation that it commissioned a device: it covers [valid_from, expiry)."""

    device_id: DeviceId
    certifier: Address
    certifier_org: str
    valid_from: int
    expiry: int
    attested_at: int

    def covers(self, start: int, end: int) -> bool:
        """Whether [start, end) lies inside the attestation."""
        return self.valid_from <= start and end <= self.expiry
