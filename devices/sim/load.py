"""Household base load with morning and evening peaks."""

from __future__ import annotations

import math
from dataclasses import dataclass

from devices.sim.base import MeteredDevice
from devices.sim.profile import ar1_series, smooth_at

__all__ = ["HouseholdLoad", "LoadConfig", "profile_w"]


@dataclass(frozen=True, slots=True)
class LoadConfig:
    """Daily consumption shape (local time = UTC + `utc_offset_h`)."""

    base_w: float = 250.0
    morning_peak_w: float = 1200.0
    evening_peak_w: float = 1800.0
    utc_offset_h: float = 1.0


def _bump(hour: float, centre: float, width: float) -> float:
    return math.exp(-(((hour - centre) / width) ** 2))


def profile_w(cfg: LoadConfig, t: float) -> float:
    """The noise-free consumption at `t` (W): base load + Gaussian peaks around 07:30 and 19:00 local time."""
    hour = ((t / 3600.0) + cfg.utc_offset_h) % 24
    return cfg.base_w + cfg.morning_peak_w * _bump(hour, 7.5, 1.0) + cfg.evening_peak_w * _bump(hour, 19.0, 1.6)


class HouseholdLoad(MeteredDevice):
    """Base load + Gaussian peaks around 07:30 and 19:00 local time, times a seeded noise factor."""

    def __init__(self, cfg: LoadConfig, seed: int, start: float) -> None:
        super().__init__(start)
        self.cfg = cfg
        self._origin = start
        self._noise = ar1_series(seed, 24 * 4 * 14, 1.0, 0.15, 0.8)

    def power_w(self, t: float) -> float:
        """Consumption at `t` (positive, W)."""
        shape = profile_w(self.cfg, t)
        noise = smooth_at(self._noise, 900, (t - self._origin) % (len(self._noise) * 900))
        return max(50.0, shape * max(0.3, noise))
