"""Simulation clocks: real time accelerated by a factor, or a manual clock for tests."""

from __future__ import annotations

import time
from typing import Protocol

__all__ = ["AcceleratedClock", "Clock", "ManualClock"]


class Clock(Protocol):
    """Tells simulated unix time in seconds."""

    def now(self) -> float:
        """Current simulated unix time."""
        ...


class AcceleratedClock:
    """Simulated time that starts at `start` and runs `speed` times faster than the wall clock."""

    def __init__(self, start: float, speed: float = 1.0) -> None:
        if speed <= 0:
            raise ValueError("speed must be positive")
        self._start = start
        self._speed = speed
        self._t0 = time.monotonic()

    @property
    def speed(self) -> float:
        """Simulated seconds per wall-clock second."""
        return self._speed

    def now(self) -> float:
        """`start + speed × (wall seconds since creation)`; never goes backwards."""
        return self._start + (time.monotonic() - self._t0) * self._speed


class ManualClock:
    """A clock that moves only when told to."""

    def __init__(self, start: float) -> None:
        self._now = start

    def now(self) -> float:
        """The time last set."""
        return self._now

    def advance(self, seconds: float) -> None:
        """Move forward by `seconds` (never backwards)."""
        if seconds < 0:
            raise ValueError("time never goes backwards")
        self._now += seconds
