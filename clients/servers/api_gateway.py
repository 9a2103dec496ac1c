"""GatewayApi: readings in (one signed tx of SubmitReadings), signals out (a resumable stream).

SubmitReadings answers one result per reading from the committed tx's `reading_accepted`,
`reading_duplicate` and `reading_rejected` events. Signals subscribes to the node's `NewBlock`
events on the bridge's shared websocket first, then replays blocks from_height .. head from
`block_results`, then goes on with the live blocks: a live block at or below the last height
sent is skipped and a gap (a block the websocket did not deliver) is filled from
`block_results`, so every block is read once, in order. Nothing is polled.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

import grpc
import websockets
from gridledger.api.v1 import gateway_pb2, gateway_pb2_grpc
from gridledger.devices.v1 import devices_pb2
from gridledger.tx.v1 import tx_pb2
from gridwire.contract import devices as devices_contract
from gridwire.tx import type_url

from clients.servers.api_tx import submit_signed
from clients.servers.events import HubFullError, QueryRejectedError, SubscriptionLostError
from clients.signals import SignalFilter, needs_tx_hashes, signals_of_block_results, signals_of_new_block

if TYPE_CHECKING:
    from clients.servers.node import NodeLink

__all__ = ["GatewayApiService", "reading_results"]

G = gateway_pb2
NEW_BLOCK = "tm.event='NewBlock'"
HEARTBEAT_BLOCKS = 10
MAX_REPLAY_BLOCKS = 100_000
_HEX40 = re.compile(r"^[0-9a-fA-F]{40}$")
_OUTCOMES = {
    devices_contract.READING_ACCEPTED: G.READING_OUTCOME_ACCEPTED,
    devices_contract.READING_DUPLICATE: G.READING_OUTCOME_DUPLICATE,
    devices_contract.READING_REJECTED: G.READING_OUTCOME_REJECTED,
}


def reading_results(events: list[dict[str, Any]]) -> list[gateway_pb2.ReadingResult]:
    """One result per reading event of a committed SubmitReadings tx, in event (= reading) order."""
    out = []
    for event in events:
        outcome = _OUTCOMES.get(str(event.get("type", "")))
        if outcome is None:
            continue
        attrs = {str(a.get("key", "")): str(a.get("value", "")) for a in event.get("attributes") or []}
        out.append(
            gateway_pb2.ReadingResult(
                device_id=attrs.get("device", ""),
                seq=int(attrs.get("seq", "0")),
                outcome=outcome,
                code=int(attrs.get("code", "0")),
                reason=attrs.get("reason", ""),
            )
        )
    return out


def _only_readings(raw: bytes) -> int:
    """The number of readings in a tx holding only SubmitReadings messages; -1 if it is not such a tx."""
    try:
        body = tx_pb2.TxBody.FromString(tx_pb2.Tx.FromString(raw).body)
        wanted = type_url(devices_pb2.SubmitReadings)
        if not body.messages or any(m.type_url != wanted for m in body.messages):
            return -1
        return sum(len(devices_pb2.SubmitReadings.FromString(m.value).readings) for m in body.messages)
    except Exception:  # any decoding failure means a malformed request
        return -1


class GatewayApiService(gateway_pb2_grpc.GatewayApiServicer):
    """gridledger.api.v1.GatewayApi over a bridge's node connection and shared websocket."""

    def __init__(self, bridge: NodeLink) -> None:
        self.bridge = bridge

    async def SubmitReadings(  # noqa: N802 - gRPC method names
        self, request: gateway_pb2.SubmitReadingsRequest, context: grpc.aio.ServicerContext
    ) -> gateway_pb2.SubmitReadingsResponse:
        count = _only_readings(request.signed_tx)
        if count < 1:
            await context.abort(
                grpc.StatusCode.INVALID_ARGUMENT, "signed_tx must be a Tx of SubmitReadings messages with readings"
            )
        done = await submit_signed(self.bridge, context, request.signed_tx, wait_commit=True)
        results = reading_results(done.events)
        return gateway_pb2.SubmitReadingsResponse(tx_hash=done.tx_hash, height=done.height, results=results)

    async def Signals(  # noqa: N802
        self, request: gateway_pb2.SignalsRequest, context: grpc.aio.ServicerContext
    ) -> AsyncIterator[gateway_pb2.SignalsResponse]:
        if request.owner and not _HEX40.match(request.owner):
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, "owner must be a 20-byte address in hex")
        if len(request.feeder) > 64 or request.from_height < 0:
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, "feeder ≤ 64 chars and from_height ≥ 0")
        who = SignalFilter(request.owner.lower(), request.feeder)
        bridge = self.bridge
        try:
            async with bridge.hub.subscribe(NEW_BLOCK) as queue:
                last = request.from_height - 1 if request.from_height > 0 else -1
                sent = last
                if request.from_height > 0:
                    head = await bridge.node_or_abort(context, bridge.rpc.height)
                    if head - last > MAX_REPLAY_BLOCKS:
                        await context.abort(
                            grpc.StatusCode.OUT_OF_RANGE, f"replay of more than {MAX_REPLAY_BLOCKS} blocks"
                        )
                    while last < head:
                        last += 1
                        response = await self._replayed(context, last, who)
                        if response.signals or last - sent >= HEARTBEAT_BLOCKS:
                            sent = last
                            yield response
                while True:
                    item = await queue.get()
                    if isinstance(item, BaseException):
                        raise item
                    value = (item.get("data") or {}).get("value") or {}
                    height, signals = signals_of_new_block(value, who)
                    if last < 0:
                        last = sent = height - 1
                    if height <= last:
                        continue
                    while last + 1 < height:  # a block the websocket did not deliver
                        last += 1
                        response = await self._replayed(context, last, who)
                        if response.signals or last - sent >= HEARTBEAT_BLOCKS:
                            sent = last
                            yield response
                    last = height
                    if signals or last - sent >= HEARTBEAT_BLOCKS:
                        sent = last
                        yield gateway_pb2.SignalsResponse(height=height, signals=signals)
        except HubFullError as exc:
            await context.abort(grpc.StatusCode.RESOURCE_EXHAUSTED, f"subscription cap reached: {exc}")
        except QueryRejectedError as exc:
            await context.abort(grpc.StatusCode.INTERNAL, f"block subscription refused: {exc}")
        except (SubscriptionLostError, OSError, TimeoutError, websockets.WebSocketException) as exc:
            await context.abort(grpc.StatusCode.UNAVAILABLE, f"event subscription lost: {exc}")

    async def _replayed(
        self, context: grpc.aio.ServicerContext, height: int, who: SignalFilter
    ) -> gateway_pb2.SignalsResponse:
        bridge = self.bridge
        results = await bridge.node_or_abort(context, bridge.rpc.block_results, height)
        txs: list[str] = []
        if needs_tx_hashes(results, who):
            block = await bridge.node_or_abort(context, bridge.rpc.block, height)
            txs = list(((block.get("block") or {}).get("data") or {}).get("txs") or [])
        return gateway_pb2.SignalsResponse(height=height, signals=signals_of_block_results(results, txs, who))
