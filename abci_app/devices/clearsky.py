"""The clear-sky bound: the most a PV panel of a located site can produce in an hour.

Integer rule (consensus; the table is committed data, clearsky_table.py, generated once
with pvlib by devices/sim/clearsky_table_gen.py). For a site at latitude φ and longitude λ
(micro-degrees) and the production period [h, h + L) of UTC (L = certificates.period_seconds,
an hour unless governance changed it):
- mean solar time s = h + floor(λ × 240 / 10^6) seconds (a degree of longitude is 240 s);
- the irradiance bound G (W/m²) is the largest table entry of the mean solar times s,
  s + 3600, … before s + L, and s + L − 1: TABLE[band of φ][day-of-year band][hour of the
  day], where the band of φ is floor((φ + 90°) / LAT_BAND_DEG) (90° itself in the last
  band) and the day of year is the calendar day (1 January = 1) of that mean solar time;
- bound = ceil(nameplate_w × G × L × (10_000 + CLEAR_SKY_MARGIN_BP) / (3600 × 10^7)) Wh:
  a panel's nameplate is its output at 1000 W/m², and the margin (10 %) covers cloud
  enhancement and a panel that outperforms its rating.
The table is already an upper bound of any clear sky (see the generator), so honest PV
stays below it; a site without a location has no bound (its PV energy is never held).
"""

from __future__ import annotations

from datetime import date

from abci_app.devices.clearsky_table import DOY_BAND_DAYS, LAT_BAND_DEG, TABLE

__all__ = ["CLEAR_SKY_MARGIN_BP", "MAX_LATITUDE_UDEG", "MAX_LONGITUDE_UDEG", "bound_wh", "irradiance_bound"]

CLEAR_SKY_MARGIN_BP = 1_000
MAX_LATITUDE_UDEG = 90_000_000
MAX_LONGITUDE_UDEG = 180_000_000
_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()
_DAY = 86_400


def _entry(band: int, t: int) -> int:
    day, second = divmod(t, _DAY)
    doy = date.fromordinal(_EPOCH_ORDINAL + day).timetuple().tm_yday
    return TABLE[band][min((doy - 1) // DOY_BAND_DAYS, len(TABLE[band]) - 1)][second // 3600]


def irradiance_bound(latitude_udeg: int, longitude_udeg: int, start: int, seconds: int = 3600) -> int:
    """The clear-sky irradiance bound G (W/m²) of [start, start + seconds) (unix seconds) at
    the location (see the module doc)."""
    band = min((latitude_udeg + MAX_LATITUDE_UDEG) // (LAT_BAND_DEG * 1_000_000), len(TABLE) - 1)
    solar = max(0, start + longitude_udeg * 240 // 1_000_000)
    times = [*range(solar, solar + seconds, 3600), solar + seconds - 1]
    return max(_entry(band, t) for t in times)


def bound_wh(nameplate_w: int, latitude_udeg: int, longitude_udeg: int, start: int, seconds: int = 3600) -> int:
    """The most (Wh) a PV of `nameplate_w` at the location can produce in [start, start +
    seconds) under a clear sky, margin included (see the module doc)."""
    g = irradiance_bound(latitude_udeg, longitude_udeg, start, seconds)
    return -(-nameplate_w * g * seconds * (10_000 + CLEAR_SKY_MARGIN_BP) // 36_000_000_000)
