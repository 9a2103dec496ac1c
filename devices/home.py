"""Wires a gateway config to adapters, and (with `[simulation]`) to a simulated home speaking real protocols."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field

from devices.actuators import BatterySetPoint, ChargerProfile, InverterLimit
from devices.bridge_link import bridge_signal_source, pump_signals
from devices.config import DeviceConfig, GatewayConfig
from devices.controllers import Actuator, HomeController, LimitEnforcer, PriceFollower, Sheddable
from devices.ocpp_central import OcppCentralSystem
from devices.openadr_ven import OpenAdrVen
from devices.outbox import Outbox
from devices.readers import OcppReader, RegisterReader, SimReader
from devices.signals import SeenSignals
from devices.sim.base import STEP_SECONDS, MeteredDevice
from devices.sim.battery import Battery, BatteryConfig, BatteryRules
from devices.sim.clock import AcceleratedClock, Clock
from devices.sim.ev_charger import EvChargerConfig, EvChargerModel, SimChargePoint
from devices.sim.flex import Dryer, DryerConfig, EvPlan, Thermostat, ThermostatConfig, ev_plan_for_day
from devices.sim.load import HouseholdLoad, LoadConfig
from devices.sim.pv import PvConfig, PvPlant
from devices.sim.sunspec_server import ImageSource, SunSpecSimServer, battery_image, inverter_image, meter_image
from devices.sim.wind import WindConfig, WindTurbine
from devices.sunspec import SunSpecAdapter, SunSpecTarget

__all__ = ["Home", "start_home"]


@dataclass
class Home:
    """What the gateway runs against: readers per device, the clock, and the controller."""

    readers: dict[str, RegisterReader]
    clock: Clock
    speed: float
    controller: HomeController
    sim_devices: dict[str, MeteredDevice] = field(default_factory=dict)
    sim_clock: Clock | None = None  # the simulated day's clock, when it differs from `clock`
    central: OcppCentralSystem | None = None  # the EV chargers' central system
    enforcer: LimitEnforcer | None = None  # holds the devices to the grid's instructions
    # the simulated time of a ledger time (None: the same clock) and the simulated energy's
    # divisor into the ledger's units (real_time_ledger: the speed), for the gateway's forecasts
    to_sim: Callable[[float], float] | None = None
    energy_divisor: float = 1.0


def _simulated(cfg: GatewayConfig, clock: Clock) -> dict[str, MeteredDevice]:
    assert cfg.simulation is not None
    seed, start = cfg.simulation.seed, float(cfg.simulation.start)
    out: dict[str, MeteredDevice] = {}
    for i, d in enumerate(cfg.devices):
        kind = d.kind or {"inverter": "pv", "meter": "load", "battery": "battery"}.get(d.role, "ev")
        s = seed * 1000 + i
        out[d.id] = _make(kind, s, start, d)
    return out


def _make(kind: str, seed: int, start: float, d: DeviceConfig | None = None) -> MeteredDevice:
    """A simulated device of `kind`, with its owner's settings from `d` where given."""
    if kind == "pv":
        return PvPlant(PvConfig(), seed, start)
    if kind == "wind":
        return WindTurbine(WindConfig(), seed, start)
    if kind == "load":
        return HouseholdLoad(LoadConfig(), seed, start)
    if kind == "battery":
        rules = BatteryRules(15, 30, 20)
        if d is not None and d.charge_at_or_below and d.discharge_at_or_above:
            rules = BatteryRules(d.charge_at_or_below, d.discharge_at_or_above, d.reserve_pct)
        battery = BatteryConfig()
        if d is not None and d.initial_soc_pct:
            battery = BatteryConfig(initial_soc_wh=battery.capacity_wh * d.initial_soc_pct // 100)
        return Battery(battery, rules, start)
    if kind == "ev":
        return EvChargerModel(
            EvChargerConfig(price_limit=d.max_price) if d is not None and d.max_price else EvChargerConfig(), start
        )
    if kind == "dryer":
        cfg = DryerConfig(max_price=d.max_price) if d is not None and d.max_price else DryerConfig()
        return Dryer(cfg, start)
    if kind == "thermostat":
        if d is not None and d.cheap_at_or_below:
            return Thermostat(ThermostatConfig(cheap_at_or_below=d.cheap_at_or_below), start)
        return Thermostat(ThermostatConfig(), start)
    raise ValueError(f"unknown simulated device kind {kind!r}")


def _ev_plan(d: DeviceConfig, seed: int) -> Callable[[int], EvPlan]:
    """The charger's session of a simulated day: the configured one, else the seeded evening's."""
    if not d.need_wh:
        return lambda day: ev_plan_for_day(seed, day)
    return lambda day: EvPlan(day + int(d.arrive_hour * 3600), day + int(d.depart_hour * 3600), d.need_wh)


async def _drive_charger(
    url: str,
    cp_id: str,
    model: EvChargerModel,
    clock: Clock,
    *,
    plan_for: Callable[[int], EvPlan],
    speed: float,
    stamp: Callable[[float], float] | None = None,
) -> None:
    async with SimChargePoint.connected(url, cp_id, model, clock, stamp) as cp:
        while True:
            day = int(clock.now()) // 86400 * 86400
            if model.plan is None or model.plan.depart < clock.now():
                model.plan = plan_for(day)
            await cp.tick()
            await asyncio.sleep(300 / speed)


async def _keep_time(devices: dict[str, MeteredDevice], clock: Clock, speed: float) -> None:
    """Advance the simulated devices (but the EV chargers, which their charge point drives) to
    the simulated time every step: a device integrates its power lazily, when read, so without
    this a price or limit applied now would count from its last reading on."""
    steppers = [d for d in devices.values() if not isinstance(d, EvChargerModel)]
    while True:
        now = clock.now()
        for device in steppers:
            device.advance_to(now)
        await asyncio.sleep(max(0.05, STEP_SECONDS / speed))


@contextlib.asynccontextmanager
async def start_home(cfg: GatewayConfig, outbox: Outbox | None = None) -> AsyncIterator[Home]:
    """Start the adapters (and simulated devices) of `cfg`; everything is stopped on exit. The
    central system keeps the chargers' open transactions in `outbox` (the gateway's file, so a
    session survives a restart; in memory when None)."""
    sim = cfg.simulation
    speed = sim.speed if sim else 1.0
    clock: Clock = AcceleratedClock(sim.start, speed) if sim else AcceleratedClock(time.time())
    devices = _simulated(cfg, clock) if sim else {}
    # The clock readings are stamped with and the controller follows: the simulated one, or
    # real time when the simulated day only drives the devices (real_time_ledger).
    ledger_clock, ledger_speed = clock, speed
    to_sim: Callable[[float], float] | None = None
    to_ledger: Callable[[float], float] | None = None
    if sim is not None and sim.real_time_ledger:
        ledger_clock, ledger_speed = AcceleratedClock(time.time(), 1.0), 1.0
        sim_at, ledger_at = clock.now(), ledger_clock.now()

        def to_sim(t: float) -> float:
            return sim_at + (t - ledger_at) * speed

        def to_ledger(t: float) -> float:
            return ledger_at + (t - sim_at) / speed

        for simulated in devices.values():
            simulated.energy_divisor = speed
            if isinstance(simulated, Battery):  # its capacity in the ledger's units too
                simulated.scale_capacity(speed)
    central = OcppCentralSystem(*_host_port(cfg.ocpp_listen), outbox=outbox)
    servers: list[SunSpecSimServer] = []
    tasks: list[asyncio.Task[None]] = []
    adapters: list[SunSpecAdapter] = []
    ven: OpenAdrVen | None = None
    own_outbox: Outbox | None = None
    try:
        await central.start()
        by_endpoint: dict[tuple[str, int], dict[int, ImageSource]] = {}
        readers: dict[str, RegisterReader] = {}
        actuators: list[Actuator] = []
        for d in cfg.devices:
            dev = devices.get(d.id)
            if d.adapter == "sunspec":
                if dev is not None:
                    maker = {"inverter": inverter_image, "meter": meter_image}.get(d.role)
                    image = battery_image(dev, clock, d.id) if isinstance(dev, Battery) else maker(dev, clock, d.id)  # type: ignore[misc]
                    by_endpoint.setdefault((d.host, d.port), {})[d.unit] = image
                adapter = SunSpecAdapter(SunSpecTarget(d.host, d.port, d.unit, d.role))
                adapters.append(adapter)
                readers[d.id] = adapter
                if d.role == "inverter":
                    actuators.append(InverterLimit(d.id, adapter))
                elif d.role == "battery":
                    actuators.append(BatterySetPoint(d.id, adapter))
            elif d.adapter == "ocpp":
                readers[d.id] = OcppReader(central, d.charge_point_id)
                actuators.append(ChargerProfile(d.id, central, d.charge_point_id))
                if isinstance(dev, EvChargerModel):
                    url = f"ws://127.0.0.1:{central.port}"
                    tasks.append(
                        asyncio.create_task(
                            _drive_charger(
                                url,
                                d.charge_point_id,
                                dev,
                                clock,
                                plan_for=_ev_plan(d, sim.seed if sim else 0),
                                speed=speed,
                                stamp=to_ledger,
                            )
                        )
                    )
            else:
                if dev is None:
                    raise ValueError(f"device {d.id}: adapter 'sim' needs [simulation]")
                readers[d.id] = SimReader(dev, clock)
        for (host, port), units in sorted(by_endpoint.items()):
            server = SunSpecSimServer(units, host, port)
            await server.start()
            servers.append(server)
        followers: list[PriceFollower] = [
            x for x in devices.values() if isinstance(x, (Battery, Thermostat, Dryer, EvChargerModel))
        ]
        sheddables: list[Sheddable] = [x for x in devices.values() if isinstance(x, (Thermostat, Dryer))]
        flexible = [x for x in devices.values() if isinstance(x, (Thermostat, Dryer, EvChargerModel))]
        deferrable = [x for x in devices.values() if isinstance(x, (Dryer, EvChargerModel))]
        controller = HomeController(followers, sheddables, holdables=flexible, deferrables=deferrable)
        enforcer = LimitEnforcer(controller, actuators, ledger_clock.now, speed=ledger_speed)
        tasks.append(asyncio.create_task(enforcer.run()))
        if devices:
            tasks.append(asyncio.create_task(_keep_time(devices, clock, speed)))
        seen = SeenSignals()  # a DR event or price from both the VEN and the bridge is applied once
        if cfg.vtn_url and cfg.signals in ("openadr", "both"):
            ven = OpenAdrVen(cfg.ven_name or "gateway", cfg.vtn_url)
            await ven.start()
            tasks.append(asyncio.create_task(pump_signals(ven, controller, seen=seen, now=ledger_clock.now)))
        if cfg.signals in ("bridge", "both"):
            if outbox is None:  # no file: the stream's height is kept for this run only
                outbox = own_outbox = Outbox(":memory:")
            source = bridge_signal_source(cfg, outbox, clock=ledger_clock.now)
            tasks.append(asyncio.create_task(pump_signals(source, controller, seen=seen, now=ledger_clock.now)))
        yield Home(
            readers,
            ledger_clock,
            ledger_speed,
            controller,
            devices,
            sim_clock=clock,
            central=central,
            enforcer=enforcer,
            to_sim=to_sim,
            energy_divisor=speed if to_sim is not None else 1.0,
        )
    finally:
        for task in tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        if ven is not None:
            await ven.stop()
        for adapter in adapters:
            await adapter.close()
        for server in servers:
            await server.stop()
        await central.stop()
        if own_outbox is not None:
            own_outbox.close()


def _host_port(text: str) -> tuple[str, int]:
    host, _, port = text.rpartition(":")
    return host or "127.0.0.1", int(port)
