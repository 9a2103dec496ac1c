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
    "PRUNE_PER_BLOCK",
    "RETENTION",
    "SCORE_PER_BLOCK",
]

MAX_INTERVALS = "forecasts.max_intervals_per_post"
MAX_AHEAD = "forecasts.max_ahead_seconds"
LOCK = "forecasts.lock_seconds"
FALLBACK_DAYS = "forecasts.fallback_days"
FALLBACK_PERIOD = "forecasts.fallback_period_seconds"
ERROR_GRACE = "forecasts.error_grace_seconds"
RETENTION = "forecasts.retention_seconds"
SCORE_PER_BLOCK = "forecasts.score_per_block"
PRUNE_PER_BLOCK = "forecasts.prune_per_block"

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
    # devices scored per block at most (scoring.py): an interval of a million meters is scored
    # over several blocks. A million devices make about 1,111 device-intervals a second, so
    # 3,000 a block keeps up at a block a second with room to catch up after a halt (a test or a
    # demonstration's genesis may go down to 1)
    SCORE_PER_BLOCK: ParamSpec(3_000, 100, 20_000, genesis_low=1),
    # posted forecasts and day errors pruned per block at most: a million devices posting every
    # interval make about 1,111 a second to prune
    PRUNE_PER_BLOCK: ParamSpec(5_000, 100, 20_000),
}
