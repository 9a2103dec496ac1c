"""The forecasts domain's contract with its clients: error codes, event types, query paths.

Forecasts error codes (350-399). Consensus: never renumber or reuse; add new codes at the end.
"""

from __future__ import annotations

from enum import IntEnum

from gridwire.contract.paths import QueryRoot

__all__ = [
    "ERROR_RANGE",
    "EVENTS",
    "FORECASTS_PRUNED",
    "FORECAST_POSTED",
    "FORECAST_SCORED",
    "ForecastsCode",
    "Paths",
]

ERROR_RANGE = (350, 399)


class ForecastsCode(IntEnum):
    UNKNOWN_DEVICE = 350
    NOT_DEVICE_OWNER = 351  # the signer is neither the device's owner nor its gateway
    DEVICE_SUSPENDED = 352
    MISALIGNED = 353  # first_interval is not a multiple of the settlement interval
    INTERVAL_CLOSED = 354  # an interval starts within forecasts.lock_seconds of block time, or is past
    TOO_FAR_AHEAD = 355  # an interval starts more than forecasts.max_ahead_seconds after block time
    TOO_MANY_INTERVALS = 356  # more slots than forecasts.max_intervals_per_post
    ABOVE_NAMEPLATE = 357  # a slot's export or import above nameplate_w × interval ÷ 3600


# ---- event types
FORECAST_POSTED = "forecast_posted"
FORECAST_SCORED = "forecast_scored"
FORECASTS_PRUNED = "forecasts_pruned"
EVENTS = frozenset({FORECAST_POSTED, FORECAST_SCORED, FORECASTS_PRUNED})


class Paths:
    """One builder per query root of the forecasts domain (abci_app/forecasts/queries.py routes them)."""

    FORECAST = QueryRoot("forecast")
    FORECASTS = QueryRoot("forecasts")
    FORECAST_POSTED = QueryRoot("forecast_posted")
    FORECAST_ERROR = QueryRoot("forecast_error")
    FORECAST_ERRORS = QueryRoot("forecast_errors")
