"""The clear-sky bound (abci_app/devices/clearsky.py): its committed table is what the pvlib
generator makes, it is integer and deterministic, and an honest clear-sky PV stays below it."""

from __future__ import annotations

import calendar

from abci_app.devices import clearsky
from abci_app.devices.clearsky_table import TABLE
from devices.sim import clearsky_table_gen
from devices.sim.pv import PvConfig, clear_sky_ac_w

AMSTERDAM = (52_370_000, 4_900_000)
SYDNEY = (-33_870_000, 151_210_000)
HOUR = 3600


def test_the_committed_table_is_what_the_generator_makes() -> None:
    """Regenerating the table with pvlib gives the committed module byte for byte."""
    assert clearsky_table_gen.TARGET.read_text() == clearsky_table_gen.render(clearsky_table_gen.compute())


def test_the_table_has_its_shape_and_only_non_negative_integers() -> None:
    """18 latitude bands × 13 day-of-year bands × 24 hours of non-negative ints."""
    assert len(TABLE) == 18
    assert {len(days) for days in TABLE} == {13}
    assert {len(hours) for days in TABLE for hours in days} == {24}
    assert all(isinstance(v, int) and 0 <= v < 2_000 for days in TABLE for hours in days for v in hours)


def test_night_is_zero_and_noon_is_near_a_kilowatt_per_square_metre() -> None:
    """At night in Amsterdam in January nothing is possible; at midsummer noon a 5 kW PV is
    bounded somewhere between its nameplate and 1.5 × it; Sydney's noon is 02:00 UTC."""
    january = calendar.timegm((2026, 1, 15, 0, 0, 0))
    june = calendar.timegm((2026, 6, 21, 0, 0, 0))
    assert clearsky.bound_wh(5_000, *AMSTERDAM, january + 1 * HOUR) == 0
    noon = clearsky.bound_wh(5_000, *AMSTERDAM, june + 11 * HOUR)
    assert 5_000 < noon < 7_500
    assert clearsky.bound_wh(5_000, *SYDNEY, june + 2 * HOUR) > 2_500  # midwinter noon down under
    assert clearsky.bound_wh(5_000, *SYDNEY, june + 14 * HOUR) == 0  # midnight in Sydney
    # a production period of 20 s (the demo's) is bounded by at most 20 s of the hour's bound
    assert 0 < clearsky.bound_wh(5_000, *AMSTERDAM, june + 11 * HOUR, 20) <= noon * 20 // HOUR + 1


def test_the_poles_and_the_date_line_are_in_range() -> None:
    """Latitudes ±90° and longitudes ±180° land in the table (no index error, no negative time)."""
    t = calendar.timegm((2026, 12, 31, 23, 0, 0))
    for lat in (-90_000_000, 0, 90_000_000):
        for lon in (-180_000_000, 0, 180_000_000):
            assert clearsky.bound_wh(1_000, lat, lon, t) >= 0
    assert clearsky.bound_wh(1_000, 0, -180_000_000, 0) >= 0


def test_an_honest_clear_sky_pv_is_never_above_the_bound() -> None:
    """The simulator's clear-sky PV (pvlib Ineichen on a 35° south-facing array) in Amsterdam
    produces less than the bound in every hour of four days across the year."""
    cfg = PvConfig()
    for month in (3, 6, 9, 12):
        day = calendar.timegm((2026, month, 21, 0, 0, 0))
        minutes = clear_sky_ac_w(cfg, day)
        for hour in range(24):
            wh = sum(minutes[hour * 60 : hour * 60 + 60]) / 60
            assert wh <= clearsky.bound_wh(int(cfg.dc_w), *AMSTERDAM, day + hour * HOUR), (month, hour)
