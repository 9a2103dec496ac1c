"""Forecasts event types: declared in the domain's contract (gridwire/contract/forecasts.py)."""

from __future__ import annotations

from gridwire.contract.forecasts import (
    EVENTS,
    FORECAST_POSTED,
    FORECAST_SCORED,
    FORECASTS_PRUNED,
)

__all__ = [
    "EVENTS",
    "FORECASTS_PRUNED",
    "FORECAST_POSTED",
    "FORECAST_SCORED",
]
