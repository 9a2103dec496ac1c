"""Following a member's market alerts as they are committed, for `gridctl alerts --watch`.

Two sources give the same alerts: a bridge's `GatewayApi.Signals` stream (owner-filtered,
resumable from a height), or, without a bridge, the node's CometBFT websocket subscription
to `tm.event='NewBlock'` (alerts are raised by the market's end-block hook, so they are block
events, not tx events; each block's events are read with `clients.signals`).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from gridledger.api.v1 import gateway_pb2

from clients.signals import SignalFilter, signals_of_new_block

if TYPE_CHECKING:
    import grpc

__all__ = ["alerts_from_bridge", "alerts_from_node", "websocket_url"]

NEW_BLOCK = "tm.event='NewBlock'"


def websocket_url(rpc_url: str) -> str:
    """The CometBFT websocket endpoint beside an RPC url."""
    return rpc_url.replace("http://", "ws://").replace("https://", "wss://").rstrip("/") + "/websocket"


def _alert_row(height: int, signal: gateway_pb2.Signal) -> dict[str, Any]:
    return {"height": height, **{a.key: a.value for a in signal.attributes}}


def alerts_from_node(rpc_url: str, owner_hex: str, *, timeout: float | None = None) -> Iterator[dict[str, Any]]:
    """The owner's alerts of every block committed from now on, one dict (height and the
    event's attributes) per alert, in commit order. Stops after `timeout` s without a message."""
    from websockets.sync.client import connect  # noqa: PLC0415 - only the watch needs it

    who = SignalFilter(owner=owner_hex)
    with connect(websocket_url(rpc_url), max_size=64 * 1024 * 1024, open_timeout=10) as ws:
        ws.send(json.dumps({"jsonrpc": "2.0", "id": 1, "method": "subscribe", "params": {"query": NEW_BLOCK}}))
        while True:
            try:
                raw = ws.recv(timeout=timeout)
            except TimeoutError:
                return
            message = json.loads(raw)
            data = (message.get("result") or {}).get("data") or {}
            if not data.get("value"):
                continue  # the subscription's acknowledgement
            height, signals = signals_of_new_block(data["value"], who)
            for signal in signals:
                if signal.kind == gateway_pb2.SIGNAL_KIND_ALERT:
                    yield _alert_row(height, signal)


def alerts_from_bridge(
    target: str, owner_hex: str, *, from_height: int = 0, credentials: grpc.ChannelCredentials | None = None
) -> Iterator[dict[str, Any]]:
    """The owner's alerts from a bridge's Signals stream (replayed from `from_height`, then live),
    over TLS (and member authentication) when `credentials` are given (clients.bridge_client)."""
    import grpc  # noqa: PLC0415 - only the watch needs it
    from gridledger.api.v1 import gateway_pb2_grpc  # noqa: PLC0415

    channel = grpc.insecure_channel(target) if credentials is None else grpc.secure_channel(target, credentials)
    with channel:
        stub = gateway_pb2_grpc.GatewayApiStub(channel)  # type: ignore[no-untyped-call]
        request = gateway_pb2.SignalsRequest(owner=owner_hex, from_height=from_height)
        for response in stub.Signals(request):
            for signal in response.signals:
                if signal.kind == gateway_pb2.SIGNAL_KIND_ALERT:
                    yield _alert_row(response.height, signal)
