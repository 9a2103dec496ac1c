"""The gRPC bridge: a stateless, keyless gateway between gRPC clients and one CometBFT node.

    python -m clients.bridge --listen 127.0.0.1:26659 --node http://127.0.0.1:26657 \
        [--tls-cert server.pem --tls-key server.key [--member-auth]] [--genesis genesis.json]

Calls to the node run on a bounded thread pool of their own; a `Broadcast` with `wait_commit`
holds no thread while it waits (it polls the node's tx index between async sleeps) and the
number of such waits is capped. Event streams share one websocket to the node (`EventHub`),
with a cap on subscribers. The standard gRPC health and reflection services are served.
Failures map to gRPC status codes: a malformed request is INVALID_ARGUMENT, an unreachable
node UNAVAILABLE, a full cap RESOURCE_EXHAUSTED, a commit not seen in time DEADLINE_EXCEEDED,
a proof that does not verify DATA_LOSS, and member authentication (see `bridge_auth`)
UNAUTHENTICATED or PERMISSION_DENIED.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import hashlib
import json
import sys
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import grpc
import structlog
import websockets
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from gridledger.api.v1 import gateway_pb2, gateway_pb2_grpc, tx_pb2, tx_pb2_grpc
from gridledger.bridge.v1 import bridge_pb2, bridge_pb2_grpc
from gridledger.state.v1 import state_pb2
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from clients.api_gateway import GatewayApiService
from clients.api_reads import add_read_services, read_service_names
from clients.api_tx import TxApiService
from clients.bridge_auth import MemberAuthInterceptor, MemberVerifier
from clients.bridge_events import EventHub, HubFullError, QueryRejectedError, SubscriptionLostError
from clients.cli_types import existing_file, host_port, http_url, positive_count
from clients.lightclient import LightClient
from clients.proof import HeaderVerifier, ProofError, TrustedNodeHeaders, verify_query_response
from clients.rpc import BroadcastResult, CometRPC, RPCError

__all__ = ["BridgeConfig", "BridgeService", "build_server", "serve"]

log = structlog.get_logger("gridledger.bridge")
T = TypeVar("T")

SERVICE_NAME = bridge_pb2.DESCRIPTOR.services_by_name["Bridge"].full_name
API_SERVICE_NAMES = (
    tx_pb2.DESCRIPTOR.services_by_name["TxApi"].full_name,
    gateway_pb2.DESCRIPTOR.services_by_name["GatewayApi"].full_name,
    *read_service_names(),
)
MAX_TX_BYTES = 1024 * 1024
MAX_PATH = 512
MAX_QUERY_DATA = 64 * 1024
MAX_EVENT_QUERY = 512


@dataclass(frozen=True)
class BridgeConfig:
    """Where the bridge listens, which node it serves, and its limits."""

    listen: str
    node_url: str
    tls_cert: Path | None = None  # PEM chain; with tls_key, the bridge speaks TLS only
    tls_key: Path | None = None
    member_auth: bool = False  # require a consortium member's certificate on every call (needs TLS)
    genesis: Path | None = None  # verify headers with a light client from this genesis (else trust the node)
    max_concurrent_rpcs: int = 256
    node_threads: int = 16  # threads making quick calls to the node
    max_commit_waits: int = 128
    max_subscribers: int = 64
    commit_timeout: float = 30.0


class BridgeService(bridge_pb2_grpc.BridgeServicer):
    def __init__(self, config: BridgeConfig, verifier: HeaderVerifier | None = None) -> None:
        self.config = config
        self.rpc = CometRPC(config.node_url, timeout=10)
        self.pool = ThreadPoolExecutor(config.node_threads, thread_name_prefix="bridge-node")
        self.verifier: HeaderVerifier = verifier or TrustedNodeHeaders(self.rpc)
        ws_url = config.node_url.replace("http://", "ws://").replace("https://", "wss://").rstrip("/") + "/websocket"
        self.hub = EventHub(ws_url, max_subscribers=config.max_subscribers)
        self.commit_waits = 0

    async def node(self, fn: Callable[..., T], *args: Any) -> T:
        """Run a blocking node call on the bridge's own pool."""
        return await asyncio.get_running_loop().run_in_executor(self.pool, fn, *args)

    async def _node_or_abort(self, context: grpc.aio.ServicerContext, fn: Callable[..., T], *args: Any) -> T:
        try:
            return await self.node(fn, *args)
        except RPCError as exc:
            await _abort_for_rpc_error(context, exc)
            raise  # unreachable: abort raises

    async def Status(  # noqa: N802 - gRPC method names
        self, request: bridge_pb2.StatusRequest, context: grpc.aio.ServicerContext
    ) -> bridge_pb2.StatusResponse:
        s = await self._node_or_abort(context, self.rpc.status)
        return bridge_pb2.StatusResponse(
            chain_id=s["node_info"]["network"],
            height=int(s["sync_info"]["latest_block_height"]),
            app_hash=bytes.fromhex(s["sync_info"]["latest_app_hash"]),
            catching_up=bool(s["sync_info"]["catching_up"]),
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
        r: BroadcastResult = await self._node_or_abort(context, self.rpc.broadcast_sync, request.tx)
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

    async def wait_tx(self, tx_hash_hex: str, context: grpc.aio.ServicerContext) -> dict[str, Any]:
        """The node's `tx` answer once the tx is committed (height, tx_result with code, log and
        events). Polls the tx index between async sleeps, holding no thread; counts against the
        commit-wait cap (RESOURCE_EXHAUSTED beyond it) and aborts DEADLINE_EXCEEDED when the
        commit is not seen within the caller's deadline or the bridge's commit timeout."""
        if self.commit_waits >= self.config.max_commit_waits:
            await context.abort(
                grpc.StatusCode.RESOURCE_EXHAUSTED, f"{self.config.max_commit_waits} commit waits in progress"
            )
        remaining = context.time_remaining()
        budget = self.config.commit_timeout if remaining is None else min(self.config.commit_timeout, remaining)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + budget
        self.commit_waits += 1
        try:
            while loop.time() < deadline:
                found = await self._node_or_abort(context, self.rpc.tx, tx_hash_hex)
                if found is not None:
                    return found
                await asyncio.sleep(0.2)
        finally:
            self.commit_waits -= 1
        await context.abort(grpc.StatusCode.DEADLINE_EXCEEDED, f"tx {tx_hash_hex} not committed within {budget:.1f}s")
        raise AssertionError("unreachable")

    async def Query(  # noqa: N802
        self, request: bridge_pb2.QueryRequest, context: grpc.aio.ServicerContext
    ) -> bridge_pb2.QueryResponse:
        if not request.path.startswith("/") or len(request.path) > MAX_PATH or len(request.data) > MAX_QUERY_DATA:
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, f"path must start with / and be ≤ {MAX_PATH} chars")
        r = await self._node_or_abort(
            context, lambda: self.rpc.abci_query(request.path, request.data, prove=request.prove)
        )
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
                await _abort_for_rpc_error(context, exc)
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


