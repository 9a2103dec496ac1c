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
    """A SetTariffs as its handler sees it."""

    supplier: Address
    retail_per_kwh: int
    feed_in_per_kwh: int
    imbalance_short_per_kwh: int
    imbalance_long_per_kwh: int
    export_penalty_per_kwh: int = 0


@dataclass(frozen=True, slots=True)
class SetGridFees:
    """A SetGridFees as its handler sees it."""

    intra_feeder_per_kwh: int
    inter_feeder_per_kwh: int


@dataclass(frozen=True, slots=True)
class SetFeederLimit:
    """A SetFeederLimit as its handler sees it (UNLIMITED_WH for an unlimited side)."""

    feeder: str
    import_wh: int
    export_wh: int


@dataclass(frozen=True, slots=True)
class RemoveFeederLimit:
    """A RemoveFeederLimit as its handler sees it."""

    feeder: str


@dataclass(frozen=True, slots=True)
class PublishDrEvent:
    """A PublishDrEvent as its handler sees it."""

    event_id: str
    feeder: str
    start: int
    end: int
    requested_reduction_wh: int
    reward_per_kwh: int


@dataclass(frozen=True, slots=True)
class EnrolDr:
    """An EnrolDr as its handler sees it."""

    event_id: str
    device_id: str


@dataclass(frozen=True, slots=True)
class JoinDrProgramme:
    """A JoinDrProgramme as its handler sees it."""

    device_id: str


@dataclass(frozen=True, slots=True)
class LeaveDrProgramme:
    """A LeaveDrProgramme as its handler sees it."""

    device_id: str


def _price(value: int, name: str) -> int:
    return nonneg_field(value, name, MAX_PRICE)


def set_tariffs_from_proto(m: grid_pb2.SetTariffs) -> SetTariffs:
    """The supplier a 20-byte address and every price within MAX_PRICE; INVALID_ARGUMENT naming the
    field otherwise."""
    return SetTariffs(
        address_field(m.supplier, "supplier"),
        _price(m.retail_per_kwh, "retail_per_kwh"),
        _price(m.feed_in_per_kwh, "feed_in_per_kwh"),
        _price(m.imbalance_short_per_kwh, "imbalance_short_per_kwh"),
        _price(m.imbalance_long_per_kwh, "imbalance_long_per_kwh"),
        _price(m.export_penalty_per_kwh, "export_penalty_per_kwh"),
    )


def set_grid_fees_from_proto(m: grid_pb2.SetGridFees) -> SetGridFees:
    """Both fees within MAX_PRICE; INVALID_ARGUMENT otherwise."""
    return SetGridFees(_price(m.intra_feeder_per_kwh, "intra_feeder_per_kwh"), _price(m.inter_feeder_per_kwh, "inter"))


def _limit_side(wh: int, unlimited: bool, name: str) -> int:
    if unlimited:
        if wh:
            raise TxError(Code.INVALID_ARGUMENT, f"{name} must be 0 when the side is unlimited")
        return UNLIMITED_WH
    return nonneg_field(wh, name, MAX_WH)


def set_feeder_limit_from_proto(m: grid_pb2.SetFeederLimit) -> SetFeederLimit:
    """The feeder name bounded; each side either unlimited (its Wh then 0) or within MAX_WH;
    INVALID_ARGUMENT otherwise."""
    return SetFeederLimit(
        grid_name_field(m.feeder, "feeder"),
        _limit_side(m.import_wh, m.import_unlimited, "import_wh"),
        _limit_side(m.export_wh, m.export_unlimited, "export_wh"),
    )


def remove_feeder_limit_from_proto(m: grid_pb2.RemoveFeederLimit) -> RemoveFeederLimit:
    """The feeder name bounded; INVALID_ARGUMENT otherwise."""
    return RemoveFeederLimit(grid_name_field(m.feeder, "feeder"))


def publish_dr_event_from_proto(m: grid_pb2.PublishDrEvent) -> PublishDrEvent:
    """Ids bounded, start and end positive times, a positive reduction within MAX_WH and reward
    within MAX_PRICE (the window's order is the handler's: DR_BAD_WINDOW); INVALID_ARGUMENT
    otherwise."""
    return PublishDrEvent(
        id_field(m.event_id, "event_id"),
        grid_name_field(m.feeder, "feeder"),
        positive_field(m.start, "start", 1 << 40),
        positive_field(m.end, "end", 1 << 40),
        positive_field(m.requested_reduction_wh, "requested_reduction_wh", MAX_WH),
        positive_field(m.reward_per_kwh, "reward_per_kwh", MAX_PRICE),
    )


def enrol_dr_from_proto(m: grid_pb2.EnrolDr) -> EnrolDr:
    """The event and device ids bounded; INVALID_ARGUMENT otherwise."""
    return EnrolDr(id_field(m.event_id, "event_id"), id_field(m.device_id, "device_id"))


def join_dr_programme_from_proto(m: grid_pb2.JoinDrProgramme) -> JoinDrProgramme:
    """The device id bounded; INVALID_ARGUMENT otherwise."""
    return JoinDrProgramme(id_field(m.device_id, "device_id"))


def leave_dr_programme_from_proto(m: grid_pb2.LeaveDrProgramme) -> LeaveDrProgramme:
    """The device id bounded; INVALID_ARGUMENT otherwise."""
    return LeaveDrProgramme(id_field(m.device_id, "device_id"))
