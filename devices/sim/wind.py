"""Small wind turbine: seeded wind-speed series and a power curve."""

from __future__ import annotations

from dataclasses import dataclass

from devices.sim.base import MeteredDevice
from devices.sim.profile import ar1_series, smooth_at

__all__ = ["WindConfig", "WindTurbine", "power_curve_w"]


@dataclass(frozen=True, slots=True)
class WindConfig:
    """Turbine rating and the site's mean hub-height wind."""

    rated_w: float = 10_000.0
    cut_in_ms: float = 3.0
    rated_ms: float = 12.0
    cut_out_ms: float = 25.0
    mean_wind_ms: float = 6.5


def power_curve_w(cfg: WindConfig, speed_ms: float) -> float:
    """Output at `speed_ms`: 0 below cut-in and above cut-out, cubic up to rated, flat at rated."""
    if speed_ms < cfg.cut_in_ms or speed_ms >= cfg.cut_out_ms:
        return 0.0
    if speed_ms >= cfg.rated_ms:
        return cfg.rated_w
    span = cfg.rated_ms**3 - cfg.cut_in_ms**3
    return cfg.rated_w * (speed_ms**3 - cfg.cut_in_ms**3) / span


class WindTurbine(MeteredDevice):
    """Wind speed: hourly AR(1) means (seeded) plus 5-minute gusts; output from the power curve."""

    def __init__(self, cfg: WindConfig, seed: int, start: float) -> None:
        super().__init__(start)
        self.cfg = cfg
        self._origin = start
        hours = 24 * 14
        self._hourly = ar1_series(seed, hours, cfg.mean_wind_ms, cfg.mean_wind_ms * 0.45, 0.93)
        self._gusts = ar1_series(seed + 1, hours * 12, 0.0, 0.8, 0.6)

    def wind_ms(self, t: float) -> float:
        """Hub-height wind speed at `t` (m/s, never negative)."""
        off = (t - self._origin) % (len(self._hourly) * 3600)
        return max(0.0, smooth_at(self._hourly, 3600, off) + smooth_at(self._gusts, 300, off))

    def power_w(self, t: float) -> float:
        """Negative: the turbine exports."""
        return -power_curve_w(self.cfg, self.wind_ms(t))
