"""Stored records of the certificates domain (frozen) and their stored protobuf encoding.

Each record encodes to the protobuf message of `gridledger.certificates.v1` of the same
name (Bundle, HistoryEntry, BundleHistory, Retirement, StorageLot, StorageState,
StandingOversight, PendingDelivery), field by field as abci_app/proto_record.py maps them, and
those bytes are the provable query answers and feed the app hash: `decode(raw).encode()
== raw` for every stored record. None of them has a singular submessage; a history's
entries are a tuple in stored order (an all-default entry still encodes, as an empty
element). Empty strings, zero ids and empty addresses mean "none", as proto3 has them.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum
from typing import NewType

from gridledger.certificates.v1 import certificates_pb2 as pb

from abci_app.devices.records import DeviceId
from abci_app.proto_record import ProtoRecord, proto_record
from abci_app.types import Address

__all__ = [
    "ACTIVE",
    "CONSUMED",
    "EXPIRED",
    "LOCKED",
    "NO_BUNDLE",
    "NO_DEVICE",
    "NO_RETIREMENT",
    "RESERVED",
    "RETIRED",
    "REVOKED",
    "STATUS_NAMES",
    "SUSPENDED",
    "WITHDRAWN",
    "Bundle",
    "BundleHistory",
    "BundleId",
    "BundleStatus",
    "ClearSkyHold",
    "HistoryEntry",
    "HoldStatus",
    "PendingDelivery",
    "Retirement",
    "RetirementId",
    "StandingOversight",
    "StorageLot",
    "StorageState",
]

BundleId = NewType("BundleId", int)
RetirementId = NewType("RetirementId", int)

NO_BUNDLE = BundleId(0)
NO_RETIREMENT = RetirementId(0)
NO_DEVICE = DeviceId("")


class BundleStatus(IntEnum):
    """gridledger.certificates.v1.BundleStatus (numbers are consensus)."""

    UNSPECIFIED = 0
    ACTIVE = 1
    RETIRED = 2
    SUSPENDED = 3
    REVOKED = 4
    CONSUMED_BY_STORAGE = 5
    EXPIRED = 6
    LOCKED = 7
    RESERVED = 8
    WITHDRAWN = 9


ACTIVE = BundleStatus.ACTIVE
RETIRED = BundleStatus.RETIRED
SUSPENDED = BundleStatus.SUSPENDED
REVOKED = BundleStatus.REVOKED
CONSUMED = BundleStatus.CONSUMED_BY_STORAGE
EXPIRED = BundleStatus.EXPIRED
LOCKED = BundleStatus.LOCKED
RESERVED = BundleStatus.RESERVED
WITHDRAWN = BundleStatus.WITHDRAWN
STATUS_NAMES: dict[int, str] = {
    ACTIVE: "active",
    RETIRED: "retired",
    SUSPENDED: "suspended",
    REVOKED: "revoked",
    CONSUMED: "consumed_by_storage",
    EXPIRED: "expired",
    LOCKED: "locked",
    RESERVED: "reserved",
    WITHDRAWN: "withdrawn",
}


@proto_record()
@dataclass(frozen=True, slots=True)
class Bundle(ProtoRecord[pb.Bundle]):
    """Wh [start_wh, end_wh) of the certificates of one device-hour. For storage
    certificates `device_id`/`hour_start` are the battery and the discharge hour, and
    origin_* name the generation that went in."""

    bundle_id: BundleId
    device_id: DeviceId
    hour_start: int
    start_wh: int
    end_wh: int
    owner: Address
    status: BundleStatus
    energy_source: str = ""
    technology: str = ""
    country: str = ""
    grid_region: str = ""
    commissioning_date: int = 0
    issued_height: int = 0
    parent_id: BundleId = NO_BUNDLE  # the bundle this one was cut from (0: issued)
    retirement_id: RetirementId = NO_RETIREMENT  # retired: the retirement record
    storage_device: DeviceId = NO_DEVICE  # consumed_by_storage: the battery that took it
    storage: bool = False  # issued on a battery's discharge
    origin_device: DeviceId = NO_DEVICE
    origin_hour: int = 0
    sdr_id: int = 0  # a storage certificate: its storage discharge record


@proto_record()
@dataclass(frozen=True, slots=True)
class HistoryEntry(ProtoRecord[pb.HistoryEntry]):
    """One step of a bundle's history. `from_` is the message's field `from` (a Python
    keyword); `other_bundle` is the other bundle of a split, cut or merge, or the
    retirement id of a retirement."""

    action: str  # issued, cut_from, split, transferred, retired, suspended, revoked, expired, ...
    height: int
    time: int
    wh: int
    from_: bytes = b""
    to: bytes = b""
    other_bundle: int = 0


@proto_record()
@dataclass(frozen=True, slots=True)
class BundleHistory(ProtoRecord[pb.BundleHistory]):
    """A bundle's compact history, kept as long as the bundle (for retired bundles forever)."""

    bundle_id: BundleId
    entries: tuple[HistoryEntry, ...] = ()


