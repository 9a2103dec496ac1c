"""One CometBFT websocket per node, shared by every event subscriber of a bridge.

Subscribers with the same event query share one upstream subscription; distinct queries are
multiplexed on the one connection (CometBFT allows `max_subscriptions_per_client` of them, 5
by default). The number of subscribers is capped; each has a bounded queue, and one that
does not keep up is dropped instead of holding the node's events in memory.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import structlog
import websockets

__all__ = ["EventHub", "HubFullError", "QueryRejectedError", "SubscriptionLostError"]

log = structlog.get_logger("gridledger.bridge.events")


class HubFullError(RuntimeError):
    """The subscriber cap (or the node's per-connection query limit) is reached."""


class QueryRejectedError(ValueError):
    """The node refused the event query (bad syntax)."""


class SubscriptionLostError(RuntimeError):
    """The node's websocket closed, or this subscriber fell too far behind."""


@dataclass(eq=False)
class _Topic:
    query: str
    queues: set[asyncio.Queue[dict[str, Any] | BaseException]] = field(default_factory=set)


class EventHub:
    """Fans the node's websocket events out to subscribers; all methods run on one event loop."""

    def __init__(self, ws_url: str, *, max_subscribers: int = 64, max_queries: int = 5, queue_size: int = 1000) -> None:
        self.ws_url = ws_url
        self.max_subscribers = max_subscribers
        self.max_queries = max_queries
        self.queue_size = queue_size
        self._topics: dict[str, _Topic] = {}
        self._ws: Any = None
        self._reader: asyncio.Task[None] | None = None
        self._pending: dict[int, asyncio.Future[dict[str, Any]]] = {}
        self._ids = itertools.count(1)
        self._lock = asyncio.Lock()

    @property
    def subscribers(self) -> int:
        return sum(len(t.queues) for t in self._topics.values())

    @property
    def connections(self) -> int:
        return 0 if self._ws is None else 1

    async def _request(self, method: str, query: str) -> dict[str, Any]:
        if self._ws is None:
            self._ws = await websockets.connect(self.ws_url, max_size=64 * 1024 * 1024, open_timeout=10)
            self._reader = asyncio.create_task(self._read(self._ws))
        rid = next(self._ids)
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._pending[rid] = future
        await self._ws.send(json.dumps({"jsonrpc": "2.0", "id": rid, "method": method, "params": {"query": query}}))
        try:
            return await asyncio.wait_for(future, timeout=10)
        finally:
            self._pending.pop(rid, None)

    async def _read(self, ws: Any) -> None:
        reason: BaseException = SubscriptionLostError("the node's websocket closed")
        try:
            async for raw in ws:
                message = json.loads(raw)
                future = self._pending.get(message.get("id"))
                result = message.get("result") or {}
                if future is not None and not future.done() and "query" not in result:
                    future.set_result(message)
                    continue
                topic = self._topics.get(result.get("query", ""))
                if topic is None:
                    continue
                for queue in list(topic.queues):
                    if queue.full():
                        topic.queues.discard(queue)
                        queue.get_nowait()  # make room for the verdict
                        queue.put_nowait(SubscriptionLostError("subscriber fell behind; dropped"))
                    else:
                        queue.put_nowait(result)
        except (websockets.ConnectionClosed, OSError, ValueError) as exc:
            reason = SubscriptionLostError(f"the node's websocket failed: {exc}")
        finally:
            if self._ws is ws:
                self._ws = None
                for topic in self._topics.values():
                    for queue in topic.queues:
                        with contextlib.suppress(asyncio.QueueFull):
                            queue.put_nowait(reason)
                self._topics.clear()
                for future in self._pending.values():
                    if not future.done():
                        future.set_exception(reason)

    @contextlib.asynccontextmanager
    async def subscribe(self, query: str) -> AsyncIterator[asyncio.Queue[dict[str, Any] | BaseException]]:
        """A queue receiving each event (CometBFT's `result`: query, data, events) matching
        `query`, or an exception when the subscription is lost. Raises HubFullError at the cap,
        QueryRejectedError for a query the node refuses, OSError if the node is unreachable."""
        queue: asyncio.Queue[dict[str, Any] | BaseException] = asyncio.Queue(self.queue_size)
        async with self._lock:
            if self.subscribers >= self.max_subscribers:
                raise HubFullError(f"{self.max_subscribers} subscribers already")
            topic = self._topics.get(query)
            if topic is None:
                if len(self._topics) >= self.max_queries:
                    raise HubFullError(f"{self.max_queries} distinct queries already")
                answer = await self._request("subscribe", query)
                if answer.get("error"):
                    err = answer["error"]
                    raise QueryRejectedError(f"{err.get('message', '')} {err.get('data', '')}".strip())
                topic = self._topics[query] = _Topic(query)
            topic.queues.add(queue)
        try:
            yield queue
        finally:
            async with self._lock:
                topic.queues.discard(queue)
                if not topic.queues and self._topics.get(query) is topic:
                    del self._topics[query]
                    with contextlib.suppress(Exception):
                        await self._request("unsubscribe", query)

    async def close(self) -> None:
        """Close the websocket (subscribers receive SubscriptionLostError)."""
        ws, self._ws = self._ws, None
        if ws is not None:
            await ws.close()
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._reader
