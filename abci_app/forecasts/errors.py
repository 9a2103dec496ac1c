"""Forecasts error codes: declared in the domain's contract (gridwire/contract/forecasts.py), where new
codes are added at the end of the range. Consensus: never renumber or reuse."""

from __future__ import annotations

from gridwire.contract.forecasts import ERROR_RANGE, ForecastsCode

__all__ = ["ERROR_RANGE", "ForecastsCode"]
