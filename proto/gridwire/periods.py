"""The one integer rule for spreading a quantity over aligned periods of time.

A quantity over [start, end) is split over the periods of length `period` (aligned to
multiples of `period`) that it overlaps, in proportion to seconds, rounded down; the last
period gets the remainder, so the parts always sum to the quantity. Settlement intervals
(devices), production hours (certificates) and consumption periods (retirements) all use it.
"""

from __future__ import annotations

__all__ = ["split_by_period"]


def split_by_period(start: int, end: int, total: int, period: int) -> list[tuple[int, int]]:
    """(period start, part) of each period [start, end) overlaps; the parts sum to `total`.
    Requires start < end and period > 0."""
    out: list[tuple[int, int]] = []
    duration, given = end - start, 0
    k = start - start % period
    while k < end:
        nxt = k + period
        if nxt >= end:
            out.append((k, total - given))
            break
        part = total * (nxt - max(start, k)) // duration
        given += part
        out.append((k, part))
        k = nxt
    return out
