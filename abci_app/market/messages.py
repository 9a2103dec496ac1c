"""Market messages as frozen records, and their converters (every bound checked here)."""

from __future__ import annotations

from dataclasses import dataclass

from gridledger.market.v1 import market_pb2

from abci_app.codec_util import id_field, nonneg_field, positive_field
from abci_app.errors import Code, TxError
from abci_app.market.errors import MarketCode

__all__ = [
    "MAX_ENERGY_WH",
    "MAX_PRICE",
    "AcceptTerms",
    "CancelOrder",
    "PlaceOrder",
    "RemoveRule",
    "SetRule",
    "SetSiteChargingConsent",
    "accept_terms_from_proto",
    "cancel_order_from_proto",
    "place_order_from_proto",
    "remove_rule_from_proto",
    "set_rule_from_proto",
    "set_site_charging_consent_from_proto",
]

MAX_ENERGY_WH = 1_000_000_000  # 1 GWh per order: far above any feeder's interval
MAX_PRICE = 1_000_000_000  # minor units per kWh
MAX_TIME = 1 << 40
BUY, SELL = market_pb2.SIDE_BUY, market_pb2.SIDE_SELL
RULE_BUY, RULE_SELL, RULE_DEFERRABLE, RULE_THERMOSTAT = (
    market_pb2.RULE_KIND_BUY,
    market_pb2.RULE_KIND_SELL,
    market_pb2.RULE_KIND_DEFERRABLE,
    market_pb2.RULE_KIND_THERMOSTAT,
)


@dataclass(frozen=True, slots=True)
class PlaceOrder:
    """An order to buy (for a site) or sell (from a device) `energy_wh` Wh in the interval at `limit_price`
    per kWh."""

    side: int
    interval_start: int
    energy_wh: int
    limit_price: int
    device_id: str  # sellers
    site_id: str  # buyers


@dataclass(frozen=True, slots=True)
class CancelOrder:
    """Cancel the signer's open order `order_id`."""

    order_id: int


@dataclass(frozen=True, slots=True)
class SetRule:
    """Create (rule_id 0) or replace the signer's standing rule, with its terms."""

    rule_id: int
    kind: int
    site_id: str
    device_id: str
    limit_price: int
    max_wh_per_interval: int
    max_wh_per_day: int
    daily_budget: int
    energy_wh: int
    deadline: int
    band_low_price: int
    min_wh_per_interval: int
    margin_bp: int = 0


@dataclass(frozen=True, slots=True)
class RemoveRule:
    """Delete the signer's standing rule `rule_id`."""

    rule_id: int


@dataclass(frozen=True, slots=True)
class AcceptTerms:
    """Answer alert `alert_id` with new terms for its rule: the new daily budget for a
    BUDGET_SPENT alert, else the new limit price."""

    alert_id: int
    new_limit_price: int


@dataclass(frozen=True, slots=True)
class SetSiteChargingConsent:
    """The site owner's cap on what the rules of battery `device_id` may spend of her money per day and per
    kWh."""

    device_id: str
    max_spend_per_day: int  # 0: withdraw the consent
    max_price_per_kwh: int


def _optional_id(text: str, name: str) -> str:
    return "" if not text else id_field(text, name)


def place_order_from_proto(m: market_pb2.PlaceOrder) -> PlaceOrder:
    """A PlaceOrder of a known side (a buy names a site and no device, a sell its delivering device),
    interval, energy and price within their bounds, a buy's price at least 1 (INVALID_ARGUMENT
    otherwise)."""
    if m.side not in (BUY, SELL):
        raise TxError(Code.INVALID_ARGUMENT, "side must be SIDE_BUY or SIDE_SELL")
    if m.side == BUY and (not m.site_id or m.device_id):
        raise TxError(Code.INVALID_ARGUMENT, "a buy order names the buyer's site_id and no device_id")
    if m.side == SELL and not m.device_id:
        raise TxError(Code.INVALID_ARGUMENT, "a sell order names the delivering device_id")
    if m.side == BUY and m.limit_price_per_kwh == 0:
        # a free bid escrows nothing, so nothing would bound how many a member places
        raise TxError(Code.INVALID_ARGUMENT, "a buy order's limit_price_per_kwh must be at least 1")
    return PlaceOrder(
        m.side,
        positive_field(m.interval_start, "interval_start", MAX_TIME),
        positive_field(m.energy_wh, "energy_wh", MAX_ENERGY_WH),
        nonneg_field(m.limit_price_per_kwh, "limit_price_per_kwh", MAX_PRICE),
        _optional_id(m.device_id, "device_id"),
        _optional_id(m.site_id, "site_id"),
    )


