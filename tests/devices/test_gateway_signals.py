"""The gateway follows the bridge's Signals stream for its home: prices, the owner's alerts and the
feeder's demand-response events reach the controller; a broken stream resumes after the last
height read, a restarted gateway resumes from the height kept in its outbox file (and gets back
the signals still in force), and a DR event arriving from both the VEN and the bridge is applied
once. A gRPC GatewayApi on 127.0.0.1 stands in for the bridge."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import grpc
import pytest
from gridledger.api.v1 import gateway_pb2, gateway_pb2_grpc, tx_pb2
from gridwire.address import address_of

from devices import bridge_signals
from devices.bridge_link import bridge_signal_source, pump_signals
from devices.bridge_signals import DR_LEVEL, BridgeSignals, signal_of
from devices.config import parse_config
from devices.controllers import HomeController
from devices.home import start_home
from devices.keys import DeviceKey
from devices.outbox import Outbox
from devices.signals import Alert, DrEvent, MemorySignalSource, PriceSignal, SeenSignals, Signal
from devices.sim.flex import Dryer, DryerConfig, Thermostat, ThermostatConfig

K = gateway_pb2
OWNER = "ab" * 20
FEEDER = "feeder-north"
DAY = 86400
T0 = 1_781_913_600  # a UTC midnight


def _signal(kind: int, type_: str, **attrs: object) -> gateway_pb2.Signal:
    return K.Signal(
        kind=kind,  # type: ignore[arg-type]
        type=type_,
        attributes=[tx_pb2.Attribute(key=k, value=str(v)) for k, v in attrs.items()],
    )


PRICE = _signal(K.SIGNAL_KIND_PRICE, "interval_cleared", interval=T0 + 3600, pool_price=42, total_wh=50, orders=3)
ALERT = _signal(
    K.SIGNAL_KIND_ALERT,
    "alert",
    alert_id=9,
    owner=OWNER,
    rule_id=4,
    reason="budget_spent",
    interval=T0 + 3600,
    best_price=55,
)
DR = _signal(K.SIGNAL_KIND_DEMAND_RESPONSE, "dr_event", event_id="peak", feeder=FEEDER, start=T0 + 7200, end=T0 + 9000)
DR_LATER = _signal(
    K.SIGNAL_KIND_DEMAND_RESPONSE, "dr_event", event_id="evening", feeder=FEEDER, start=T0 + 9000, end=T0 + 10800
)
TARIFFS = _signal(K.SIGNAL_KIND_PRICE, "tariffs_set", supplier="cd" * 20, retail_per_kwh=30)
SETTLED = _signal(K.SIGNAL_KIND_DEMAND_RESPONSE, "dr_event_settled", event_id="peak", paid=10, refunded=0)

PRICE_SIGNAL = PriceSignal(T0 + 3600, T0 + 4500, 42)
ALERT_SIGNAL = Alert("budget_spent", "rule 4: budget_spent for the interval at 1781917200", 55, T0 + 3600, "9")
DR_SIGNAL = DrEvent("peak", T0 + 7200, T0 + 9000, DR_LEVEL)
DR_LATER_SIGNAL = DrEvent("evening", T0 + 9000, T0 + 10800, DR_LEVEL)


def test_ledger_signals_become_the_controllers_signals() -> None:
    assert signal_of(PRICE, 900) == PRICE_SIGNAL
    assert signal_of(ALERT, 900) == ALERT_SIGNAL
    assert signal_of(DR, 900) == DR_SIGNAL
    assert signal_of(_signal(K.SIGNAL_KIND_PRICE, "interval_cleared", interval=T0, pool_price=0), 900) is None
    assert signal_of(TARIFFS, 900) is None
    assert signal_of(SETTLED, 900) is None
    assert signal_of(_signal(K.SIGNAL_KIND_DEMAND_RESPONSE, "dr_event", event_id="x", start="soon"), 900) is None
    assert signal_of(_signal(K.SIGNAL_KIND_ALERT, "alert", owner=OWNER, reason="no_seller"), 900) is None


# ---- the controller and the alerts ---------------------------------------------------------


def test_budget_spent_holds_discretionary_loads_until_the_day_ends() -> None:
    """The dryer waits and the thermostat stops heating early while the budget is spent; the
    next UTC day (a new budget) lets them go again."""
    dryer = Dryer(DryerConfig(utc_offset_h=0, ready_h=0, deadline_h=23.9, max_price=30), T0)
    thermostat = Thermostat(ThermostatConfig(cheap_at_or_below=20), T0)
    ctl = HomeController([dryer, thermostat], [], holdables=[dryer, thermostat])
    ctl.receive(PriceSignal(T0, T0 + 2 * DAY, 10))  # cheap all along
    ctl.receive(ALERT_SIGNAL)
    assert ctl.hold_until == T0 + DAY
    ctl.apply(T0 + 3600)
    assert dryer.held
    assert thermostat.held
    assert dryer.power_w(T0 + 3600) == 0.0
    assert not thermostat.decide()  # in its comfort band: no early heating, cheap as it is
    ctl.apply(T0 + DAY + 60)
    assert not dryer.held
    assert not thermostat.held
    assert thermostat.decide()
    assert dryer.power_w(T0 + DAY + 60) > 0


def test_deadline_at_risk_runs_a_deferrable_load_now_whatever_the_price() -> None:
    dryer = Dryer(DryerConfig(utc_offset_h=0, ready_h=1, deadline_h=23, max_price=30), T0)
    ctl = HomeController([dryer], [dryer], deferrables=[dryer])
    ctl.receive(PriceSignal(T0, T0 + DAY, 80))  # too dear for the dryer
    ctl.apply(T0 + 2 * 3600)
    assert dryer.power_w(T0 + 2 * 3600) == 0.0
    ctl.receive(Alert("deadline_at_risk", "rule 5: deadline_at_risk", None, T0 + 2 * 3600, "10"))
    ctl.apply(T0 + 2 * 3600 + 60)
    assert dryer.power_w(T0 + 2 * 3600 + 60) == dryer.cfg.power_w
    assert not ctl.run_now_pending
    other = Alert("no_seller", "rule 5: no_seller", None, T0, "11")  # logged and kept, nothing else
    ctl.receive(other)
    assert ctl.alerts[-1] == other
    assert not ctl.run_now_pending


def test_seen_signals_pass_each_signal_once() -> None:
    seen = SeenSignals(capacity=2)
    assert seen.first(DR_SIGNAL)
    assert not seen.first(DrEvent("peak", T0 + 7200, T0 + 9000, DR_LEVEL))
    assert seen.first(DrEvent("peak", T0 + 7200, T0 + 9000, DR_LEVEL, cancelled=True))  # a change passes
    assert seen.first(PRICE_SIGNAL)
    assert seen.first(DR_SIGNAL)  # forgotten beyond the capacity


# ---- the stream -------------------------------------------------------------------------------


@dataclass
class _Bridge(gateway_pb2_grpc.GatewayApiServicer):
    """Serves one scripted stream per request: its responses, then an abort (UNAVAILABLE) when
    `breaks`, else it stays open. Requests beyond the script get an open, empty stream."""

    script: list[tuple[list[gateway_pb2.SignalsResponse], bool]]
    requests: list[gateway_pb2.SignalsRequest] = field(default_factory=list)

    async def Signals(  # noqa: N802 - the gRPC method's name
        self, request: gateway_pb2.SignalsRequest, context: grpc.aio.ServicerContext
    ) -> AsyncIterator[gateway_pb2.SignalsResponse]:
        self.requests.append(request)
        responses, breaks = (
            self.script[len(self.requests) - 1] if len(self.requests) <= len(self.script) else ([], False)
        )
        for response in responses:
            if response.height >= request.from_height:
                yield response
        if breaks:
            await context.abort(grpc.StatusCode.UNAVAILABLE, "bridge restarting")
        await asyncio.Event().wait()


async def _serve(bridge: _Bridge) -> tuple[grpc.aio.Server, str]:
    server = grpc.aio.server()
    gateway_pb2_grpc.add_GatewayApiServicer_to_server(bridge, server)  # type: ignore[no-untyped-call]
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    return server, f"127.0.0.1:{port}"


class _Recorder(HomeController):
    """A controller that also lists every signal it receives."""

    def __init__(self) -> None:
        super().__init__([], [])
        self.received: list[Signal] = []

    def receive(self, signal: Signal) -> None:
        self.received.append(signal)
        super().receive(signal)


async def _until(condition: Callable[[], object], timeout: float = 20.0) -> None:
    async with asyncio.timeout(timeout):
        while not condition():
            await asyncio.sleep(0.01)


async def _pump_until(
    sources: Sequence[MemorySignalSource | BridgeSignals], controller: _Recorder, done: Callable[[], object]
) -> None:
    """Pump every source into `controller` (one SeenSignals for all) until `done()`, and a little longer."""
    seen = SeenSignals()
    tasks = [asyncio.create_task(pump_signals(s, controller, seen=seen, now=lambda: T0)) for s in sources]
    try:
        await _until(done)
        await asyncio.sleep(0.2)  # nothing more arrives
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


def test_the_gateway_follows_the_stream_and_resumes_after_a_break_and_a_restart(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(bridge_signals, "RECONNECT_FIRST_S", 0.05)
    path = tmp_path / "outbox.sqlite"
    first = _Bridge(
        [
            ([K.SignalsResponse(height=5, signals=[PRICE, ALERT, TARIFFS])], True),  # then it breaks
            ([K.SignalsResponse(height=6, signals=[DR]), K.SignalsResponse(height=8)], False),
        ]
    )

    async def run_first() -> tuple[_Recorder, str]:
        server, target = await _serve(first)
        try:
            with Outbox(path) as outbox:
                controller = _Recorder()
                source = BridgeSignals(target, outbox, owner=OWNER.upper(), feeder=FEEDER, clock=lambda: T0)
                await _pump_until([source], controller, lambda: outbox.signals_height(source.stream) == 8)
                return controller, source.stream
        finally:
            await server.stop(None)

    controller, stream = asyncio.run(run_first())
    assert controller.received == [PRICE_SIGNAL, ALERT_SIGNAL, DR_SIGNAL]
    assert controller.price_at(T0 + 3700) == 42
    assert controller.dr_level_at(T0 + 7300) == DR_LEVEL
    assert controller.hold_until == T0 + DAY
    assert [(r.owner, r.feeder, r.from_height) for r in first.requests] == [(OWNER, FEEDER, 0), (OWNER, FEEDER, 6)]

    # The gateway restarts later: the price has ended; the alert's hold and the DR event are
    # still in force and come back from the file; the stream resumes after height 8.
    later = T0 + 5000
    second = _Bridge([([K.SignalsResponse(height=9, signals=[DR_LATER])], False)])

    async def run_second() -> _Recorder:
        server, target = await _serve(second)
        try:
            with Outbox(path) as outbox:
                assert outbox.signals_height(stream) == 8
                controller = _Recorder()
                source = BridgeSignals(target, outbox, owner=OWNER, feeder=FEEDER, clock=lambda: later)
                await _pump_until([source], controller, lambda: outbox.signals_height(stream) == 9)
                return controller
        finally:
            await server.stop(None)

    controller = asyncio.run(run_second())
    assert controller.received == [ALERT_SIGNAL, DR_SIGNAL, DR_LATER_SIGNAL]
    assert [r.from_height for r in second.requests] == [9]
    with Outbox(path) as outbox:
        assert len(outbox.kept_signals(stream, T0 + 9500)) == 2  # the budget hold and the evening event


def test_a_dr_event_from_both_the_ven_and_the_bridge_is_applied_once(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(bridge_signals, "RECONNECT_FIRST_S", 0.05)
    bridge = _Bridge([([K.SignalsResponse(height=3, signals=[DR, PRICE])], False)])

    async def go() -> _Recorder:
        server, target = await _serve(bridge)
        ven = MemorySignalSource()  # the VEN's view of the same ledger event and price, via the VTN
        ven.publish(DrEvent("peak", T0 + 7200, T0 + 9000, DR_LEVEL))
        ven.publish(PriceSignal(T0 + 3600, T0 + 4500, 42))
        try:
            with Outbox(":memory:") as outbox:
                controller = _Recorder()
                source = BridgeSignals(target, outbox, feeder=FEEDER, clock=lambda: T0)
                await _pump_until([ven, source], controller, lambda: outbox.signals_height(source.stream) == 3)
                return controller
        finally:
            await server.stop(None)

    controller = asyncio.run(go())
    assert sorted(controller.received, key=repr) == sorted([DR_SIGNAL, PRICE_SIGNAL], key=repr)


# ---- configuration and wiring ---------------------------------------------------------------


def _config(tmp_path: Path, **gateway: object) -> dict[str, object]:
    return {"gateway": {"chain_id": "test-chain", "state_dir": str(tmp_path / "state"), **gateway}}


def test_signals_config(tmp_path: Path) -> None:
    cfg = parse_config(_config(tmp_path), tmp_path)
    assert (cfg.signals, cfg.owner, cfg.feeder) == ("openadr", "", "")
    cfg = parse_config(_config(tmp_path, signals="bridge", owner=OWNER, feeder=FEEDER), tmp_path)
    assert (cfg.signals, cfg.owner, cfg.feeder) == ("bridge", OWNER, FEEDER)
    for bad in (
        {"signals": "smoke"},
        {"signals": "bridge"},  # for whom?
        {"signals": "both", "feeder": FEEDER},  # no vtn_url
        {"signals": "bridge", "owner": "xyz"},
    ):
        with pytest.raises(ValueError, match=r"signals|owner"):
            parse_config(_config(tmp_path, **bad), tmp_path)


def test_the_owner_defaults_to_owner_keys_address_and_the_stream_uses_the_bridge_credentials(tmp_path: Path) -> None:
    key = DeviceKey.generate()
    key.save(tmp_path / "owner.key.pem")
    (tmp_path / "ca.pem").write_bytes(b"")  # read, not checked, when the credentials are built
    cfg = parse_config(
        _config(tmp_path, signals="bridge", owner_key="owner.key.pem", bridge_ca="ca.pem", bridge="10.0.0.1:26659"),
        tmp_path,
    )
    with Outbox(":memory:") as outbox:
        source = bridge_signal_source(cfg, outbox)
    assert source.owner == address_of(key.public_bytes).hex()
    assert source.feeder == ""
    assert source.target == "10.0.0.1:26659"
    assert isinstance(source.credentials, grpc.ChannelCredentials)


def test_start_home_hands_the_bridge_signals_to_its_controller(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(bridge_signals, "RECONNECT_FIRST_S", 0.05)
    bridge = _Bridge([([K.SignalsResponse(height=3, signals=[DR, ALERT])], False)])

    async def go() -> HomeController:
        server, target = await _serve(bridge)
        try:
            cfg = parse_config(_config(tmp_path, signals="bridge", owner=OWNER, feeder=FEEDER, bridge=target), tmp_path)
            with Outbox(tmp_path / "outbox.sqlite") as outbox:
                async with start_home(cfg, outbox) as home:
                    await _until(lambda: "peak" in home.controller.events and home.controller.alerts)
                    return home.controller
        finally:
            await server.stop(None)

    controller = asyncio.run(go())
    assert controller.events == {"peak": DR_SIGNAL}
    assert controller.alerts == [ALERT_SIGNAL]
    assert [(r.owner, r.feeder, r.from_height) for r in bridge.requests] == [(OWNER, FEEDER, 0)]
