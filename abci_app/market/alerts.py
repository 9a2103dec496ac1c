"""Alerts: a standing rule that cannot be met, or an order a feeder limit cut, tells its owner
why, with the best price seen."""

from __future__ import annotations

from abci_app.market import events, keeper
from abci_app.market.records import ALERT_REASON_NAMES, Alert, AlertId, Order, Rule
from abci_app.store.branch import Branch
from abci_app.types import Event

__all__ = ["REASON_NAMES", "raise_alert", "raise_order_alert"]

REASON_NAMES = ALERT_REASON_NAMES


def raise_alert(  # noqa: PLR0917 - every field of the alert, in its order
    store: Branch, now: int, rule: Rule, reason: int, interval: int, best_price: int
) -> Event:
    """Store an alert for the rule's owner and return its `alert` event."""
    alert = Alert(
        alert_id=AlertId(keeper.next_id(store, "alert")),
        owner=rule.owner,
        rule_id=rule.rule_id,
        reason=reason,
        interval_start=interval,
        best_price=best_price,
        created_at=now,
    )
    keeper.put_alert(store, alert)
    return Event.of(
        events.ALERT,
        alert_id=alert.alert_id,
        owner=rule.owner.hex(),
        rule_id=rule.rule_id,
        reason=REASON_NAMES[reason],
        interval=interval,
        best_price=best_price,
    )


def raise_order_alert(  # noqa: PLR0917 - every field of the alert, in its order
    store: Branch, now: int, order: Order, reason: int, interval: int, best_price: int
) -> Event:
    """Store an alert about `order` (placed by hand or by its rule, `rule_id`) for its owner and
    return its `alert` event (the rule alert's attributes and `order_id`)."""
    alert = Alert(
        alert_id=AlertId(keeper.next_id(store, "alert")),
        owner=order.owner,
        rule_id=order.rule_id,
        reason=reason,
        interval_start=interval,
        best_price=best_price,
        created_at=now,
        order_id=order.order_id,
    )
    keeper.put_alert(store, alert)
    return Event.of(
        events.ALERT,
        alert_id=alert.alert_id,
        owner=order.owner.hex(),
        rule_id=order.rule_id,
        reason=REASON_NAMES[reason],
        interval=interval,
        best_price=best_price,
        order_id=order.order_id,
    )