async def _abort_for_rpc_error(context: grpc.aio.ServicerContext, exc: RPCError) -> None:
    text = str(exc).lower()
    if "already exists in cache" in text:
        await context.abort(grpc.StatusCode.ALREADY_EXISTS, str(exc))
    if "mempool is full" in text:
        await context.abort(grpc.StatusCode.RESOURCE_EXHAUSTED, str(exc))
    if "too large" in text:
        await context.abort(grpc.StatusCode.INVALID_ARGUMENT, str(exc))
    await context.abort(grpc.StatusCode.UNAVAILABLE, str(exc))


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


async def _watch_node(service: BridgeService, health_servicer: Any) -> None:
    """Report NOT_SERVING on the health service while the node cannot be reached."""
    last = None
    while True:
        try:
            await service.node(service.rpc.status)
            status = health_pb2.HealthCheckResponse.SERVING
        except RPCError:
            status = health_pb2.HealthCheckResponse.NOT_SERVING
        if status != last:
            for name in ("", SERVICE_NAME):
                await health_servicer.set(name, status)
            last = status
        await asyncio.sleep(2.0)


def _member_query(service: BridgeService) -> Callable[[str], Any]:
    async def query(path: str) -> tuple[int, bytes]:
        r = await service.node(service.rpc.abci_query, path)
        return int(r.get("code", 0)), base64.b64decode(r.get("value") or "")

    return query


