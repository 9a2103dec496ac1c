"""What the gateway receives besides readings: price signals, alerts and demand-response events."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Protocol

__all__ = ["Alert", "DrEvent", "MemorySignalSource", "PriceSignal", "Signal", "SignalSource"]


@dataclass(frozen=True, slots=True)
class PriceSignal:
    """Price in minor units per kWh valid for [start, end)."""

    start: int
    end: int
    price: int


@dataclass(frozen=True, slots=True)
class Alert:
    """A ledger alert for this home (e.g. a rule that cannot be met), with the best price available."""

    code: str
    reason: str
    best_price: int | None = None


@dataclass(frozen=True, slots=True)
class DrEvent:
    """A demand-response event: shed load at `level` (1 moderate, 2 high, 3 special) during [start, end)."""

    event_id: str
    start: int
    end: int
    level: int
    cancelled: bool = False

    def active(self, t: float) -> bool:
        """True while the event is in force at `t`."""
        return not self.cancelled and self.start <= t < self.end


Signal = PriceSignal | Alert | DrEvent


class SignalSource(Protocol):
    """A stream of signals for one gateway."""

    def signals(self) -> AsyncIterator[Signal]:
        """Signals in arrival order; the iterator ends when the source is closed."""
        ...


class MemorySignalSource:
    """In-process source for tests and the simulator: `publish` puts, `signals()` yields."""

    def __init__(self) -> None:
        self._queue: asyncio.Queue[Signal | None] = asyncio.Queue()

    def publish(self, signal: Signal) -> None:
        """Queue one signal."""
        self._queue.put_nowait(signal)

    def close(self) -> None:
        """End the stream."""
        self._queue.put_nowait(None)

    async def signals(self) -> AsyncIterator[Signal]:
        """Yield queued signals until closed."""
        while (item := await self._queue.get()) is not None:
            yield item
