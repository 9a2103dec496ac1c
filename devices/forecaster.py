"""The gateway's forecasts for the ledger: PV from pvlib's clear sky × a cloudiness estimated
from the plant's own recent readings, household loads from their daily profile.

A `ForecastPoster` turns its forecasters' slots into one signed tx of `PostForecast` messages
(one per device) for the next `count` settlement intervals still open for posting (their start
more than the ledger's lock, 300 s by default, after now) and hands it to a `ForecastSink`;
the real one is devices.sink_grpc.GrpcSink (the same key, nonce and channel as the readings).
Every slot is an integer number of Wh within the device's nameplate × interval, as the ledger
requires.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from gridledger.forecasts.v1 import forecasts_pb2

from devices.sim.load import LoadConfig, profile_w
from devices.sim.pv import DAY, PvConfig, clear_sky_ac_w

__all__ = ["ForecastPoster", "ForecastSink", "Forecaster", "LoadForecaster", "PvForecaster", "first_open_interval"]


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


def first_open_interval(now: int, length: int, lock: int = 300) -> int:
    """The earliest aligned interval start the ledger still takes a forecast for at `now`."""
    return ((now + lock) // length + 1) * length


class ForecastPoster:
    """Posts every forecaster's next `count` intervals in one tx (see the module doc)."""

    def __init__(
        self, sink: ForecastSink, forecasters: Mapping[str, Forecaster], *, length: int = 900, count: int = 96
    ) -> None:
        self.sink = sink
        self.forecasters = dict(forecasters)
        self.length = length
        self.count = count

    def messages(self, now: int) -> list[forecasts_pb2.PostForecast]:
        first = first_open_interval(now, self.length)
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
