"""Grid records (frozen) and their stored protobuf encoding.

Each encodes field by field (abci_app/proto_record.py) to the `gridledger.grid.v1` message
of the same name; `decode(raw).encode() == raw`.
"""

from __future__ import annotations

from dataclasses import dataclass

from gridledger.grid.v1 import grid_pb2

from abci_app.proto_record import ProtoRecord, proto_record
from abci_app.types import Address

__all__ = [
    "MEASURING",
    "OPEN",
    "PAYING",
    "DrEnrolment",
    "DrEvent",
    "DrMember",
    "DrSnapshot",
    "FeederLimit",
    "GridFees",
    "Tariffs",
]

# DrEvent.stage: settlement is carried over blocks (handlers.settle_dr_events)
OPEN, MEASURING, PAYING = 0, 1, 2


@proto_record()
@dataclass(frozen=True, slots=True)
class Tariffs(ProtoRecord[grid_pb2.Tariffs]):
    """The supplier of last resort, the operator receiving grid fees, and prices per kWh."""

    supplier: Address
    operator: Address
    retail_per_kwh: int
    feed_in_per_kwh: int
    imbalance_short_per_kwh: int
    imbalance_long_per_kwh: int
    updated_at: int
    export_penalty_per_kwh: int = 0  # export above a grid instruction's cap (settlement.py)


@proto_record()
@dataclass(frozen=True, slots=True)
class GridFees(ProtoRecord[grid_pb2.GridFees]):
    """The grid fees per kWh: within one feeder and across feeders, and when they were last set."""

    intra_feeder_per_kwh: int
    inter_feeder_per_kwh: int
    updated_at: int = 0


@proto_record()
@dataclass(frozen=True, slots=True)
class FeederLimit(ProtoRecord[grid_pb2.FeederLimit]):
    """Per delivery interval: the most energy the market may bring into the feeder from other
    feeders (`import_wh`) and send out of it (`export_wh`)."""

    feeder: str
    import_wh: int
    export_wh: int


@proto_record()
@dataclass(frozen=True, slots=True)
class DrEvent(ProtoRecord[grid_pb2.DrEvent]):
    """A demand-response event: its feeder, window, requested reduction and reward, the budget
    escrowed for it, and how far its (possibly multi-block) settlement has gone."""

    event_id: str
    feeder: str
    start: int
    end: int
    requested_reduction_wh: int
    reward_per_kwh: int
    operator: Address
    budget: int
    settled: bool = False
    paid: int = 0
    announced_at: int = 0
    stage: int = OPEN
    cursor: str = ""
    total_claim: int = 0
    archived: bool = False  # settled, and its enrolments left live state (prune.py)


@proto_record()
@dataclass(frozen=True, slots=True)
class DrEnrolment(ProtoRecord[grid_pb2.DrEnrolment]):
    """A device enrolled in an event: its owner and, once measured, baseline, actual energy,
    reduction and reward."""

    event_id: str
    device_id: str
    owner: Address
    baseline_wh: int = 0
    actual_wh: int = 0
    reduction_wh: int = 0
    reward: int = 0
    settled: bool = False
    sealed_until: int = 0
    measured: bool = False
    claim: int = 0


@proto_record()
@dataclass(frozen=True, slots=True)
class DrMember(ProtoRecord[grid_pb2.DrMember]):
    """A device in its feeder's demand-response programme (indexed under that feeder)."""

    device_id: str
    feeder: str
    owner: Address
    joined_at: int


@proto_record()
@dataclass(frozen=True, slots=True)
class DrSnapshot(ProtoRecord[grid_pb2.DrSnapshot]):
    """How far a programme member's accepted readings reached when an event was announced."""

    event_id: str
    device_id: str
    sealed_until: int
