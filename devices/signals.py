"""What the gateway receives besides readings: price signals, alerts, demand-response events and
the grid's instructions (a site's export/import caps over a curtailed interval)."""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Protocol

__all__ = [
    "INSTRUCTION_REASONS",
    "Alert",
    "DrEvent",
    "Instruction",
    "MemorySignalSource",
    "PriceSignal",
    "SeenSignals",
    "Signal",
    "SignalSource",
]

INSTRUCTION_REASONS = ("feeder_export_limit", "feeder_import_limit")


@dataclass(frozen=True, slots=True)
class PriceSignal:
    """Price in minor units per kWh valid for [start, end)."""

    start: int
    end: int
    price: int


@dataclass(frozen=True, slots=True)
class Alert:
    """A ledger alert for this home (a standing rule that cannot be met), with the best price available.

    `code` is the ledger's reason ("price_above_limit", "budget_spent", "insufficient_funds",
    "battery_at_reserve", "feeder_limit", "no_seller", "deadline_at_risk"), `reason` a text for
    people, `interval` the start of the market interval it is about, and `alert_id` the ledger's
    id (empty when the alert did not come from the ledger)."""

    code: str
    reason: str
    best_price: int | None = None
    interval: int | None = None
    alert_id: str = ""


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


@dataclass(frozen=True, slots=True)
class Instruction:
    """The grid's instruction for one site over [interval, interval_end): at most `export_cap_w` W
    exported and `import_cap_w` W imported at its connection point (None: that side unlimited),
    because of `reason` (one of INSTRUCTION_REASONS). Built only from checked values: the
    interval is not empty and the caps are non-negative."""

    interval: int
    interval_end: int
    site: str
    export_cap_w: int | None
    import_cap_w: int | None
    reason: str

    def __post_init__(self) -> None:
        if self.interval_end <= self.interval:
            raise ValueError(f"instruction interval [{self.interval}, {self.interval_end}) is empty")
        for cap in (self.export_cap_w, self.import_cap_w):
            if cap is not None and (isinstance(cap, bool) or not isinstance(cap, int) or cap < 0):
                raise ValueError(f"an instruction's cap must be a non-negative int or None, got {cap!r}")
        if self.reason not in INSTRUCTION_REASONS:
            raise ValueError(f"unknown instruction reason {self.reason!r}")

    def active(self, t: float) -> bool:
        """True while the instruction is in force at `t`."""
        return self.interval <= t < self.interval_end


Signal = PriceSignal | Alert | DrEvent | Instruction


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


class SeenSignals:
    """Remembers the last `capacity` signals handed on, so that the same signal arriving from a
    second source (a ledger demand-response event from both the OpenADR VEN and the bridge's
    stream, a cleared price from both) is applied once. Signals are compared whole: a changed
    or cancelled event with the same id is a new signal and passes."""

    def __init__(self, capacity: int = 4096) -> None:
        self._seen: OrderedDict[Signal, None] = OrderedDict()
        self._capacity = capacity

    def first(self, signal: Signal) -> bool:
        """True the first time `signal` is offered (and remembers it), False for a repeat."""
        if signal in self._seen:
            self._seen.move_to_end(signal)
            return False
        self._seen[signal] = None
        if len(self._seen) > self._capacity:
            self._seen.popitem(last=False)
        return True
