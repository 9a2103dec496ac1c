"""The gRPC bridge: a stateless, keyless gateway between gRPC clients and one CometBFT node.

    python -m clients.servers --listen 127.0.0.1:26659 --node http://127.0.0.1:26657 \
        [--tls-cert server.pem --tls-key server.key [--member-auth]] [--genesis genesis.json]

This module assembles the server: the Bridge API (`clients.servers.bridge`), the typed APIs
(`api_tx`, `api_gateway`, `api_reads`), the standard gRPC health and reflection services, member
authentication (`clients.servers.auth`) and TLS. Calls to the node run on a bounded thread pool
of their own (`clients.servers.node`). Failures map to gRPC status codes: a malformed request is
INVALID_ARGUMENT, an unreachable node UNAVAILABLE, a full cap RESOURCE_EXHAUSTED, a commit not
seen in time DEADLINE_EXCEEDED, a proof that does not verify DATA_LOSS, and member
authentication UNAUTHENTICATED or PERMISSION_DENIED.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import sys
from collections.abc import Callable
from typing import Any

import grpc
import structlog
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from gridledger.api.v1 import gateway_pb2, gateway_pb2_grpc, tx_pb2, tx_pb2_grpc
from gridledger.bridge.v1 import bridge_pb2, bridge_pb2_grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from clients.cli_types import existing_file, host_port, http_url, positive_count
from clients.lightclient import LightClient
from clients.proof import HeaderVerifier
from clients.rpc import CometRPC, RPCError
from clients.servers.api_gateway import GatewayApiService
from clients.servers.api_reads import add_read_services, read_service_names
from clients.servers.api_tx import TxApiService
from clients.servers.auth import MemberAuthInterceptor, MemberVerifier
from clients.servers.bridge import BridgeService
from clients.servers.granted_reads import read_public_key
from clients.servers.node import BridgeConfig

__all__ = ["build_server", "main", "serve"]

log = structlog.get_logger("gridledger.bridge")

SERVICE_NAME = bridge_pb2.DESCRIPTOR.services_by_name["Bridge"].full_name
API_SERVICE_NAMES = (
    tx_pb2.DESCRIPTOR.services_by_name["TxApi"].full_name,
    gateway_pb2.DESCRIPTOR.services_by_name["GatewayApi"].full_name,
    *read_service_names(),
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
    if service.read_key is None:
        log.warning(
            "bridge_reads_public_only",
            reason="no --member-auth: the bridge knows no caller and holds no read grants, so a node keeping "
            "households' data private (the default) refuses its reads of readings, statements, alerts, ...",
        )
    else:
        public = read_public_key(service.read_key).hex()
        log.info("bridge_read_key", read_key=public, persistent=config.read_key is not None)
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
    parser = argparse.ArgumentParser(prog="python -m clients.servers", description=__doc__)
    parser.add_argument("--listen", type=host_port, default="127.0.0.1:26659", help="HOST:PORT to serve gRPC on")
    parser.add_argument("--node", type=http_url, default="http://127.0.0.1:26657", help="the node's CometBFT RPC")
    parser.add_argument("--tls-cert", type=existing_file, help="PEM certificate chain: serve TLS only")
    parser.add_argument("--tls-key", type=existing_file, help="PEM private key of --tls-cert")
    parser.add_argument("--member-auth", action="store_true", help="require a member certificate on every call")
    parser.add_argument(
        "--read-key",
        type=existing_file,
        help="PEM Ed25519 key members' read grants name (with --member-auth; default: a new key per start)",
    )
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
        read_key=args.read_key,
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
