"""Forecasts event types."""

from __future__ import annotations

__all__ = ["EVENTS", "FORECASTS_PRUNED", "FORECAST_POSTED", "FORECAST_SCORED"]

FORECAST_POSTED = "forecast_posted"
FORECAST_SCORED = "forecast_scored"
FORECASTS_PRUNED = "forecasts_pruned"
EVENTS = frozenset({FORECAST_POSTED, FORECAST_SCORED, FORECASTS_PRUNED})
