"""Stored records of the market (frozen) and their stored protobuf encoding.

Each record encodes to the protobuf message of `gridledger.market.v1` of the same name
(Order, Fill, FeederClearing, ClearingResult, Statement, Rule, Alert), and those bytes are
the provable query answers and feed the app hash: `decode(raw).encode() == raw` for every
stored record. The market's records have no optional submessages; a clearing result's
`feeders` is a tuple, in stored order. Enum fields are kept as plain ints (the numbers of
`Side`, `OrderStatus`, `RuleKind` and `AlertReason`, named below), so the logic never needs
the protobuf module; the clearing engine works on its own `BookEntry` tuples.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Final, NewType

from gridledger.market.v1 import market_pb2

from abci_app.types import Address

__all__ = [
    "ALERT_REASON_NAMES",
    "BUDGET_SPENT",
    "BUY",
    "CANCELLED",
    "CLEARED",
    "EXPORT_LIMIT_REASON",
    "IMPORT_LIMIT_REASON",
    "OPEN",
    "RULE_BUY",
    "RULE_DEFERRABLE",
    "RULE_SELL",
    "RULE_THERMOSTAT",
    "SELL",
    "SETTLED",
    "UNFILLED",
    "Alert",
    "AlertId",
    "AlertReason",
    "ChargingConsent",
    "ClearingResult",
    "FeederClearing",
    "Fill",
    "GridInstruction",
    "Order",
    "OrderId",
    "Rule",
    "RuleId",
    "SettlementEstimate",
    "Statement",
    "StoredOrder",
    "UpstreamTrade",
]

OrderId = NewType("OrderId", int)
RuleId = NewType("RuleId", int)
AlertId = NewType("AlertId", int)

# Side
BUY: Final = int(market_pb2.SIDE_BUY)
SELL: Final = int(market_pb2.SIDE_SELL)
# OrderStatus
OPEN: Final = int(market_pb2.ORDER_STATUS_OPEN)
CANCELLED: Final = int(market_pb2.ORDER_STATUS_CANCELLED)
CLEARED: Final = int(market_pb2.ORDER_STATUS_CLEARED)
UNFILLED: Final = int(market_pb2.ORDER_STATUS_UNFILLED)
SETTLED: Final = int(market_pb2.ORDER_STATUS_SETTLED)
# RuleKind
RULE_BUY: Final = int(market_pb2.RULE_KIND_BUY)
RULE_SELL: Final = int(market_pb2.RULE_KIND_SELL)
RULE_DEFERRABLE: Final = int(market_pb2.RULE_KIND_DEFERRABLE)
RULE_THERMOSTAT: Final = int(market_pb2.RULE_KIND_THERMOSTAT)


class AlertReason:
    """The numbers of `gridledger.market.v1.AlertReason`."""

    PRICE_ABOVE_LIMIT: Final = int(market_pb2.ALERT_REASON_PRICE_ABOVE_LIMIT)
    BUDGET_SPENT: Final = int(market_pb2.ALERT_REASON_BUDGET_SPENT)
    INSUFFICIENT_FUNDS: Final = int(market_pb2.ALERT_REASON_INSUFFICIENT_FUNDS)
    BATTERY_AT_RESERVE: Final = int(market_pb2.ALERT_REASON_BATTERY_AT_RESERVE)
    FEEDER_LIMIT: Final = int(market_pb2.ALERT_REASON_FEEDER_LIMIT)
    NO_SELLER: Final = int(market_pb2.ALERT_REASON_NO_SELLER)
    DEADLINE_AT_RISK: Final = int(market_pb2.ALERT_REASON_DEADLINE_AT_RISK)
    NO_FORECAST: Final = int(market_pb2.ALERT_REASON_NO_FORECAST)


BUDGET_SPENT: Final = AlertReason.BUDGET_SPENT

ALERT_REASON_NAMES: Final[dict[int, str]] = {
    v.number: v.name.removeprefix("ALERT_REASON_").lower() for v in market_pb2.AlertReason.DESCRIPTOR.values if v.number
}
"""An alert reason's number → its name in events ("price_above_limit", …)."""


