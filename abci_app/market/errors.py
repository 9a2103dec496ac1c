"""Market error codes: declared in the domain's contract (gridwire/contract/market.py), where new
codes are added at the end of the range. Consensus: never renumber or reuse."""

from __future__ import annotations

from gridwire.contract.market import ERROR_RANGE, MarketCode

__all__ = ["ERROR_RANGE", "MarketCode"]
