"""TxApi.SubmitTx: a signed tx in, the committed result out; a refusal is a gRPC status.

Shared by the gateway service: `submit_signed` broadcasts, waits for the commit (holding no
thread) and aborts the call with the status of the ledger's code (`clients.servers.api_status`),
the ledger's log as the message (it starts with the code's name) and the code in trailing
metadata `gridledger-code`.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import grpc
from gridledger.api.v1 import tx_pb2, tx_pb2_grpc
from gridwire.tx import MAX_TX_BYTES, envelope_problem

from clients.servers.api_status import status_for

if TYPE_CHECKING:
    from clients.servers.node import NodeLink

__all__ = ["Committed", "TxApiService", "abort_for_code", "events_of", "submit_signed"]


CODE_METADATA = "gridledger-code"


@dataclass(frozen=True)
class Committed:
    """A tx the ledger accepted: its hash, height (0 if not waited for) and result."""

    tx_hash: bytes
    height: int
    log: str
    events: list[dict[str, Any]] = field(default_factory=list)


async def abort_for_code(context: grpc.aio.ServicerContext, code: int, log: str) -> None:
    """Abort the call with the gRPC status of ledger `code`."""
    await context.abort(status_for(code, log), log or f"code {code}", trailing_metadata=((CODE_METADATA, str(code)),))


async def submit_signed(
    service: NodeLink, context: grpc.aio.ServicerContext, tx: bytes, *, wait_commit: bool = True
) -> Committed:
    """Broadcast `tx` (and wait for its commit); returns only if the ledger accepted it,
    otherwise the call is aborted with the status of its code."""
    if not tx or len(tx) > MAX_TX_BYTES:
        await context.abort(grpc.StatusCode.INVALID_ARGUMENT, f"signed_tx must be 1..{MAX_TX_BYTES} bytes")
    problem = envelope_problem(tx)
    if problem is not None:  # refused for its shape alone: the node is not asked
        await context.abort(grpc.StatusCode.INVALID_ARGUMENT, problem)
    digest = hashlib.sha256(tx).digest()
    sent = await service.node_or_abort(context, service.rpc.broadcast_sync, tx)
    if sent.code != 0:
        await abort_for_code(context, sent.code, sent.log)
    if not wait_commit:
        return Committed(digest, 0, sent.log)
    found = await service.wait_tx(sent.hash, context)
    result = found["tx_result"]
    code = int(result.get("code", 0))
    if code != 0:
        await abort_for_code(context, code, str(result.get("log", "")))
    return Committed(digest, int(found["height"]), str(result.get("log", "")), list(result.get("events") or []))


def events_of(raw: list[dict[str, Any]]) -> list[tx_pb2.Event]:
    """CometBFT JSON events as API events."""
    return [
        tx_pb2.Event(
            type=str(e.get("type", "")),
            attributes=[
                tx_pb2.Attribute(key=str(a.get("key", "")), value=str(a.get("value", "")))
                for a in e.get("attributes") or []
            ],
        )
        for e in raw
    ]


class TxApiService(tx_pb2_grpc.TxApiServicer):
    """gridledger.api.v1.TxApi over a bridge's node connection."""

    def __init__(self, bridge: NodeLink) -> None:
        self.bridge = bridge

    async def SubmitTx(  # noqa: N802 - gRPC method names
        self, request: tx_pb2.SubmitTxRequest, context: grpc.aio.ServicerContext
    ) -> tx_pb2.SubmitTxResponse:
        done = await submit_signed(self.bridge, context, request.signed_tx, wait_commit=request.wait_commit)
        return tx_pb2.SubmitTxResponse(
            tx_hash=done.tx_hash, height=done.height, log=done.log, events=events_of(done.events)
        )
