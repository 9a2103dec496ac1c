"""Accounts event types: declared in the domain's contract (gridwire/contract/accounts.py)."""

from __future__ import annotations

from gridwire.contract.accounts import (
    BURN,
    EVENTS,
    MINT,
    TRANSFER,
)

__all__ = [
    "BURN",
    "EVENTS",
    "MINT",
    "TRANSFER",
]
