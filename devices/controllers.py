"""Controllers: turn price signals, alerts and DR events into device settings.

Prices and demand-response events are kept as schedules and applied by time (`apply(t)`).
Alerts are logged and kept; two of them also act on the flexible loads:

* `budget_spent` (a standing rule's daily budget is used up): discretionary consumption is held
  (`hold(True)`: the dryer waits, the thermostat stops heating early, the EV charges only what
  its departure needs) until the end of the alert interval's UTC day, when the budget renews;
* `deadline_at_risk` (a deferrable rule may not get its energy before its deadline): each
  deferrable load is told to run now (`run_now()`), whatever the price, at the next `apply`.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

from devices.signals import Alert, DrEvent, PriceSignal, Signal

__all__ = ["BUDGET_SPENT", "DEADLINE_AT_RISK", "Deferrable", "Holdable", "HomeController", "PriceFollower", "Sheddable"]

log = logging.getLogger(__name__)

DAY = 86400
BUDGET_SPENT = "budget_spent"
DEADLINE_AT_RISK = "deadline_at_risk"


class PriceFollower(Protocol):
    """A device that decides by the current price (battery rules, thermostat, dryer, EV)."""

    price: int


class Sheddable(Protocol):
    """A device that reacts to demand response: `shed(level)` with 0 meaning no event."""

    def shed(self, level: int) -> None:
        """Apply (level ≥ 1) or lift (0) a demand-response request."""
        ...


class Holdable(Protocol):
    """A flexible load whose discretionary consumption can be held (the owner's budget is spent)."""

    def hold(self, on: bool) -> None:
        """Hold (True) or allow again (False) consumption that is not needed now."""
        ...


class Deferrable(Protocol):
    """A deferrable load that can be told to run now (its deadline is at risk)."""

    def run_now(self) -> None:
        """Run the waiting job as soon as it can, whatever the price."""
        ...


@dataclass
class HomeController:
    """Keeps the price schedule, DR events and alerts, and applies what is in force at a given time."""

    followers: Sequence[PriceFollower]
    sheddables: Sequence[Sheddable]
    prices: list[PriceSignal] = field(default_factory=list)
    events: dict[str, DrEvent] = field(default_factory=dict)
    alerts: list[Alert] = field(default_factory=list)
    holdables: Sequence[Holdable] = ()
    deferrables: Sequence[Deferrable] = ()
    hold_until: int = 0  # budget_spent: discretionary consumption is held before this time
    run_now_pending: bool = False  # deadline_at_risk: deferrable loads run at the next apply

    def receive(self, signal: Signal) -> None:
        """Record one signal (a DR event with the same id replaces the earlier one)."""
        if isinstance(signal, PriceSignal):
            self.prices.append(signal)
        elif isinstance(signal, DrEvent):
            self.events[signal.event_id] = signal
        else:
            self.alerts.append(signal)
            log.warning("alert %s: %s (best price %s)", signal.code, signal.reason, signal.best_price)
            if signal.code == BUDGET_SPENT and signal.interval is not None:
                self.hold_until = max(self.hold_until, (signal.interval // DAY + 1) * DAY)
            elif signal.code == DEADLINE_AT_RISK:
                self.run_now_pending = True

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
        """Push the price, DR level, budget hold and run-now requests in force at `t` to the devices."""
        price = self.price_at(t)
        if price is not None:
            for device in self.followers:
                device.price = price
        level = self.dr_level_at(t)
        for target in self.sheddables:
            target.shed(level)
        held = t < self.hold_until
        for load in self.holdables:
            load.hold(held)
        if self.run_now_pending:
            self.run_now_pending = False
            for job in self.deferrables:
                job.run_now()
