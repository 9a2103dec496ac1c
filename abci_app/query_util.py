"""Argument parsing and pagination shared by the domains' query handlers.

Every malformed argument raises QUERY_BAD_REQUEST with a readable log. List queries are
paginated: `?limit=N` (1..MAX_PAGE, default DEFAULT_PAGE) and `?after=<cursor>` where the
cursor is the hex `next` of the previous page.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from itertools import islice
from typing import TypeVar

from abci_app.domain import QueryResult
from abci_app.errors import Code, TxError
from abci_app.store.backend import prefix_end
from abci_app.store.branch import KVReader

__all__ = [
    "DEFAULT_PAGE",
    "MAX_PAGE",
    "Page",
    "address_arg",
    "args_exactly",
    "id_arg",
    "int_arg",
    "page",
    "record",
]

DEFAULT_PAGE = 100
MAX_PAGE = 500
MAX_U64 = (1 << 64) - 1
T = TypeVar("T")
Page = tuple[list[T], str]


def args_exactly(args: list[str], n: int, usage: str) -> list[str]:
    if len(args) != n:
        raise TxError(Code.QUERY_BAD_REQUEST, f"usage: {usage}")
    return args


def address_arg(text: str) -> bytes:
    try:
        raw = bytes.fromhex(text)
    except ValueError as exc:
        raise TxError(Code.QUERY_BAD_REQUEST, f"address {text[:50]!r} is not hex") from exc
    if len(raw) != 20:
        raise TxError(Code.QUERY_BAD_REQUEST, f"address must be 20 bytes, got {len(raw)}")
    return raw


def int_arg(text: str, name: str = "value", high: int = MAX_U64) -> int:
    """A decimal integer in [0, high] (ASCII digits only: '²' is not a number here)."""
    if not (text.isascii() and text.isdigit()) or len(text) > 20:
        raise TxError(Code.QUERY_BAD_REQUEST, f"{name} {text[:30]!r} is not a non-negative integer")
    value = int(text)
    if value > high:
        raise TxError(Code.QUERY_BAD_REQUEST, f"{name} {value} is above {high}")
    return value


def id_arg(text: str, name: str, max_len: int = 64) -> str:
    """An identifier of at most `max_len` bytes (ids are ASCII; longer ones cannot exist)."""
    if not text or len(text.encode()) > max_len:
        raise TxError(Code.QUERY_BAD_REQUEST, f"{name} must be 1..{max_len} bytes")
    return text


def record(store: KVReader, key: bytes) -> QueryResult:
    return QueryResult(store.get(key), key)


def page(
    store: KVReader, prefix: bytes, options: Mapping[str, str], decode: Callable[[bytes, bytes], T | None]
) -> Page[T]:
    """One page of the collection under `prefix`, in key order: decoded entries (`decode`
    may skip an entry by returning None) and the cursor of the next page ('' at the end)."""
    limit = int_arg(options.get("limit", str(DEFAULT_PAGE)), "limit", MAX_PAGE)
    if limit == 0:
        raise TxError(Code.QUERY_BAD_REQUEST, "limit must be at least 1")
    start = prefix
    after = options.get("after", "")
    if after:
        try:
            start = prefix + bytes.fromhex(after) + b"\x00"
        except ValueError as exc:
            raise TxError(Code.QUERY_BAD_REQUEST, f"cursor {after[:50]!r} is not hex") from exc
    rows = list(islice(store.iter_range(start, prefix_end(prefix)), limit + 1))
    more = len(rows) > limit
    rows = rows[:limit]
    items = [item for k, v in rows if (item := decode(k, v)) is not None]
    cursor = rows[-1][0][len(prefix) :].hex() if more and rows else ""
    return items, cursor
