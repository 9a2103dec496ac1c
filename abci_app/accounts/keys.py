"""Accounts state keys: balances and the supply counters."""

from __future__ import annotations

from gridwire.contract.accounts import BALANCE_PREFIX

from abci_app.keys import lp

__all__ = ["KEY_PREFIXES", "balance", "balance_prefix", "supply"]

BALANCE = BALANCE_PREFIX  # address → balance (gridwire/contract/accounts.py)
SUPPLY = b"\x08"
KEY_PREFIXES = frozenset({BALANCE[0], SUPPLY[0]})


def balance_prefix() -> bytes:
    """The prefix of every balance key (iterate it for all balances)."""
    return BALANCE


def balance(address: bytes) -> bytes:
    """The key of `address`'s balance: the prefix and the 20-byte address."""
    return BALANCE + address


def supply(kind: str) -> bytes:
    """`kind` is "minted" or "burned"."""
    return SUPPLY + lp(kind)
