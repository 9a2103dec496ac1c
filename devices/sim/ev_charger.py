"""Simulated EV charger: a charge point speaking OCPP 1.6 to the gateway over a websocket.

It follows one `EvPlan` per day: the car plugs in, charges at full power whenever the price
is at or below the driver's limit (or when the remaining time needs it), and unplugs when full
or at departure. Sessions go out as StartTransaction / MeterValues / StopTransaction.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import websockets
from ocpp.v16 import ChargePoint, call  # type: ignore[import-untyped]
from ocpp.v16.enums import ChargePointStatus, Measurand, UnitOfMeasure  # type: ignore[import-untyped]

from devices.sim.base import MeteredDevice
from devices.sim.clock import Clock
from devices.sim.flex import EvPlan

__all__ = ["EvChargerConfig", "EvChargerModel", "SimChargePoint"]


@dataclass(frozen=True, slots=True)
class EvChargerConfig:
    """Charger power and the driver's price limit (minor units per kWh)."""

    max_w: float = 7400.0
    price_limit: int = 25


class EvChargerModel(MeteredDevice):
    """The charger's meter and the car's session state."""

    def __init__(self, cfg: EvChargerConfig, start: float) -> None:
        super().__init__(start)
        self.cfg = cfg
        self.price = 0
        self.plan: EvPlan | None = None
        self.delivered_mwh = 0
        self.held = False  # budget spent: charge only what the departure needs
        self.rush = False  # deadline at risk: charge now, whatever the price, until this session ends

    def hold(self, on: bool) -> None:
        """Budget spent: charge only when the departure needs it."""
        self.held = on

    def run_now(self) -> None:
        """Deadline at risk: charge at full power for the rest of this (or the next) session."""
        self.rush = True

    def plugged(self, t: float) -> bool:
        """A car is connected and still needs energy."""
        p = self.plan
        return p is not None and p.arrive <= t < p.depart and self.delivered_mwh < p.need_wh * 1000

    def power_w(self, t: float) -> float:
        """Full power when cheap enough or when the deadline needs it; else paused."""
        if not self.plugged(t):
            if self.plan is not None and t >= self.plan.arrive:
                self.rush = False  # the session it was for is over
            return 0.0
        assert self.plan is not None
        remaining_h = (self.plan.need_wh * 1000 - self.delivered_mwh) / 1000 / self.cfg.max_w
        must = (self.plan.depart - t) / 3600 <= remaining_h + 0.25 or self.rush
        cheap = self.price <= self.cfg.price_limit and not self.held
        return self.cfg.max_w if (cheap or must) else 0.0

    def on_step(self, t: float, seconds: float, power_w: float) -> None:
        """Count energy into the car."""
        self.delivered_mwh += round(power_w * seconds / 3.6)


def _iso(t: float) -> str:
    return datetime.fromtimestamp(t, UTC).isoformat()


class SimChargePoint(ChargePoint):  # type: ignore[misc]
    """The OCPP client side of the simulated charger."""

    def __init__(self, cp_id: str, connection: Any, model: EvChargerModel, clock: Clock) -> None:
        super().__init__(cp_id, connection)
        self.model = model
        self.clock = clock
        self.transaction_id: int | None = None

    async def boot(self) -> None:
        """BootNotification, then connector 1 Available."""
        await self.call(call.BootNotification(charge_point_model="sim-7kW", charge_point_vendor="gridledger"))
        await self.call(
            call.StatusNotification(connector_id=1, error_code="NoError", status=ChargePointStatus.available)
        )

    async def tick(self) -> None:
        """Advance the model to now and send what changed (start, meter values, stop)."""
        now = self.clock.now()
        plan = self.model.plan
        if self.transaction_id is None and plan is not None and self.model.time < plan.arrive <= now:
            self.model.advance_to(plan.arrive)  # report the start at the plug-in time
            now = float(plan.arrive)
        self.model.advance_to(now)
        register = self.model.imported.wh
        if self.transaction_id is None and self.model.plugged(now):
            res = await self.call(
                call.StartTransaction(connector_id=1, id_tag="driver-1", meter_start=register, timestamp=_iso(now))
            )
            self.transaction_id = int(res.transaction_id)
        elif self.transaction_id is not None and not self.model.plugged(now):
            await self.call(
                call.StopTransaction(meter_stop=register, timestamp=_iso(now), transaction_id=self.transaction_id)
            )
            self.transaction_id = None
        elif self.transaction_id is not None:
            sampled = {
                "value": str(register),
                "measurand": Measurand.energy_active_import_register,
                "unit": UnitOfMeasure.wh,
            }
            await self.call(
                call.MeterValues(
                    connector_id=1,
                    transaction_id=self.transaction_id,
                    meter_value=[{"timestamp": _iso(now), "sampled_value": [sampled]}],
                )
            )

    @classmethod
    @contextlib.asynccontextmanager
    async def connected(cls, url: str, cp_id: str, model: EvChargerModel, clock: Clock) -> Any:
        """Connect to `url/cp_id`, boot, and yield the running charge point; disconnects on exit."""
        async with websockets.connect(
            f"{url.rstrip('/')}/{cp_id}", subprotocols=[websockets.Subprotocol("ocpp1.6")]
        ) as ws:
            cp = cls(cp_id, ws, model, clock)
            reader = asyncio.create_task(cp.start())
            try:
                await cp.boot()
                yield cp
            finally:
                reader.cancel()
                with contextlib.suppress(asyncio.CancelledError, websockets.ConnectionClosed):
                    await reader
