"""Market event types."""

from __future__ import annotations

__all__ = [
    "ALERT",
    "EVENTS",
    "GRID_INSTRUCTION",
    "INTERVAL_CLEARED",
    "INTERVAL_SETTLED",
    "ORDER_CANCELLED",
    "ORDER_PLACED",
    "RULE_REMOVED",
    "RULE_SET",
    "RULE_SKIPPED",
    "TERMS_ACCEPTED",
]

ORDER_PLACED = "order_placed"
ORDER_CANCELLED = "order_cancelled"
INTERVAL_CLEARED = "interval_cleared"
INTERVAL_SETTLED = "interval_settled"
RULE_SET = "rule_set"
RULE_REMOVED = "rule_removed"
# a standing rule or community bid not placed: its owner may no longer trade (reason)
RULE_SKIPPED = "rule_skipped"
ALERT = "alert"
TERMS_ACCEPTED = "terms_accepted"
# clearing curtailed the site's feeder: its caps for the interval (the gateway applies them)
GRID_INSTRUCTION = "grid_instruction"
EVENTS = frozenset(
    {
        ORDER_PLACED,
        ORDER_CANCELLED,
        INTERVAL_CLEARED,
        INTERVAL_SETTLED,
        RULE_SET,
        RULE_REMOVED,
        RULE_SKIPPED,
        ALERT,
        TERMS_ACCEPTED,
        GRID_INSTRUCTION,
    }
)