@dataclass(frozen=True, slots=True)
class Order:
    order_id: OrderId
    owner: Address
    side: int  # BUY or SELL
    interval_start: int
    energy_wh: int
    limit_price: int
    device_id: str = ""  # sellers: the delivering device
    site_id: str = ""
    feeder: str = ""
    escrow: int = 0  # money held in the market escrow account for this order now
    rule_id: RuleId = RuleId(0)  # 0: placed by hand
    status: int = 0  # an OrderStatus number (OPEN, …)
    filled_wh: int = 0
    placed_at: int = 0
    renewable: bool = False
    refunded: int = 0  # escrow returned so far
    cost: int = 0  # buyers: what the fills cost (energy + fees); sellers: what they earn

    def to_proto(self) -> market_pb2.Order:
        return market_pb2.Order(
            order_id=self.order_id,
            owner=self.owner,
            side=self.side,  # type: ignore[arg-type]
            interval_start=self.interval_start,
            energy_wh=self.energy_wh,
            limit_price=self.limit_price,
            device_id=self.device_id,
            site_id=self.site_id,
            feeder=self.feeder,
            escrow=self.escrow,
            rule_id=self.rule_id,
            status=self.status,  # type: ignore[arg-type]
            filled_wh=self.filled_wh,
            placed_at=self.placed_at,
            renewable=self.renewable,
            refunded=self.refunded,
            cost=self.cost,
        )

    def encode(self) -> bytes:
        return self.to_proto().SerializeToString(deterministic=True)

    def with_outcome(self, escrow: int, refunded: int, filled_wh: int, cost: int, status: int) -> Order:
        """This order with its money, fill and status as clearing or settlement leaves it
        (`dataclasses.replace` spelled out: it runs per order of a book or a settled interval,
        and the constructor is several times faster)."""
        return Order(
            self.order_id,
            self.owner,
            self.side,
            self.interval_start,
            self.energy_wh,
            self.limit_price,
            self.device_id,
            self.site_id,
            self.feeder,
            escrow,
            self.rule_id,
            status,
            filled_wh,
            self.placed_at,
            self.renewable,
            refunded,
            cost,
        )

    @staticmethod
    def from_proto(pb: market_pb2.Order) -> Order:
        return Order(
            order_id=OrderId(pb.order_id),
            owner=Address(pb.owner),
            side=int(pb.side),
            interval_start=pb.interval_start,
            energy_wh=pb.energy_wh,
            limit_price=pb.limit_price,
            device_id=pb.device_id,
            site_id=pb.site_id,
            feeder=pb.feeder,
            escrow=pb.escrow,
            rule_id=RuleId(pb.rule_id),
            status=int(pb.status),
            filled_wh=pb.filled_wh,
            placed_at=pb.placed_at,
            renewable=pb.renewable,
            refunded=pb.refunded,
            cost=pb.cost,
        )

    @staticmethod
    def decode(raw: bytes) -> Order:
        """The order stored as `raw`; shared between readers of the same bytes (the record is
        frozen), since clearing, settlement and the invariants read each order many times."""
        return _decode_order(raw)


