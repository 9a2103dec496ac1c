"""Market state keys (prefixes 0x40-0x4F)."""

from __future__ import annotations

from abci_app.keys import lp, u64

__all__ = [
    "ARCHIVE",
    "BOOK",
    "FILLS_BY_OWNER",
    "INSTRUCTION",
    "KEY_PREFIXES",
    "OPEN_COUNT",
    "ORDER",
    "RULES_IN_PLACEMENT",
    "SETTLE_DUE",
    "SITES_IN_SETTLEMENT",
    "STATEMENTS_BY_INTERVAL",
    "UPSTREAM",
    "alert",
    "alerts_by_owner",
    "archive_commitment",
    "book",
    "book_prefix",
    "clearing",
    "committed",
    "consent",
    "counter",
    "estimate",
    "estimate_prefix",
    "fill",
    "fill_prefix",
    "fills_by_owner",
    "instruction",
    "instruction_prefix",
    "open_count",
    "open_count_prefix",
    "order",
    "orders_by_owner",
    "owner_prefix",
    "rule",
    "rule_prefix",
    "rules_by_owner",
    "settle_due",
    "sites_in_settlement",
    "statement",
    "statement_by_interval",
    "upstream",
    "withheld_feed_in",
    "withheld_feed_in_prefix",
]

ORDER = b"\x40"  # u64(order) → Order
# u64(interval) u64(order) → packed book entry + the order's stored bytes (open orders until clearing)
BOOK = b"\x41"
ORDERS_BY_OWNER = b"\x42"  # owner(20) u64(order) → ''
CLEARING = b"\x43"  # u64(interval) → ClearingResult
FILL = b"\x44"  # u64(interval) u64(order) u8(leg) → Fill
FILLS_BY_OWNER = b"\x45"  # owner(20) u64(interval) u64(order) u8(leg) → ''
RULE = b"\x46"  # u64(rule) → Rule
RULES_BY_OWNER = b"\x47"  # owner(20) u64(rule) → ''
ALERT = b"\x48"  # u64(alert) → Alert
ALERTS_BY_OWNER = b"\x49"  # owner(20) u64(alert) → ''
STATEMENT = b"\x4a"  # owner(20) u64(interval) → Statement
COUNTER = b"\x4b"  # lp(name) → u64 last id used
# u64(interval) → the cleared orders awaiting settlement, in id order: u64 order, u64 grid fee its buy
# fills owe, u32 length and the order's stored bytes each
SETTLE_DUE = b"\x4c"
COMMITTED = b"\x4d"  # u64(interval) lp(device) → u64 Wh offered by open/cleared sell orders
OPEN_COUNT = b"\x4e"  # u64(interval) owner(20) → u64 the owner's open orders of the interval
SUBFAMILIES = b"\x4f"  # the last market prefix, shared by sub-prefixes (one tag byte each):
CONSENT = SUBFAMILIES + b"\x01"  # lp(device) → ChargingConsent
ESTIMATE = SUBFAMILIES + b"\x02"  # u64(interval) u8(side) lp(target) owner(20) → SettlementEstimate
UPSTREAM = SUBFAMILIES + b"\x03"  # u64(interval) → UpstreamTrade
INSTRUCTION = SUBFAMILIES + b"\x04"  # u64(interval) site id (raw bytes, so key order is site order) → GridInstruction
SITES_IN_SETTLEMENT = SUBFAMILIES + b"\x05"  # u64(interval) → SitesInSettlement
RULES_IN_PLACEMENT = SUBFAMILIES + b"\x06"  # → RulesInPlacement (one record: the upcoming interval's pass)
WITHHELD_FEED_IN = SUBFAMILIES + b"\x07"  # u64(interval) lp(site) → WithheldFeedIn
STATEMENTS_BY_INTERVAL = SUBFAMILIES + b"\x08"  # u64(interval) owner(20) → '' (prune.py sweeps statements by it)
ARCHIVE = SUBFAMILIES + b"\x09"  # u64(height) → root(32) u64(count): what block `height`'s pruning archived
KEY_PREFIXES = frozenset(
    p[0]
    for p in (
        ORDER,
        BOOK,
        ORDERS_BY_OWNER,
        CLEARING,
        FILL,
        FILLS_BY_OWNER,
        RULE,
        RULES_BY_OWNER,
        ALERT,
        ALERTS_BY_OWNER,
        STATEMENT,
        COUNTER,
        SETTLE_DUE,
        COMMITTED,
        OPEN_COUNT,
        SUBFAMILIES,
    )
)


def order(order_id: int) -> bytes:
    """The key of order `order_id` (big-endian ids: key order is id order)."""
    return ORDER + u64(order_id)


def book_prefix(interval: int) -> bytes:
    """The prefix of the interval's open book."""
    return BOOK + u64(interval)


