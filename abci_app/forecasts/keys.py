"""Forecasts state keys (prefixes 0x70-0x74)."""

from __future__ import annotations

from abci_app.keys import lp, u64

__all__ = [
    "BY_INTERVAL",
    "DAY_ERROR",
    "ERROR_AGE",
    "FORECAST",
    "KEY_PREFIXES",
    "MISC",
    "by_interval",
    "by_interval_prefix",
    "day_error",
    "day_error_prefix",
    "error_age",
    "forecast",
    "forecast_prefix",
    "misc",
]

FORECAST = b"\x70"  # lp(device) u64(interval start) → Forecast
BY_INTERVAL = b"\x71"  # u64(interval start) lp(device) → '' (scoring and pruning walk it in time order)
DAY_ERROR = b"\x72"  # lp(device) u64(day) → ForecastError
ERROR_AGE = b"\x73"  # u64(day) lp(device) → '' (pruning index of DAY_ERROR)
MISC = b"\x74"  # lp(name) → small singletons (the scoring cursor, the pruning watermark)
KEY_PREFIXES = frozenset(p[0] for p in (FORECAST, BY_INTERVAL, DAY_ERROR, ERROR_AGE, MISC))


def forecast_prefix(device_id: str) -> bytes:
    """The prefix of `device_id`'s posted forecasts."""
    return FORECAST + lp(device_id)


def forecast(device_id: str, interval_start: int) -> bytes:
    """The key of `device_id`'s forecast for the interval starting at `interval_start` (big-endian:
    interval order)."""
    return FORECAST + lp(device_id) + u64(interval_start)


def by_interval_prefix(interval_start: int | None = None) -> bytes:
    """The prefix of the forecasts' time index (of one interval, when given)."""
    return BY_INTERVAL if interval_start is None else BY_INTERVAL + u64(interval_start)


def by_interval(interval_start: int, device_id: str) -> bytes:
    """The time-index key of a posted forecast: interval first, so expiry scans in time order."""
    return BY_INTERVAL + u64(interval_start) + lp(device_id)


def day_error_prefix(device_id: str) -> bytes:
    """The prefix of `device_id`'s daily errors."""
    return DAY_ERROR + lp(device_id)


def day_error(device_id: str, day: int) -> bytes:
    """The key of `device_id`'s error on UTC day `day`."""
    return DAY_ERROR + lp(device_id) + u64(day)


def error_age(day: int, device_id: str) -> bytes:
    """The pruning-index key of a daily error: day first, so pruning scans the oldest days first."""
    return ERROR_AGE + u64(day) + lp(device_id)


def misc(name: str) -> bytes:
    """The key of the domain's named counter or cursor `name`."""
    return MISC + lp(name)