class StoredOrder:
    """A stored order opened for gate closure or settlement, which read a few of its fields
    and rewrite its outcome for every order of a book: the fields as plain attributes, and
    `encode_outcome` giving exactly `record().with_outcome(…).encode()` (proto3 writes set
    fields in field order and omits zeros) without building the record; `record()` builds it
    (cached by bytes) where logic needs the whole order."""

    __slots__ = (
        "_pb",
        "cost",
        "device_id",
        "energy_wh",
        "escrow",
        "feeder",
        "filled_wh",
        "limit_price",
        "order_id",
        "owner",
        "raw",
        "refunded",
        "rule_id",
        "side",
        "site_id",
    )

    def __init__(self, raw: bytes) -> None:
        pb = market_pb2.Order.FromString(raw)
        self._pb = pb
        self.raw = raw
        self.order_id = OrderId(pb.order_id)
        self.owner = Address(pb.owner)
        self.side = int(pb.side)
        self.energy_wh = pb.energy_wh
        self.limit_price = pb.limit_price
        self.device_id = pb.device_id
        self.site_id = pb.site_id
        self.feeder = pb.feeder
        self.escrow = pb.escrow
        self.rule_id = RuleId(pb.rule_id)
        self.filled_wh = pb.filled_wh
        self.refunded = pb.refunded
        self.cost = pb.cost

    def record(self) -> Order:
        """The whole order as stored (`Order.decode` of its bytes)."""
        return _decode_order(self.raw)

    def encode_outcome(self, escrow: int, refunded: int, filled_wh: int, cost: int, status: int) -> bytes:
        """The order's stored bytes with its money, fill and status changed (the attributes
        keep the stored values)."""
        pb = self._pb
        pb.escrow = escrow
        pb.refunded = refunded
        pb.filled_wh = filled_wh
        pb.cost = cost
        pb.status = status  # type: ignore[assignment]
        return pb.SerializeToString(deterministic=True)


@dataclass(frozen=True, slots=True)
class Fill:
    """One leg of an order's fill: local (inside its feeder) or pool (across feeders)."""

    order_id: OrderId
    owner: Address
    side: int
    interval_start: int
    energy_wh: int
    price: int  # energy price per kWh (the zone's clearing price)
    fee_per_kwh: int = 0  # grid fee a buyer pays per kWh (0 for sellers)
    limit_price: int = 0
    feeder: str = ""
    cross_feeder: bool = False

    def to_proto(self) -> market_pb2.Fill:
        return market_pb2.Fill(
            order_id=self.order_id,
            owner=self.owner,
            side=self.side,  # type: ignore[arg-type]
            interval_start=self.interval_start,
            energy_wh=self.energy_wh,
            price=self.price,
            fee_per_kwh=self.fee_per_kwh,
            limit_price=self.limit_price,
            feeder=self.feeder,
            cross_feeder=self.cross_feeder,
        )

    def encode(self) -> bytes:
        return self.to_proto().SerializeToString(deterministic=True)

    @staticmethod
    def encode_fields(  # noqa: PLR0917 - a fill's fields, in field order
        order_id: int,
        owner: bytes,
        side: int,
        interval_start: int,
        energy_wh: int,
        price: int,
        fee_per_kwh: int,
        limit_price: int,
        feeder: str,
        cross_feeder: bool,
    ) -> bytes:
        """Exactly `Fill(order_id, owner, …).encode()`, without building the record (gate
        closure writes thousands of fills and reads none of them back)."""
        return market_pb2.Fill(
            order_id=order_id,
            owner=owner,
            side=side,  # type: ignore[arg-type]
            interval_start=interval_start,
            energy_wh=energy_wh,
            price=price,
            fee_per_kwh=fee_per_kwh,
            limit_price=limit_price,
            feeder=feeder,
            cross_feeder=cross_feeder,
        ).SerializeToString(deterministic=True)

    @staticmethod
    def buy_fee(raw: bytes) -> tuple[bytes, int] | None:
        """(owner, grid fee owed) of the fill stored as `raw` if it is a buy leg with a fee
        (energy × fee ÷ 1000, floored), else None — what settlement reads of each fill."""
        pb = market_pb2.Fill.FromString(raw)
        if pb.side != BUY or not pb.fee_per_kwh:
            return None
        return pb.owner, pb.energy_wh * pb.fee_per_kwh // 1000

    @staticmethod
    def from_proto(pb: market_pb2.Fill) -> Fill:
        return Fill(
            order_id=OrderId(pb.order_id),
            owner=Address(pb.owner),
            side=int(pb.side),
            interval_start=pb.interval_start,
            energy_wh=pb.energy_wh,
            price=pb.price,
            fee_per_kwh=pb.fee_per_kwh,
            limit_price=pb.limit_price,
            feeder=pb.feeder,
            cross_feeder=pb.cross_feeder,
        )

    @staticmethod
    def decode(raw: bytes) -> Fill:
        return Fill.from_proto(market_pb2.Fill.FromString(raw))


