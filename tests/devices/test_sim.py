"""Simulated devices: realistic shapes, seeded repeatability, owner rules and DR response."""

from devices.controllers import HomeController
from devices.signals import DrEvent, PriceSignal
from devices.sim.battery import Battery, BatteryConfig, BatteryRules
from devices.sim.flex import Dryer, DryerConfig
from devices.sim.pv import PvConfig, PvPlant
from devices.sim.wind import WindConfig, power_curve_w

T0 = 1781913600  # 2026-06-20 00:00 UTC


def test_pv_is_dark_at_night_bright_at_noon_and_seeded():
    """No output at 01:00 UTC, kW at noon in June, and the same seed gives the same day."""
    a, b = PvPlant(PvConfig(), 3, T0), PvPlant(PvConfig(), 3, T0)
    assert a.power_w(T0 + 3600) == 0.0
    assert -a.power_w(T0 + 12 * 3600) > 1000
    a.advance_to(T0 + 86400)
    b.advance_to(T0 + 86400)
    assert a.exported.wh == b.exported.wh > 10_000


def test_wind_power_curve():
    """Zero below cut-in and above cut-out, rated at and above rated speed."""
    cfg = WindConfig()
    assert power_curve_w(cfg, 2.0) == 0.0
    assert power_curve_w(cfg, 13.0) == cfg.rated_w
    assert power_curve_w(cfg, 30.0) == 0.0
    assert 0 < power_curve_w(cfg, 8.0) < cfg.rated_w


def test_battery_follows_rules_and_stays_in_bounds():
    """Charges to full when cheap, discharges to the reserve when expensive, never beyond."""
    bat = Battery(BatteryConfig(), BatteryRules(10, 30, 20), T0)
    bat.price = 5
    bat.advance_to(T0 + 6 * 3600)
    assert bat.soc_mwh <= bat.cfg.capacity_wh * 1000
    assert bat.soc_mwh > bat.cfg.capacity_wh * 990
    bat.price = 40
    bat.advance_to(T0 + 12 * 3600)
    assert bat.soc_mwh >= bat.reserve_mwh
    assert bat.soc_mwh < bat.reserve_mwh + 100_000
    regs = bat.registers()
    assert regs.charged_wh > 0
    assert regs.discharged_wh > 0


def test_dryer_is_deferred_by_price_and_dr_event_then_runs():
    """High prices and a DR event defer the dryer; it runs once the price falls."""
    dryer = Dryer(DryerConfig(utc_offset_h=0), T0)
    ctl = HomeController([dryer], [dryer])
    ctl.receive(PriceSignal(T0, T0 + 12 * 3600, 50))
    ctl.receive(PriceSignal(T0 + 12 * 3600, T0 + 86400, 10))
    ctl.receive(DrEvent("dr-1", T0 + 12 * 3600, T0 + 13 * 3600, 2))
    t = T0
    while t < T0 + 16 * 3600:
        ctl.apply(t)
        dryer.advance_to(t + 300)
        t += 300
    assert dryer.deferred_minutes > 0
    assert dryer.imported.wh >= 3000  # one 90-minute run at 2.2 kW
    assert dryer.forced == 0


def test_real_time_ledger_energy_is_simulated_energy_over_speed() -> None:
    """With energy_divisor = speed, a device's day keeps its shape but its registers carry the
    energy of real seconds: 1/speed of the simulated energy (so readings pass the nameplate check)."""
    from devices.sim.pv import PvConfig, PvPlant

    day = 1_781_913_600 // 86_400 * 86_400
    plain = PvPlant(PvConfig(cloudiness=0.0), 3, day)
    scaled = PvPlant(PvConfig(cloudiness=0.0), 3, day)
    scaled.energy_divisor = 60.0
    plain.advance_to(day + 86_400)
    scaled.advance_to(day + 86_400)
    assert plain.exported.wh > 10_000
    assert abs(scaled.exported.wh - plain.exported.wh / 60) <= 2


def test_a_price_that_arrives_late_still_applies() -> None:
    """A price signal arriving after its interval began (OpenADR VENs poll) is in force from
    then on, and the last known price carries forward until the next one."""
    battery = Battery(BatteryConfig(), BatteryRules(20, 30, 20), 0)
    controller = HomeController([battery], [])
    controller.receive(PriceSignal(100, 120, 35))
    controller.apply(125)  # the next interval's signal has not arrived yet
    assert battery.price == 35
    assert battery.mode() == "discharge"
    controller.receive(PriceSignal(120, 140, 10))
    controller.apply(125)
    assert battery.price == 10
    assert controller.price_at(99) is None
