"""The shape every simulated device shares: power over time integrated into Wh registers."""

from __future__ import annotations

from devices.records import Registers
from devices.sim.energy import EnergyRegister

__all__ = ["MeteredDevice"]

STEP_SECONDS = 60.0


class MeteredDevice:
    """A device whose net power (positive = import/consumption, negative = export/generation) is metered.

    Subclasses implement `power_w(t)`; `advance_to(t)` integrates it in steps of at most a minute.
    With `energy_divisor` > 1 (a demonstration's accelerated day on a real-time ledger) the
    energy registers count simulated energy ÷ that divisor: the same power over real seconds.
    """

    energy_divisor: float = 1.0

    def __init__(self, start: float) -> None:
        self.time = start
        self.imported = EnergyRegister()
        self.exported = EnergyRegister()

    def power_w(self, t: float) -> float:
        """Net power at simulated time `t` in W (import positive)."""
        raise NotImplementedError

    def on_step(self, t: float, seconds: float, power_w: float) -> None:
        """Hook called for each integration step (state machines update here)."""

    def advance_to(self, t: float) -> None:
        """Integrate power from the last time up to `t` (earlier `t` is ignored)."""
        while self.time < t:
            dt = min(STEP_SECONDS, t - self.time)
            p = self.power_w(self.time)
            self.imported.add(p, dt / self.energy_divisor)
            self.exported.add(-p, dt / self.energy_divisor)
            self.on_step(self.time, dt, p)
            self.time += dt

    def registers(self) -> Registers:
        """The cumulative registers now."""
        return Registers(import_wh=self.imported.wh, export_wh=self.exported.wh)
