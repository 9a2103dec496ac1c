"""Stored records of the devices domain (frozen) and their stored protobuf encoding.

Each record encodes to the protobuf message of `gridledger.devices.v1` of the same name
(Site, Device, BatterySpec, ReadingState, IntervalEnergy, BatteryState, BatteryRules,
Commissioning), and
those bytes are the provable query answers: `decode(raw).encode() == raw` for every stored
record. A device's `battery` keeps the submessage's presence (None: absent), since a
present but empty spec encodes to different bytes than an absent one; a site's `location`
keeps the presence of its optional latitude and longitude the same way.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import NewType

from gridledger.devices.v1 import devices_pb2

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


@dataclass(frozen=True, slots=True)
class Site:
    """A registered site: its owner, feeder and grid region, when it was registered, and its
    location when given."""

    site_id: SiteId
    owner: Address
    feeder: str
    grid_region: str
    registered_at: int
    location: tuple[int, int] | None = None  # (latitude, longitude) in micro-degrees; None: not given

    def to_proto(self) -> devices_pb2.Site:
        pb = devices_pb2.Site(
            site_id=self.site_id,
            owner=self.owner,
            feeder=self.feeder,
            grid_region=self.grid_region,
            registered_at=self.registered_at,
        )
        if self.location is not None:
            pb.latitude_udeg, pb.longitude_udeg = self.location
        return pb

    def encode(self) -> bytes:
        return self.to_proto().SerializeToString(deterministic=True)

    @staticmethod
    def from_proto(pb: devices_pb2.Site) -> Site:
        location = (pb.latitude_udeg, pb.longitude_udeg) if pb.HasField("latitude_udeg") else None
        return Site(SiteId(pb.site_id), Address(pb.owner), pb.feeder, pb.grid_region, pb.registered_at, location)

    @staticmethod
    def decode(raw: bytes) -> Site:
        return Site.from_proto(devices_pb2.Site.FromString(raw))


@dataclass(frozen=True, slots=True)
class BatterySpec:
    """A battery's capacity, power limits and round-trip efficiency (basis points), as registered."""

    capacity_wh: int
    max_charge_w: int
    max_discharge_w: int
    efficiency_bp: int  # round-trip efficiency, 1..10000 basis points

    def to_proto(self) -> devices_pb2.BatterySpec:
        return devices_pb2.BatterySpec(
            capacity_wh=self.capacity_wh,
            max_charge_w=self.max_charge_w,
            max_discharge_w=self.max_discharge_w,
            efficiency_bp=self.efficiency_bp,
        )

    def encode(self) -> bytes:
        return self.to_proto().SerializeToString(deterministic=True)

    @staticmethod
    def from_proto(pb: devices_pb2.BatterySpec) -> BatterySpec:
        return BatterySpec(pb.capacity_wh, pb.max_charge_w, pb.max_discharge_w, pb.efficiency_bp)

    @staticmethod
    def decode(raw: bytes) -> BatterySpec:
        return BatterySpec.from_proto(devices_pb2.BatterySpec.FromString(raw))


NO_BATTERY = BatterySpec(0, 0, 0, 0)
"""What an absent spec reads as (a battery-kind device without one, possible only from genesis)."""


@dataclass(frozen=True, slots=True)
class Device:
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

    def to_proto(self) -> devices_pb2.Device:
        pb = devices_pb2.Device(
            device_id=self.device_id,
            site_id=self.site_id,
            owner=self.owner,
            kind=self.kind,  # type: ignore[arg-type]
            public_key=self.public_key,
            nameplate_w=self.nameplate_w,
            energy_source=self.energy_source,
            technology=self.technology,
            commissioning_date=self.commissioning_date,
            country=self.country,
            grid_region=self.grid_region,
            feeder=self.feeder,
            gateway=self.gateway,
            suspended=self.suspended,
            registered_at=self.registered_at,
            cert_ca_id=self.cert_ca_id,
            cert_serial=self.cert_serial,
        )
        if self.battery is not None:
            pb.battery.CopyFrom(self.battery.to_proto())
        return pb

    def encode(self) -> bytes:
        return self.to_proto().SerializeToString(deterministic=True)

    @staticmethod
    def from_proto(pb: devices_pb2.Device) -> Device:
        return Device(
            device_id=DeviceId(pb.device_id),
            site_id=SiteId(pb.site_id),
            owner=Address(pb.owner),
            kind=int(pb.kind),
            public_key=pb.public_key,
            nameplate_w=pb.nameplate_w,
            energy_source=pb.energy_source,
            technology=pb.technology,
            commissioning_date=pb.commissioning_date,
            country=pb.country,
            grid_region=pb.grid_region,
            feeder=pb.feeder,
            gateway=pb.gateway,
            battery=BatterySpec.from_proto(pb.battery) if pb.HasField("battery") else None,
            suspended=pb.suspended,
            registered_at=pb.registered_at,
            cert_ca_id=pb.cert_ca_id,
            cert_serial=pb.cert_serial,
        )

    @staticmethod
    def decode(raw: bytes) -> Device:
        """The device stored as `raw`; shared between readers of the same bytes (the record
        and its battery spec are frozen): a reading reads its device in CheckTx, the work
        meters and FinalizeBlock."""
        return _decode_device(raw)


