"""Controllers: turn price signals, alerts and DR events into device settings."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

from devices.signals import Alert, DrEvent, PriceSignal, Signal

__all__ = ["HomeController", "PriceFollower", "Sheddable"]

log = logging.getLogger(__name__)


class PriceFollower(Protocol):
    """A device that decides by the current price (battery rules, thermostat, dryer, EV)."""

    price: int


class Sheddable(Protocol):
    """A device that reacts to demand response: `shed(level)` with 0 meaning no event."""

    def shed(self, level: int) -> None:
        """Apply (level ≥ 1) or lift (0) a demand-response request."""
        ...


@dataclass
class HomeController:
    """Keeps the price schedule and DR events, and applies what is in force at a given time."""

    followers: Sequence[PriceFollower]
    sheddables: Sequence[Sheddable]
    prices: list[PriceSignal] = field(default_factory=list)
    events: dict[str, DrEvent] = field(default_factory=dict)
    alerts: list[Alert] = field(default_factory=list)

    def receive(self, signal: Signal) -> None:
        """Record one signal (a DR event with the same id replaces the earlier one)."""
        if isinstance(signal, PriceSignal):
            self.prices.append(signal)
        elif isinstance(signal, DrEvent):
            self.events[signal.event_id] = signal
        else:
            self.alerts.append(signal)
            log.warning("alert %s: %s (best price %s)", signal.code, signal.reason, signal.best_price)

    def price_at(self, t: float) -> int | None:
        """The latest-received price covering `t`; else the price of the latest interval that
        started before `t` (a price signal can arrive after its interval began — OpenADR VENs
        poll — and the last known price is a better guide than none)."""
        for p in reversed(self.prices):
            if p.start <= t < p.end:
                return p.price
        started = [p for p in self.prices if p.start <= t]
        return max(started, key=lambda p: p.start).price if started else None

    def dr_level_at(self, t: float) -> int:
        """The highest level of the DR events in force at `t` (0 if none)."""
        return max((e.level for e in self.events.values() if e.active(t)), default=0)

    def apply(self, t: float) -> None:
        """Push the price and DR level in force at `t` to the devices."""
        price = self.price_at(t)
        if price is not None:
            for device in self.followers:
                device.price = price
        level = self.dr_level_at(t)
        for target in self.sheddables:
            target.shed(level)
