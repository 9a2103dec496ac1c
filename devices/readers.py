"""The one interface the gateway reads devices through, and its non-network implementations."""

from __future__ import annotations

from typing import Protocol

from devices.ocpp_central import OcppCentralSystem
from devices.records import Registers
from devices.sim.base import MeteredDevice
from devices.sim.clock import Clock

__all__ = ["OcppReader", "RegisterReader", "SimReader"]


class RegisterReader(Protocol):
    """Reads one device's cumulative registers."""

    async def read_registers(self) -> Registers:
        """The registers now; raises an exception when the device cannot be read."""
        ...


class OcppReader:
    """A charger's register as its charge point last reported it to the central system."""

    def __init__(self, central: OcppCentralSystem, charge_point_id: str) -> None:
        self._central = central
        self._cp = charge_point_id

    async def read_registers(self) -> Registers:
        """Last reported Energy.Active.Import.Register."""
        return self._central.registers(self._cp)


class SimReader:
    """Reads a simulated appliance directly (devices that speak no metering protocol)."""

    def __init__(self, device: MeteredDevice, clock: Clock) -> None:
        self._device = device
        self._clock = clock

    async def read_registers(self) -> Registers:
        """Advance the simulation to now and return its registers."""
        self._device.advance_to(self._clock.now())
        return self._device.registers()
