"""Argument parsing shared by the domains' query handlers."""

from __future__ import annotations

from abci_app.domain import QueryResult
from abci_app.errors import Code, TxError
from abci_app.store.branch import KVReader

__all__ = ["address_arg", "args_exactly", "int_arg", "record"]


def args_exactly(args: list[str], n: int, usage: str) -> list[str]:
    if len(args) != n:
        raise TxError(Code.QUERY_BAD_REQUEST, f"usage: {usage}")
    return args


def address_arg(text: str) -> bytes:
    try:
        raw = bytes.fromhex(text)
    except ValueError as exc:
        raise TxError(Code.QUERY_BAD_REQUEST, f"address {text!r} is not hex") from exc
    if len(raw) != 20:
        raise TxError(Code.QUERY_BAD_REQUEST, f"address must be 20 bytes, got {len(raw)}")
    return raw


def int_arg(text: str) -> int:
    if not text.isdigit():
        raise TxError(Code.QUERY_BAD_REQUEST, f"{text!r} is not a non-negative integer")
    return int(text)


def record(store: KVReader, key: bytes) -> QueryResult:
    return QueryResult(store.get(key), key)
