"""Forecasts invariants: indexes in step with records; an error never exceeds what it compares."""

from __future__ import annotations

from abci_app.forecasts import keeper, keys
from abci_app.forecasts.records import DayError
from abci_app.store.backend import prefix_end
from abci_app.store.branch import KVReader

__all__ = ["error_problem", "errors_bounded", "indexes_in_step"]


def error_problem(e: DayError) -> str | None:
    """Why a daily error cannot be (None: it can): |f − m| ≤ f + m for each side, summed."""
    bound = e.forecast_export_wh + e.forecast_import_wh + e.metered_export_wh + e.metered_import_wh
    if e.error_wh > bound:
        return f"error_wh {e.error_wh} exceeds forecast + metered energy {bound}"
    if e.intervals_posted + e.intervals_fallback == 0:
        return "a daily error counts at least one scored interval"
    return None


def indexes_in_step(store: KVReader) -> str | None:
    """Each posted forecast has exactly one time-index entry and each entry a forecast; each
    daily error likewise its pruning-index entry."""
    n = 0
    for f in keeper.iter_forecasts(store):
        n += 1
        if store.get(keys.by_interval(f.interval_start, f.device_id)) is None:
            return f"forecast {f.device_id}@{f.interval_start} has no time-index entry"
    indexed = sum(1 for _ in store.iter_range(keys.BY_INTERVAL, prefix_end(keys.BY_INTERVAL)))
    if indexed != n:
        return f"{indexed} time-index entries for {n} forecasts"
    m = 0
    for e in keeper.iter_day_errors(store):
        m += 1
        if store.get(keys.error_age(e.day, e.device_id)) is None:
            return f"daily error {e.device_id}@{e.day} has no pruning-index entry"
    aged = sum(1 for _ in store.iter_range(keys.ERROR_AGE, prefix_end(keys.ERROR_AGE)))
    return None if aged == m else f"{aged} pruning-index entries for {m} daily errors"


def errors_bounded(store: KVReader) -> str | None:
    """The first daily error that cannot be (error above forecast + metered energy, or no scored interval),
    or None when every one can."""
    for e in keeper.iter_day_errors(store):
        problem = error_problem(e)
        if problem is not None:
            return f"{e.device_id}@{e.day}: {problem}"
    return None
