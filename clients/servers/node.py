"""The bridge's link to its one CometBFT node, shared by every API the bridge serves: its
configuration and limits, the node's RPC on a bounded thread pool of its own, the event hub,
the header verifier, and how a node failure becomes a gRPC status."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import grpc
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from gridwire.tx import MAX_TX_BYTES

from clients.proof import HeaderVerifier, TrustedNodeHeaders
from clients.rpc import CometRPC, RPCError
from clients.servers.events import EventHub

__all__ = ["MAX_TX_BYTES", "BridgeConfig", "NodeLink", "abort_for_rpc_error"]

T = TypeVar("T")
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
    read_key: Path | None = None  # PEM Ed25519 key members' read grants name (default: a new one per start)
    genesis: Path | None = None  # verify headers with a light client from this genesis (else trust the node)
    max_concurrent_rpcs: int = 256
    node_threads: int = 16  # threads making quick calls to the node
    max_commit_waits: int = 128
    max_subscribers: int = 64
    commit_timeout: float = 30.0


class NodeLink:
    """What every API service of the bridge calls the node through (see the module docstring)."""

    def __init__(self, config: BridgeConfig, verifier: HeaderVerifier | None = None) -> None:
        self.config = config
        self.rpc = CometRPC(config.node_url, timeout=10)
        self.pool = ThreadPoolExecutor(config.node_threads, thread_name_prefix="bridge-node")
        self.verifier: HeaderVerifier = verifier or TrustedNodeHeaders(self.rpc)
        ws_url = config.node_url.replace("http://", "ws://").replace("https://", "wss://").rstrip("/") + "/websocket"
        self.hub = EventHub(ws_url, max_subscribers=config.max_subscribers)
        self.commit_waits = 0
        # The key this bridge signs granted reads with (clients.servers.granted_reads): only with
        # member authentication, since only then does it know whose grant a call carries.
        self.read_key: Ed25519PrivateKey | None = _read_key(config) if config.member_auth else None
        self._chain_id = ""

    async def chain_id(self, context: grpc.aio.ServicerContext) -> str:
        """The node's chain id (asked once)."""
        if not self._chain_id:
            status = await self.node_or_abort(context, self.rpc.status)
            self._chain_id = str(status["node_info"]["network"])
        return self._chain_id

    async def node(self, fn: Callable[..., T], *args: Any) -> T:
        """Run a blocking node call on the bridge's own pool."""
        return await asyncio.get_running_loop().run_in_executor(self.pool, fn, *args)

    async def node_or_abort(self, context: grpc.aio.ServicerContext, fn: Callable[..., T], *args: Any) -> T:
        try:
            return await self.node(fn, *args)
        except RPCError as exc:
            await abort_for_rpc_error(context, exc)
            raise  # unreachable: abort raises

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
                found = await self.node_or_abort(context, self.rpc.tx, tx_hash_hex)
                if found is not None:
                    return found
                await asyncio.sleep(0.2)
        finally:
            self.commit_waits -= 1
        await context.abort(grpc.StatusCode.DEADLINE_EXCEEDED, f"tx {tx_hash_hex} not committed within {budget:.1f}s")
        raise AssertionError("unreachable")


def _read_key(config: BridgeConfig) -> Ed25519PrivateKey:
    if config.read_key is None:
        return Ed25519PrivateKey.generate()
    from cryptography.hazmat.primitives.serialization import load_pem_private_key  # noqa: PLC0415

    key = load_pem_private_key(config.read_key.read_bytes(), password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError(f"{config.read_key} is not an Ed25519 private key")
    return key


async def abort_for_rpc_error(context: grpc.aio.ServicerContext, exc: RPCError) -> None:
    """Abort the call with the gRPC status a failed node call stands for (always raises)."""
    text = str(exc).lower()
    if "already exists in cache" in text:
        await context.abort(grpc.StatusCode.ALREADY_EXISTS, str(exc))
    if "mempool is full" in text:
        await context.abort(grpc.StatusCode.RESOURCE_EXHAUSTED, str(exc))
    if "too large" in text:
        await context.abort(grpc.StatusCode.INVALID_ARGUMENT, str(exc))
    await context.abort(grpc.StatusCode.UNAVAILABLE, str(exc))