@dataclass(frozen=True, slots=True)
class FeederClearing:
    feeder: str
    local_price: int = 0
    local_wh: int = 0
    pool_import_wh: int = 0
    pool_export_wh: int = 0
    curtailed_wh: int = 0  # pool volume cut by this feeder's limit
    local_cleared: bool = False
    has_limit: bool = False  # the feeder limit in force at clearing
    import_limit_wh: int = 0
    export_limit_wh: int = 0

    def to_proto(self) -> market_pb2.FeederClearing:
        return market_pb2.FeederClearing(
            feeder=self.feeder,
            local_price=self.local_price,
            local_wh=self.local_wh,
            pool_import_wh=self.pool_import_wh,
            pool_export_wh=self.pool_export_wh,
            curtailed_wh=self.curtailed_wh,
            local_cleared=self.local_cleared,
            has_limit=self.has_limit,
            import_limit_wh=self.import_limit_wh,
            export_limit_wh=self.export_limit_wh,
        )

    def encode(self) -> bytes:
        return self.to_proto().SerializeToString(deterministic=True)

    @staticmethod
    def from_proto(pb: market_pb2.FeederClearing) -> FeederClearing:
        return FeederClearing(
            feeder=pb.feeder,
            local_price=pb.local_price,
            local_wh=pb.local_wh,
            pool_import_wh=pb.pool_import_wh,
            pool_export_wh=pb.pool_export_wh,
            curtailed_wh=pb.curtailed_wh,
            local_cleared=pb.local_cleared,
            has_limit=pb.has_limit,
            import_limit_wh=pb.import_limit_wh,
            export_limit_wh=pb.export_limit_wh,
        )

    @staticmethod
    def decode(raw: bytes) -> FeederClearing:
        return FeederClearing.from_proto(market_pb2.FeederClearing.FromString(raw))


@dataclass(frozen=True, slots=True)
class ClearingResult:
    interval_start: int
    pool_price: int = 0
    pool_wh: int = 0
    total_wh: int = 0
    buy_orders: int = 0
    sell_orders: int = 0
    demand_wh: int = 0
    supply_wh: int = 0
    feeders: tuple[FeederClearing, ...] = ()  # in stored order
    cleared_height: int = 0
    pool_cleared: bool = False
    settled: bool = False

    def to_proto(self) -> market_pb2.ClearingResult:
        return market_pb2.ClearingResult(
            interval_start=self.interval_start,
            pool_price=self.pool_price,
            pool_wh=self.pool_wh,
            total_wh=self.total_wh,
            buy_orders=self.buy_orders,
            sell_orders=self.sell_orders,
            demand_wh=self.demand_wh,
            supply_wh=self.supply_wh,
            feeders=[f.to_proto() for f in self.feeders],
            cleared_height=self.cleared_height,
            pool_cleared=self.pool_cleared,
            settled=self.settled,
        )

    def encode(self) -> bytes:
        return self.to_proto().SerializeToString(deterministic=True)

    @staticmethod
    def from_proto(pb: market_pb2.ClearingResult) -> ClearingResult:
        return ClearingResult(
            interval_start=pb.interval_start,
            pool_price=pb.pool_price,
            pool_wh=pb.pool_wh,
            total_wh=pb.total_wh,
            buy_orders=pb.buy_orders,
            sell_orders=pb.sell_orders,
            demand_wh=pb.demand_wh,
            supply_wh=pb.supply_wh,
            feeders=tuple(FeederClearing.from_proto(f) for f in pb.feeders),
            cleared_height=pb.cleared_height,
            pool_cleared=pb.pool_cleared,
            settled=pb.settled,
        )

    @staticmethod
    def decode(raw: bytes) -> ClearingResult:
        return ClearingResult.from_proto(market_pb2.ClearingResult.FromString(raw))