def book(interval: int, order_id: int) -> bytes:
    """The open-book entry of an order in its interval."""
    return BOOK + u64(interval) + u64(order_id)


def orders_by_owner(owner: bytes, order_id: int) -> bytes:
    """The owner index entry of an order."""
    return ORDERS_BY_OWNER + owner + u64(order_id)


def owner_prefix(collection: bytes, owner: bytes) -> bytes:
    """The prefix of one owner's entries in an owner index (ORDERS_BY_OWNER, …, STATEMENT)."""
    return collection + owner


def clearing(interval: int) -> bytes:
    """The key of the interval's clearing result."""
    return CLEARING + u64(interval)


def fill_prefix(interval: int) -> bytes:
    """The prefix of the interval's fills."""
    return FILL + u64(interval)


def fill(interval: int, order_id: int, leg: int) -> bytes:
    """The key of one leg of an order's fill in its interval."""
    return FILL + u64(interval) + u64(order_id) + bytes((leg,))


def fills_by_owner(owner: bytes, interval: int, order_id: int, leg: int) -> bytes:
    """The owner index entry of a fill leg: owner, interval, order, leg."""
    return FILLS_BY_OWNER + owner + u64(interval) + u64(order_id) + bytes((leg,))


def rule_prefix() -> bytes:
    """The prefix of every standing rule."""
    return RULE


def rule(rule_id: int) -> bytes:
    """The key of rule `rule_id`."""
    return RULE + u64(rule_id)


def rules_by_owner(owner: bytes, rule_id: int) -> bytes:
    """The owner index entry of a rule."""
    return RULES_BY_OWNER + owner + u64(rule_id)


def alert(alert_id: int) -> bytes:
    """The key of alert `alert_id`."""
    return ALERT + u64(alert_id)


def alerts_by_owner(owner: bytes, alert_id: int) -> bytes:
    """The owner index entry of an alert."""
    return ALERTS_BY_OWNER + owner + u64(alert_id)


def statement(owner: bytes, interval: int) -> bytes:
    """The key of `owner`'s statement of the interval."""
    return STATEMENT + owner + u64(interval)


def counter(name: str) -> bytes:
    """The key of the domain's named counter `name`."""
    return COUNTER + lp(name)


def settle_due(interval: int) -> bytes:
    """The key of the interval's record of orders due for settlement."""
    return SETTLE_DUE + u64(interval)


def committed(interval: int, device_id: str) -> bytes:
    """The key of the Wh a device's sell orders committed for the interval."""
    return COMMITTED + u64(interval) + lp(device_id)


def open_count_prefix(interval: int) -> bytes:
    """The prefix of the interval's open-order counts."""
    return OPEN_COUNT + u64(interval)


def open_count(interval: int, owner: bytes) -> bytes:
    """The key of `owner`'s open-order count in the interval."""
    return OPEN_COUNT + u64(interval) + owner


def consent(device_id: str) -> bytes:
    """The key of the charging consent for battery `device_id`."""
    return CONSENT + lp(device_id)


def estimate_prefix(interval: int | None = None) -> bytes:
    """The prefix of every estimate, or of one interval's."""
    return ESTIMATE if interval is None else ESTIMATE + u64(interval)


def estimate(interval: int, side: int, target: str, owner: bytes) -> bytes:
    """The key of a settlement estimate: interval, side, target (site or device), owner."""
    return ESTIMATE + u64(interval) + bytes((side,)) + lp(target) + owner


def withheld_feed_in(interval: int, site_id: str) -> bytes:
    """The key of a sell site's withheld feed-in of the interval."""
    return WITHHELD_FEED_IN + u64(interval) + lp(site_id)


def withheld_feed_in_prefix(interval: int | None = None) -> bytes:
    """The prefix of every withheld feed-in, or of one interval's."""
    return WITHHELD_FEED_IN if interval is None else WITHHELD_FEED_IN + u64(interval)


def upstream(interval: int) -> bytes:
    """The key of the upstream grid's trade of the interval."""
    return UPSTREAM + u64(interval)


def instruction_prefix(interval: int) -> bytes:
    """The prefix of the interval's grid instructions."""
    return INSTRUCTION + u64(interval)


def instruction(interval: int, site_id: str) -> bytes:
    """The key of the site's grid instruction of the interval."""
    return INSTRUCTION + u64(interval) + site_id.encode()


def sites_in_settlement(interval: int) -> bytes:
    """The key of the interval's SitesInSettlement (while its sites settle over several blocks)."""
    return SITES_IN_SETTLEMENT + u64(interval)


def statement_by_interval(interval: int, owner: bytes) -> bytes:
    """The interval index entry of `owner`'s statement of the interval."""
    return STATEMENTS_BY_INTERVAL + u64(interval) + owner


def archive_commitment(height: int) -> bytes:
    """The key of the archive commitment of what block `height`'s pruning removed (prune.py)."""
    return ARCHIVE + u64(height)
