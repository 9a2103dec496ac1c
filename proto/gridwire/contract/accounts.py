"""The accounts domain's contract with its clients: error codes, event types, query paths.

Accounts error codes (60-79). Consensus: never renumber or reuse.
"""

from __future__ import annotations

from enum import IntEnum

from gridwire.contract.paths import QueryRoot

__all__ = [
    "BALANCE_PREFIX",
    "BURN",
    "ERROR_RANGE",
    "EVENTS",
    "MINT",
    "TRANSFER",
    "AccountsCode",
    "Paths",
    "balance_key",
]

ERROR_RANGE = (60, 79)


class AccountsCode(IntEnum):
    INSUFFICIENT_FUNDS = 60
    AMOUNT_OVERFLOW = 61
    INVALID_AMOUNT = 62
    UNKNOWN_ACCOUNT = 63


# ---- event types
MINT = "mint"
BURN = "burn"
TRANSFER = "transfer"
EVENTS = frozenset({MINT, BURN, TRANSFER})


class Paths:
    """One builder per query root of the accounts domain (abci_app/accounts/queries.py routes them)."""

    BALANCE = QueryRoot("balance")
    ACCOUNT = QueryRoot("account")
    SUPPLY = QueryRoot("supply")


# State keys a client needs to check a proof (abci_app/accounts/keys.py builds the others).
BALANCE_PREFIX = b"\x07"  # address → balance (u64 big-endian)


def balance_key(address: bytes) -> bytes:
    """The state key of `address`'s balance, proven by `/balance/<address>`."""
    return BALANCE_PREFIX + address
