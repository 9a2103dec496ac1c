"""Simulated EV charger: a charge point speaking OCPP 1.6 to the gateway over a websocket.

It follows one `EvPlan` per day: the car plugs in, charges at full power whenever the price
is at or below the driver's limit (or when the remaining time needs it), and unplugs when full
or at departure. Sessions go out as StartTransaction / MeterValues / StopTransaction.

It obeys the charging profiles the central system sets (SetChargingProfile, OCPP 1.6 §5.16):
of each purpose the profile with the highest stack level counts, and the charger draws at most
the lowest of those limits (its first schedule period; a limit in A is taken at 230 V per phase,
three phases unless the period says otherwise); ClearChargingProfile removes profiles by id, or
by purpose and/or stack level, or all. A profile that is not understood (no schedule period, a
negative limit, an unknown unit) is rejected and changes nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import websockets
from ocpp.routing import on  # type: ignore[import-untyped]
from ocpp.v16 import ChargePoint, call, call_result  # type: ignore[import-untyped]
from ocpp.v16.enums import (  # type: ignore[import-untyped]
    Action,
    ChargePointStatus,
    ChargingProfileStatus,
    ClearChargingProfileStatus,
    Measurand,
    UnitOfMeasure,
)

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
        self.profiles: dict[int, tuple[str, int, float]] = {}  # charging profile id -> (purpose, stack level, W)

    def set_profile(self, profile_id: int, purpose: str, stack_level: int, limit_w: float) -> None:
        """Keep a charging profile (replacing one with the same id) and apply the limits."""
        self.profiles[profile_id] = (purpose, stack_level, limit_w)
        self._limit()

    def clear_profiles(self, profile_id: int | None, purpose: str | None, stack_level: int | None) -> int:
        """Remove the matching profiles (see the module docstring); returns how many."""
        gone = [
            i
            for i, (p, level, _) in self.profiles.items()
            if (profile_id is None or i == profile_id)
            and (purpose is None or p == purpose)
            and (stack_level is None or level == stack_level)
        ]
        for i in gone:
            del self.profiles[i]
        self._limit()
        return len(gone)

    def _limit(self) -> None:
        top: dict[str, tuple[int, float]] = {}
        for purpose, level, limit in self.profiles.values():
            if purpose not in top or level > top[purpose][0]:
                top[purpose] = (level, limit)
        self.import_limit_w = min((limit for _, limit in top.values()), default=None)

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

    def __init__(
        self,
        cp_id: str,
        connection: Any,
        model: EvChargerModel,
        clock: Clock,
        stamp: Callable[[float], float] | None = None,
    ) -> None:
        super().__init__(cp_id, connection)
        self.model = model
        self.clock = clock
        self.transaction_id: int | None = None
        # the time its messages carry for a simulated time (a real_time_ledger demonstration:
        # the ledger's time, so a session's hours are the ledger's); None: the simulated time
        self.stamp = stamp or (lambda t: t)

    @on(Action.set_charging_profile)
    def on_set_charging_profile(self, connector_id: int, cs_charging_profiles: dict[str, Any], **_: Any) -> Any:
        """Keep the profile and draw within it (see the module docstring)."""
        try:
            schedule = cs_charging_profiles["charging_schedule"]
            first = schedule["charging_schedule_period"][0]
            limit = float(first["limit"])
            unit = schedule["charging_rate_unit"]
            if unit == "A":
                limit *= 230.0 * int(first.get("number_phases", 3))
            if unit not in ("W", "A") or not limit >= 0:
                raise ValueError(f"limit {first['limit']} {unit}")
            self.model.set_profile(
                int(cs_charging_profiles["charging_profile_id"]),
                str(cs_charging_profiles["charging_profile_purpose"]),
                int(cs_charging_profiles["stack_level"]),
                limit,
            )
        except (KeyError, IndexError, TypeError, ValueError):
            return call_result.SetChargingProfile(status=ChargingProfileStatus.rejected)
        return call_result.SetChargingProfile(status=ChargingProfileStatus.accepted)

    @on(Action.clear_charging_profile)
    def on_clear_charging_profile(self, **kw: Any) -> Any:
        """Remove the matching profiles: Accepted when some were removed, else Unknown."""
        gone = self.model.clear_profiles(kw.get("id"), kw.get("charging_profile_purpose"), kw.get("stack_level"))
        return call_result.ClearChargingProfile(
            status=ClearChargingProfileStatus.accepted if gone else ClearChargingProfileStatus.unknown
        )

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
                call.StartTransaction(
                    connector_id=1, id_tag="driver-1", meter_start=register, timestamp=_iso(self.stamp(now))
                )
            )
            self.transaction_id = int(res.transaction_id)
        elif self.transaction_id is not None and not self.model.plugged(now):
            await self.call(
                call.StopTransaction(
                    meter_stop=register, timestamp=_iso(self.stamp(now)), transaction_id=self.transaction_id
                )
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
                    meter_value=[{"timestamp": _iso(self.stamp(now)), "sampled_value": [sampled]}],
                )
            )

    @classmethod
    @contextlib.asynccontextmanager
    async def connected(
        cls, url: str, cp_id: str, model: EvChargerModel, clock: Clock, stamp: Callable[[float], float] | None = None
    ) -> Any:
        """Connect to `url/cp_id`, boot, and yield the running charge point; disconnects on exit."""
        async with websockets.connect(
            f"{url.rstrip('/')}/{cp_id}", subprotocols=[websockets.Subprotocol("ocpp1.6")]
        ) as ws:
            cp = cls(cp_id, ws, model, clock, stamp)
            reader = asyncio.create_task(cp.start())
            try:
                await cp.boot()
                yield cp
            finally:
                reader.cancel()
                with contextlib.suppress(asyncio.CancelledError, websockets.ConnectionClosed):
                    await reader
