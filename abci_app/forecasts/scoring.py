"""End of block: score settled intervals' forecasts against the meters, and prune old records.

Scoring. An interval [I, I + L) is scored once, `forecasts.error_grace_seconds` after it
ends (late readings), in time order; the cursor `scored_before` is the start of the next
interval to score. The devices scored are those with a posted forecast for I, those with
interval energy recorded for I, and those with energy recorded for one of the intervals the
fallback looks at (I − k × `forecasts.fallback_period_seconds`, k = 1..`forecasts.fallback_days`),
in device-id order: a fallback expectation met by no energy at all (a PV that produced nothing
where it did yesterday, a device that stopped reporting) is forecast error like any other.
Each is scored against its expected energy (keeper.expected: posted, else the fallback; a
device whose expectation is NONE is not scored). Its `DayError` of day ⌊I ÷ 86400⌋ adds
the forecast and metered energy and |forecast export − metered export| +
|forecast import − metered import|, counting the
interval as posted or fallback. Work per block is bounded: at most SCORE_BATCH intervals and
`forecasts.score_per_block` devices (examined, scored or not). An interval with more devices
(a million meters) is scored over several blocks in key order of lp(device id): the cursor
`scored_device` holds the last device examined of the interval at `scored_before`, which moves
on only once the interval's last device is examined, so every device is scored exactly once;
each block emits forecast_scored for the devices it scored of the interval (`complete` says
whether that finished it). Stretches of time with neither forecasts nor energy (nor energy a
fallback day earlier) are skipped in one step (and an idle chain writes nothing).

Pruning (retention). Posted forecasts of intervals already scored and starting before block
time − `forecasts.retention_seconds`, and daily errors of days ending before it, are deleted,
oldest first, at most `forecasts.prune_per_block` records per block. A block with nothing to do writes
nothing (the cursor is set once, at the first block).
"""

from __future__ import annotations

import heapq
from collections.abc import Iterator
from itertools import islice
from typing import NamedTuple

from abci_app.devices import keeper as devices
from abci_app.devices.params import SETTLEMENT_INTERVAL
from abci_app.forecasts import events, keeper, keys
from abci_app.forecasts.params import (
    ERROR_GRACE,
    FALLBACK_DAYS,
    FALLBACK_PERIOD,
    PRUNE_PER_BLOCK,
    RETENTION,
    SCORE_PER_BLOCK,
)
from abci_app.forecasts.records import FALLBACK, NONE, DayError
from abci_app.keys import lp, u64
from abci_app.params import domain_param
from abci_app.store.backend import prefix_end
from abci_app.store.branch import Branch
from abci_app.types import BlockInfo, Event

__all__ = ["CURSOR", "DAY", "DEVICE_CURSOR", "SCORE_BATCH", "ScoreRun", "end_block", "score_interval"]

CURSOR = "scored_before"
# the last device examined of the interval at CURSOR while it is scored over several blocks
DEVICE_CURSOR = "scored_device"
SCORE_BATCH = 8
DAY = 86_400


class ScoreRun(NamedTuple):
    """What one call of `score_interval` did: devices scored, Σ their error, devices examined
    (scored or not), and the last device examined when devices remain (None: interval done)."""

    scored: int
    error_wh: int
    examined: int
    resume_after: str | None


def _interval_devices(store: Branch, start: int, after: bytes) -> Iterator[bytes]:
    """lp(device id) of every device of the interval (module doc) after `after`, each once, in
    key order: the indexes' ordered streams merged."""
    streams = [
        keeper.iter_interval_device_keys(store, start, after),
        devices.iter_energy_device_keys(store, start, after),
    ]
    day_length = domain_param(store, FALLBACK_PERIOD)
    for k in range(1, domain_param(store, FALLBACK_DAYS) + 1):
        if start - k * day_length >= 0:  # the fallback's days: an expectation without energy today
            streams.append(devices.iter_energy_device_keys(store, start - k * day_length, after))
    last = None
    for key in heapq.merge(*streams):
        if key != last:
            last = key
            yield key


