"""The gateway's forecasts: PV from pvlib's clear sky (nothing at night, within nameplate,
scaled by the cloudiness measured from readings), loads from their profile, and one tx of
PostForecast messages that the ledger accepts from the device's gateway."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from gridledger.forecasts.v1 import forecasts_pb2

from clients import devices as dc
from clients.ops.consortium import Consortium
from devices.forecaster import ForecastPoster, LoadForecaster, PvForecaster, first_open_interval
from devices.sim.load import LoadConfig
from devices.sim.pv import PvConfig
from tests.support.driver import AppDriver
from tests.unit.helpers import signed
from tests.unit.test_market import L, Market, key

JUNE = 1_780_272_000  # 2026-06-01T00:00:00Z


def test_pv_forecast_is_zero_at_night_and_within_nameplate_at_noon() -> None:
    """A 5 kW plant in Amsterdam: 0 Wh at midnight, a midday interval between half and all of 1250 Wh."""
    pv = PvForecaster(PvConfig(cloudiness=0.0), 5_000)
    (night,) = pv.slots(JUNE, 1, L)
    (noon,) = pv.slots(JUNE + 12 * 3600, 1, L)
    assert night == (0, 0)
    assert 600 <= noon[0] <= 1_250
    assert noon[1] == 0


def test_pv_cloudiness_comes_from_the_plants_own_readings() -> None:
    """Having delivered half the clear-sky energy recently, the plant forecasts about half of clear sky."""
    pv = PvForecaster(PvConfig(cloudiness=0.0), 5_000)
    noon = JUNE + 12 * 3600
    clear = pv.clear_sky_wh(noon - L, L)
    pv.observe([(noon - L, int(clear / 2))], L)
    assert abs(pv.clear_share - 0.5) < 0.01
    (slot,) = pv.slots(noon, 1, L)
    assert abs(slot[0] - pv.clear_sky_wh(noon, L) / 2) <= 3  # whole Wh, floored
    pv.observe([(JUNE, 0)], L)  # a night interval says nothing about clouds
    assert abs(pv.clear_share - 0.5) < 0.01


def test_load_forecast_follows_the_profile_peaks() -> None:
    """The evening peak interval imports more than the night's base load; nothing is exported."""
    load = LoadForecaster(LoadConfig(), 20_000)
    (night,) = load.slots(JUNE + 2 * 3600, 1, L)  # 03:00 local
    (evening,) = load.slots(JUNE + 18 * 3600, 1, L)  # 19:00 local
    assert night[0] == evening[0] == 0
    assert 50 <= night[1] < evening[1] <= 5_000


class _DriverSink:
    """A ForecastSink that commits through an in-process app, signed by the gateway member."""

    def __init__(self, m: Market) -> None:
        self.m = m
        self.codes: list[int] = []

    async def post_forecasts(self, messages: Sequence[forecasts_pb2.PostForecast]) -> int:
        result = self.m.d.block([signed(self.m.d, self.m.c.member("community-a/gateway"), *messages)])
        self.codes = list(result.check_codes) + list(result.codes)
        return result.height


def test_the_poster_sends_one_tx_the_ledger_accepts(driver: AppDriver, consortium: Consortium) -> None:
    """The gateway posts PV and load forecasts for its devices' next intervals; reads say POSTED."""
    m = Market(driver, consortium)
    m.setup()
    gw = consortium.member("community-a/gateway").address
    m.ok(m.alice, dc.register_device("pv-g", "site-a", "pv", dc.device_public_key(key(9)), 5_000, gateway=gw))
    m.ok(m.alice, dc.register_device("load-g", "site-a", "meter", dc.device_public_key(key(8)), 20_000, gateway=gw))
    sink = _DriverSink(m)
    poster = ForecastPoster(
        sink, {"pv-g": PvForecaster(PvConfig(), 5_000), "load-g": LoadForecaster(LoadConfig(), 20_000)}, count=96
    )
    now = m.d.time
    height = asyncio.run(poster.post(now))
    assert sink.codes == [0, 0]
    assert height == m.d.height
    first = first_open_interval(now, L)
    assert first % L == 0
    assert first - 300 > now + 1  # still open for posting at the next block
    views = forecasts_pb2.ForecastViewList.FromString(m.d.query(f"/forecasts/load-g/{first}/96").value).forecasts
    assert all(v.source == forecasts_pb2.FORECAST_SOURCE_POSTED and v.import_wh > 0 for v in views)
    pv = forecasts_pb2.ForecastViewList.FromString(m.d.query(f"/forecasts/pv-g/{first}/96").value).forecasts
    assert max(v.export_wh for v in pv) > 0 == pv[0].export_wh  # January: a noon surplus, none at midnight
