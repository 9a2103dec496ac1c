"""The gateway's forecasts for the ledger: PV from pvlib's clear sky × a cloudiness estimated
from the plant's own recent readings, household loads from their daily profile.

A `ForecastPoster` turns its forecasters' slots into one signed tx of `PostForecast` messages
(one per device) for the next `count` settlement intervals still open for posting (their start
more than the ledger's lock, 300 s by default, after now) and hands it to a `ForecastSink`;
the real one is devices.sink_grpc.GrpcSink (the same key, nonce and channel as the readings).
Every slot is an integer number of Wh within the device's nameplate × interval, as the ledger
requires.

The running gateway (devices/gateway.py, `forecast_intervals` in its config) posts through its
sink at start and after every interval's readings; `forecasters_for` builds the forecasters of
the configured devices (`forecast = "pv" | "load"`). A demonstration whose simulated day runs
faster than the ledger's clock (`real_time_ledger`) wraps each in a `ScaledForecaster`: the slot
of a real-time interval is the forecast of the simulated span it stands for ÷ the speed, the
same energy divisor the simulated meters apply, so forecasts are in the ledger's units.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from gridledger.forecasts.v1 import forecasts_pb2

from devices.config import DeviceConfig
from devices.sim.load import LoadConfig, profile_w
from devices.sim.pv import DAY, PvConfig, clear_sky_ac_w

__all__ = [
    "ForecastPoster",
    "ForecastSink",
    "Forecaster",
    "LoadForecaster",
    "PvForecaster",
    "ScaledForecaster",
    "first_open_interval",
    "forecasters_for",
]


class Forecaster(Protocol):
    def slots(self, first: int, count: int, length: int) -> list[tuple[int, int]]:
        """(export Wh, import Wh) of `count` intervals of `length` s from `first`."""
        ...


class ForecastSink(Protocol):
    async def post_forecasts(self, messages: Sequence[forecasts_pb2.PostForecast]) -> int:
        """Commit one tx carrying `messages`; the block height (raises SinkUnavailableError)."""
        ...


def _max_wh(nameplate_w: int, length: int) -> int:
    return -(-nameplate_w * length // 3600)


@dataclass
class PvForecaster:
    """Clear-sky energy per interval × the share of it the plant delivered recently."""

    cfg: PvConfig
    nameplate_w: int
    clear_share: float = 0.0  # 0: not measured yet, use 1 − cfg.cloudiness

    def clear_sky_wh(self, start: int, length: int) -> float:
        """Clear-sky AC energy over [start, start + length), from pvlib's minute values."""
        total, t, end = 0.0, start, start + length
        while t < end:
            day = t // DAY * DAY
            minute = (t - day) // 60
            upto = min(end, day + (minute + 1) * 60)
            total += clear_sky_ac_w(self.cfg, day)[minute] * (upto - t) / 3600.0
            t = upto
        return total

    def observe(self, measured: Sequence[tuple[int, int]], length: int) -> None:
        """Estimate the cloudiness from (interval start, measured export Wh) of recent intervals:
        measured ÷ clear-sky energy over those with daylight, kept within [0.1, 1]."""
        clear = sum(self.clear_sky_wh(s, length) for s, _wh in measured)
        if clear >= 1.0:
            self.clear_share = min(1.0, max(0.1, sum(wh for _s, wh in measured) / clear))

    def slots(self, first: int, count: int, length: int) -> list[tuple[int, int]]:
        share = self.clear_share or (1.0 - self.cfg.cloudiness)
        cap = _max_wh(self.nameplate_w, length)
        return [(min(cap, math.floor(self.clear_sky_wh(first + i * length, length) * share)), 0) for i in range(count)]


@dataclass
class LoadForecaster:
    """The household's daily profile (base load and its two peaks), without the noise."""

    cfg: LoadConfig
    nameplate_w: int

    def power_w(self, t: float) -> float:
        return profile_w(self.cfg, t)

    def slots(self, first: int, count: int, length: int) -> list[tuple[int, int]]:
        cap = _max_wh(self.nameplate_w, length)
        n = max(1, length // 60)  # a sample a minute (one for a demonstration's short intervals)
        out = []
        for i in range(count):
            start = first + i * length
            mean_w = sum(self.power_w(start + (m + 0.5) * length / n) for m in range(n)) / n
            out.append((0, min(cap, math.floor(mean_w * length / 3600.0))))
        return out


@dataclass
class ScaledForecaster:
    """A forecaster of a simulated day that runs `speed` times faster than the ledger's clock:
    the interval [t, t + length) of ledger time is the simulated span from `to_sim(t)` of
    length × speed seconds, and its energy is divided by `speed` (floored: within nameplate ×
    length, like the simulated meters' real-time energy)."""

    inner: Forecaster
    to_sim: Callable[[float], float]
    speed: float

    def slots(self, first: int, count: int, length: int) -> list[tuple[int, int]]:
        span = max(1, round(length * self.speed))
        out = []
        for i in range(count):
            ((e, imp),) = self.inner.slots(int(self.to_sim(first + i * length)), 1, span)
            out.append((math.floor(e / self.speed), math.floor(imp / self.speed)))
        return out


def forecasters_for(
    devices: Sequence[DeviceConfig], *, to_sim: Callable[[float], float] | None = None, speed: float = 1.0
) -> dict[str, Forecaster]:
    """The forecasters of the devices configured with `forecast` ("pv": clear sky of the default
    site and array; "load": the household profile), each within its `nameplate_w`; scaled
    (`ScaledForecaster`) when a simulated day runs `speed` × faster than the ledger (`to_sim`)."""
    out: dict[str, Forecaster] = {}
    for d in devices:
        if not d.forecast:
            continue
        f: Forecaster = (
            PvForecaster(PvConfig(), d.nameplate_w)
            if d.forecast == "pv"
            else LoadForecaster(LoadConfig(), d.nameplate_w)
        )
        out[d.id] = f if to_sim is None else ScaledForecaster(f, to_sim, speed)
    return out


def first_open_interval(now: int, length: int, lock: int = 300) -> int:
    """The earliest aligned interval start the ledger still takes a forecast for at `now`."""
    return ((now + lock) // length + 1) * length


class ForecastPoster:
    """Posts every forecaster's next `count` intervals in one tx (see the module doc)."""

    def __init__(
        self,
        sink: ForecastSink,
        forecasters: Mapping[str, Forecaster],
        *,
        length: int = 900,
        count: int = 96,
        lock: int = 300,
    ) -> None:
        self.sink = sink
        self.forecasters = dict(forecasters)
        self.length = length
        self.count = count
        self.lock = lock  # the ledger's forecasts.lock_seconds (plus the time a tx takes to commit)

    def messages(self, now: int) -> list[forecasts_pb2.PostForecast]:
        first = first_open_interval(now, self.length, self.lock)
        return [
            forecasts_pb2.PostForecast(
                device_id=device_id,
                first_interval=first,
                slots=[
                    forecasts_pb2.ForecastSlot(export_wh=e, import_wh=i)
                    for e, i in f.slots(first, self.count, self.length)
                ],
            )
            for device_id, f in sorted(self.forecasters.items())
        ]

    async def post(self, now: int) -> int:
        """Post the forecasts as of `now`; the block height they committed in."""
        return await self.sink.post_forecasts(self.messages(now))
