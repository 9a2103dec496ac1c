"""Home battery following its owner's rules: charge when price ≤ P, discharge when ≥ Q, keep R % reserve."""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

from devices.records import Registers
from devices.sim.base import STEP_SECONDS, MeteredDevice
from devices.sim.energy import EnergyRegister

__all__ = ["Battery", "BatteryConfig", "BatteryRules"]

_PPM = 1_000_000


@dataclass(frozen=True, slots=True)
class BatteryRules:
    """Owner rules (prices in minor units per kWh)."""

    charge_at_or_below: int
    discharge_at_or_above: int
    reserve_pct: int

    def __post_init__(self) -> None:
        if not 0 <= self.reserve_pct <= 100:
            raise ValueError("reserve_pct must be in [0, 100]")
        if self.charge_at_or_below >= self.discharge_at_or_above:
            raise ValueError("charge price must be below discharge price")


@dataclass(frozen=True, slots=True)
class BatteryConfig:
    """Nameplate: capacity, power limits, round-trip efficiency in basis points."""

    capacity_wh: int = 13_500
    max_charge_w: int = 5_000
    max_discharge_w: int = 5_000
    efficiency_bps: int = 9_000
    initial_soc_wh: int = 4_000


class Battery(MeteredDevice):
    """State of charge in integer mWh: charged energy × √η goes in, discharged energy ÷ √η comes out.

    The state of charge always stays within [0, capacity]; discharging stops at the reserve.
    """

    def __init__(self, cfg: BatteryConfig, rules: BatteryRules, start: float) -> None:
        super().__init__(start)
        self.cfg = cfg
        self.rules = rules
        self.price = (rules.charge_at_or_below + rules.discharge_at_or_above) // 2
        self.soc_mwh = cfg.initial_soc_wh * 1000
        self._sqrt_eff_ppm = math.isqrt(cfg.efficiency_bps * 100 * _PPM)
        self.charged = EnergyRegister()
        self.discharged = EnergyRegister()

    @property
    def reserve_mwh(self) -> int:
        """The reserve the owner keeps, in mWh."""
        return self.cfg.capacity_wh * 1000 * self.rules.reserve_pct // 100

    def scale_capacity(self, divisor: float) -> None:
        """Divide the capacity and the state of charge by `divisor` (with `energy_divisor`: a
        demonstration's battery in real-time energy, so a simulated day's charging fills it)."""
        self.cfg = replace(
            self.cfg,
            capacity_wh=max(1, round(self.cfg.capacity_wh / divisor)),
            initial_soc_wh=round(self.cfg.initial_soc_wh / divisor),
        )
        self.soc_mwh = round(self.soc_mwh / divisor)

    def mode(self) -> str:
        """'charge', 'discharge' or 'idle' for the current price and state of charge."""
        if self.price <= self.rules.charge_at_or_below and self.soc_mwh < self.cfg.capacity_wh * 1000:
            return "charge"
        if self.price >= self.rules.discharge_at_or_above and self.soc_mwh > self.reserve_mwh:
            return "discharge"
        return "idle"

    def power_w(self, t: float) -> float:
        """Positive while charging, negative while discharging; limited so one step cannot overshoot
        (a step's energy is power × seconds ÷ `energy_divisor`)."""
        mode = self.mode()
        if mode == "charge":
            room = self.cfg.capacity_wh * 1000 - self.soc_mwh
            limit = room * _PPM / self._sqrt_eff_ppm * 3.6 / STEP_SECONDS * self.energy_divisor
            return float(min(self.cfg.max_charge_w, limit))
        if mode == "discharge":
            avail = self.soc_mwh - self.reserve_mwh
            limit = avail * self._sqrt_eff_ppm / _PPM * 3.6 / STEP_SECONDS * self.energy_divisor
            return -float(min(self.cfg.max_discharge_w, limit))
        return 0.0

    def on_step(self, t: float, seconds: float, power_w: float) -> None:
        """Move energy through the charged/discharged registers and the state of charge."""
        mwh = round(abs(power_w) * seconds / self.energy_divisor / 3.6)
        if power_w > 0:
            self.charged.add_wh_milli(mwh)
            self.soc_mwh = min(self.cfg.capacity_wh * 1000, self.soc_mwh + mwh * self._sqrt_eff_ppm // _PPM)
        elif power_w < 0:
            self.discharged.add_wh_milli(mwh)
            self.soc_mwh = max(0, self.soc_mwh - mwh * _PPM // self._sqrt_eff_ppm)

    def registers(self) -> Registers:
        """Import = charged, export = discharged, plus the battery registers."""
        return Registers(
            import_wh=self.imported.wh,
            export_wh=self.exported.wh,
            charged_wh=self.charged.wh,
            discharged_wh=self.discharged.wh,
            soc_wh=self.soc_mwh // 1000,
        )
