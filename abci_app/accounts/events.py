"""Accounts event types."""

from __future__ import annotations

__all__ = ["BURN", "EVENTS", "MINT", "TRANSFER"]

MINT = "mint"
BURN = "burn"
TRANSFER = "transfer"
EVENTS = frozenset({MINT, BURN, TRANSFER})