def score_interval(store: Branch, start: int, after: str | None = None, budget: int | None = None) -> ScoreRun:
    """Score the devices of the interval starting at `start` (module doc) in key order, only
    those after the device `after` (None: from the first), at most `budget` of them examined
    (None: all). Each device examined is scored at most once per call."""
    scored = total = examined = 0
    last: str | None = None
    for key in _interval_devices(store, start, b"" if after is None else lp(after)):
        if budget is not None and examined >= budget:
            return ScoreRun(scored, total, examined, last)
        examined += 1
        device_id = last = key[1:].decode()
        if devices.get_device(store, device_id) is None:
            continue
        exp = keeper.expected(store, device_id, start)
        if exp.source == NONE:
            continue
        energy = devices.get_energy(store, device_id, start)
        m_exp = 0 if energy is None else energy.export_wh
        m_imp = 0 if energy is None else energy.import_wh
        err = abs(exp.export_wh - m_exp) + abs(exp.import_wh - m_imp)
        day = start // DAY
        old = keeper.get_day_error(store, device_id, day) or DayError(device_id, day)
        fallback = exp.source == FALLBACK
        keeper.put_day_error(
            store,
            DayError(
                device_id,
                day,
                old.intervals_posted + (not fallback),
                old.intervals_fallback + fallback,
                old.forecast_export_wh + exp.export_wh,
                old.forecast_import_wh + exp.import_wh,
                old.metered_export_wh + m_exp,
                old.metered_import_wh + m_imp,
                old.error_wh + err,
            ),
        )
        scored += 1
        total += err
    return ScoreRun(scored, total, examined, None)


def _next_work(store: Branch, cursor: int) -> int | None:
    """The earliest start ≥ cursor of a posted forecast, of recorded energy, or of an interval
    whose fallback looks at recorded energy (k fallback days later; None: none)."""
    row = next(iter(store.iter_range(keys.by_interval_prefix(cursor), prefix_end(keys.BY_INTERVAL))), None)
    hints = [int.from_bytes(row[0][1:9], "big")] if row is not None else []
    day_length = domain_param(store, FALLBACK_PERIOD)
    for k in range(domain_param(store, FALLBACK_DAYS) + 1):
        energy = devices.next_energy_start(store, max(0, cursor - k * day_length))
        if energy is not None:
            hints.append(max(cursor, energy + k * day_length))
    return min(hints) if hints else None


def _score(store: Branch, now: int) -> list[Event]:
    length = domain_param(store, SETTLEMENT_INTERVAL)
    due_end = now - domain_param(store, ERROR_GRACE)  # intervals ending by then are due
    cursor = keeper.get_misc(store, CURSOR)
    if cursor is None:
        keeper.set_misc(store, CURSOR, max(0, due_end) // length * length)
        return []
    out: list[Event] = []
    budget = domain_param(store, SCORE_PER_BLOCK)
    resume = keeper.get_text(store, DEVICE_CURSOR)  # mid-interval: the last device examined
    # an interval scored half-way goes on where it is (even if governance changed the length)
    start = cursor if resume is not None else -(-cursor // length) * length
    for _ in range(SCORE_BATCH):
        if start + length > due_end:
            break
        work = _next_work(store, start)
        if work is None or work + length > due_end:
            break  # nothing due: the cursor stays (the next post or reading is after it)
        start = max(start, work // length * length)
        if start != cursor:
            resume = None  # a new interval
        run = score_interval(store, start, resume, budget)
        budget -= run.examined
        if run.scored:
            out.append(
                Event.of(
                    events.FORECAST_SCORED,
                    interval=start,
                    devices=run.scored,
                    error_wh=run.error_wh,
                    complete=str(run.resume_after is None).lower(),
                )
            )
        if run.resume_after is not None:  # the budget ran out inside the interval: it goes on next block
            resume = run.resume_after
            break
        resume = None
        start += length
        if budget <= 0:
            break
    if start != cursor:
        keeper.set_misc(store, CURSOR, start)
    if resume != keeper.get_text(store, DEVICE_CURSOR):
        keeper.set_text(store, DEVICE_CURSOR, resume)
    return out


def _prune(store: Branch, now: int) -> list[Event]:
    horizon = now - domain_param(store, RETENTION)
    if horizon <= 0:
        return []
    scored = keeper.get_misc(store, CURSOR) or 0
    before = min(horizon, scored)
    batch = domain_param(store, PRUNE_PER_BLOCK)
    rows = list(islice(store.iter_range(keys.BY_INTERVAL, keys.by_interval_prefix(before)), batch))
    for k, _v in rows:
        keeper.delete_forecast(store, k[10:].decode(), int.from_bytes(k[1:9], "big"))
    left = batch - len(rows)
    errors = list(islice(store.iter_range(keys.ERROR_AGE, keys.ERROR_AGE + u64(horizon // DAY)), left))
    for k, _v in errors:
        store.delete(keys.day_error(k[10:].decode(), int.from_bytes(k[1:9], "big")))
        store.delete(k)
    if not rows and not errors:
        return []
    return [Event.of(events.FORECASTS_PRUNED, forecasts=len(rows), errors=len(errors), before=horizon)]


def end_block(store: Branch, block: BlockInfo) -> list[Event]:
    """Score what is due, then prune what is past retention (module doc)."""
    return _score(store, block.time) + _prune(store, block.time)
