"""Market event types."""

from __future__ import annotations

__all__ = [
    "ALERT",
    "CHARGING_CONSENT_SET",
    "ESTIMATE_CORRECTED",
    "ESTIMATE_FINAL",
    "EVENTS",
    "INTERVAL_CLEARED",
    "INTERVAL_SETTLED",
    "ORDER_CANCELLED",
    "ORDER_PLACED",
    "RULE_REMOVED",
    "RULE_SET",
    "RULE_SKIPPED",
    "SETTLED_ON_ESTIMATE",
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
# a site owner signed (or withdrew, max_spend_per_day 0) her cap for a battery on her site
CHARGING_CONSENT_SET = "charging_consent_set"
# a position settled on an estimate (its meter or device had not reported), then corrected
# from late data, or final when the correction window ended without it
SETTLED_ON_ESTIMATE = "settled_on_estimate"
ESTIMATE_CORRECTED = "estimate_corrected"
ESTIMATE_FINAL = "estimate_final"
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
        CHARGING_CONSENT_SET,
        SETTLED_ON_ESTIMATE,
        ESTIMATE_CORRECTED,
        ESTIMATE_FINAL,
    }
)