@proto_record()
@dataclass(frozen=True, slots=True)
class Retirement(ProtoRecord[pb.Retirement]):
    """A provable claim: `wh` of bundle `bundle_id` retired by `owner` for `beneficiary`'s
    consumption in [consumption_start, consumption_end)."""

    retirement_id: RetirementId
    bundle_id: BundleId
    wh: int
    owner: Address
    beneficiary: Address
    purpose: str
    consumption_start: int
    consumption_end: int
    height: int
    time: int
    device_id: DeviceId
    hour_start: int
    energy_source: str
    grid_region: str
    claimed_height: int = 0  # the beneficiary's claim (ClaimCertificates): its block, 0 before
    claimed_time: int = 0
    # the retired Wh are [end_wh − wh, end_wh) of the device-hour's counter (0: retired before the
    # dr-retention version, which recorded no range)
    end_wh: int = 0

    @property
    def start_wh(self) -> int | None:
        """The first retired Wh of the device-hour's counter, or None when no range was recorded."""
        return self.end_wh - self.wh if self.end_wh else None


@proto_record()
@dataclass(frozen=True, slots=True)
class StorageLot(ProtoRecord[pb.StorageLot]):
    """A battery's stored energy not yet discharged: input Wh [in_start, in_end) of its
    lifetime charge counter, with the attributes of the certificates consumed for it
    (device_id empty: energy without certificates). `device_id`/`hour_start` name the
    generation those certificates came from (a storage certificate's origin_*).
    `oversight` is UNSPECIFIED, or SUSPENDED / REVOKED when the certifier acted on that
    device-hour while the lot was stored: its discharge then issues bundles in that status."""

    in_start: int
    in_end: int
    device_id: DeviceId = NO_DEVICE
    hour_start: int = 0
    energy_source: str = ""
    technology: str = ""
    country: str = ""
    grid_region: str = ""
    commissioning_date: int = 0
    oversight: BundleStatus = BundleStatus.UNSPECIFIED
    scr_id: int = 0  # the storage charge record of the certificates consumed for it (0: none)


@proto_record()
@dataclass(frozen=True, slots=True)
class StandingOversight(ProtoRecord[pb.StandingOversight]):
    """The certifier's standing oversight of a device: hours ≥ from_hour are under
    `status` (SUSPENDED or REVOKED), for the bundles that exist and for those issued later,
    until it is lifted. With status SUSPENDED, a `revoked_from_hour` above 0 (and then
    above from_hour) revokes the hours from it on (a suspension, then a later revocation)."""

    device_id: DeviceId
    from_hour: int
    status: BundleStatus
    revoked_from_hour: int = 0

    def status_at(self, hour: int) -> BundleStatus | None:
        """The status bundles of production hour `hour` are held in, or None (not covered)."""
        if hour < self.from_hour:
            return None
        if self.status == REVOKED or (self.revoked_from_hour and hour >= self.revoked_from_hour):
            return REVOKED
        return self.status

    @property
    def suspended_from(self) -> int | None:
        """The first suspended hour, or None (no standing suspension)."""
        return self.from_hour if self.status == SUSPENDED else None

    @property
    def revoked_from(self) -> int | None:
        """The first revoked hour, or None (no standing revocation)."""
        if self.status == REVOKED:
            return self.from_hour
        return self.revoked_from_hour or None

    @staticmethod
    def of(device_id: DeviceId, suspended_from: int | None, revoked_from: int | None) -> StandingOversight | None:
        """The record for a suspension from `suspended_from` and a revocation from
        `revoked_from` (either None: none); a suspension inside the revocation is dropped."""
        if suspended_from is not None and revoked_from is not None and suspended_from >= revoked_from:
            suspended_from = None
        if suspended_from is not None:
            return StandingOversight(device_id, suspended_from, SUSPENDED, revoked_from or 0)
        if revoked_from is not None:
            return StandingOversight(device_id, revoked_from, REVOKED)
        return None


class HoldStatus(IntEnum):
    """gridledger.certificates.v1.HoldStatus."""

    UNSPECIFIED = 0
    HELD = 1  # awaiting the certifier
    RELEASED = 2  # released by the certifier: issued
    REJECTED = 3  # rejected by the certifier: never issued


@proto_record()
@dataclass(frozen=True, slots=True)
class ClearSkyHold(ProtoRecord[pb.ClearSkyHold]):
    """PV generation of a device-hour above the clear-sky bound of its site and hour
    (issuance.py): eligible is at most bound_wh + released_wh; held_wh is the recorded
    generation above that, awaiting the certifier (HELD) or refused for good (REJECTED)."""

    device_id: DeviceId
    hour_start: int
    bound_wh: int
    held_wh: int
    released_wh: int
    status: HoldStatus


@proto_record()
@dataclass(frozen=True, slots=True)
class StorageState(ProtoRecord[pb.StorageState]):
    """A battery's lot FIFO [head, tail) and its lifetime input and output counters."""

    head: int = 0  # first lot's sequence number
    tail: int = 0  # next lot's sequence number
    in_total: int = 0  # input Wh ever charged (as lots)
    out_total: int = 0  # output Wh ever discharged and accounted for


@proto_record()
@dataclass(frozen=True, slots=True)
class PendingDelivery(ProtoRecord[pb.PendingDelivery]):
    """A delivery versus payment still owed (dvp.py): `wh` Wh of the seller's certificates of
    production hour `hour_start` for the buyer (retired for the buyer with retire_for_buyer),
    from the settlement of `interval` (0: not given), recorded at block `height`."""

    delivery_id: int
    seller: Address
    buyer: Address
    hour_start: int
    wh: int
    retire_for_buyer: bool = False
    interval: int = 0
    height: int = 0
