"""Market state keys (prefixes 0x40-0x4F)."""

from __future__ import annotations

from abci_app.keys import lp, u64

__all__ = [
    "BOOK",
    "FILLS_BY_OWNER",
    "KEY_PREFIXES",
    "OPEN_COUNT",
    "ORDER",
    "SETTLE_DUE",
    "alert",
    "alerts_by_owner",
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
    "open_count",
    "open_count_prefix",
    "order",
    "orders_by_owner",
    "owner_prefix",
    "rule",
    "rule_prefix",
    "rules_by_owner",
    "settle_due",
    "settle_due_prefix",
    "statement",
]

ORDER = b"\x40"  # u64(order) → Order
BOOK = b"\x41"  # u64(interval) u64(order) → packed book entry (open orders until clearing)
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
SETTLE_DUE = b"\x4c"  # u64(interval) u64(order) → '' (cleared orders awaiting settlement)
COMMITTED = b"\x4d"  # u64(interval) lp(device) → u64 Wh offered by open/cleared sell orders
OPEN_COUNT = b"\x4e"  # u64(interval) owner(20) → u64 the owner's open orders of the interval
AUTHORITY = b"\x4f"  # the last market prefix, shared by sub-prefixes:
CONSENT = AUTHORITY + b"\x01"  # lp(device) → ChargingConsent
ESTIMATE = AUTHORITY + b"\x02"  # u64(interval) u8(side) lp(target) owner(20) → SettlementEstimate
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
        AUTHORITY,
    )
)


def order(order_id: int) -> bytes:
    return ORDER + u64(order_id)


def book_prefix(interval: int) -> bytes:
    return BOOK + u64(interval)


def book(interval: int, order_id: int) -> bytes:
    return BOOK + u64(interval) + u64(order_id)


def orders_by_owner(owner: bytes, order_id: int) -> bytes:
    return ORDERS_BY_OWNER + owner + u64(order_id)


def owner_prefix(collection: bytes, owner: bytes) -> bytes:
    """The prefix of one owner's entries in an owner index (ORDERS_BY_OWNER, …, STATEMENT)."""
    return collection + owner


def clearing(interval: int) -> bytes:
    return CLEARING + u64(interval)


def fill_prefix(interval: int) -> bytes:
    return FILL + u64(interval)


def fill(interval: int, order_id: int, leg: int) -> bytes:
    return FILL + u64(interval) + u64(order_id) + bytes((leg,))


def fills_by_owner(owner: bytes, interval: int, order_id: int, leg: int) -> bytes:
    return FILLS_BY_OWNER + owner + u64(interval) + u64(order_id) + bytes((leg,))


def rule_prefix() -> bytes:
    return RULE


def rule(rule_id: int) -> bytes:
    return RULE + u64(rule_id)


def rules_by_owner(owner: bytes, rule_id: int) -> bytes:
    return RULES_BY_OWNER + owner + u64(rule_id)


def alert(alert_id: int) -> bytes:
    return ALERT + u64(alert_id)


def alerts_by_owner(owner: bytes, alert_id: int) -> bytes:
    return ALERTS_BY_OWNER + owner + u64(alert_id)


def statement(owner: bytes, interval: int) -> bytes:
    return STATEMENT + owner + u64(interval)


def counter(name: str) -> bytes:
    return COUNTER + lp(name)


def settle_due_prefix(interval: int) -> bytes:
    return SETTLE_DUE + u64(interval)


def settle_due(interval: int, order_id: int) -> bytes:
    return SETTLE_DUE + u64(interval) + u64(order_id)


def committed(interval: int, device_id: str) -> bytes:
    return COMMITTED + u64(interval) + lp(device_id)


def open_count_prefix(interval: int) -> bytes:
    return OPEN_COUNT + u64(interval)


def open_count(interval: int, owner: bytes) -> bytes:
    return OPEN_COUNT + u64(interval) + owner


def consent(device_id: str) -> bytes:
    return CONSENT + lp(device_id)


def estimate_prefix(interval: int | None = None) -> bytes:
    """The prefix of every estimate, or of one interval's."""
    return ESTIMATE if interval is None else ESTIMATE + u64(interval)


def estimate(interval: int, side: int, target: str, owner: bytes) -> bytes:
    return ESTIMATE + u64(interval) + bytes((side,)) + lp(target) + owner