@dataclass(frozen=True, slots=True)
class Statement:
    """A member's money and energy of one settled interval."""

    owner: Address
    interval_start: int
    bought_wh: int = 0
    sold_wh: int = 0
    paid: int = 0  # for bought energy, fees included
    received: int = 0  # for sold energy
    fees: int = 0  # grid fees inside `paid`
    imbalance_paid: int = 0  # to the supplier (shortfall, excess consumption)
    imbalance_received: int = 0  # from the supplier (surplus, unused purchase)
    refunds: int = 0  # escrow returned
    delivered_wh: int = 0  # sellers' metered export
    consumed_wh: int = 0  # buyers' metered import (sites with a meter)
    unpaid: int = 0  # imbalance or retail the member's balance could not cover
    retail_wh: int = 0  # metered import outside the market (sites' meters)
    retail_paid: int = 0  # to the supplier at the retail tariff
    feed_in_wh: int = 0  # metered export outside the market (sites' meters)
    feed_in_received: int = 0  # from the supplier at the feed-in tariff
    unreceived: int = 0  # feed-in or imbalance surplus owed by the supplier and not paid
    estimates: int = 0  # positions settled on an estimate (a meter or device had not reported)
    corrections: int = 0  # of those, corrected since from late data
    penalty_wh: int = 0  # metered export above a grid instruction's cap
    penalty_paid: int = 0  # to the supplier at the export penalty price

    def to_proto(self) -> market_pb2.Statement:
        return market_pb2.Statement(
            owner=self.owner,
            interval_start=self.interval_start,
            bought_wh=self.bought_wh,
            sold_wh=self.sold_wh,
            paid=self.paid,
            received=self.received,
            fees=self.fees,
            imbalance_paid=self.imbalance_paid,
            imbalance_received=self.imbalance_received,
            refunds=self.refunds,
            delivered_wh=self.delivered_wh,
            consumed_wh=self.consumed_wh,
            unpaid=self.unpaid,
            retail_wh=self.retail_wh,
            retail_paid=self.retail_paid,
            feed_in_wh=self.feed_in_wh,
            feed_in_received=self.feed_in_received,
            unreceived=self.unreceived,
            estimates=self.estimates,
            corrections=self.corrections,
            penalty_wh=self.penalty_wh,
            penalty_paid=self.penalty_paid,
        )

    def encode(self) -> bytes:
        return self.to_proto().SerializeToString(deterministic=True)

    @staticmethod
    def from_proto(pb: market_pb2.Statement) -> Statement:
        return Statement(
            owner=Address(pb.owner),
            interval_start=pb.interval_start,
            bought_wh=pb.bought_wh,
            sold_wh=pb.sold_wh,
            paid=pb.paid,
            received=pb.received,
            fees=pb.fees,
            imbalance_paid=pb.imbalance_paid,
            imbalance_received=pb.imbalance_received,
            refunds=pb.refunds,
            delivered_wh=pb.delivered_wh,
            consumed_wh=pb.consumed_wh,
            unpaid=pb.unpaid,
            retail_wh=pb.retail_wh,
            retail_paid=pb.retail_paid,
            feed_in_wh=pb.feed_in_wh,
            feed_in_received=pb.feed_in_received,
            unreceived=pb.unreceived,
            estimates=pb.estimates,
            corrections=pb.corrections,
            penalty_wh=pb.penalty_wh,
            penalty_paid=pb.penalty_paid,
        )

    @staticmethod
    def decode(raw: bytes) -> Statement:
        return Statement.from_proto(market_pb2.Statement.FromString(raw))


