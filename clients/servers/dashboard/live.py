"""Live updates: one CometBFT websocket subscription to `tm.event='NewBlock'` (on the pool's
nodes in turn: when the node's websocket drops or stays silent, the next node's), fanned out
to the page's server-sent-event streams. Each block becomes a `block` message (height, time,
txs, the node it came from) and each of its signals (clients.signals: alerts, prices,
demand response, grid instructions) a `signal` message, for the subscribers it is addressed
to. Subscribers have bounded queues; one that does not keep up loses messages, never the hub.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import structlog
from websockets.asyncio.client import connect

from clients.alert_watch import websocket_url
from clients.signals import SignalFilter, signals_of_new_block

__all__ = ["Feed", "Subscriber", "messages_of_new_block"]

log = structlog.get_logger("gridledger.dashboard.live")
NEW_BLOCK = "tm.event='NewBlock'"
QUEUE_SIZE = 256
SILENCE_SECONDS = 20.0  # no block for this long: try the next node


@dataclass(eq=False)
class Subscriber:
    who: SignalFilter
    queue: asyncio.Queue[dict[str, Any]] = field(default_factory=lambda: asyncio.Queue(QUEUE_SIZE))
    dropped: int = 0


def messages_of_new_block(value: Mapping[str, Any], who: SignalFilter, source: str) -> list[dict[str, Any]]:
    """The page's messages for one websocket NewBlock `data.value`: the block, then its signals."""
    height, signals = signals_of_new_block(value, who)
    header = (value.get("block") or {}).get("header") or {}
    txs = ((value.get("block") or {}).get("data") or {}).get("txs") or []
    out: list[dict[str, Any]] = [
        {"type": "block", "height": height, "time": header.get("time", ""), "txs": len(txs), "source": source}
    ]
    for s in signals:
        out.append(
            {
                "type": "signal",
                "height": height,
                "signal": s.type,
                "attributes": {a.key: a.value for a in s.attributes},
            }
        )
    return out


class Feed:
    """Follows the nodes' new blocks and hands each subscriber its messages."""

    def __init__(self, rpc_urls: Sequence[str], *, max_subscribers: int = 64) -> None:
        self.rpc_urls = list(rpc_urls)
        self.max_subscribers = max_subscribers
        self.subscribers: set[Subscriber] = set()
        self.source = ""
        self._task: asyncio.Task[None] | None = None

    def subscribe(self, who: SignalFilter) -> Subscriber | None:
        """A new subscriber, or None when the cap is reached."""
        if len(self.subscribers) >= self.max_subscribers:
            return None
        sub = Subscriber(who)
        self.subscribers.add(sub)
        return sub

    def unsubscribe(self, sub: Subscriber) -> None:
        self.subscribers.discard(sub)

    def publish(self, value: Mapping[str, Any], source: str) -> None:
        """Fan one NewBlock value out to every subscriber (its own filter applied)."""
        for sub in list(self.subscribers):
            for message in messages_of_new_block(value, sub.who, source):
                try:
                    sub.queue.put_nowait(message)
                except asyncio.QueueFull:
                    sub.dropped += 1

    def start(self) -> None:
        if self._task is None and self.rpc_urls:
            self._task = asyncio.get_running_loop().create_task(self._run())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        i = 0
        while True:
            url = self.rpc_urls[i % len(self.rpc_urls)]
            try:
                await self._follow(url)
            except (OSError, TimeoutError, ValueError, KeyError) as exc:
                log.info("websocket lost; next node", node=url, error=str(exc)[:200])
            except Exception as exc:  # websockets' own errors: any of them means try the next node
                log.info("websocket failed; next node", node=url, error=str(exc)[:200])
            i += 1
            await asyncio.sleep(0.5 if i % len(self.rpc_urls) else 2.0)

    async def _follow(self, rpc_url: str) -> None:
        async with connect(websocket_url(rpc_url), max_size=64 * 1024 * 1024, open_timeout=5) as ws:
            request = {"jsonrpc": "2.0", "id": 1, "method": "subscribe", "params": {"query": NEW_BLOCK}}
            await ws.send(json.dumps(request))
            self.source = rpc_url
            while True:
                raw = await asyncio.wait_for(ws.recv(), timeout=SILENCE_SECONDS)
                message = json.loads(raw)
                data = (message.get("result") or {}).get("data") or {}
                if data.get("value"):
                    self.publish(data["value"], rpc_url)
