"""A simulated household on a real-time ledger (the demo): its battery in the ledger's units, devices
that keep the simulated time, a configured EV session, and the charger's messages in ledger time."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from devices.config import ConfigError, parse_config
from devices.home import _ev_plan, _keep_time, _make
from devices.sim.battery import Battery, BatteryConfig, BatteryRules
from devices.sim.clock import ManualClock
from devices.sim.ev_charger import EvChargerConfig, EvChargerModel, SimChargePoint

DAY = 1_782_000_000 // 86_400 * 86_400


def test_a_scaled_battery_fills_at_full_power_in_the_ledgers_units() -> None:
    """13.5 kWh ÷ 180 is 75 Wh; an hour at 5 kW adds 5 kWh × √0.9 ÷ 180 ≈ 26 Wh (not slowed by the scale)."""
    battery = Battery(BatteryConfig(), BatteryRules(2_100, 2_400, 20), 0.0)
    battery.energy_divisor = 180.0
    battery.scale_capacity(180.0)
    assert (battery.cfg.capacity_wh, battery.soc_mwh // 1000) == (75, 22)
    battery.price = 1_400
    battery.advance_to(3_600.0)
    gained = battery.soc_mwh // 1000 - 22
    assert 25 <= gained <= 27
    assert battery.registers().charged_wh in (27, 28)  # 5 kWh ÷ 180 at the meter
    battery.price = 2_500
    battery.advance_to(4 * 3_600.0)
    assert battery.soc_mwh == battery.reserve_mwh  # discharged to the reserve, no further


def test_initial_state_of_charge_and_ev_session_are_configured_and_checked(tmp_path: Path) -> None:
    """initial_soc_pct sets the simulated battery's charge; an EV session needs arrive < depart within the day."""

    def cfg(**device: object) -> dict[str, object]:
        return {
            "gateway": {"chain_id": "c", "state_dir": str(tmp_path)},
            "simulation": {},
            "device": [{"id": "home-x", "adapter": "sim", "kind": "battery", **device}],
        }

    d = parse_config(cfg(initial_soc_pct=60), tmp_path).devices[0]
    made = _make("battery", 1, 0.0, d)
    assert isinstance(made, Battery)
    assert made.soc_mwh == 13_500 * 60 // 100 * 1000
    for bad, message in (
        ({"initial_soc_pct": 101}, "initial_soc_pct must be in 0..100"),
        ({"need_wh": 7_000, "arrive_hour": 15.0, "depart_hour": 10.0}, "arrive_hour < depart_hour"),
        ({"need_wh": -1}, "arrive_hour < depart_hour"),
    ):
        with pytest.raises(ConfigError, match=message):
            parse_config(cfg(**bad), tmp_path)
    ev = parse_config(cfg(need_wh=7_000, arrive_hour=10.0, depart_hour=15.5), tmp_path).devices[0]
    plan = _ev_plan(ev, 3)(DAY)
    assert (plan.arrive, plan.depart, plan.need_wh) == (DAY + 36_000, DAY + 55_800, 7_000)
    seeded = _ev_plan(parse_config(cfg(), tmp_path).devices[0], 3)(DAY)
    assert seeded.arrive > DAY + 15 * 3600  # without a session: the seeded evening arrival


def test_devices_keep_the_simulated_time_so_a_price_counts_from_when_it_came() -> None:
    """A battery read only at an interval's end still idles up to the moment a cheap price arrives."""
    clock = ManualClock(0.0)
    battery = Battery(BatteryConfig(), BatteryRules(2_100, 2_400, 20), 0.0)
    ev = EvChargerModel(EvChargerConfig(), 0.0)

    async def go() -> None:
        task = asyncio.create_task(_keep_time({"b": battery, "ev": ev}, clock, speed=1e9))
        clock.advance(1_800.0)
        while battery.time < 1_800.0:
            await asyncio.sleep(0.01)
        task.cancel()

    asyncio.run(go())
    assert battery.registers().charged_wh == 0  # idle (mid price) for the first half hour
    assert ev.time == 0.0  # the charger's own charge point drives it
    battery.price = 1_400
    battery.advance_to(3_600.0)
    assert 2_400 <= battery.registers().charged_wh <= 2_600  # half an hour at 5 kW, not an hour


def test_the_charge_point_stamps_its_messages_in_ledger_time() -> None:
    """With a stamp (a real-time ledger), a session's OCPP timestamps are the ledger's time of the simulated moment."""
    model = EvChargerModel(EvChargerConfig(), 0.0)
    cp = SimChargePoint("alice-ev", object(), model, ManualClock(0.0), stamp=lambda t: 1_000 + t / 180)
    assert cp.stamp(3_600.0) == 1_020.0
    assert SimChargePoint("x", object(), model, ManualClock(0.0)).stamp(5.0) == 5.0
