"""Accounts error codes (60-79). Consensus: never renumber or reuse."""

from __future__ import annotations

from enum import IntEnum

__all__ = ["ERROR_RANGE", "AccountsCode"]

ERROR_RANGE = (60, 79)


class AccountsCode(IntEnum):
    INSUFFICIENT_FUNDS = 60
    AMOUNT_OVERFLOW = 61
    INVALID_AMOUNT = 62
    UNKNOWN_ACCOUNT = 63
