"""Market event types: declared in the domain's contract (gridwire/contract/market.py)."""

from __future__ import annotations

from gridwire.contract.market import (
    ALERT,
    CHARGING_CONSENT_SET,
    ESTIMATE_CORRECTED,
    ESTIMATE_FINAL,
    EVENTS,
    FEED_IN_FINAL,
    FEED_IN_RELEASED,
    GRID_INSTRUCTION,
    INTERVAL_CLEARED,
    INTERVAL_SETTLED,
    MARKET_ARCHIVED,
    ORDER_CANCELLED,
    ORDER_PLACED,
    RULE_REMOVED,
    RULE_SET,
    RULE_SKIPPED,
    RULES_UNPLACED,
    SETTLED_ON_ESTIMATE,
    SITES_SETTLED,
    TERMS_ACCEPTED,
)

__all__ = [
    "ALERT",
    "CHARGING_CONSENT_SET",
    "ESTIMATE_CORRECTED",
    "ESTIMATE_FINAL",
    "EVENTS",
    "FEED_IN_FINAL",
    "FEED_IN_RELEASED",
    "GRID_INSTRUCTION",
    "INTERVAL_CLEARED",
    "INTERVAL_SETTLED",
    "MARKET_ARCHIVED",
    "ORDER_CANCELLED",
    "ORDER_PLACED",
    "RULES_UNPLACED",
    "RULE_REMOVED",
    "RULE_SET",
    "RULE_SKIPPED",
    "SETTLED_ON_ESTIMATE",
    "SITES_SETTLED",
    "TERMS_ACCEPTED",
]
