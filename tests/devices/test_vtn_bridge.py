"""The grid operator's VTN follows the ledger through a bridge's Signals stream: demand-response
events and cleared prices of its feeder become OpenADR events, and a broken stream is resumed
after the last height read (a gRPC GatewayApi on 127.0.0.1 stands in for the bridge)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import grpc
import pytest
from gridledger.api.v1 import gateway_pb2, gateway_pb2_grpc, tx_pb2

from devices import vtn
from devices.vtn import DrEventSpec, events_from_bridge, spec_of_signal

K = gateway_pb2


def _signal(kind: int, type_: str, **attrs: object) -> gateway_pb2.Signal:
    return K.Signal(
        kind=kind,  # type: ignore[arg-type]
        type=type_,
        attributes=[tx_pb2.Attribute(key=k, value=str(v)) for k, v in attrs.items()],
    )


DR = _signal(K.SIGNAL_KIND_DEMAND_RESPONSE, "dr_event", event_id="peak", feeder="f1", start=7200, end=9000)
PRICE = _signal(K.SIGNAL_KIND_PRICE, "interval_cleared", interval=3600, pool_price=1234, total_wh=50)


def test_signals_map_to_openadr_events() -> None:
    assert spec_of_signal(DR, 900) == DrEventSpec("peak", 7200, 1800, vtn.DR_LEVEL)
    assert spec_of_signal(PRICE, 900) == DrEventSpec("price-3600", 3600, 900, 1234, "ELECTRICITY_PRICE")
    unpriced = _signal(K.SIGNAL_KIND_PRICE, "interval_cleared", interval=3600, pool_price=0)
    assert spec_of_signal(unpriced, 900) is None
    assert spec_of_signal(_signal(K.SIGNAL_KIND_DEMAND_RESPONSE, "dr_event", event_id="x", start="soon"), 900) is None
    assert spec_of_signal(_signal(K.SIGNAL_KIND_ALERT, "alert", owner="ab"), 900) is None


class _Bridge(gateway_pb2_grpc.GatewayApiServicer):
    """First stream: a DR event at height 5, then the bridge goes away (UNAVAILABLE). Second
    stream: a price at height 7, then it stays open."""

    def __init__(self) -> None:
        self.requests: list[gateway_pb2.SignalsRequest] = []

    async def Signals(  # noqa: N802 - the gRPC method's name
        self, request: gateway_pb2.SignalsRequest, context: grpc.aio.ServicerContext
    ) -> AsyncIterator[gateway_pb2.SignalsResponse]:
        self.requests.append(request)
        if len(self.requests) == 1:
            yield K.SignalsResponse(height=5, signals=[DR])
            await context.abort(grpc.StatusCode.UNAVAILABLE, "bridge restarting")
        yield K.SignalsResponse(height=7, signals=[PRICE])
        await asyncio.Event().wait()


async def _follow(monkeypatch: pytest.MonkeyPatch) -> tuple[list[DrEventSpec], list[gateway_pb2.SignalsRequest]]:
    monkeypatch.setattr(vtn, "RECONNECT_FIRST_S", 0.05)
    server = grpc.aio.server()
    bridge = _Bridge()
    gateway_pb2_grpc.add_GatewayApiServicer_to_server(bridge, server)  # type: ignore[no-untyped-call]
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    got: list[DrEventSpec] = []
    source = events_from_bridge(f"127.0.0.1:{port}", "f1", interval_seconds=900, from_height=3)()
    try:

        async def take() -> None:
            async for spec in source:
                got.append(spec)
                if len(got) == 2:
                    return

        await asyncio.wait_for(take(), timeout=20)
    finally:
        await source.aclose()  # type: ignore[attr-defined]
        await server.stop(None)
    return got, bridge.requests


def test_the_vtn_follows_the_bridge_and_resumes_after_the_last_height(monkeypatch: pytest.MonkeyPatch) -> None:
    got, requests = asyncio.run(_follow(monkeypatch))
    assert got == [spec_of_signal(DR, 900), spec_of_signal(PRICE, 900)]
    assert [(r.feeder, r.from_height) for r in requests] == [("f1", 3), ("f1", 6)]
