"""Accounts error codes: declared in the domain's contract (gridwire/contract/accounts.py), where new
codes are added at the end of the range. Consensus: never renumber or reuse."""

from __future__ import annotations

from gridwire.contract.accounts import ERROR_RANGE, AccountsCode

__all__ = ["ERROR_RANGE", "AccountsCode"]
