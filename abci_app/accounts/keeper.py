"""Balances (8-byte big-endian) and the supply counters."""

from __future__ import annotations

from collections.abc import Iterator

from abci_app.accounts import keys
from abci_app.accounts.errors import AccountsCode
from abci_app.codec_util import MAX_AMOUNT
from abci_app.errors import TxError
from abci_app.store.backend import prefix_end
from abci_app.store.branch import Branch, KVReader

__all__ = ["add", "add_supply", "balance", "iter_balances", "subtract", "supply"]


def balance(store: KVReader, address: bytes) -> int:
    """The balance of `address` in minor units (0 for an address never credited)."""
    raw = store.get(keys.balance(address))
    return 0 if raw is None else int.from_bytes(raw, "big")


def _set(store: Branch, address: bytes, amount: int) -> None:
    key = keys.balance(address)
    if amount == 0:
        store.delete(key)
    else:
        store.set(key, amount.to_bytes(8, "big"))


def add(store: Branch, address: bytes, amount: int) -> int:
    """Credit `amount` to `address` and return the new balance; AMOUNT_OVERFLOW (nothing written) if it
    would exceed MAX_AMOUNT."""
    new = balance(store, address) + amount
    if new > MAX_AMOUNT:
        raise TxError(AccountsCode.AMOUNT_OVERFLOW, f"balance of {address.hex()} would exceed {MAX_AMOUNT}")
    _set(store, address, new)
    return new


def subtract(store: Branch, address: bytes, amount: int) -> int:
    """Debit `amount` from `address` and return the new balance; INSUFFICIENT_FUNDS (nothing written) if
    the balance is smaller. Balances never go negative."""
    have = balance(store, address)
    if have < amount:
        raise TxError(AccountsCode.INSUFFICIENT_FUNDS, f"balance of {address.hex()} is {have}, needs {amount}")
    _set(store, address, have - amount)
    return have - amount


def supply(store: KVReader, kind: str) -> int:
    """The running total of `kind` ('minted' or 'burned'): money conservation is minted - burned = sum of
    balances."""
    raw = store.get(keys.supply(kind))
    return 0 if raw is None else int.from_bytes(raw, "big")


def add_supply(store: Branch, kind: str, amount: int) -> None:
    """Add `amount` to the `kind` total; AMOUNT_OVERFLOW (nothing written) past MAX_AMOUNT."""
    new = supply(store, kind) + amount
    if new > MAX_AMOUNT:
        raise TxError(AccountsCode.AMOUNT_OVERFLOW, f"{kind} supply would exceed {MAX_AMOUNT}")
    store.set(keys.supply(kind), new.to_bytes(8, "big"))


def iter_balances(store: KVReader) -> Iterator[tuple[bytes, int]]:
    """Every (address, balance) with a stored balance, in address byte order."""
    for k, v in store.iter_range(keys.balance_prefix(), prefix_end(keys.balance_prefix())):
        yield k[1:], int.from_bytes(v, "big")
