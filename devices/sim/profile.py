"""Seeded random processes shared by the simulators."""

from __future__ import annotations

import math
import random

__all__ = ["ar1_series", "smooth_at"]


def ar1_series(seed: int, steps: int, mean: float, sigma: float, phi: float) -> list[float]:
    """An AR(1) series x[t] = mean + phi (x[t-1] - mean) + noise, stationary std `sigma`, same for the same seed."""
    rng = random.Random(seed)  # noqa: S311 - seeded simulation, not crypto
    noise = sigma * math.sqrt(max(0.0, 1 - phi * phi))
    x = mean + rng.gauss(0, sigma)
    out = []
    for _ in range(steps):
        out.append(x)
        x = mean + phi * (x - mean) + rng.gauss(0, noise)
    return out


def smooth_at(series: list[float], step_seconds: float, offset_seconds: float) -> float:
    """Linear interpolation of `series` sampled every `step_seconds`, clamped at both ends."""
    pos = max(0.0, offset_seconds / step_seconds)
    i = int(pos)
    if i >= len(series) - 1:
        return series[-1]
    frac = pos - i
    return series[i] * (1 - frac) + series[i + 1] * frac
