"""A real gRPC bridge (clients.servers) in a thread of its own, in front of a fake node: for unit
tests of the bridge's authentication, access rules and APIs without CometBFT."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Iterator
from typing import Any

from clients.servers.bridge import BridgeService
from clients.servers.node import BridgeConfig
from clients.servers.server import build_server

GUARD_S = 10.0  # seconds: a guard against a hung test, never an assertion about speed


@contextlib.contextmanager
def serving_bridge(config: BridgeConfig, node: Any) -> Iterator[None]:
    """Serve a bridge with `config` whose node link is `node` (any object answering the RPC
    calls the bridge makes) until the block ends; always stopped, also when the test fails."""
    loop = asyncio.new_event_loop()
    started = threading.Event()
    stop: asyncio.Event | None = None

    async def serve() -> None:
        nonlocal stop
        stop = asyncio.Event()
        service = BridgeService(config)
        service.rpc = node
        server, _health = build_server(config, service)
        await server.start()
        started.set()
        try:
            await stop.wait()
        finally:
            await server.stop(None)
            await service.hub.close()
            service.pool.shutdown(wait=False, cancel_futures=True)

    thread = threading.Thread(target=loop.run_until_complete, args=(serve(),), daemon=True)
    thread.start()
    try:
        if not started.wait(GUARD_S):
            raise RuntimeError("the bridge did not start")
        yield
    finally:
        if stop is not None:
            loop.call_soon_threadsafe(stop.set)
        thread.join(GUARD_S)
        loop.close()