@dataclass(frozen=True, slots=True)
class Rule:
    """A standing rule (its terms, then the state it keeps between intervals)."""

    rule_id: RuleId
    owner: Address
    kind: int  # a RuleKind number (RULE_BUY, …)
    site_id: str = ""
    device_id: str = ""
    limit_price: int = 0
    max_wh_per_interval: int = 0
    max_wh_per_day: int = 0
    daily_budget: int = 0
    energy_wh: int = 0
    deadline: int = 0
    band_low_price: int = 0
    min_wh_per_interval: int = 0
    # state
    last_interval: int = 0  # the last interval it placed an order for
    day: int = 0  # day number (interval_start / 86400) of the counters
    day_wh: int = 0
    day_spent: int = 0
    done_wh: int = 0  # deferrable: bought so far
    created_at: int = 0
    margin_bp: int = 0  # (a term) sell and buy rules trade the forecast less this share

    def to_proto(self) -> market_pb2.Rule:
        return market_pb2.Rule(
            rule_id=self.rule_id,
            owner=self.owner,
            kind=self.kind,  # type: ignore[arg-type]
            site_id=self.site_id,
            device_id=self.device_id,
            limit_price=self.limit_price,
            max_wh_per_interval=self.max_wh_per_interval,
            max_wh_per_day=self.max_wh_per_day,
            daily_budget=self.daily_budget,
            energy_wh=self.energy_wh,
            deadline=self.deadline,
            band_low_price=self.band_low_price,
            min_wh_per_interval=self.min_wh_per_interval,
            last_interval=self.last_interval,
            day=self.day,
            day_wh=self.day_wh,
            day_spent=self.day_spent,
            done_wh=self.done_wh,
            created_at=self.created_at,
            margin_bp=self.margin_bp,
        )

    def encode(self) -> bytes:
        return self.to_proto().SerializeToString(deterministic=True)

    @staticmethod
    def from_proto(pb: market_pb2.Rule) -> Rule:
        return Rule(
            rule_id=RuleId(pb.rule_id),
            owner=Address(pb.owner),
            kind=int(pb.kind),
            site_id=pb.site_id,
            device_id=pb.device_id,
            limit_price=pb.limit_price,
            max_wh_per_interval=pb.max_wh_per_interval,
            max_wh_per_day=pb.max_wh_per_day,
            daily_budget=pb.daily_budget,
            energy_wh=pb.energy_wh,
            deadline=pb.deadline,
            band_low_price=pb.band_low_price,
            min_wh_per_interval=pb.min_wh_per_interval,
            last_interval=pb.last_interval,
            day=pb.day,
            day_wh=pb.day_wh,
            day_spent=pb.day_spent,
            done_wh=pb.done_wh,
            created_at=pb.created_at,
            margin_bp=pb.margin_bp,
        )

    @staticmethod
    def decode(raw: bytes) -> Rule:
        return Rule.from_proto(market_pb2.Rule.FromString(raw))


@dataclass(frozen=True, slots=True)
class Alert:
    """A standing rule that could not be met, or an order a feeder limit cut, tells its owner why."""

    alert_id: AlertId
    owner: Address
    rule_id: RuleId
    reason: int  # an AlertReason number
    interval_start: int
    best_price: int = 0  # the best all-in price per kWh that was available (0: none)
    created_at: int = 0
    accepted: bool = False
    accepted_price: int = 0
    order_id: OrderId = OrderId(0)  # the order a feeder limit cut (0: about a rule)

    def to_proto(self) -> market_pb2.Alert:
        return market_pb2.Alert(
            alert_id=self.alert_id,
            owner=self.owner,
            rule_id=self.rule_id,
            reason=self.reason,  # type: ignore[arg-type]
            interval_start=self.interval_start,
            best_price=self.best_price,
            created_at=self.created_at,
            accepted=self.accepted,
            accepted_price=self.accepted_price,
            order_id=self.order_id,
        )

    def encode(self) -> bytes:
        return self.to_proto().SerializeToString(deterministic=True)

    @staticmethod
    def from_proto(pb: market_pb2.Alert) -> Alert:
        return Alert(
            alert_id=AlertId(pb.alert_id),
            owner=Address(pb.owner),
            rule_id=RuleId(pb.rule_id),
            reason=int(pb.reason),
            interval_start=pb.interval_start,
            best_price=pb.best_price,
            created_at=pb.created_at,
            accepted=pb.accepted,
            accepted_price=pb.accepted_price,
            order_id=OrderId(pb.order_id),
        )

    @staticmethod
    def decode(raw: bytes) -> Alert:
        return Alert.from_proto(market_pb2.Alert.FromString(raw))


