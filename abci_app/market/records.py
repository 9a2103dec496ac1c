"""Stored records of the market (frozen) and their stored protobuf encoding.

Each record encodes to the protobuf message of `gridledger.market.v1` of the same name
(Order, Fill, FeederClearing, ClearingResult, Statement, Rule, Alert, …), field by field as
abci_app/proto_record.py maps them (a settlement estimate's prices and a grid instruction's
caps are declared where they differ), and those bytes are
the provable query answers and feed the app hash: `decode(raw).encode() == raw` for every
stored record. The market's records have no optional submessages; a clearing result's
`feeders` is a tuple, in stored order. Enum fields are kept as plain ints (the numbers of
`Side`, `OrderStatus`, `RuleKind` and `AlertReason`, named below), so the logic never needs
the protobuf module; the clearing engine works on its own `BookEntry` tuples.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final, NewType

from gridledger.market.v1 import market_pb2

from abci_app.proto_record import Derived, ProtoRecord, proto_record
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
    "PLACEMENT_STAGES",
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
    "RulesInPlacement",
    "SettlementEstimate",
    "SiteExport",
    "SitePenalty",
    "SitesInSettlement",
    "Statement",
    "UpstreamTrade",
    "WithheldFeedIn",
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


@proto_record(cached=65_536)
@dataclass(frozen=True, slots=True)
class Order(ProtoRecord[market_pb2.Order]):
    """An order: its terms (side, interval, Wh, limit price, device or site, feeder), then its money and
    outcome (escrow, status, filled Wh, refunds, cost)."""

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


@proto_record()
@dataclass(frozen=True, slots=True)
class Fill(ProtoRecord[market_pb2.Fill]):
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


@proto_record()
@dataclass(frozen=True, slots=True)
class FeederClearing(ProtoRecord[market_pb2.FeederClearing]):
    """One feeder's part of a stored clearing result: zone price, local and pool volumes, curtailment, and
    the limit in force."""

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


@proto_record()
@dataclass(frozen=True, slots=True)
class ClearingResult(ProtoRecord[market_pb2.ClearingResult]):
    """An interval's clearing: pool price and volume, totals, each feeder's part (in stored order), and
    whether it settled."""

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


@proto_record()
@dataclass(frozen=True, slots=True)
class Statement(ProtoRecord[market_pb2.Statement]):
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


@proto_record()
@dataclass(frozen=True, slots=True)
class Rule(ProtoRecord[market_pb2.Rule]):
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


@proto_record()
@dataclass(frozen=True, slots=True)
class Alert(ProtoRecord[market_pb2.Alert]):
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


@proto_record()
@dataclass(frozen=True, slots=True)
class UpstreamTrade(ProtoRecord[market_pb2.UpstreamTrade]):
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


EXPORT_LIMIT_REASON: Final = "feeder_export_limit"
IMPORT_LIMIT_REASON: Final = "feeder_import_limit"


def _cap(flag: str, value: str) -> Derived:
    """A cap kept as a flag beside its value (proto3 has no presence for them): None is
    unlimited (flag false, value 0)."""

    def write(cap: int | None) -> dict[str, Any]:
        return {flag: cap is not None, value: cap or 0}

    def read(pb: Any) -> int | None:
        return getattr(pb, value) if getattr(pb, flag) else None

    return Derived((flag, value), write, read)


@proto_record(export_cap_w=_cap("export_capped", "export_cap_w"), import_cap_w=_cap("import_capped", "import_cap_w"))
@dataclass(frozen=True, slots=True)
class GridInstruction(ProtoRecord[market_pb2.GridInstruction]):
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


@proto_record()
@dataclass(frozen=True, slots=True)
class ChargingConsent(ProtoRecord[market_pb2.ChargingConsent]):
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


@proto_record(short_price="imbalance_short_per_kwh", long_price="imbalance_long_per_kwh")
@dataclass(frozen=True, slots=True)
class SettlementEstimate(ProtoRecord[market_pb2.SettlementEstimate]):
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


@proto_record()
@dataclass(frozen=True, slots=True)
class SitePenalty(ProtoRecord[market_pb2.SitePenalty]):
    """Metered export of a site above a grid instruction's cap (not paid as feed-in)."""

    site_id: str
    wh: int


# the stages of the rules' pass, by RulesInPlacement.stage (placement.py)
PLACEMENT_STAGES = ("rules", "community_bids", "batteries")


@proto_record()
@dataclass(frozen=True, slots=True)
class RulesInPlacement(ProtoRecord[market_pb2.RulesInPlacement]):
    """Where the rules' pass for the upcoming interval resumes next block (placement.py):
    stage RULES after rule `after_rule`, COMMUNITY or BATTERIES after device `after_device`."""

    interval_start: int
    stage: int
    after_rule: int = 0
    after_device: str = ""


@proto_record()
@dataclass(frozen=True, slots=True)
class SiteExport(ProtoRecord[market_pb2.SiteExport]):
    """Export of a site's devices that sold in the interval's market (settled there, not feed-in)."""

    site_id: str
    wh: int


@proto_record()
@dataclass(frozen=True, slots=True)
class SitesInSettlement(ProtoRecord[market_pb2.SitesInSettlement]):
    """An interval whose sites outside the market settle over several blocks (settlement.py):
    the last site settled, and the sites still to settle that traded in the market or exported
    above a cap (each settled differently from a plain site)."""

    interval_start: int
    after_site: str
    buy_sites: tuple[str, ...] = ()
    sell_sites: tuple[str, ...] = ()
    penalised: tuple[SitePenalty, ...] = ()  # what is left of each site's penalised export
    market_export: tuple[SiteExport, ...] = ()  # per sell site whose sold devices all reported


@proto_record()
@dataclass(frozen=True, slots=True)
class WithheldFeedIn(ProtoRecord[market_pb2.WithheldFeedIn]):
    """A sell site's feed-in withheld at settlement while sold devices there (`waiting_devices`,
    sorted) had not reported: paid when their data arrives within the correction window
    (feed_in.py), at the deadline's `feed_in_per_kwh`, for the site's metered export less
    `reported_export_wh` (the sold devices that had reported), the waiting devices' export and
    `penalised_wh`."""

    interval_start: int
    site_id: str
    waiting_devices: tuple[str, ...]
    reported_export_wh: int = 0
    penalised_wh: int = 0
    feed_in_per_kwh: int = 0
