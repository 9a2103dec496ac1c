"""Adapters against simulated devices speaking the real protocol over real sockets on 127.0.0.1."""

import asyncio
import socket
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

from ocpp.v16 import call  # type: ignore[import-untyped]

from devices.ocpp_central import ChargingSession, OcppCentralSystem
from devices.openadr_ven import OpenAdrVen
from devices.outbox import Outbox, SessionClaim
from devices.session_claims import ClaimAnswer, SessionClaims
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


def _iso(t: float) -> str:
    return datetime.fromtimestamp(t, UTC).isoformat()


def test_ocpp_session_survives_a_central_system_restart(tmp_path: Path) -> None:
    """The central system stops mid-session and starts again on the same outbox file; the charger
    reconnects and sends its StopTransaction (queued while offline), then resends it: one session
    and one claim, with the whole session's Wh; an unknown transaction's stop is answered normally."""
    clock = ManualClock(T0)
    model = EvChargerModel(EvChargerConfig(), T0)
    model.plan = EvPlan(T0 + 600, T0 + 8 * 3600, 10_000)
    path = tmp_path / "outbox.sqlite"

    async def never(_claim: SessionClaim) -> ClaimAnswer:
        raise AssertionError("not claimed here")

    def central_on(ob: Outbox) -> OcppCentralSystem:
        central = OcppCentralSystem(price=lambda _t: 20, outbox=ob)
        hook = SessionClaims(ob, never).hook({"cp-1": "ev.1"}, b"\x03" * 20)
        central.claim_of, central.on_session = hook.claim, hook
        return central

    async def before_restart(ob: Outbox) -> int:
        central = central_on(ob)
        port = await central.start()
        try:
            async with SimChargePoint.connected(f"ws://127.0.0.1:{port}", "cp-1", model, clock) as cp:
                for _ in range(3):  # plugged in at T0 + 600, charging, metered
                    clock.advance(900)
                    await cp.tick()
                tx_id = cp.transaction_id
                assert tx_id is not None
                assert 0 < model.imported.wh < 10_000
                await central.stop()  # the gateway goes down with the session open
            assert central.sessions == []
            return int(tx_id)
        finally:
            await central.stop()

    async def after_restart(ob: Outbox, tx_id: int) -> list[ChargingSession]:
        central = central_on(ob)
        port = await central.start()
        try:
            assert central.registers("cp-1").import_wh > 0  # the last register stored, not 0
            async with SimChargePoint.connected(f"ws://127.0.0.1:{port}", "cp-1", model, clock) as cp:
                cp.transaction_id = tx_id  # the charger still has its transaction
                await cp.tick()  # unplugged while offline: the queued StopTransaction goes out now
                assert cp.transaction_id is None
                stop = call.StopTransaction(
                    meter_stop=model.imported.wh, timestamp=_iso(clock.now()), transaction_id=tx_id
                )
                assert (await cp.call(stop, suppress=False)).id_tag_info is None  # a resend: answered
                unknown = call.StopTransaction(
                    meter_stop=model.imported.wh,
                    timestamp=_iso(clock.now()),
                    transaction_id=tx_id + 1000,
                    id_tag="driver-1",
                )
                answer = await cp.call(unknown, suppress=False)  # no CALLERROR: the charger stops resending
                assert answer.id_tag_info["status"] == "Accepted"
                start = call.StartTransaction(
                    connector_id=1, id_tag="driver-1", meter_start=model.imported.wh, timestamp=_iso(clock.now())
                )
                assert (await cp.call(start, suppress=False)).transaction_id == tx_id + 1  # never an old id
            return central.sessions
        finally:
            await central.stop()

    with Outbox(path) as ob:
        tx_id = asyncio.run(before_restart(ob))
    clock.advance(4 * 3600)  # the car is full and unplugged while the central system is down
    with Outbox(path) as ob:
        (session,) = asyncio.run(after_restart(ob, tx_id))
        (claim,) = ob.claims()
    assert session.transaction_id == tx_id
    assert (session.start, session.meter_start_wh) == (T0 + 600, 0)
    assert session.energy_wh == model.imported.wh >= 10_000
    assert session.cost_minor == session.energy_wh * 20 // 1000
    assert (claim.claim.session_id, claim.claim.wh) == (f"ev.1/{T0 + 600}/{tx_id}", session.energy_wh)


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