@dataclass(frozen=True, slots=True)
class UpstreamTrade:
    """The upstream grid (the supplier of last resort) in one interval's clearing."""

    interval_start: int
    supplier: Address
    bought_wh: int = 0  # the substation's export
    sold_wh: int = 0  # the substation's import
    price: int = 0
    fee_per_kwh: int = 0
    paid: int = 0  # escrowed at gate closure, moved at settlement
    earned: int = 0  # received at settlement
    curtailed_wh: int = 0
    settled: bool = False

    def to_proto(self) -> market_pb2.UpstreamTrade:
        return market_pb2.UpstreamTrade(
            interval_start=self.interval_start,
            supplier=self.supplier,
            bought_wh=self.bought_wh,
            sold_wh=self.sold_wh,
            price=self.price,
            fee_per_kwh=self.fee_per_kwh,
            paid=self.paid,
            earned=self.earned,
            curtailed_wh=self.curtailed_wh,
            settled=self.settled,
        )

    def encode(self) -> bytes:
        return self.to_proto().SerializeToString(deterministic=True)

    @staticmethod
    def from_proto(pb: market_pb2.UpstreamTrade) -> UpstreamTrade:
        return UpstreamTrade(
            interval_start=pb.interval_start,
            supplier=Address(pb.supplier),
            bought_wh=pb.bought_wh,
            sold_wh=pb.sold_wh,
            price=pb.price,
            fee_per_kwh=pb.fee_per_kwh,
            paid=pb.paid,
            earned=pb.earned,
            curtailed_wh=pb.curtailed_wh,
            settled=pb.settled,
        )

    @staticmethod
    def decode(raw: bytes) -> UpstreamTrade:
        return UpstreamTrade.from_proto(market_pb2.UpstreamTrade.FromString(raw))


EXPORT_LIMIT_REASON: Final = "feeder_export_limit"
IMPORT_LIMIT_REASON: Final = "feeder_import_limit"


@dataclass(frozen=True, slots=True)
class GridInstruction:
    """A site's caps for one interval after clearing curtailed its feeder (None: unlimited)."""

    interval_start: int
    interval_end: int
    feeder: str
    site_id: str
    owner: Address
    reason: str  # EXPORT_LIMIT_REASON or IMPORT_LIMIT_REASON
    export_cap_w: int | None = None
    export_cap_wh: int = 0
    import_cap_w: int | None = None
    import_cap_wh: int = 0
    curtailed_wh: int = 0

    def to_proto(self) -> market_pb2.GridInstruction:
        return market_pb2.GridInstruction(
            interval_start=self.interval_start,
            interval_end=self.interval_end,
            feeder=self.feeder,
            site_id=self.site_id,
            owner=self.owner,
            export_capped=self.export_cap_w is not None,
            export_cap_w=self.export_cap_w or 0,
            export_cap_wh=self.export_cap_wh,
            import_capped=self.import_cap_w is not None,
            import_cap_w=self.import_cap_w or 0,
            import_cap_wh=self.import_cap_wh,
            reason=self.reason,
            curtailed_wh=self.curtailed_wh,
        )

    def encode(self) -> bytes:
        return self.to_proto().SerializeToString(deterministic=True)

    @staticmethod
    def from_proto(pb: market_pb2.GridInstruction) -> GridInstruction:
        return GridInstruction(
            interval_start=pb.interval_start,
            interval_end=pb.interval_end,
            feeder=pb.feeder,
            site_id=pb.site_id,
            owner=Address(pb.owner),
            reason=pb.reason,
            export_cap_w=pb.export_cap_w if pb.export_capped else None,
            export_cap_wh=pb.export_cap_wh,
            import_cap_w=pb.import_cap_w if pb.import_capped else None,
            import_cap_wh=pb.import_cap_wh,
            curtailed_wh=pb.curtailed_wh,
        )

    @staticmethod
    def decode(raw: bytes) -> GridInstruction:
        return GridInstruction.from_proto(market_pb2.GridInstruction.FromString(raw))


