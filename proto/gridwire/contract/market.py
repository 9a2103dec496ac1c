"""The market domain's contract with its clients: error codes, event types, query paths.

Market error codes (200-249). Consensus: never renumber or reuse.
"""

from __future__ import annotations

from enum import IntEnum

from gridwire.contract.paths import QueryRoot

__all__ = [
    "ALERT",
    "ALERT_PREFIX",
    "ARCHIVE_COMMITMENT_PREFIX",
    "ATTRIBUTES",
    "CHARGING_CONSENT_SET",
    "CLEARING_PREFIX",
    "ERROR_RANGE",
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
    "ORDER_PREFIX",
    "RULES_UNPLACED",
    "RULE_REMOVED",
    "RULE_SET",
    "RULE_SKIPPED",
    "SETTLED_ON_ESTIMATE",
    "SITES_SETTLED",
    "STATEMENT_PREFIX",
    "TERMS_ACCEPTED",
    "MarketCode",
    "Paths",
    "alert_key",
    "archive_commitment_key",
    "clearing_key",
    "order_key",
    "statement_key",
]

ERROR_RANGE = (200, 249)


class MarketCode(IntEnum):
    UNKNOWN_ORDER = 200
    NOT_ORDER_OWNER = 201
    GATE_CLOSED = 202  # the interval's gate closure has passed
    BAD_INTERVAL = 203  # not aligned to the delivery interval, or too far ahead
    NOT_SITE_OWNER = 204
    UNKNOWN_SITE = 205
    UNKNOWN_DEVICE = 206
    NOT_DEVICE_OWNER = 207
    DEVICE_CANNOT_DELIVER = 208  # not a generator/battery, suspended, or above what it can deliver
    ORDER_NOT_OPEN = 209
    MARKET_CLOSED = 210  # the grid operator has published no tariffs yet
    UNKNOWN_RULE = 211
    NOT_RULE_OWNER = 212
    BAD_RULE = 213
    UNKNOWN_ALERT = 214
    NOT_ALERT_OWNER = 215
    TOO_MANY_RULES = 216
    TOO_MANY_ORDERS = 217  # the member's open orders for the interval reach market.max_open_orders_per_interval
    NOT_ENERGY_OWNER = (
        218  # a sell order or sell rule names a device the signer does not own (its site's owner neither)
    )
    PRICE_ABOVE_LIMIT = 219  # a price above market.max_price_per_kwh
    NOT_A_BATTERY = 220  # a charging consent names a device that is not a battery
    RECORD_ARCHIVED = 221  # the record left live state after its retention (prune.py): prove it from the archive


# ---- event types
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
# a sell site's withheld feed-in paid once its sold devices' late data arrived, or dropped
FEED_IN_RELEASED = "feed_in_released"
FEED_IN_FINAL = "feed_in_final"
# clearing curtailed the site's feeder: its caps for the interval (the gateway applies them)
GRID_INSTRUCTION = "grid_instruction"
# the next sites of an interval whose energy outside the market settles over several blocks
SITES_SETTLED = "sites_settled"
# a block's pruning archived settled intervals' records (prune.py): their commitment and the records
MARKET_ARCHIVED = "market_archived"
# the gate of an interval closed before its rules' pass over several blocks finished: the rules,
# community bids and batteries after where it stopped placed nothing for it
RULES_UNPLACED = "rules_unplaced"
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
        FEED_IN_RELEASED,
        FEED_IN_FINAL,
        GRID_INSTRUCTION,
        SITES_SETTLED,
        RULES_UNPLACED,
        MARKET_ARCHIVED,
    }
)


# attributes clients read, by event type (a test checks the handlers emit them)
ATTRIBUTES: dict[str, tuple[str, ...]] = {
    ORDER_PLACED: ("order_id", "owner"),
    RULE_SET: ("rule_id", "owner"),
    ALERT: ("alert_id", "owner", "rule_id", "reason"),
    GRID_INSTRUCTION: ("feeder", "site", "owner", "interval"),
}


class Paths:
    """One builder per query root of the market domain (abci_app/market/queries.py routes them)."""

    ORDER = QueryRoot("order")
    RULE = QueryRoot("rule")
    ALERT = QueryRoot("alert")
    CLEARING = QueryRoot("clearing")
    STATEMENT = QueryRoot("statement")
    CHARGING_CONSENT = QueryRoot("charging_consent")
    BOOK = QueryRoot("book")
    UPSTREAM = QueryRoot("upstream")
    INSTRUCTIONS = QueryRoot("instructions")
    ORDERS = QueryRoot("orders")
    FILLS = QueryRoot("fills")
    RULES = QueryRoot("rules")
    ALERTS = QueryRoot("alerts")
    STATEMENTS = QueryRoot("statements")
    # /market_archive_commitment/<height>: the provable commitment of what the block's pruning archived
    ARCHIVE_COMMITMENT = QueryRoot("market_archive_commitment")


# SUBFAMILIES (0x4f) 0x09 u64(height) → gridwire.archive commitment (root, count) of what the
# market's pruning removed in block `height` (abci_app/market/prune.py)
ARCHIVE_COMMITMENT_PREFIX = b"\x4f\x09"


def archive_commitment_key(height: int) -> bytes:
    """The state key of the market's archive commitment of block `height`, proven by
    `/market_archive_commitment/<height>`."""
    return ARCHIVE_COMMITMENT_PREFIX + height.to_bytes(8, "big")


# the state keys of the records an auditor proves from the market's archive (abci_app/market/keys.py)
ORDER_PREFIX = b"\x40"  # u64(order id) → Order
CLEARING_PREFIX = b"\x43"  # u64(interval start) → ClearingResult
ALERT_PREFIX = b"\x48"  # u64(alert id) → Alert
STATEMENT_PREFIX = b"\x4a"  # owner(20) u64(interval start) → Statement


def order_key(order_id: int) -> bytes:
    """The state key of order `order_id`."""
    return ORDER_PREFIX + order_id.to_bytes(8, "big")


def clearing_key(interval: int) -> bytes:
    """The state key of the interval's clearing result."""
    return CLEARING_PREFIX + interval.to_bytes(8, "big")


def alert_key(alert_id: int) -> bytes:
    """The state key of alert `alert_id`."""
    return ALERT_PREFIX + alert_id.to_bytes(8, "big")


def statement_key(owner: bytes, interval: int) -> bytes:
    """The state key of `owner`'s statement of the interval."""
    return STATEMENT_PREFIX + owner + interval.to_bytes(8, "big")
