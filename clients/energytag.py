"""gridledger's certificates in the JSON shape of the EnergyTag GC Registry API.

Reads a node through its queries (any `Reader`: a function of a query path returning the
raw value, b"" when there is none, raising on a failed query) and maps its bundles,
retirements and storage records onto the Registry API's names (Energy Tag API
Specification 2.0, the reference registry of Future Energy Associates; the names are listed
in tests/unit/energytag_spec.py). Read-only: nothing here signs or sends a transaction.

What gridledger does not store is derived: the issuance id from the device and production
hour (the reference registry's "<device>-<interval start>"), the certificate id range from
the bundle's Wh range (inclusive ends, face value 1 Wh), the device's capacity, location,
type and production start from its registration and site, the connected grid from the
registry's genesis record and the device's feeder, and the expiry date from the governed
expiry period. Timestamps are UTC ISO 8601; identifiers that are UUIDs or integers in the
reference registry are gridledger's own (bundle ids, device ids, 20-byte addresses in hex).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from gridledger.certificates.v1 import certificates_pb2 as pb
from gridledger.devices.v1 import devices_pb2
from gridwire.contract.certificates import Paths
from gridwire.contract.chain import Code
from gridwire.contract.devices import Paths as DevicesPaths
from gridwire.contract.governance import Paths as GovernancePaths
from gridwire.contract.paths import page_suffix

__all__ = [
    "ACTION_TYPES",
    "CERTIFICATE_STATUSES",
    "QUERY_NOT_FOUND",
    "Reader",
    "Registry",
    "certificate_status",
    "issuance_id",
]

Reader = Callable[[str], bytes]
QUERY_NOT_FOUND = Code.QUERY_NOT_FOUND  # the query code of a record that does not exist (a Reader answers b"" for it)

# gridledger BundleStatus → the Registry API's certificate_bundle_status
_STATUS = {
    pb.BUNDLE_STATUS_ACTIVE: "Active",
    pb.BUNDLE_STATUS_RETIRED: "Cancelled",  # "Claimed" once the beneficiary claimed it
    pb.BUNDLE_STATUS_SUSPENDED: "Locked",  # locked by the issuing body pending its decision
    pb.BUNDLE_STATUS_REVOKED: "Withdrawn",  # the issuing body's revocation of a device's hours
    pb.BUNDLE_STATUS_CONSUMED_BY_STORAGE: "Cancelled",  # cancelled for storage charging (an SCR names it)
    pb.BUNDLE_STATUS_EXPIRED: "Expired",
    pb.BUNDLE_STATUS_LOCKED: "Locked",
    pb.BUNDLE_STATUS_RESERVED: "Reserved",
    pb.BUNDLE_STATUS_WITHDRAWN: "Withdrawn",
}
CERTIFICATE_STATUSES = ("Active", "Cancelled", "Claimed", "Expired", "Withdrawn", "Locked", "Reserved")
# the Registry API's actions → gridledger's messages (gridledger.certificates.v1)
ACTION_TYPES = {
    "transfer": "TransferCertificates",
    "recurring_transfer": "CreateRecurringAction (kind transfer)",
    "cancel": "RetireCertificates",
    "recurring_cancel": "CreateRecurringAction (kind cancel)",
    "claim": "ClaimCertificates",
    "withdraw": "WithdrawCertificates",
    "lock": "LockCertificates",
    "reserve": "ReserveCertificates",
}
_SOURCES = {"solar": "solar_pv", "solar_pv": "solar_pv", "pv": "solar_pv", "wind": "wind", "hydro": "hydro"}
_SOURCES |= {s: s for s in ("biomass", "nuclear", "geothermal", "chp", "electrolysis", "battery_storage")}
_TECHNOLOGY = {
    devices_pb2.DEVICE_KIND_PV: "solar_pv",
    devices_pb2.DEVICE_KIND_WIND: "wind_turbine",
    devices_pb2.DEVICE_KIND_BATTERY: "battery_storage",
    devices_pb2.DEVICE_KIND_EV_CHARGER: "ev_charger",
}
MAX_HISTORY_CHAIN = 64


def _time(seconds: int) -> str:
    return datetime.fromtimestamp(seconds, UTC).isoformat()


def _date(seconds: int) -> str:
    return datetime.fromtimestamp(seconds, UTC).date().isoformat()


def issuance_id(device_id: str, hour_start: int) -> str:
    """The issuance id of a device-hour: "<device>-<production start, UTC ISO 8601>", the same
    for every bundle cut from that issuance."""
    return f"{device_id}-{_time(hour_start)}"


def certificate_status(b: pb.Bundle, retirement: pb.Retirement | None = None) -> str:
    """The Registry API status of a bundle (a retired one whose retirement was claimed: Claimed)."""
    if b.status == pb.BUNDLE_STATUS_RETIRED and retirement is not None and retirement.claimed_height:
        return "Claimed"
    return _STATUS.get(b.status, "Locked")  # a status this client does not know yet: not movable


@dataclass
class Registry:
    """A node's certificates seen through the Registry API (reads are cached per instance:
    make one per request or export)."""

    read: Reader
    _cache: dict[str, bytes] = field(default_factory=dict)

    def _get(self, path: str) -> bytes:
        if path not in self._cache:
            self._cache[path] = self.read(path)
        return self._cache[path]

    def _param(self, name: str) -> int:
        return int.from_bytes(self._get(GovernancePaths.PARAM(name)), "big", signed=True)

    def _device(self, device_id: str) -> devices_pb2.Device | None:
        raw = self._get(DevicesPaths.DEVICE(device_id))
        return devices_pb2.Device.FromString(raw) if raw else None

    def _site(self, site_id: str) -> devices_pb2.Site | None:
        raw = self._get(DevicesPaths.SITE(site_id))
        return devices_pb2.Site.FromString(raw) if raw else None

    def info(self) -> pb.RegistryInfo:
        return pb.RegistryInfo.FromString(self._get(Paths.REGISTRY_INFO()))

    def bundle_pb(self, bundle_id: int) -> pb.Bundle | None:
        raw = self._get(Paths.BUNDLE(bundle_id))
        return pb.Bundle.FromString(raw) if raw else None

    def _retirement(self, retirement_id: int) -> pb.Retirement | None:
        raw = self._get(Paths.RETIREMENT(retirement_id)) if retirement_id else b""
        return pb.Retirement.FromString(raw) if raw else None

    def _sdr(self, sdr_id: int) -> pb.StorageDischargeRecord | None:
        raw = self._get(Paths.SDR(sdr_id)) if sdr_id else b""
        return pb.StorageDischargeRecord.FromString(raw) if raw else None

    def _issued_at(self, b: pb.Bundle) -> int:
        """The block time of the bundle's issuance (its history or its ancestors'), else its production end."""
        view = pb.BundleHistoryView.FromString(self._get(Paths.BUNDLE_HISTORY(b.bundle_id)))
        times = [e.time for h in view.chain[:MAX_HISTORY_CHAIN] for e in h.entries if e.action == "issued"]
        return min(times) if times else b.hour_start + self._param("certificates.period_seconds")

    def bundles(self, kind: str, value: str) -> Iterator[pb.Bundle]:
        """Every bundle of /bundles/<kind>/<value>, following the pages."""
        after = ""
        while True:
            page = pb.BundleList.FromString(self._get(Paths.BUNDLES(kind, value) + page_suffix(100, after)))
            yield from page.bundles
            if not page.next:
                return
            after = page.next

    def _location(self, device: devices_pb2.Device | None) -> list[float] | None:
        site = self._site(device.site_id) if device is not None else None
        if site is None or not site.HasField("latitude_udeg") or not site.HasField("longitude_udeg"):
            return None
        return [site.latitude_udeg / 1_000_000, site.longitude_udeg / 1_000_000]

    def bundle(self, b: pb.Bundle) -> dict[str, Any]:
        """The bundle as a Registry API GranularCertificateBundle."""
        period = self._param("certificates.period_seconds")
        info = self.info()
        origin = b.origin_device if b.storage and b.origin_device else b.device_id
        device = self._device(origin)
        battery = self._device(b.device_id) if b.storage else None
        out: dict[str, Any] = {
            "id": b.bundle_id,
            "issuance_id": issuance_id(b.device_id, b.hour_start),
            "certificate_bundle_status": certificate_status(b, self._retirement(b.retirement_id)),
            "account_id": b.owner.hex(),
            "is_storage": b.storage,
            "certificate_bundle_id_range_start": b.start_wh,
            "certificate_bundle_id_range_end": b.end_wh - 1,
            "bundle_quantity": b.end_wh - b.start_wh,
            "energy_carrier": "electricity",
            "energy_source": _SOURCES.get(b.energy_source.lower(), "other"),
            "face_value": 1,
            "issuance_post_energy_carrier_conversion": False,
            "registry_configuration": 1,
            "device_id": origin,
            "device_name": origin,
            "device_technology_type": _TECHNOLOGY.get(device.kind, "other") if device is not None else "other",
            "device_production_start_date": _date(b.commissioning_date),
            "device_capacity": device.nameplate_w if device is not None else 0,
            "device_location": self._location(device),
            "device_type": "storage" if b.storage else "production",
            "production_starting_interval": _time(b.origin_hour if b.storage else b.hour_start),
            "production_ending_interval": _time((b.origin_hour if b.storage else b.hour_start) + period),
            "issuance_datestamp": _date(self._issued_at(b)),
            "expiry_datestamp": _date(b.hour_start + period + self._param("certificates.expiry_seconds")),
            "country_of_issuance": b.country or info.country,
            "connected_grid_identification": ":".join(x for x in (info.connected_grid, _feeder(device)) if x),
            "issuing_body": info.issuing_body,
            "issue_market_zone": b.grid_region,
        }
        if b.storage:
            sdr = self._sdr(b.sdr_id)
            out |= {
                "storage_id": b.device_id,
                "sdr_allocation_id": b.sdr_id or None,
                "discharging_start_datetime": _time(b.hour_start),
                "discharging_end_datetime": _time(b.hour_start + period),
                "storage_device_location": self._location(battery),
                "storage_efficiency_factor": None if sdr is None else sdr.efficiency_bp / 10_000,
            }
        return out

    def query(self, owner_hex: str, status: str | None = None) -> dict[str, Any]:
        """A Registry API GranularCertificateQueryResponse: the owner's bundles (of one status)."""
        found = [self.bundle(b) for b in self.bundles("owner", owner_hex)]
        if status is not None:
            found = [x for x in found if x["certificate_bundle_status"] == status]
        out: dict[str, Any] = {
            "source_id": owner_hex,
            "action_response_status": "accepted",
            "filtered_certificate_bundles": found,
            "certificate_quantity": sum(x["bundle_quantity"] for x in found),
        }
        if status is not None:
            out["certificate_bundle_status"] = status
        return out

    def cancellation(self, retirement_id: int) -> dict[str, Any] | None:
        """A retirement as a Registry API GranularCertificateCancellation (None: no such retirement)."""
        r = self._retirement(retirement_id)
        if r is None:
            return None
        return {
            "action_id": r.retirement_id,
            "source_id": r.owner.hex(),
            "beneficiary": r.beneficiary.hex(),
            "certificate_quantity": r.wh,
            "source_certificate_issuance_id": issuance_id(r.device_id, r.hour_start),
            # the cancelled certificates' ids (retirements recorded before the dr-retention version name none)
            **(
                {
                    "source_certificate_certificate_bundle_id_range_start": r.end_wh - r.wh,
                    "source_certificate_certificate_bundle_id_range_end": r.end_wh - 1,
                }
                if r.end_wh
                else {}
            ),
            "certificate_period_start": _time(r.consumption_start),
            "certificate_period_end": _time(r.consumption_end),
            "action_request_datetime": _time(r.time),
            "action_completed_datetime": _time(r.time),
            "certificate_bundle_status": "Claimed" if r.claimed_height else "Cancelled",
            "energy_source": [_SOURCES.get(r.energy_source.lower(), "other")],
        }

    def scr(self, scr_id: int) -> dict[str, Any] | None:
        """A storage charge record as a Registry API StorageChargeRecord (None: no such record)."""
        raw = self._get(Paths.SCR(scr_id))
        if not raw:
            return None
        r = pb.StorageChargeRecord.FromString(raw)
        period = self._param("certificates.period_seconds")
        return {
            "id": r.scr_id,
            "scr_allocation_id": r.scr_id,
            "charging_start_datetime": _time(r.charging_hour),
            "charging_end_datetime": _time(r.charging_hour + period),
            "charging_energy": r.wh,
            "charging_energy_source": _SOURCES.get(r.energy_source.lower(), "other"),
            "gc_issuance_id": issuance_id(r.bundle_device, r.bundle_hour),
            "granular_certificate_certificate_bundle_id_range_start": r.start_wh,
            "granular_certificate_certificate_bundle_id_range_end": r.end_wh - 1,
            "scr_geographic_matching_method": "none",
        }

    def sdr(self, sdr_id: int) -> dict[str, Any] | None:
        """A storage discharge record as a Registry API StorageDischargeRecord (None: no such record)."""
        d = self._sdr(sdr_id)
        if d is None:
            return None
        period = self._param("certificates.period_seconds")
        scr = self.scr(d.scr_id) if d.scr_id else None
        return {
            "id": d.sdr_id,
            "sdr_allocation_id": d.sdr_id,
            "scr_allocation_id": d.scr_id,
            "discharging_start_datetime": _time(d.discharging_hour),
            "discharging_end_datetime": _time(d.discharging_hour + period),
            "discharge_energy": d.wh,
            "charging_energy_source": scr["charging_energy_source"] if scr is not None else "other",
            "scr_allocation_methodology": "fifo",
            "efficiency_factor_methodology": "declared_round_trip",
        }

    def lineage(self, bundle_id: int) -> dict[str, Any]:
        """A storage certificate back to the generation it came from: the bundles (the
        certificate first, then each consumed one), SDRs and SCRs, in Registry API shape."""
        view = pb.StorageLineage.FromString(self._get(Paths.STORAGE_LINEAGE(bundle_id)))
        return {
            "filtered_certificate_bundles": [self.bundle(b) for b in view.bundles],
            "filtered_sdrs": [self.sdr(d.sdr_id) for d in view.sdrs],
            "filtered_scrs": [self.scr(c.scr_id) for c in view.scrs],
        }


def _feeder(device: devices_pb2.Device | None) -> str:
    return "" if device is None else device.feeder
