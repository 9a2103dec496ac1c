"""Reads and writes of the forecasts domain, and the one rule of what a device is expected to do.

Expected energy of device d in the interval starting at I (`expected`):

1. POSTED: the latest forecast posted for (d, I), as posted.
2. FALLBACK: otherwise the same interval on the previous N "days" (N =
   `forecasts.fallback_days`, a day = `forecasts.fallback_period_seconds`): the starts
   s_k = I − k × day, k = 1..N. A day counts when the device's first accepted reading had
   ended by the start of that interval (its energy is recorded from then on; silence before it
   is no history, not 0 Wh — in state older than that mark, from its registration), its
   accepted readings reach the interval's end, and the devices domain
   still keeps energy of that time (not pruned); its value is the device's recorded interval
   energy (none recorded: 0 Wh, a night for a PV). The expectation is the lower median of the
   counted days, export and import separately (integers; for n days the ⌊(n − 1) ÷ 2⌋-th
   smallest), and `days_used` says how many days counted.
3. NONE: no post and no counted day; both energies 0.

The answer depends only on stored state, so every node, query and rule sees the same one.
"""

from __future__ import annotations

from collections.abc import Iterator

from abci_app.devices import keeper as devices
from abci_app.devices.params import SETTLEMENT_INTERVAL
from abci_app.forecasts import keys
from abci_app.forecasts.params import FALLBACK_DAYS, FALLBACK_PERIOD
from abci_app.forecasts.records import FALLBACK, NONE, POSTED, DayError, Expected, Forecast
from abci_app.params import domain_param
from abci_app.store.backend import prefix_end
from abci_app.store.branch import Branch, KVReader

__all__ = [
    "delete_forecast",
    "expected",
    "fallback",
    "get_day_error",
    "get_forecast",
    "get_misc",
    "get_text",
    "iter_day_errors",
    "iter_forecasts",
    "iter_interval_device_keys",
    "lower_median",
    "put_day_error",
    "put_forecast",
    "set_misc",
    "set_text",
]


def get_forecast(store: KVReader, device_id: str, interval_start: int) -> Forecast | None:
    """The forecast posted for `device_id` and the interval starting at `interval_start`, or None."""
    raw = store.get(keys.forecast(device_id, interval_start))
    return None if raw is None else Forecast.decode(raw)


def put_forecast(store: Branch, forecast: Forecast) -> None:
    """Store (or replace) a posted forecast with its time-ordered index entry."""
    store.set(keys.forecast(forecast.device_id, forecast.interval_start), forecast.encode())
    store.set(keys.by_interval(forecast.interval_start, forecast.device_id), b"")


def delete_forecast(store: Branch, device_id: str, interval_start: int) -> None:
    """Delete a posted forecast and its time-index entry together (the index stays in step)."""
    store.delete(keys.forecast(device_id, interval_start))
    store.delete(keys.by_interval(interval_start, device_id))


def iter_forecasts(store: KVReader) -> Iterator[Forecast]:
    """Every posted forecast, in key order (device, then interval)."""
    for _k, v in store.iter_range(keys.FORECAST, prefix_end(keys.FORECAST)):
        yield Forecast.decode(v)


def iter_interval_device_keys(store: KVReader, interval_start: int, after: bytes = b"") -> Iterator[bytes]:
    """lp(device id) of each device with a posted forecast for the interval, in key order, after
    the lp(device id) `after` (b"": from the first)."""
    prefix = keys.by_interval_prefix(interval_start)
    start = prefix + after + b"\x00" if after else prefix
    for k, _v in store.iter_range(start, prefix_end(prefix)):
        yield k[len(prefix) :]


def get_text(store: KVReader, name: str) -> str | None:
    """The domain's named text cursor `name`, or None when not set."""
    raw = store.get(keys.misc(name))
    return None if raw is None else raw.decode()


def set_text(store: Branch, name: str, value: str | None) -> None:
    """Set the domain's named text cursor `name` (None: delete it)."""
    if value is None:
        store.delete(keys.misc(name))
    else:
        store.set(keys.misc(name), value.encode())


def get_day_error(store: KVReader, device_id: str, day: int) -> DayError | None:
    """The device's forecast error summed over UTC day `day`, or None (not scored that day)."""
    raw = store.get(keys.day_error(device_id, day))
    return None if raw is None else DayError.decode(raw)


def put_day_error(store: Branch, error: DayError) -> None:
    """Store a daily error with its pruning-index entry (by day, so old days are pruned in order)."""
    store.set(keys.day_error(error.device_id, error.day), error.encode())
    store.set(keys.error_age(error.day, error.device_id), b"")


def iter_day_errors(store: KVReader) -> Iterator[DayError]:
    """Every stored daily error, by device then day."""
    for _k, v in store.iter_range(keys.DAY_ERROR, prefix_end(keys.DAY_ERROR)):
        yield DayError.decode(v)


def get_misc(store: KVReader, name: str) -> int | None:
    """The domain's named counter or cursor `name`, or None when never set."""
    raw = store.get(keys.misc(name))
    return None if raw is None else int.from_bytes(raw, "big")


def set_misc(store: Branch, name: str, value: int) -> None:
    """Set the domain's named counter or cursor `name` (8 bytes big-endian)."""
    store.set(keys.misc(name), value.to_bytes(8, "big"))


def lower_median(values: list[int]) -> int:
    """The ⌊(n − 1) ÷ 2⌋-th smallest of a non-empty list (an element of it: no rounding)."""
    return sorted(values)[(len(values) - 1) // 2]


def fallback(store: KVReader, device_id: str, interval_start: int) -> Expected:
    """Rule 2 of the module doc (FALLBACK, or NONE when no day counts); the device must exist."""
    device = devices.get_device(store, device_id)
    reading = devices.get_reading(store, device_id)
    if device is None or reading is None:
        return Expected(device_id, interval_start, NONE)
    length = domain_param(store, SETTLEMENT_INTERVAL)
    day = domain_param(store, FALLBACK_PERIOD)
    kept_from = devices.pruned_before(store)
    # a day counts from the device's first reading's end on, when its energy began to be
    # recorded (state older than that field: from its registration): silence before that is
    # no history of 0 Wh
    since = reading.reporting_since or device.registered_at
    registered = -(-since // length) * length if reading.reporting_since else since // length * length
    exports: list[int] = []
    imports: list[int] = []
    for k in range(1, domain_param(store, FALLBACK_DAYS) + 1):
        s = interval_start - k * day
        if s < max(registered, kept_from) or s + length > reading.end:
            continue
        energy = devices.get_energy(store, device_id, s)
        exports.append(0 if energy is None else energy.export_wh)
        imports.append(0 if energy is None else energy.import_wh)
    if not exports:
        return Expected(device_id, interval_start, NONE)
    return Expected(
        device_id, interval_start, FALLBACK, lower_median(exports), lower_median(imports), days_used=len(exports)
    )


def expected(store: KVReader, device_id: str, interval_start: int) -> Expected:
    """The module doc's rule: the posted forecast, else the fallback, else NONE (with 0 Wh)."""
    posted = get_forecast(store, device_id, interval_start)
    if posted is not None:
        return Expected(device_id, interval_start, POSTED, posted.export_wh, posted.import_wh, posted.posted_at)
    return fallback(store, device_id, interval_start)
