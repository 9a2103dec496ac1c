"""Stored records of the EnergyTag side of the certificates domain (frozen).

StorageChargeRecord / StorageDischargeRecord (the EnergyTag SCR and SDR: storage lineage),
TransferAcceptance (a member's allow-list of senders), RecurringAction (a standing
transfer or cancellation) and RegistryInfo (issuing body, country, connected grid). Each
encodes to the `gridledger.certificates.v1` message of the same name, field for field
(abci_app/proto_record.py), and `decode(raw).encode() == raw`.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

from gridledger.certificates.v1 import certificates_pb2 as pb

from abci_app.proto_record import ProtoRecord, proto_record
from abci_app.types import Address

__all__ = [
    "RecurringAction",
    "RecurringKind",
    "RegistryInfo",
    "StorageChargeRecord",
    "StorageDischargeRecord",
    "TransferAcceptance",
]


class RecurringKind(IntEnum):
    """gridledger.certificates.v1.RecurringKind (numbers are consensus)."""

    UNSPECIFIED = 0
    TRANSFER = 1
    CANCEL = 2


@proto_record()
@dataclass(frozen=True, slots=True)
class StorageChargeRecord(ProtoRecord[pb.StorageChargeRecord]):
    """EnergyTag SCR: `wh` of bundle `bundle_id` (its Wh [start_wh, end_wh) in device-hour
    bundle_device/bundle_hour) consumed by `battery` charging in charging_hour, into lot
    `lot_seq`; the generation behind it is source_device/source_hour."""

    scr_id: int
    battery: str
    charging_hour: int
    wh: int
    bundle_id: int
    start_wh: int
    end_wh: int
    source_device: str
    source_hour: int
    energy_source: str
    lot_seq: int
    bundle_device: str
    bundle_hour: int


@proto_record()
@dataclass(frozen=True, slots=True)
class StorageDischargeRecord(ProtoRecord[pb.StorageDischargeRecord]):
    """EnergyTag SDR: `wh` storage certificates (bundle `bundle_id`) issued on `battery`
    discharging in discharging_hour from the energy that came in with SCR `scr_id`."""

    sdr_id: int
    battery: str
    discharging_hour: int
    wh: int
    bundle_id: int
    scr_id: int
    efficiency_bp: int


@proto_record()
@dataclass(frozen=True, slots=True)
class TransferAcceptance(ProtoRecord[pb.TransferAcceptance]):
    """Who may transfer certificates to `member`: anyone (not restricted) or the `allowed`
    senders (in byte order, unique)."""

    member: Address
    restricted: bool
    allowed: tuple[Address, ...] = ()

    def accepts(self, sender: bytes) -> bool:
        """Whether `sender` may transfer certificates to the member (anyone when not restricted)."""
        return not self.restricted or sender in self.allowed


@proto_record()
@dataclass(frozen=True, slots=True)
class RecurringAction(ProtoRecord[pb.RecurringAction]):
    """A standing instruction of `owner`: up to `wh` of its active certificates of production
    hour next_hour, transferred to / retired for `target`, then the hour every_hours periods
    later, `remaining` more times."""

    action_id: int
    owner: Address
    kind: RecurringKind
    target: Address
    wh: int
    next_hour: int
    every_hours: int
    remaining: int
    purpose: str = ""


@proto_record()
@dataclass(frozen=True, slots=True)
class RegistryInfo(ProtoRecord[pb.RegistryInfo]):
    """The registry in EnergyTag terms (genesis `certificates.registry`)."""

    issuing_body: str = ""
    country: str = ""
    connected_grid: str = ""
