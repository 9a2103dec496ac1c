"""Flexible loads: a heat-pump thermostat, a deferrable dryer and an EV's charging needs."""

from __future__ import annotations

import random
from dataclasses import dataclass

from devices.sim.base import MeteredDevice

__all__ = ["Dryer", "DryerConfig", "EvPlan", "Thermostat", "ThermostatConfig", "ev_plan_for_day"]

DAY = 86400


@dataclass(frozen=True, slots=True)
class ThermostatConfig:
    """Comfort settings and a first-order house model."""

    preferred_c: float = 20.5
    band_c: float = 1.0
    heat_w: float = 2000.0
    tau_h: float = 30.0  # house time constant, hours
    heat_gain_c_per_kwh: float = 0.9
    outdoor_mean_c: float = 5.0
    outdoor_swing_c: float = 4.0
    cheap_at_or_below: int = 20  # minor units per kWh


class Thermostat(MeteredDevice):
    """Keeps the room within `preferred ± band`, heating early when power is cheap.

    `price`, `dr_shed_c` (degrees a demand-response event lets the room drop) and `held` (no
    early heating: the owner's budget is spent) are set by its controller.
    """

    def __init__(self, cfg: ThermostatConfig, start: float, indoor_c: float | None = None) -> None:
        super().__init__(start)
        self.cfg = cfg
        self.indoor_c = cfg.preferred_c if indoor_c is None else indoor_c
        self.price = cfg.cheap_at_or_below + 1
        self.dr_shed_c = 0.0
        self.held = False
        self.heating = False

    def shed(self, level: int) -> None:
        """Demand response: let the room drop one degree per level (0 lifts it)."""
        self.dr_shed_c = float(level)

    def hold(self, on: bool) -> None:
        """Budget spent: no early heating while cheap (the comfort band is still kept)."""
        self.held = on

    def outdoor_c(self, t: float) -> float:
        """A daily sinusoid, coldest at 05:00 UTC."""
        import math  # noqa: PLC0415

        phase = ((t % DAY) / DAY - 17 / 24) * 2 * math.pi
        return self.cfg.outdoor_mean_c + self.cfg.outdoor_swing_c * math.cos(phase)

    def decide(self) -> bool:
        """Heat below the band, never above it, and inside it only when power is cheap (or to recover)."""
        low = self.cfg.preferred_c - self.cfg.band_c - self.dr_shed_c
        high = self.cfg.preferred_c + self.cfg.band_c
        if self.indoor_c < low:
            return True
        if self.indoor_c >= high:
            return False
        if self.price <= self.cfg.cheap_at_or_below and self.dr_shed_c == 0 and not self.held:
            return True
        return self.heating and self.indoor_c < self.cfg.preferred_c - self.dr_shed_c

    def power_w(self, t: float) -> float:
        """The heat pump's draw now."""
        self.heating = self.decide()
        return self.cfg.heat_w if self.heating else 0.0

    def on_step(self, t: float, seconds: float, power_w: float) -> None:
        """Room temperature follows losses to outdoors and the heat put in."""
        loss = (self.outdoor_c(t) - self.indoor_c) * seconds / (self.cfg.tau_h * 3600)
        gain = self.cfg.heat_gain_c_per_kwh * power_w * seconds / 3.6e6
        self.indoor_c += loss + gain


@dataclass(frozen=True, slots=True)
class DryerConfig:
    """One load of laundry a day: requested at `ready_h` local time, done by `deadline_h`."""

    power_w: float = 2200.0
    run_minutes: int = 90
    ready_h: float = 9.0
    deadline_h: float = 21.0
    utc_offset_h: float = 1.0
    max_price: int = 30  # runs only at or below this price, unless the deadline forces it


class Dryer(MeteredDevice):
    """Deferrable: waits while power is expensive, a DR event is active or it is held (budget
    spent); runs once its deadline forces it, or when told to run now (`run_now`)."""

    def __init__(self, cfg: DryerConfig, start: float) -> None:
        super().__init__(start)
        self.cfg = cfg
        self.price = 0
        self.dr_active = False
        self.held = False
        self.rush = False  # run_now: start as soon as the load is ready, whatever the price
        self.runs_done: set[int] = set()
        self.run_started: float | None = None
        self.deferred_minutes = 0
        self.forced = 0

    def shed(self, level: int) -> None:
        """Demand response: defer while any event is in force."""
        self.dr_active = level > 0

    def hold(self, on: bool) -> None:
        """Budget spent: wait (unless the deadline forces the run)."""
        self.held = on

    def run_now(self) -> None:
        """Deadline at risk: run today's load as soon as it is ready (no-op once it ran today)."""
        self.rush = True

    def _local_day(self, t: float) -> tuple[int, float]:
        local = t + self.cfg.utc_offset_h * 3600
        return int(local // DAY), (local % DAY) / 3600

    def power_w(self, t: float) -> float:
        """2.2 kW while running, else 0."""
        day, hour = self._local_day(t)
        if self.run_started is not None:
            if t - self.run_started < self.cfg.run_minutes * 60:
                return self.cfg.power_w
            self.run_started = None
            self.runs_done.add(day)
        if day in self.runs_done:
            self.rush = False
            return 0.0
        if hour < self.cfg.ready_h:
            return 0.0
        latest = self.cfg.deadline_h - self.cfg.run_minutes / 60
        if hour >= latest:
            self.forced += 1
            self.run_started = t
            return self.cfg.power_w
        if self.rush:
            self.rush = False
            self.run_started = t
            return self.cfg.power_w
        if self.dr_active or self.held or self.price > self.cfg.max_price:
            self.deferred_minutes += 1
            return 0.0
        self.run_started = t
        return self.cfg.power_w


@dataclass(frozen=True, slots=True)
class EvPlan:
    """One charging session: plug-in and departure times (unix s) and the energy the driver needs."""

    arrive: int
    depart: int
    need_wh: int


def ev_plan_for_day(seed: int, day_start: int, utc_offset_h: float = 1.0) -> EvPlan:
    """A seeded evening arrival (17:00-20:00 local), departure next morning 06:30-08:00, 6-24 kWh."""
    rng = random.Random(seed * 7919 + day_start // DAY)  # noqa: S311 - seeded simulation, not crypto
    local_midnight = day_start - int(utc_offset_h * 3600)
    arrive = local_midnight + int(rng.uniform(17, 20) * 3600)
    depart = local_midnight + DAY + int(rng.uniform(6.5, 8) * 3600)
    return EvPlan(arrive=arrive, depart=depart, need_wh=int(rng.uniform(6_000, 24_000)))
