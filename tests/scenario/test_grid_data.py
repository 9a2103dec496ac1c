"""The public grid data the whole-day scenarios run on is physically consistent."""

from __future__ import annotations

import datetime as dt

import pytest

from tests.support.simbench_day import GridDay, load_grid_day

GRID = "1-LV-rural1--0-sw"  # rural LV grid: 13 households, 4 rooftop PV systems, 4 feeders


@pytest.fixture(scope="module")
def may() -> GridDay:
    return load_grid_day(GRID, dt.date(2016, 5, 20))


def test_feeder_flows_balance_loads_and_pv_within_line_losses(may: GridDay) -> None:
    """Per quarter-hour, the feeders' flows towards the busbar equal PV minus load on them,
    less the lines' losses (a few per cent), so the power flow is the grid's, not a guess."""
    for k in range(96):
        net_w = dict.fromkeys(may.feeders, 0)
        for pv in may.pvs:
            net_w[pv.feeder] += pv.export_wh[k] * 4
        for load in may.loads:
            net_w[load.feeder] -= load.import_wh[k] * 4
        for feeder in may.feeders:
            flow, balance = may.feeder_flow_w[feeder][k], net_w[feeder]
            # registers are rounded to the Wh (4 W per quarter-hour per device) and lines lose power
            assert abs(flow - balance) <= 8 * len(may.sites()) + abs(balance) // 20, (feeder, k, flow, balance)


def test_a_may_day_has_pv_at_noon_and_none_at_night(may: GridDay) -> None:
    """The 4 PV systems produce only in daylight, and the day's energies are whole Wh."""
    assert len(may.pvs) == 4
    assert len(may.loads) == 13
    assert len(may.feeders) == 4
    for pv in may.pvs:
        assert sum(pv.export_wh[:16]) == 0  # 00:00-04:00 UTC
        assert max(pv.export_wh[40:60]) > 0
        assert max(pv.export_wh) * 4 <= pv.nameplate_w
    assert may.pv_wh() > 400_000