def cancel_order_from_proto(m: market_pb2.CancelOrder) -> CancelOrder:
    """A CancelOrder of a positive order id."""
    return CancelOrder(positive_field(m.order_id, "order_id"))


def _bad(why: str) -> TxError:
    return TxError(MarketCode.BAD_RULE, why)


def set_rule_from_proto(m: market_pb2.SetRule) -> SetRule:
    """Bounds of every field, then what each kind needs (BAD_RULE)."""
    rule = SetRule(
        nonneg_field(m.rule_id, "rule_id"),
        m.kind,
        _optional_id(m.site_id, "site_id"),
        _optional_id(m.device_id, "device_id"),
        nonneg_field(m.limit_price_per_kwh, "limit_price_per_kwh", MAX_PRICE),
        nonneg_field(m.max_wh_per_interval, "max_wh_per_interval", MAX_ENERGY_WH),
        nonneg_field(m.max_wh_per_day, "max_wh_per_day", MAX_ENERGY_WH),
        nonneg_field(m.daily_budget, "daily_budget"),
        nonneg_field(m.energy_wh, "energy_wh", MAX_ENERGY_WH),
        nonneg_field(m.deadline, "deadline", MAX_TIME),
        nonneg_field(m.band_low_price, "band_low_price", MAX_PRICE),
        nonneg_field(m.min_wh_per_interval, "min_wh_per_interval", MAX_ENERGY_WH),
        nonneg_field(m.margin_bp, "margin_bp", 10_000),
    )
    if rule.kind == RULE_SELL:
        if not rule.device_id or rule.site_id:
            raise _bad("a sell rule names its device_id and no site_id")
        return rule
    if rule.kind not in (RULE_BUY, RULE_DEFERRABLE, RULE_THERMOSTAT):
        raise TxError(Code.INVALID_ARGUMENT, "kind must be one of BUY, SELL, DEFERRABLE, THERMOSTAT")
    if not rule.site_id or rule.device_id:
        raise _bad("a buying rule names the buyer's site_id and no device_id")
    if rule.limit_price == 0 or rule.max_wh_per_interval == 0:
        raise _bad("a buying rule needs a limit price and max_wh_per_interval")
    if rule.kind == RULE_DEFERRABLE and (rule.energy_wh == 0 or rule.deadline == 0):
        raise _bad("a deferrable load needs energy_wh and a deadline")
    if rule.kind == RULE_THERMOSTAT and (
        rule.min_wh_per_interval > rule.max_wh_per_interval or rule.band_low_price > rule.limit_price
    ):
        raise _bad("a thermostat band needs min_wh ≤ max_wh and band_low_price ≤ limit price")
    return rule


def remove_rule_from_proto(m: market_pb2.RemoveRule) -> RemoveRule:
    """A RemoveRule of a positive rule id."""
    return RemoveRule(positive_field(m.rule_id, "rule_id"))


def accept_terms_from_proto(m: market_pb2.AcceptTerms) -> AcceptTerms:
    """An AcceptTerms of a positive alert id and new limit price."""
    return AcceptTerms(positive_field(m.alert_id, "alert_id"), positive_field(m.new_limit_price, "new_limit_price"))


def set_site_charging_consent_from_proto(m: market_pb2.SetSiteChargingConsent) -> SetSiteChargingConsent:
    """A battery named; a price of at least 1 (at most MAX_PRICE) unless the consent is withdrawn."""
    spend = nonneg_field(m.max_spend_per_day, "max_spend_per_day")
    price = nonneg_field(m.max_price_per_kwh, "max_price_per_kwh", MAX_PRICE)
    if spend and not price:
        raise TxError(Code.INVALID_ARGUMENT, "a charging consent needs max_price_per_kwh ≥ 1")
    return SetSiteChargingConsent(id_field(m.device_id, "device_id"), spend, price)
