"""Client side of the market domain: message builders (no abci_app imports)."""

from __future__ import annotations

from gridledger.market.v1 import market_pb2

__all__ = ["RULE_KINDS", "accept_terms", "buy", "cancel", "charging_consent", "remove_rule", "rule", "sell"]

RULE_KINDS = {
    "buy": market_pb2.RULE_KIND_BUY,
    "sell": market_pb2.RULE_KIND_SELL,
    "deferrable": market_pb2.RULE_KIND_DEFERRABLE,
    "thermostat": market_pb2.RULE_KIND_THERMOSTAT,
}


def buy(site_id: str, interval_start: int, energy_wh: int, limit_price: int) -> market_pb2.PlaceOrder:
    """A buy order for `site_id` at an all-in limit (energy price + grid fee) per kWh."""
    return market_pb2.PlaceOrder(
        side=market_pb2.SIDE_BUY,
        interval_start=interval_start,
        energy_wh=energy_wh,
        limit_price_per_kwh=limit_price,
        site_id=site_id,
    )


def sell(device_id: str, interval_start: int, energy_wh: int, limit_price: int) -> market_pb2.PlaceOrder:
    """A sell order delivered by `device_id` at no less than `limit_price` per kWh."""
    return market_pb2.PlaceOrder(
        side=market_pb2.SIDE_SELL,
        interval_start=interval_start,
        energy_wh=energy_wh,
        limit_price_per_kwh=limit_price,
        device_id=device_id,
    )


def cancel(order_id: int) -> market_pb2.CancelOrder:
    return market_pb2.CancelOrder(order_id=order_id)


def rule(kind: str, *, rule_id: int = 0, limit_price: int = 0, **fields: int | str) -> market_pb2.SetRule:
    """A SetRule of `kind` ("buy", "sell", "deferrable", "thermostat"); other fields by name
    (site_id, device_id, max_wh_per_interval, max_wh_per_day, daily_budget, energy_wh,
    deadline, band_low_price, min_wh_per_interval, margin_bp)."""
    return market_pb2.SetRule(
        rule_id=rule_id,
        kind=RULE_KINDS[kind],
        limit_price_per_kwh=limit_price,
        **fields,  # type: ignore[arg-type]
    )


def remove_rule(rule_id: int) -> market_pb2.RemoveRule:
    return market_pb2.RemoveRule(rule_id=rule_id)


def accept_terms(alert_id: int, new_limit_price: int) -> market_pb2.AcceptTerms:
    return market_pb2.AcceptTerms(alert_id=alert_id, new_limit_price=new_limit_price)


def charging_consent(device_id: str, max_spend_per_day: int, max_price: int) -> market_pb2.SetSiteChargingConsent:
    """The site owner's cap on what a leased battery's rules may spend of her money (0: withdraw)."""
    return market_pb2.SetSiteChargingConsent(
        device_id=device_id, max_spend_per_day=max_spend_per_day, max_price_per_kwh=max_price
    )
