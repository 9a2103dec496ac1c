"""Grid messages as frozen records; every bound is checked here."""

from __future__ import annotations

from dataclasses import dataclass

from gridledger.grid.v1 import grid_pb2

from abci_app.codec_util import address_field, grid_name_field, id_field, nonneg_field, positive_field
from abci_app.errors import Code, TxError
from abci_app.types import Address

__all__ = [
    "UNLIMITED_WH",
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
# a feeder limit side stored as this is unlimited (SetFeederLimit's *_unlimited); clearing
# compares flows with it like any limit, and no flow reaches it
UNLIMITED_WH = (1 << 63) - 1


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


def _limit_side(wh: int, unlimited: bool, name: str) -> int:
    if unlimited:
        if wh:
            raise TxError(Code.INVALID_ARGUMENT, f"{name} must be 0 when the side is unlimited")
        return UNLIMITED_WH
    return nonneg_field(wh, name, MAX_WH)


def set_feeder_limit_from_proto(m: grid_pb2.SetFeederLimit) -> SetFeederLimit:
    return SetFeederLimit(
        grid_name_field(m.feeder, "feeder"),
        _limit_side(m.import_wh, m.import_unlimited, "import_wh"),
        _limit_side(m.export_wh, m.export_unlimited, "export_wh"),
    )


def remove_feeder_limit_from_proto(m: grid_pb2.RemoveFeederLimit) -> RemoveFeederLimit:
    return RemoveFeederLimit(grid_name_field(m.feeder, "feeder"))


def publish_dr_event_from_proto(m: grid_pb2.PublishDrEvent) -> PublishDrEvent:
    return PublishDrEvent(
        id_field(m.event_id, "event_id"),
        grid_name_field(m.feeder, "feeder"),
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
