"""Grid records (frozen) and their stored protobuf encoding."""

from __future__ import annotations

from dataclasses import dataclass

from gridledger.grid.v1 import grid_pb2

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


@dataclass(frozen=True, slots=True)
class Tariffs:
    """The supplier of last resort, the operator receiving grid fees, and prices per kWh."""

    supplier: Address
    operator: Address
    retail_per_kwh: int
    feed_in_per_kwh: int
    imbalance_short_per_kwh: int
    imbalance_long_per_kwh: int
    updated_at: int
    export_penalty_per_kwh: int = 0  # export above a grid instruction's cap (settlement.py)

    def encode(self) -> bytes:
        return grid_pb2.Tariffs(
            supplier=self.supplier,
            operator=self.operator,
            retail_per_kwh=self.retail_per_kwh,
            feed_in_per_kwh=self.feed_in_per_kwh,
            imbalance_short_per_kwh=self.imbalance_short_per_kwh,
            imbalance_long_per_kwh=self.imbalance_long_per_kwh,
            updated_at=self.updated_at,
            export_penalty_per_kwh=self.export_penalty_per_kwh,
        ).SerializeToString()

    @staticmethod
    def decode(raw: bytes) -> Tariffs:
        pb = grid_pb2.Tariffs.FromString(raw)
        return Tariffs(
            Address(pb.supplier),
            Address(pb.operator),
            pb.retail_per_kwh,
            pb.feed_in_per_kwh,
            pb.imbalance_short_per_kwh,
            pb.imbalance_long_per_kwh,
            pb.updated_at,
            pb.export_penalty_per_kwh,
        )


@dataclass(frozen=True, slots=True)
class GridFees:
    """The grid fees per kWh: within one feeder and across feeders, and when they were last set."""

    intra_feeder_per_kwh: int
    inter_feeder_per_kwh: int
    updated_at: int = 0

    def encode(self) -> bytes:
        return grid_pb2.GridFees(
            intra_feeder_per_kwh=self.intra_feeder_per_kwh,
            inter_feeder_per_kwh=self.inter_feeder_per_kwh,
            updated_at=self.updated_at,
        ).SerializeToString()

    @staticmethod
    def decode(raw: bytes) -> GridFees:
        pb = grid_pb2.GridFees.FromString(raw)
        return GridFees(pb.intra_feeder_per_kwh, pb.inter_feeder_per_kwh, pb.updated_at)


@dataclass(frozen=True, slots=True)
class FeederLimit:
    """Per delivery interval: the most energy the market may bring into the feeder from other
    feeders (`import_wh`) and send out of it (`export_wh`)."""

    feeder: str
    import_wh: int
    export_wh: int

    def encode(self) -> bytes:
        return grid_pb2.FeederLimit(
            feeder=self.feeder, import_wh=self.import_wh, export_wh=self.export_wh
        ).SerializeToString()

    @staticmethod
    def decode(raw: bytes) -> FeederLimit:
        pb = grid_pb2.FeederLimit.FromString(raw)
        return FeederLimit(pb.feeder, pb.import_wh, pb.export_wh)


@dataclass(frozen=True, slots=True)
class DrEvent:
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

    def encode(self) -> bytes:
        return grid_pb2.DrEvent(
            event_id=self.event_id,
            feeder=self.feeder,
            start=self.start,
            end=self.end,
            requested_reduction_wh=self.requested_reduction_wh,
            reward_per_kwh=self.reward_per_kwh,
            operator=self.operator,
            budget=self.budget,
            settled=self.settled,
            paid=self.paid,
            announced_at=self.announced_at,
            stage=self.stage,
            cursor=self.cursor,
            total_claim=self.total_claim,
        ).SerializeToString()

    @staticmethod
    def decode(raw: bytes) -> DrEvent:
        pb = grid_pb2.DrEvent.FromString(raw)
        return DrEvent(
            pb.event_id,
            pb.feeder,
            pb.start,
            pb.end,
            pb.requested_reduction_wh,
            pb.reward_per_kwh,
            Address(pb.operator),
            pb.budget,
            pb.settled,
            pb.paid,
            pb.announced_at,
            pb.stage,
            pb.cursor,
            pb.total_claim,
        )


@dataclass(frozen=True, slots=True)
class DrEnrolment:
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

    def encode(self) -> bytes:
        return grid_pb2.DrEnrolment(
            event_id=self.event_id,
            device_id=self.device_id,
            owner=self.owner,
            baseline_wh=self.baseline_wh,
            actual_wh=self.actual_wh,
            reduction_wh=self.reduction_wh,
            reward=self.reward,
            settled=self.settled,
            sealed_until=self.sealed_until,
            measured=self.measured,
            claim=self.claim,
        ).SerializeToString()

    @staticmethod
    def decode(raw: bytes) -> DrEnrolment:
        pb = grid_pb2.DrEnrolment.FromString(raw)
        return DrEnrolment(
            pb.event_id,
            pb.device_id,
            Address(pb.owner),
            pb.baseline_wh,
            pb.actual_wh,
            pb.reduction_wh,
            pb.reward,
            pb.settled,
            pb.sealed_until,
            pb.measured,
            pb.claim,
        )


@dataclass(frozen=True, slots=True)
class DrMember:
    """A device in its feeder's demand-response programme (indexed under that feeder)."""

    device_id: str
    feeder: str
    owner: Address
    joined_at: int

    def encode(self) -> bytes:
        return grid_pb2.DrMember(
            device_id=self.device_id, feeder=self.feeder, owner=self.owner, joined_at=self.joined_at
        ).SerializeToString()

    @staticmethod
    def decode(raw: bytes) -> DrMember:
        pb = grid_pb2.DrMember.FromString(raw)
        return DrMember(pb.device_id, pb.feeder, Address(pb.owner), pb.joined_at)


@dataclass(frozen=True, slots=True)
class DrSnapshot:
    """How far a programme member's accepted readings reached when an event was announced."""

    event_id: str
    device_id: str
    sealed_until: int

    def encode(self) -> bytes:
        return grid_pb2.DrSnapshot(
            event_id=self.event_id, device_id=self.device_id, sealed_until=self.sealed_until
        ).SerializeToString()

    @staticmethod
    def decode(raw: bytes) -> DrSnapshot:
        pb = grid_pb2.DrSnapshot.FromString(raw)
        return DrSnapshot(pb.event_id, pb.device_id, pb.sealed_until)
