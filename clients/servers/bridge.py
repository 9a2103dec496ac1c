"""The Bridge API: a node's status, broadcast, queries with checked proofs, and tx event streams.

A `Broadcast` with `wait_commit` holds no thread while it waits (it polls the node's tx index
between async sleeps) and the number of such waits is capped. Event streams share one websocket
to the node (`EventHub`), with a cap on subscribers. A malformed request is INVALID_ARGUMENT, a
full cap RESOURCE_EXHAUSTED, a proof that does not verify DATA_LOSS.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import AsyncIterator
from typing import Any

import grpc
import websockets
from gridledger.bridge.v1 import bridge_pb2, bridge_pb2_grpc
from gridledger.state.v1 import state_pb2

from clients.proof import ProofError, verify_query_response
from clients.rpc import BroadcastResult, RPCError
from clients.servers.access import CALLER, raw_query_denial
from clients.servers.events import HubFullError, QueryRejectedError, SubscriptionLostError
from clients.servers.granted_reads import query_for_caller, read_public_key
from clients.servers.node import MAX_EVENT_QUERY, MAX_PATH, MAX_QUERY_DATA, MAX_TX_BYTES, NodeLink, abort_for_rpc_error

__all__ = ["BridgeService"]


class BridgeService(NodeLink, bridge_pb2_grpc.BridgeServicer):
    """The Bridge API: status, broadcast (optionally waiting for the commit), queries with
    checked proofs, and tx event streams."""

    async def Status(  # noqa: N802 - gRPC method names
        self, request: bridge_pb2.StatusRequest, context: grpc.aio.ServicerContext
    ) -> bridge_pb2.StatusResponse:
        s = await self.node_or_abort(context, self.rpc.status)
        return bridge_pb2.StatusResponse(
            chain_id=s["node_info"]["network"],
            height=int(s["sync_info"]["latest_block_height"]),
            app_hash=bytes.fromhex(s["sync_info"]["latest_app_hash"]),
            catching_up=bool(s["sync_info"]["catching_up"]),
            read_key=read_public_key(self.read_key) if self.read_key is not None else b"",
        )

    async def Broadcast(  # noqa: N802
        self, request: bridge_pb2.BroadcastRequest, context: grpc.aio.ServicerContext
    ) -> bridge_pb2.BroadcastResponse:
        if not request.tx or len(request.tx) > MAX_TX_BYTES:
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, f"tx must be 1..{MAX_TX_BYTES} bytes")
        digest = hashlib.sha256(request.tx).digest()
        if request.wait_commit and self.commit_waits >= self.config.max_commit_waits:
            await context.abort(
                grpc.StatusCode.RESOURCE_EXHAUSTED, f"{self.config.max_commit_waits} commit waits in progress"
            )
        r: BroadcastResult = await self.node_or_abort(context, self.rpc.broadcast_sync, request.tx)
        if request.wait_commit and r.code == 0:
            r = await self._wait_commit(r, context)
        return bridge_pb2.BroadcastResponse(
            code=r.code,
            log=r.log,
            codespace="gridledger" if r.code else "",
            hash=digest,
            height=r.height,
            committed=bool(r.height),
        )

    async def _wait_commit(self, sent: BroadcastResult, context: grpc.aio.ServicerContext) -> BroadcastResult:
        found = await self.wait_tx(sent.hash, context)
        result = found["tx_result"]
        return BroadcastResult(int(result["code"]), result.get("log", ""), sent.hash, int(found["height"]))

    async def Query(  # noqa: N802
        self, request: bridge_pb2.QueryRequest, context: grpc.aio.ServicerContext
    ) -> bridge_pb2.QueryResponse:
        if not request.path.startswith("/") or len(request.path) > MAX_PATH or len(request.data) > MAX_QUERY_DATA:
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, f"path must start with / and be ≤ {MAX_PATH} chars")
        caller = CALLER.get()
        refused = raw_query_denial(caller, request.path) if caller is not None else None
        if refused:
            await context.abort(grpc.StatusCode.PERMISSION_DENIED, refused)
        r = await query_for_caller(self, context, request.path, request.data, prove=request.prove)
        out = bridge_pb2.QueryResponse(
            code=int(r.get("code", 0)),
            log=r.get("log", ""),
            key=base64.b64decode(r.get("key") or ""),
            value=base64.b64decode(r.get("value") or ""),
            height=int(r.get("height", 0)),
        )
        ops = (r.get("proofOps") or {}).get("ops") or []
        if request.prove and ops:
            try:
                out.proof.CopyFrom(state_pb2.TrieProof.FromString(base64.b64decode(ops[0].get("data") or "")))
                app_hash = await self.node(lambda: self.verifier.committing_app_hash(out.height))
                verify_query_response(r, app_hash, out.key)
            except RPCError as exc:
                await abort_for_rpc_error(context, exc)
            except (ProofError, ValueError) as exc:
                await context.abort(grpc.StatusCode.DATA_LOSS, f"proof check failed: {exc}")
            out.app_hash = app_hash
            out.verified = True
        return out

    async def SubscribeEvents(  # noqa: N802
        self, request: bridge_pb2.SubscribeRequest, context: grpc.aio.ServicerContext
    ) -> AsyncIterator[bridge_pb2.TxEvents]:
        if len(request.query) > MAX_EVENT_QUERY:
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, f"query longer than {MAX_EVENT_QUERY} chars")
        query = "tm.event='Tx'" + (f" AND {request.query}" if request.query else "")
        try:
            async with self.hub.subscribe(query) as queue:
                while True:
                    item = await queue.get()
                    if isinstance(item, BaseException):
                        raise item
                    tx_result = ((item.get("data") or {}).get("value") or {}).get("TxResult")
                    if tx_result:
                        yield _tx_events(tx_result)
        except HubFullError as exc:
            await context.abort(grpc.StatusCode.RESOURCE_EXHAUSTED, f"subscription cap reached: {exc}")
        except QueryRejectedError as exc:
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, f"bad event query: {exc}")
        except (SubscriptionLostError, OSError, TimeoutError, websockets.WebSocketException) as exc:
            await context.abort(grpc.StatusCode.UNAVAILABLE, f"event subscription lost: {exc}")


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
