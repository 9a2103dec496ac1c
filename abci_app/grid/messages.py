"""Grid messages as frozen records; every bound is checked here."""

from __future__ import annotations

from dataclasses import dataclass

from gridledger.grid.v1 import grid_pb2

from abci_app.codec_util import address_field, id_field, nonneg_field, positive_field
from abci_app.types import Address

__all__ = [
    "EnrolDr",
    "JoinDrProgramme",
    "LeaveDrProgramme",
    "PublishDrEvent",
    "RemoveFeederLimit",
    "SetFeederLimit",
    "SetGridFees",
    "SetTariffs",
    "enrol_dr_from_proto",
    "join_dr_programme_from_proto",
    "leave_dr_programme_from_proto",
    "publish_dr_event_from_proto",
    "remove_feeder_limit_from_proto",
    "set_feeder_limit_from_proto",
    "set_grid_fees_from_proto",
    "set_tariffs_from_proto",
]

MAX_PRICE = 100_000_000  # minor units per kWh
MAX_WH = 10**15


@dataclass(frozen=True, slots=True)
class SetTariffs:
    supplier: Address
    retail_per_kwh: int
    feed_in_per_kwh: int
    imbalance_short_per_kwh: int
    imbalance_long_per_kwh: int


@dataclass(frozen=True, slots=True)
class SetGridFees:
    intra_feeder_per_kwh: int
    inter_feeder_per_kwh: int


@dataclass(frozen=True, slots=True)
class SetFeederLimit:
    feeder: str
    import_wh: int
    export_wh: int


@dataclass(frozen=True, slots=True)
class RemoveFeederLimit:
    feeder: str


@dataclass(frozen=True, slots=True)
class PublishDrEvent:
    event_id: str
    feeder: str
    start: int
    end: int
    requested_reduction_wh: int
    reward_per_kwh: int


@dataclass(frozen=True, slots=True)
class EnrolDr:
    event_id: str
    device_id: str


@dataclass(frozen=True, slots=True)
class JoinDrProgramme:
    device_id: str


@dataclass(frozen=True, slots=True)
class LeaveDrProgramme:
    device_id: str


def _price(value: int, name: str) -> int:
    return nonneg_field(value, name, MAX_PRICE)


def set_tariffs_from_proto(m: grid_pb2.SetTariffs) -> SetTariffs:
    return SetTariffs(
        address_field(m.supplier, "supplier"),
        _price(m.retail_per_kwh, "retail_per_kwh"),
        _price(m.feed_in_per_kwh, "feed_in_per_kwh"),
        _price(m.imbalance_short_per_kwh, "imbalance_short_per_kwh"),
        _price(m.imbalance_long_per_kwh, "imbalance_long_per_kwh"),
    )


def set_grid_fees_from_proto(m: grid_pb2.SetGridFees) -> SetGridFees:
    return SetGridFees(_price(m.intra_feeder_per_kwh, "intra_feeder_per_kwh"), _price(m.inter_feeder_per_kwh, "inter"))


def set_feeder_limit_from_proto(m: grid_pb2.SetFeederLimit) -> SetFeederLimit:
    return SetFeederLimit(
        id_field(m.feeder, "feeder", min_len=1),
        nonneg_field(m.import_wh, "import_wh", MAX_WH),
        nonneg_field(m.export_wh, "export_wh", MAX_WH),
    )


def remove_feeder_limit_from_proto(m: grid_pb2.RemoveFeederLimit) -> RemoveFeederLimit:
    return RemoveFeederLimit(id_field(m.feeder, "feeder", min_len=1))


def publish_dr_event_from_proto(m: grid_pb2.PublishDrEvent) -> PublishDrEvent:
    return PublishDrEvent(
        id_field(m.event_id, "event_id"),
        id_field(m.feeder, "feeder", min_len=1),
        positive_field(m.start, "start", 1 << 40),
        positive_field(m.end, "end", 1 << 40),
        positive_field(m.requested_reduction_wh, "requested_reduction_wh", MAX_WH),
        positive_field(m.reward_per_kwh, "reward_per_kwh", MAX_PRICE),
    )


def enrol_dr_from_proto(m: grid_pb2.EnrolDr) -> EnrolDr:
    return EnrolDr(id_field(m.event_id, "event_id"), id_field(m.device_id, "device_id"))


def join_dr_programme_from_proto(m: grid_pb2.JoinDrProgramme) -> JoinDrProgramme:
    return JoinDrProgramme(id_field(m.device_id, "device_id"))


def leave_dr_programme_from_proto(m: grid_pb2.LeaveDrProgramme) -> LeaveDrProgramme:
    return LeaveDrProgramme(id_field(m.device_id, "device_id"))
