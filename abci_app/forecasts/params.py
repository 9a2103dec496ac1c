"""The forecasts domain's governable parameters (bounds checked by ChangeParam)."""

from __future__ import annotations

from abci_app.params import ParamSpec

__all__ = [
    "ERROR_GRACE",
    "FALLBACK_DAYS",
    "FALLBACK_PERIOD",
    "LOCK",
    "MAX_AHEAD",
    "MAX_INTERVALS",
    "PARAMS",
    "RETENTION",
]

MAX_INTERVALS = "forecasts.max_intervals_per_post"
MAX_AHEAD = "forecasts.max_ahead_seconds"
LOCK = "forecasts.lock_seconds"
FALLBACK_DAYS = "forecasts.fallback_days"
FALLBACK_PERIOD = "forecasts.fallback_period_seconds"
ERROR_GRACE = "forecasts.error_grace_seconds"
RETENTION = "forecasts.retention_seconds"

PARAMS = {
    # slots one PostForecast may carry (a day of 15-minute intervals by default)
    MAX_INTERVALS: ParamSpec(96, 1, 672),
    # how far ahead of block time a slot's interval may start
    MAX_AHEAD: ParamSpec(2 * 86_400, 60, 7 * 86_400),
    # a slot's interval must start more than this after block time: the forecast is fixed
    # from then on (the market's gate closure by default)
    LOCK: ParamSpec(300, 0, 86_400),
    # the fallback: the median of the same interval on this many previous "days" ...
    FALLBACK_DAYS: ParamSpec(7, 1, 28),
    # ... each this long (a day; minutes for a demonstration's accelerated clock)
    FALLBACK_PERIOD: ParamSpec(86_400, 10, 7 * 86_400),
    # an interval's forecast error is scored this long after the interval ends (late readings)
    ERROR_GRACE: ParamSpec(900, 0, 7 * 86_400),
    # posted forecasts and daily errors older than this are pruned
    RETENTION: ParamSpec(35 * 86_400, 86_400, 10 * 365 * 86_400),
}
