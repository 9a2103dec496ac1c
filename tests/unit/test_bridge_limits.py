"""The bridge's concurrency limits, against a fake node whose txs never commit: commit waits
hold no thread (other calls stay fast), their number is capped (RESOURCE_EXHAUSTED), and a
wait ends at the caller's deadline (DEADLINE_EXCEEDED)."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import grpc
import pytest
from gridledger.bridge.v1 import bridge_pb2, bridge_pb2_grpc

from clients.ops.localnet import free_base_port
from clients.rpc import BroadcastResult, RPCError
from clients.servers.bridge import BridgeService
from clients.servers.node import BridgeConfig
from clients.servers.server import build_server


class NeverCommits:
    """Accepts every tx in CheckTx; none ever appears in a block."""

    def __init__(self) -> None:
        self.polls = 0

    def broadcast_sync(self, tx: bytes) -> BroadcastResult:
        return BroadcastResult(0, "", tx.hex().upper()[:64])

    def tx(self, tx_hash: str) -> dict[str, Any] | None:
        self.polls += 1
        return None

    def status(self) -> dict[str, Any]:
        return {
            "node_info": {"network": "fake"},
            "sync_info": {"latest_block_height": "7", "latest_app_hash": "00" * 32, "catching_up": False},
        }


class Unreachable(NeverCommits):
    def status(self) -> dict[str, Any]:
        raise RPCError("connection refused")


async def _run(node: NeverCommits, scenario: Any, **limits: Any) -> None:
    port = free_base_port(1)
    config = BridgeConfig(f"127.0.0.1:{port}", "http://127.0.0.1:9", node_threads=2, **limits)
    service = BridgeService(config)
    service.rpc = node  # type: ignore[assignment]
    server, _health = build_server(config, service)
    await server.start()
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
            await scenario(bridge_pb2_grpc.BridgeStub(channel))  # type: ignore[no-untyped-call]
    finally:
        await server.stop(grace=None)
        service.pool.shutdown(wait=False, cancel_futures=True)


def test_waits_are_capped_and_do_not_starve_other_calls() -> None:
    node = NeverCommits()

    async def scenario(stub: Any) -> None:
        waits = [
            asyncio.ensure_future(stub.Broadcast(bridge_pb2.BroadcastRequest(tx=bytes([i]), wait_commit=True)))
            for i in range(1, 5)
        ]
        await asyncio.sleep(0.5)
        # 4 waits on a 2-thread pool, yet a status call and a sync broadcast answer at once
        started = time.monotonic()
        status = await stub.Status(bridge_pb2.StatusRequest(), timeout=2)
        assert status.height == 7
        assert (await stub.Broadcast(bridge_pb2.BroadcastRequest(tx=b"\x09"), timeout=2)).code == 0
        assert time.monotonic() - started < 1.0
        with pytest.raises(grpc.aio.AioRpcError) as info:
            await stub.Broadcast(bridge_pb2.BroadcastRequest(tx=b"\x0a", wait_commit=True), timeout=2)
        assert info.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
        for w in waits:
            w.cancel()
        await asyncio.sleep(0.3)

    asyncio.run(_run(node, scenario, max_commit_waits=4))
    assert node.polls > 4  # the waits really were polling


def test_wait_ends_at_the_callers_deadline() -> None:
    async def scenario(stub: Any) -> None:
        started = time.monotonic()
        with pytest.raises(grpc.aio.AioRpcError) as info:
            await stub.Broadcast(bridge_pb2.BroadcastRequest(tx=b"\x01", wait_commit=True), timeout=1.0)
        assert info.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED
        assert time.monotonic() - started < 3

    asyncio.run(_run(NeverCommits(), scenario))


def test_server_side_commit_timeout_is_deadline_exceeded() -> None:
    async def scenario(stub: Any) -> None:
        with pytest.raises(grpc.aio.AioRpcError) as info:
            await stub.Broadcast(bridge_pb2.BroadcastRequest(tx=b"\x01", wait_commit=True), timeout=10)
        assert info.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED
        assert "not committed" in (info.value.details() or "")

    asyncio.run(_run(NeverCommits(), scenario, commit_timeout=0.6))


def test_unreachable_node_is_unavailable() -> None:
    async def scenario(stub: Any) -> None:
        with pytest.raises(grpc.aio.AioRpcError) as info:
            await stub.Status(bridge_pb2.StatusRequest(), timeout=5)
        assert info.value.code() == grpc.StatusCode.UNAVAILABLE

    asyncio.run(_run(Unreachable(), scenario))


def test_subscription_without_a_node_is_unavailable() -> None:
    """No websocket can be opened to the (absent) node: the stream ends with UNAVAILABLE."""

    async def scenario(stub: Any) -> None:
        stream = stub.SubscribeEvents(bridge_pb2.SubscribeRequest(query="transfer.amount > 0"))
        with pytest.raises(grpc.aio.AioRpcError) as info:
            await asyncio.wait_for(stream.read(), timeout=15)
        assert info.value.code() == grpc.StatusCode.UNAVAILABLE

    asyncio.run(_run(NeverCommits(), scenario))
