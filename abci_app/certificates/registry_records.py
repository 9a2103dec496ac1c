"""Stored records of the EnergyTag side of the certificates domain (frozen).

StorageChargeRecord / StorageDischargeRecord (the EnergyTag SCR and SDR: storage lineage),
TransferAcceptance (a member's allow-list of senders), RecurringAction (a standing
transfer or cancellation) and RegistryInfo (issuing body, country, connected grid). Each
encodes to the `gridledger.certificates.v1` message of the same name, field for field (the
dataclass fields are the message's fields, in order), and `decode(raw).encode() == raw`.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from enum import IntEnum
from typing import Any, ClassVar, Self, cast

from google.protobuf.message import Message
from gridledger.certificates.v1 import certificates_pb2 as pb

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


class _Record:
    """Field-for-field protobuf encoding of a frozen dataclass (`MESSAGE` names the message)."""

    MESSAGE: ClassVar[type[Message]]

    def to_proto(self) -> Any:
        values: dict[str, Any] = {}
        for f in fields(cast(Any, self)):
            v = getattr(self, f.name)
            values[f.name] = (
                [bytes(x) for x in v] if isinstance(v, tuple) else (int(v) if isinstance(v, IntEnum) else v)
            )
        return self.MESSAGE(**values)

    def encode(self) -> bytes:
        return bytes(self.to_proto().SerializeToString(deterministic=True))

    @classmethod
    def from_proto(cls, m: Any) -> Self:
        """ValueError for an enum number the record's enum does not have."""
        values = []
        for f in fields(cast(Any, cls)):
            v = getattr(m, f.name)
            if f.type == "RecurringKind":
                v = RecurringKind(v)
            elif f.type == "Address":
                v = Address(v)
            elif f.type == "tuple[Address, ...]":
                v = tuple(Address(x) for x in v)
            values.append(v)
        return cls(*values)

    @classmethod
    def decode(cls, raw: bytes) -> Self:
        return cls.from_proto(cls.MESSAGE.FromString(raw))


@dataclass(frozen=True, slots=True)
class StorageChargeRecord(_Record):
    """EnergyTag SCR: `wh` of bundle `bundle_id` (its Wh [start_wh, end_wh) in device-hour
    bundle_device/bundle_hour) consumed by `battery` charging in charging_hour, into lot
    `lot_seq`; the generation behind it is source_device/source_hour."""

    MESSAGE: ClassVar[type[Message]] = pb.StorageChargeRecord

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


@dataclass(frozen=True, slots=True)
class StorageDischargeRecord(_Record):
    """EnergyTag SDR: `wh` storage certificates (bundle `bundle_id`) issued on `battery`
    discharging in discharging_hour from the energy that came in with SCR `scr_id`."""

    MESSAGE: ClassVar[type[Message]] = pb.StorageDischargeRecord

    sdr_id: int
    battery: str
    discharging_hour: int
    wh: int
    bundle_id: int
    scr_id: int
    efficiency_bp: int


@dataclass(frozen=True, slots=True)
class TransferAcceptance(_Record):
    """Who may transfer certificates to `member`: anyone (not restricted) or the `allowed`
    senders (in byte order, unique)."""

    MESSAGE: ClassVar[type[Message]] = pb.TransferAcceptance

    member: Address
    restricted: bool
    allowed: tuple[Address, ...] = ()

    def accepts(self, sender: bytes) -> bool:
        return not self.restricted or sender in self.allowed


@dataclass(frozen=True, slots=True)
class RecurringAction(_Record):
    """A standing instruction of `owner`: up to `wh` of its active certificates of production
    hour next_hour, transferred to / retired for `target`, then the hour every_hours periods
    later, `remaining` more times."""

    MESSAGE: ClassVar[type[Message]] = pb.RecurringAction

    action_id: int
    owner: Address
    kind: RecurringKind
    target: Address
    wh: int
    next_hour: int
    every_hours: int
    remaining: int
    purpose: str = ""


@dataclass(frozen=True, slots=True)
class RegistryInfo(_Record):
    """The registry in EnergyTag terms (genesis `certificates.registry`)."""

    MESSAGE: ClassVar[type[Message]] = pb.RegistryInfo

    issuing_body: str = ""
    country: str = ""
    connected_grid: str = ""