@dataclass(frozen=True, slots=True)
class ChargingConsent:
    """A site owner's signed cap on what the rules of a battery on her site may spend of her
    money (SetSiteChargingConsent), and what they have escrowed on `day`."""

    device_id: str
    site_id: str
    site_owner: Address
    max_spend_per_day: int
    max_price_per_kwh: int
    day: int = 0
    day_spent: int = 0
    set_at: int = 0

    def to_proto(self) -> market_pb2.ChargingConsent:
        return market_pb2.ChargingConsent(
            device_id=self.device_id,
            site_id=self.site_id,
            site_owner=self.site_owner,
            max_spend_per_day=self.max_spend_per_day,
            max_price_per_kwh=self.max_price_per_kwh,
            day=self.day,
            day_spent=self.day_spent,
            set_at=self.set_at,
        )

    def encode(self) -> bytes:
        return self.to_proto().SerializeToString(deterministic=True)

    @staticmethod
    def from_proto(pb: market_pb2.ChargingConsent) -> ChargingConsent:
        return ChargingConsent(
            device_id=pb.device_id,
            site_id=pb.site_id,
            site_owner=Address(pb.site_owner),
            max_spend_per_day=pb.max_spend_per_day,
            max_price_per_kwh=pb.max_price_per_kwh,
            day=pb.day,
            day_spent=pb.day_spent,
            set_at=pb.set_at,
        )

    @staticmethod
    def decode(raw: bytes) -> ChargingConsent:
        return ChargingConsent.from_proto(market_pb2.ChargingConsent.FromString(raw))


@dataclass(frozen=True, slots=True)
class SettlementEstimate:
    """A position settled on an estimate, awaiting late data (settlement.py)."""

    interval_start: int
    owner: Address
    side: int  # BUY: `target` is the site; SELL: the device
    target: str
    traded_wh: int
    estimated_wh: int
    unpaid: int = 0
    short_price: int = 0  # the imbalance prices it was settled at
    long_price: int = 0

    def to_proto(self) -> market_pb2.SettlementEstimate:
        return market_pb2.SettlementEstimate(
            interval_start=self.interval_start,
            owner=self.owner,
            side=self.side,  # type: ignore[arg-type]
            target=self.target,
            traded_wh=self.traded_wh,
            estimated_wh=self.estimated_wh,
            unpaid=self.unpaid,
            imbalance_short_per_kwh=self.short_price,
            imbalance_long_per_kwh=self.long_price,
        )

    def encode(self) -> bytes:
        return self.to_proto().SerializeToString(deterministic=True)

    @staticmethod
    def from_proto(pb: market_pb2.SettlementEstimate) -> SettlementEstimate:
        return SettlementEstimate(
            interval_start=pb.interval_start,
            owner=Address(pb.owner),
            side=int(pb.side),
            target=pb.target,
            traded_wh=pb.traded_wh,
            estimated_wh=pb.estimated_wh,
            unpaid=pb.unpaid,
            short_price=pb.imbalance_short_per_kwh,
            long_price=pb.imbalance_long_per_kwh,
        )

    @staticmethod
    def decode(raw: bytes) -> SettlementEstimate:
        return SettlementEstimate.from_proto(market_pb2.SettlementEstimate.FromString(raw))


@lru_cache(maxsize=65_536)
def _decode_order(raw: bytes) -> Order:
    return Order.from_proto(market_pb2.Order.FromString(raw))
