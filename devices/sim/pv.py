"""PV plant: pvlib solar position and Ineichen clear sky on a tilted plane, seeded cloud attenuation."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import pandas as pd  # type: ignore[import-untyped]
import pvlib  # type: ignore[import-untyped]

from devices.sim.base import MeteredDevice
from devices.sim.profile import ar1_series, smooth_at

__all__ = ["PvConfig", "PvPlant", "clear_sky_ac_w"]

DAY = 86400


@dataclass(frozen=True, slots=True)
class PvConfig:
    """Site and array: location, orientation, DC size and inverter AC limit."""

    latitude: float = 52.37
    longitude: float = 4.90
    altitude_m: float = 0.0
    tilt_deg: float = 35.0
    azimuth_deg: float = 180.0
    dc_w: float = 5000.0
    ac_limit_w: float = 4600.0
    cloudiness: float = 0.3  # mean cloud attenuation (0 = always clear)


@lru_cache(maxsize=64)
def clear_sky_ac_w(cfg: PvConfig, day_start: int) -> tuple[float, ...]:
    """Clear-sky AC power for each minute of the UTC day starting at `day_start` (1440 values)."""
    times = pd.date_range(pd.Timestamp(day_start, unit="s", tz="UTC"), periods=1440, freq="1min")
    site = pvlib.location.Location(cfg.latitude, cfg.longitude, tz="UTC", altitude=cfg.altitude_m)
    sky = site.get_clearsky(times, model="ineichen")
    sun = site.get_solarposition(times)
    poa = pvlib.irradiance.get_total_irradiance(
        cfg.tilt_deg, cfg.azimuth_deg, sun["apparent_zenith"], sun["azimuth"], sky["dni"], sky["ghi"], sky["dhi"]
    )["poa_global"].fillna(0.0)
    cell_c = pvlib.temperature.faiman(poa, temp_air=15.0, wind_speed=2.0)
    dc = pvlib.pvsystem.pvwatts_dc(poa, cell_c, cfg.dc_w, -0.004)
    ac = (dc * 0.96).clip(lower=0.0, upper=cfg.ac_limit_w)
    return tuple(float(v) for v in ac.to_numpy())


class PvPlant(MeteredDevice):
    """A PV inverter: exports clear-sky power × a seeded cloud factor (AR(1) on 10-minute steps)."""

    def __init__(self, cfg: PvConfig, seed: int, start: float) -> None:
        super().__init__(start)
        self.cfg = cfg
        self.seed = seed
        self._clouds: dict[int, list[float]] = {}

    def cloud_factor(self, t: float) -> float:
        """Share of clear-sky power that gets through the clouds at `t`, in [0.1, 1]."""
        day = int(t // DAY) * DAY
        if day not in self._clouds:
            c = self.cfg.cloudiness
            self._clouds[day] = ar1_series(
                self.seed * 100_003 + day // DAY, 145, mean=1 - c, sigma=0.25 * c + 0.02, phi=0.9
            )
        return min(1.0, max(0.1, smooth_at(self._clouds[day], 600, t - day)))

    def clear_sky_w(self, t: float) -> float:
        """Clear-sky AC output at `t`."""
        day = int(t // DAY) * DAY
        return smooth_at(list(clear_sky_ac_w(self.cfg, day)), 60, t - day)

    def power_w(self, t: float) -> float:
        """Negative: the plant exports."""
        return -self.clear_sky_w(t) * self.cloud_factor(t)
