"""Adapters against simulated devices speaking the real protocol over real sockets on 127.0.0.1."""

import asyncio
import socket
import time
from collections.abc import AsyncIterator
from datetime import timedelta

from devices.ocpp_central import OcppCentralSystem
from devices.openadr_ven import OpenAdrVen
from devices.signals import DrEvent
from devices.sim.battery import Battery, BatteryConfig, BatteryRules
from devices.sim.clock import ManualClock
from devices.sim.ev_charger import EvChargerConfig, EvChargerModel, SimChargePoint
from devices.sim.flex import EvPlan
from devices.sim.load import HouseholdLoad, LoadConfig
from devices.sim.pv import PvConfig, PvPlant
from devices.sim.sunspec_server import SunSpecSimServer, battery_image, inverter_image, meter_image
from devices.sunspec import SunSpecAdapter, SunSpecTarget
from devices.vtn import DrEventSpec, Vtn

T0 = 1781913600  # 2026-06-20 00:00 UTC


def test_sunspec_inverter_meter_battery_over_modbus_tcp():
    """The adapter reads each role's registers, matching the simulated devices and growing over the day."""
    clock = ManualClock(T0)
    pv = PvPlant(PvConfig(), 1, T0)
    load = HouseholdLoad(LoadConfig(), 2, T0)
    bat = Battery(BatteryConfig(), BatteryRules(10, 30, 20), T0)
    bat.price = 5  # cheap: the battery charges

    async def go() -> None:
        server = SunSpecSimServer(
            {1: inverter_image(pv, clock, "pv"), 2: meter_image(load, clock, "m"), 3: battery_image(bat, clock, "b")}
        )
        port = await server.start()
        adapters = [
            SunSpecAdapter(SunSpecTarget("127.0.0.1", port, u, r))
            for u, r in ((1, "inverter"), (2, "meter"), (3, "battery"))
        ]
        try:
            clock.advance(13 * 3600)
            inv, meter, battery = [await a.read_registers() for a in adapters]
            assert inv.export_wh == pv.exported.wh > 5000
            assert meter.import_wh == load.imported.wh > 0
            assert battery.charged_wh == bat.charged.wh > 0
            assert abs(battery.soc_wh - bat.soc_mwh // 1000) <= 2
            models = await adapters[2].scan()
            assert sorted(models) == [1, 124, 203, 802]
            clock.advance(3600)
            assert (await adapters[1].read_registers()).import_wh > meter.import_wh
        finally:
            for a in adapters:
                await a.close()
            await server.stop()

    asyncio.run(go())


def test_ocpp_session_is_metered_into_wh():
    """A charging session over the OCPP websocket yields the charger's Wh register and a priced session."""
    clock = ManualClock(T0)
    model = EvChargerModel(EvChargerConfig(), T0)
    model.plan = EvPlan(T0 + 600, T0 + 8 * 3600, 10_000)

    async def go() -> None:
        central = OcppCentralSystem(price=lambda _t: 20)
        port = await central.start()
        try:
            async with SimChargePoint.connected(f"ws://127.0.0.1:{port}", "cp-1", model, clock) as cp:
                assert central.is_connected("cp-1")
                for _ in range(12):
                    clock.advance(900)
                    await cp.tick()
            assert central.registers("cp-1").import_wh == model.imported.wh >= 10_000
            (session,) = central.sessions
            assert session.meter_start_wh == 0
            assert session.energy_wh == model.imported.wh
            assert session.cost_minor == session.energy_wh * 20 // 1000
        finally:
            await central.stop()

    asyncio.run(go())


def _free_port() -> int:
    """A port the kernel has just handed out and released (openleadr does not report the port
    it bound, so the VTN is given one); never one of the fixed ranges localnets use."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_openadr_event_reaches_the_ven_and_is_opted_in():
    """A VTN event becomes a DrEvent at the VEN, and the VTN records the opt-in."""
    now = int(time.time())
    spec = DrEventSpec("dr-1", now + 60, 1800, 2)

    async def source() -> AsyncIterator[DrEventSpec]:
        yield spec

    vtn_port = _free_port()

    async def go() -> None:
        vtn = Vtn("127.0.0.1", vtn_port, source, poll_s=0.5)
        await vtn.start()
        ven = OpenAdrVen("home-a", vtn.url)
        try:
            await ven.start()
            got = await asyncio.wait_for(anext(aiter(ven.signals())), timeout=20)
            assert got == DrEvent("dr-1", spec.start, spec.end, 2)
            for _ in range(50):
                if vtn.opts:
                    break
                await asyncio.sleep(0.1)
            assert vtn.opts == {("ven-home-a", "dr-1"): "optIn"}
        finally:
            await ven.stop()
            await vtn.stop()

    asyncio.run(go())
    assert timedelta(seconds=spec.duration_s) == timedelta(minutes=30)
