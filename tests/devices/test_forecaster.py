"""The gateway's forecasts: PV from pvlib's clear sky (nothing at night, within nameplate,
scaled by the cloudiness measured from readings), loads from their profile, and one tx of
PostForecast messages that the ledger accepts from the device's gateway."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Sequence
from pathlib import Path

import pytest
from gridledger.forecasts.v1 import forecasts_pb2

from clients import devices as dc
from clients.ops.consortium import Consortium
from devices.config import ConfigError, GatewayConfig, parse_config
from devices.forecaster import ForecastPoster, LoadForecaster, PvForecaster, ScaledForecaster, first_open_interval
from devices.gateway import COMMIT_SLACK_S, Gateway, forecast_poster
from devices.home import start_home
from devices.keys import DeviceKey
from devices.outbox import Outbox
from devices.sim.load import LoadConfig
from devices.sim.pv import PvConfig
from devices.sink import MemorySink, SinkUnavailableError
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


# -- the running gateway posts forecasts ------------------------------------------------------------


def _gateway_config(tmp_path: Path, devices: list[dict[str, object]], **gateway: object) -> GatewayConfig:
    gateway.setdefault("interval_seconds", 20)
    data = {
        "gateway": {"chain_id": "test-chain", "state_dir": str(tmp_path / "state"), **gateway},
        "simulation": {"speed": 180.0, "start": JUNE + 6 * 3600, "real_time_ledger": True},
        "device": devices,
    }
    return parse_config(data, tmp_path)


PV_DEVICE = {"id": "alice-pv", "adapter": "sim", "kind": "pv", "forecast": "pv", "nameplate_w": 5_000}
LOAD_DEVICE = {"id": "alice-meter", "adapter": "sim", "kind": "load", "forecast": "load", "nameplate_w": 10_000}


def test_forecast_settings_are_checked_with_config_errors(tmp_path: Path) -> None:
    """forecast kinds, nameplates and forecast_intervals are validated; a wrong one is a one-line ConfigError."""
    cfg = _gateway_config(tmp_path, [PV_DEVICE], forecast_intervals=3, forecast_lock_seconds=4)
    assert (cfg.forecast_intervals, cfg.forecast_lock_seconds, cfg.devices[0].forecast) == (3, 4, "pv")
    for devices, gateway, message in (
        ([{**PV_DEVICE, "forecast": "wind"}], {}, "unknown forecast 'wind'"),
        ([{**PV_DEVICE, "nameplate_w": 0}], {}, "needs nameplate_w > 0"),
        ([{**PV_DEVICE, "nameplate_w": "5 kW"}], {}, "nameplate_w must be a whole number"),
        ([PV_DEVICE], {"forecast_intervals": -1}, "forecast_intervals must be in 0..672"),
        ([PV_DEVICE], {"forecast_intervals": 673}, "forecast_intervals must be in 0..672"),
        ([PV_DEVICE], {"forecast_lock_seconds": -1}, "forecast_lock_seconds must not be negative"),
        ([{**LOAD_DEVICE, "forecast": ""}], {"forecast_intervals": 2}, "needs a device with forecast"),
    ):
        with pytest.raises(ConfigError, match=re.escape(message)):
            _gateway_config(tmp_path, devices, **gateway)


def test_scaled_forecasts_are_the_simulated_span_in_the_ledgers_units() -> None:
    """On a 180× day a 20 s ledger interval stands for a simulated hour: its slot is that hour's forecast ÷ 180."""
    pv = PvForecaster(PvConfig(), 5_000)
    ledger_t0, sim_t0 = 1_000_000_000, JUNE + 6 * 3600  # ledger time t0 is 06:00 of the simulated day
    scaled = ScaledForecaster(pv, lambda t: sim_t0 + (t - ledger_t0) * 180, 180.0)
    slots = scaled.slots(ledger_t0, 16, 20)  # 06:00 .. 22:00
    hourly = [pv.slots(sim_t0 + h * 3600, 1, 3600)[0][0] for h in range(16)]
    assert [e for e, _i in slots] == [int(wh // 180) for wh in hourly]
    noon = slots[6][0]
    assert 10 <= noon <= 5_000 * 20 // 3600 + 1  # a real-time 20 s interval of a 5 kW plant
    assert max(slots, key=lambda s: s[0]) in slots[4:9]  # the sun's peak around noon (+2 h: UTC)


class _Sink(MemorySink):
    """MemorySink whose forecasts post can fail once."""

    def __init__(self) -> None:
        super().__init__()
        self.fail_next = False

    async def post_forecasts(self, messages: Sequence[forecasts_pb2.PostForecast]) -> int:
        if self.fail_next:
            self.fail_next = False
            raise SinkUnavailableError("refused (test)")
        return await super().post_forecasts(messages)


def test_the_running_gateway_posts_forecasts_at_start_and_after_each_interval(tmp_path: Path) -> None:
    """The configured devices' forecasts go through the readings' sink: once at start, again after each
    interval's readings, for the next open intervals in the ledger's units; a refused post is retried
    at the next interval and does not stop the readings."""
    cfg = _gateway_config(
        tmp_path,
        [PV_DEVICE, LOAD_DEVICE, {"id": "alice-other", "adapter": "sim", "kind": "load"}],
        forecast_intervals=3,
        forecast_lock_seconds=4,
        interval_seconds=10,  # a short interval: the test waits for one boundary
    )
    sink = _Sink()

    async def go() -> Gateway:
        with Outbox(tmp_path / "outbox.sqlite") as outbox:
            async with start_home(cfg, outbox) as home:
                poster = forecast_poster(cfg, sink, home)
                assert poster is not None
                assert poster.lock == 4 + COMMIT_SLACK_S
                keys = {d.id: DeviceKey.generate() for d in cfg.devices}
                gw = Gateway(cfg.chain_id, outbox, sink, home.readers, keys, interval_seconds=10, forecasts=poster)
                stop = asyncio.Event()
                run = asyncio.create_task(gw.run(home.clock, home.speed, stop))
                while len(sink.forecasts) < 1:
                    await asyncio.sleep(0.01)
                sink.fail_next = True  # the next interval's post is refused
                while len(sink.forecasts) < 2 or not sink.accepted:
                    await asyncio.sleep(0.05)
                stop.set()
                await run
                return gw

    gw = asyncio.run(go())
    first, later = sink.forecasts[0], sink.forecasts[-1]
    assert [m.device_id for m in first] == ["alice-meter", "alice-pv"]  # only the devices with `forecast`
    assert all(len(m.slots) == 3 and m.first_interval % 10 == 0 for m in first)
    assert later[0].first_interval > first[0].first_interval  # posted again for the intervals then open
    assert gw.forecast_heights == sorted(gw.forecast_heights)
    assert len(gw.forecast_heights) == len(sink.forecasts)
    cap = {"alice-pv": -(-5_000 * 10 // 3600), "alice-meter": -(-10_000 * 10 // 3600)}
    for post in sink.forecasts:
        for m in post:
            assert all(s.export_wh <= cap[m.device_id] and s.import_wh <= cap[m.device_id] for s in m.slots)
    loads = [s.import_wh for post in sink.forecasts for m in post if m.device_id == "alice-meter" for s in m.slots]
    assert loads
    assert 0 < max(loads) <= 6  # ~250-2000 W over 10 s: a few Wh, not the simulated half hour's hundreds
    assert sink.accepted  # the readings went on
