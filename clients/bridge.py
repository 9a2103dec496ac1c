"""The gRPC bridge: a stateless, keyless gateway between gRPC clients and one CometBFT node.

    python -m clients.bridge --listen 127.0.0.1:26659 --node http://127.0.0.1:26657

Broadcast waits for the commit through CometBFT's RPC; Query verifies Merkle proofs against
the next header's app hash before answering; SubscribeEvents streams the events of committed
transactions from the node's websocket subscription.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import hashlib
import json
import sys
from collections.abc import AsyncIterator
from typing import Any

import grpc
import structlog
import websockets
from gridledger.bridge.v1 import bridge_pb2, bridge_pb2_grpc

from abci_app.logging_setup import configure_logging
from abci_app.pb import state_pb2
from clients.proof import ProofError, committing_app_hash, verify_query_response
from clients.rpc import CometRPC, RPCError

__all__ = ["BridgeService", "serve"]

log = structlog.get_logger("gridledger.bridge")


class BridgeService(bridge_pb2_grpc.BridgeServicer):
    def __init__(self, node_url: str) -> None:
        self.rpc = CometRPC(node_url, timeout=40)
        self.ws_url = node_url.replace("http://", "ws://").replace("https://", "wss://").rstrip("/") + "/websocket"

    async def _call(self, fn: Any, *args: Any) -> Any:
        return await asyncio.to_thread(fn, *args)

    async def Status(  # noqa: N802 - gRPC method names
        self, request: bridge_pb2.StatusRequest, context: grpc.aio.ServicerContext
    ) -> bridge_pb2.StatusResponse:
        try:
            s = await self._call(self.rpc.status)
        except RPCError as exc:
            await context.abort(grpc.StatusCode.UNAVAILABLE, str(exc))
        return bridge_pb2.StatusResponse(
            chain_id=s["node_info"]["network"],
            height=int(s["sync_info"]["latest_block_height"]),
            app_hash=bytes.fromhex(s["sync_info"]["latest_app_hash"]),
            catching_up=bool(s["sync_info"]["catching_up"]),
        )

    async def Broadcast(  # noqa: N802
        self, request: bridge_pb2.BroadcastRequest, context: grpc.aio.ServicerContext
    ) -> bridge_pb2.BroadcastResponse:
        digest = hashlib.sha256(request.tx).digest()
        try:
            if request.wait_commit:
                r = await self._call(self.rpc.broadcast_commit, request.tx)
            else:
                r = await self._call(self.rpc.broadcast_sync, request.tx)
        except RPCError as exc:
            await context.abort(grpc.StatusCode.UNAVAILABLE, str(exc))
        return bridge_pb2.BroadcastResponse(
            code=r.code,
            log=r.log,
            codespace="gridledger" if r.code else "",
            hash=digest,
            height=r.height,
            committed=bool(r.height),
        )

    async def Query(  # noqa: N802
        self, request: bridge_pb2.QueryRequest, context: grpc.aio.ServicerContext
    ) -> bridge_pb2.QueryResponse:
        try:
            r = await asyncio.to_thread(lambda: self.rpc.abci_query(request.path, request.data, prove=request.prove))
        except RPCError as exc:
            await context.abort(grpc.StatusCode.UNAVAILABLE, str(exc))
        out = bridge_pb2.QueryResponse(
            code=int(r.get("code", 0)),
            log=r.get("log", ""),
            key=base64.b64decode(r.get("key") or ""),
            value=base64.b64decode(r.get("value") or ""),
            height=int(r.get("height", 0)),
        )
        ops = (r.get("proofOps") or {}).get("ops") or []
        if request.prove and ops:
            out.proof.CopyFrom(state_pb2.TrieProof.FromString(base64.b64decode(ops[0].get("data") or "")))
            try:
                app_hash = await asyncio.to_thread(committing_app_hash, self.rpc, out.height)
                verify_query_response(r, app_hash)
            except (RPCError, ProofError) as exc:
                await context.abort(grpc.StatusCode.DATA_LOSS, f"proof check failed: {exc}")
            out.app_hash = app_hash
            out.verified = True
        return out

    async def SubscribeEvents(  # noqa: N802
        self, request: bridge_pb2.SubscribeRequest, context: grpc.aio.ServicerContext
    ) -> AsyncIterator[bridge_pb2.TxEvents]:
        query = "tm.event='Tx'" + (f" AND {request.query}" if request.query else "")
        async with websockets.connect(self.ws_url, max_size=64 * 1024 * 1024) as ws:
            await ws.send(json.dumps({"jsonrpc": "2.0", "id": 1, "method": "subscribe", "params": {"query": query}}))
            async for raw in ws:
                message = json.loads(raw)
                if message.get("error"):
                    await context.abort(grpc.StatusCode.INVALID_ARGUMENT, str(message["error"]))
                data = (message.get("result") or {}).get("data") or {}
                tx_result = (data.get("value") or {}).get("TxResult")
                if not tx_result:
                    continue  # the subscription's confirmation
                yield _tx_events(tx_result)


def _tx_events(tx_result: dict[str, Any]) -> bridge_pb2.TxEvents:
    result = tx_result.get("result") or {}
    return bridge_pb2.TxEvents(
        height=int(tx_result.get("height", 0)),
        tx_hash=hashlib.sha256(base64.b64decode(tx_result.get("tx") or "")).digest(),
        code=int(result.get("code", 0)),
        events=[
            bridge_pb2.Event(
                type=e.get("type", ""),
                attributes=[
                    bridge_pb2.Attribute(key=a.get("key", ""), value=a.get("value", ""))
                    for a in e.get("attributes") or []
                ],
            )
            for e in result.get("events") or []
        ],
    )


async def serve(listen: str, node_url: str, ready: asyncio.Event | None = None) -> None:
    server = grpc.aio.server()
    bridge_pb2_grpc.add_BridgeServicer_to_server(BridgeService(node_url), server)  # type: ignore[no-untyped-call]
    if server.add_insecure_port(listen) == 0:
        raise OSError(f"cannot listen on {listen}")
    await server.start()
    log.info("bridge_listening", listen=listen, node=node_url)
    if ready is not None:
        ready.set()
    try:
        await server.wait_for_termination()
    finally:
        await server.stop(grace=2)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m clients.bridge", description=__doc__)
    parser.add_argument("--listen", default="127.0.0.1:26659")
    parser.add_argument("--node", default="http://127.0.0.1:26657", help="the node's CometBFT RPC")
    parser.add_argument("--log-format", choices=["console", "json"], default="console")
    args = parser.parse_args(argv)
    configure_logging(args.log_format)
    try:
        asyncio.run(serve(args.listen, args.node))
    except KeyboardInterrupt:
        return 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