def build_server(config: BridgeConfig, service: BridgeService) -> tuple[grpc.aio.Server, Any]:
    """The gRPC server for `service` (not started): the bridge, health and reflection services,
    member authentication if configured, TLS when a certificate is configured."""
    interceptors = []
    server_cert = config.tls_cert.read_bytes() if config.tls_cert is not None else b""
    if config.member_auth:
        if not server_cert:
            raise ValueError("member authentication needs TLS (--tls-cert and --tls-key)")
        der = x509.load_pem_x509_certificate(server_cert).public_bytes(Encoding.DER)
        interceptors.append(MemberAuthInterceptor(MemberVerifier(_member_query(service), der)))
    server = grpc.aio.server(interceptors=interceptors, maximum_concurrent_rpcs=config.max_concurrent_rpcs)
    bridge_pb2_grpc.add_BridgeServicer_to_server(service, server)  # type: ignore[no-untyped-call]
    tx_pb2_grpc.add_TxApiServicer_to_server(TxApiService(service), server)  # type: ignore[no-untyped-call]
    gateway_pb2_grpc.add_GatewayApiServicer_to_server(GatewayApiService(service), server)  # type: ignore[no-untyped-call]
    add_read_services(service, server)
    health_servicer = health.aio.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    reflection.enable_server_reflection(
        (
            SERVICE_NAME,
            *API_SERVICE_NAMES,
            health_pb2.DESCRIPTOR.services_by_name["Health"].full_name,
            reflection.SERVICE_NAME,
        ),
        server,
    )
    if config.tls_cert is not None and config.tls_key is not None:
        creds = grpc.ssl_server_credentials([(config.tls_key.read_bytes(), server_cert)])
        port = server.add_secure_port(config.listen, creds)
    else:
        port = server.add_insecure_port(config.listen)
    if port == 0:
        raise OSError(f"cannot listen on {config.listen}")
    return server, health_servicer


async def serve(config: BridgeConfig, ready: asyncio.Event | None = None, service: BridgeService | None = None) -> None:
    """Serve the bridge until cancelled."""
    if service is None:
        verifier: HeaderVerifier | None = None
        if config.genesis is not None:
            verifier = LightClient.from_genesis(CometRPC(config.node_url), json.loads(config.genesis.read_text()))
        service = BridgeService(config, verifier)
    server, health_servicer = build_server(config, service)
    await server.start()
    watcher = asyncio.create_task(_watch_node(service, health_servicer))
    log.info("bridge_listening", listen=config.listen, node=config.node_url, tls=config.tls_cert is not None)
    if ready is not None:
        ready.set()
    try:
        await server.wait_for_termination()
    finally:
        watcher.cancel()
        await server.stop(grace=2)
        await service.hub.close()
        service.pool.shutdown(wait=False, cancel_futures=True)


def _configure_logging(fmt: str) -> None:
    renderer: structlog.typing.Processor = (
        structlog.processors.JSONRenderer() if fmt == "json" else structlog.dev.ConsoleRenderer(colors=False)
    )
    structlog.configure(
        processors=[
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            renderer,
        ],
        logger_factory=structlog.PrintLoggerFactory(sys.stderr),
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m clients.bridge", description=__doc__)
    parser.add_argument("--listen", type=host_port, default="127.0.0.1:26659", help="HOST:PORT to serve gRPC on")
    parser.add_argument("--node", type=http_url, default="http://127.0.0.1:26657", help="the node's CometBFT RPC")
    parser.add_argument("--tls-cert", type=existing_file, help="PEM certificate chain: serve TLS only")
    parser.add_argument("--tls-key", type=existing_file, help="PEM private key of --tls-cert")
    parser.add_argument("--member-auth", action="store_true", help="require a member certificate on every call")
    parser.add_argument("--genesis", type=existing_file, help="check proofs with a light client trusting this genesis")
    parser.add_argument("--max-subscribers", type=positive_count, default=64)
    parser.add_argument("--max-commit-waits", type=positive_count, default=128)
    parser.add_argument("--log-format", choices=["console", "json"], default="console")
    args = parser.parse_args(argv)
    if (args.tls_cert is None) != (args.tls_key is None):
        parser.error("--tls-cert and --tls-key go together")
    _configure_logging(args.log_format)
    config = BridgeConfig(
        args.listen,
        args.node,
        tls_cert=args.tls_cert,
        tls_key=args.tls_key,
        member_auth=args.member_auth,
        genesis=args.genesis,
        max_subscribers=args.max_subscribers,
        max_commit_waits=args.max_commit_waits,
    )
    try:
        asyncio.run(serve(config))
    except KeyboardInterrupt:
        return 0
    except (OSError, ValueError, RuntimeError) as exc:  # port taken, unreadable TLS files or genesis
        sys.stderr.write(f"error: the bridge cannot start: {exc}\n")
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
