"""Alerts: a standing rule that cannot be met, or an order a feeder limit cut, tells its owner
why, with the best price seen."""

from __future__ import annotations

from abci_app.market import events, keeper
from abci_app.market.records import ALERT_REASON_NAMES, Alert, AlertId, Order, OrderId, Rule, RuleId
from abci_app.store.branch import Branch
from abci_app.types import Address, Event

__all__ = ["REASON_NAMES", "raise_alert", "raise_order_alert"]

REASON_NAMES = ALERT_REASON_NAMES


def _store_alert(  # noqa: PLR0917 - every field of the alert, in its order
    store: Branch, now: int, owner: bytes, rule_id: int, reason: int, interval: int, best_price: int, order_id: int
) -> Event:
    """Store the alert and return its `alert` event (`order_id` only when it names an order)."""
    alert = Alert(
        alert_id=AlertId(keeper.next_id(store, "alert")),
        owner=Address(owner),
        rule_id=RuleId(rule_id),
        reason=reason,
        interval_start=interval,
        best_price=best_price,
        created_at=now,
        order_id=OrderId(order_id),
    )
    keeper.put_alert(store, alert)
    about_order = {"order_id": order_id} if order_id else {}
    return Event.of(
        events.ALERT,
        alert_id=alert.alert_id,
        owner=owner.hex(),
        rule_id=rule_id,
        reason=REASON_NAMES[reason],
        interval=interval,
        best_price=best_price,
        **about_order,
    )


def raise_alert(  # noqa: PLR0917 - every field of the alert, in its order
    store: Branch, now: int, rule: Rule, reason: int, interval: int, best_price: int
) -> Event:
    """Store an alert for the rule's owner and return its `alert` event."""
    return _store_alert(store, now, rule.owner, rule.rule_id, reason, interval, best_price, 0)


def raise_order_alert(  # noqa: PLR0917 - every field of the alert, in its order
    store: Branch, now: int, order: Order, reason: int, interval: int, best_price: int
) -> Event:
    """Store an alert about `order` (placed by hand or by its rule, `rule_id`) for its owner and
    return its `alert` event (the rule alert's attributes and `order_id`)."""
    return _store_alert(store, now, order.owner, order.rule_id, reason, interval, best_price, order.order_id)
