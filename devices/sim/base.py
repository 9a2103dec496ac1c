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

    A device obeys the limits its controls set (the inverter's WMaxLimPct, the battery's storage
    controls, the charger's charging profile): `export_limit_w` caps what it exports (generation,
    discharge) and `import_limit_w` what it imports (consumption, charging), None meaning no cap;
    `metered_power_w` is the power after the caps, the one integrated into the registers.
    """

    energy_divisor: float = 1.0
    export_limit_w: float | None = None
    import_limit_w: float | None = None

    def __init__(self, start: float) -> None:
        self.time = start
        self.imported = EnergyRegister()
        self.exported = EnergyRegister()

    def power_w(self, t: float) -> float:
        """Net power at simulated time `t` in W (import positive)."""
        raise NotImplementedError

    def metered_power_w(self, t: float) -> float:
        """`power_w(t)` within the caps in force (see the class docstring)."""
        p = self.power_w(t)
        if self.export_limit_w is not None and p < -self.export_limit_w:
            p = -max(0.0, self.export_limit_w)
        if self.import_limit_w is not None and p > self.import_limit_w:
            p = max(0.0, self.import_limit_w)
        return p

    def on_step(self, t: float, seconds: float, power_w: float) -> None:
        """Hook called for each integration step (state machines update here)."""

    def advance_to(self, t: float) -> None:
        """Integrate power from the last time up to `t` (earlier `t` is ignored)."""
        while self.time < t:
            dt = min(STEP_SECONDS, t - self.time)
            p = self.metered_power_w(self.time)
            self.imported.add(p, dt / self.energy_divisor)
            self.exported.add(-p, dt / self.energy_divisor)
            self.on_step(self.time, dt, p)
            self.time += dt

    def registers(self) -> Registers:
        """The cumulative registers now."""
        return Registers(import_wh=self.imported.wh, export_wh=self.exported.wh)