@dataclass(frozen=True, slots=True)
class ReadingState:
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

    def to_proto(self) -> devices_pb2.ReadingState:
        return devices_pb2.ReadingState(
            seq=self.seq,
            start=self.start,
            end=self.end,
            import_wh=self.import_wh,
            export_wh=self.export_wh,
            charged_wh=self.charged_wh,
            discharged_wh=self.discharged_wh,
            soc_wh=self.soc_wh,
            hash=self.hash,
            window_start=self.window_start,
            window_import_wh=self.window_import_wh,
            window_export_wh=self.window_export_wh,
            window_charged_wh=self.window_charged_wh,
            window_discharged_wh=self.window_discharged_wh,
            reporting_since=self.reporting_since,
        )

    def registers(self) -> tuple[int, int, int, int]:
        """(import, export, charged, discharged) Wh: the cumulative registers of the reading."""
        return (self.import_wh, self.export_wh, self.charged_wh, self.discharged_wh)

    def window_registers(self) -> tuple[int, int, int, int]:
        """(import, export, charged, discharged) Wh at the nameplate window's anchor."""
        return (self.window_import_wh, self.window_export_wh, self.window_charged_wh, self.window_discharged_wh)

    def encode(self) -> bytes:
        return self.to_proto().SerializeToString(deterministic=True)

    @staticmethod
    def from_proto(pb: devices_pb2.ReadingState) -> ReadingState:
        return ReadingState(
            pb.seq,
            pb.start,
            pb.end,
            pb.import_wh,
            pb.export_wh,
            pb.charged_wh,
            pb.discharged_wh,
            pb.soc_wh,
            pb.hash,
            pb.window_start,
            pb.window_import_wh,
            pb.window_export_wh,
            pb.window_charged_wh,
            pb.window_discharged_wh,
            pb.reporting_since,
        )

    @staticmethod
    def decode(raw: bytes) -> ReadingState:
        """The reading state stored as `raw`; shared between readers of the same bytes (the
        record is frozen): each reading reads its device's last one in CheckTx, in the work
        meters of the proposal checks and of FinalizeBlock, and in its handler."""
        return _decode_reading_state(raw)


@dataclass(frozen=True, slots=True)
class IntervalEnergy:
    """Energy of one device in one settlement interval."""

    interval_start: int
    import_wh: int = 0
    export_wh: int = 0

    def to_proto(self) -> devices_pb2.IntervalEnergy:
        return devices_pb2.IntervalEnergy(
            interval_start=self.interval_start, import_wh=self.import_wh, export_wh=self.export_wh
        )

    def encode(self) -> bytes:
        return self.to_proto().SerializeToString(deterministic=True)

    @staticmethod
    def from_proto(pb: devices_pb2.IntervalEnergy) -> IntervalEnergy:
        return IntervalEnergy(pb.interval_start, pb.import_wh, pb.export_wh)

    @staticmethod
    def decode(raw: bytes) -> IntervalEnergy:
        return IntervalEnergy.from_proto(devices_pb2.IntervalEnergy.FromString(raw))


@dataclass(frozen=True, slots=True)
class BatteryState:
    """A battery's state of charge, in mWh (0 to its capacity × 1000, an invariant)."""

    soc_mwh: int

    def to_proto(self) -> devices_pb2.BatteryState:
        return devices_pb2.BatteryState(soc_mwh=self.soc_mwh)

    def encode(self) -> bytes:
        return self.to_proto().SerializeToString(deterministic=True)

    @staticmethod
    def from_proto(pb: devices_pb2.BatteryState) -> BatteryState:
        return BatteryState(pb.soc_mwh)

    @staticmethod
    def decode(raw: bytes) -> BatteryState:
        return BatteryState.from_proto(devices_pb2.BatteryState.FromString(raw))


@dataclass(frozen=True, slots=True)
class BatteryRules:
    """A battery owner's rules: prices below which it charges and above which it discharges, the
    reserve it keeps, green-only charging and community sharing."""

    charge_below_price: int  # minor units per kWh
    discharge_above_price: int
    reserve_bp: int
    green_only: bool
    community: bool

    def to_proto(self) -> devices_pb2.BatteryRules:
        return devices_pb2.BatteryRules(
            charge_below_price=self.charge_below_price,
            discharge_above_price=self.discharge_above_price,
            reserve_bp=self.reserve_bp,
            green_only=self.green_only,
            community=self.community,
        )

    def encode(self) -> bytes:
        return self.to_proto().SerializeToString(deterministic=True)

    @staticmethod
    def from_proto(pb: devices_pb2.BatteryRules) -> BatteryRules:
        return BatteryRules(pb.charge_below_price, pb.discharge_above_price, pb.reserve_bp, pb.green_only, pb.community)

    @staticmethod
    def decode(raw: bytes) -> BatteryRules:
        return BatteryRules.from_proto(devices_pb2.BatteryRules.FromString(raw))


@dataclass(frozen=True, slots=True)
class Commissioning:
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

    def to_proto(self) -> devices_pb2.Commissioning:
        return devices_pb2.Commissioning(
            device_id=self.device_id,
            certifier=self.certifier,
            certifier_org=self.certifier_org,
            valid_from=self.valid_from,
            expiry=self.expiry,
            attested_at=self.attested_at,
        )

    def encode(self) -> bytes:
        return self.to_proto().SerializeToString(deterministic=True)

    @staticmethod
    def from_proto(pb: devices_pb2.Commissioning) -> Commissioning:
        return Commissioning(
            DeviceId(pb.device_id), Address(pb.certifier), pb.certifier_org, pb.valid_from, pb.expiry, pb.attested_at
        )

    @staticmethod
    def decode(raw: bytes) -> Commissioning:
        return Commissioning.from_proto(devices_pb2.Commissioning.FromString(raw))


@lru_cache(maxsize=65_536)
def _decode_device(raw: bytes) -> Device:
    return Device.from_proto(devices_pb2.Device.FromString(raw))


@lru_cache(maxsize=65_536)
def _decode_reading_state(raw: bytes) -> ReadingState:
    return ReadingState.from_proto(devices_pb2.ReadingState.FromString(raw))
