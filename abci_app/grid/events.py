"""Grid event types: declared in the domain's contract (gridwire/contract/grid.py)."""

from __future__ import annotations

from gridwire.contract.grid import (
    DR_ENROLLED,
    DR_EVENT_PUBLISHED,
    DR_EVENT_SETTLED,
    DR_JOINED,
    DR_LEFT,
    DR_REWARDED,
    EVENTS,
    FEEDER_LIMIT_SET,
    GRID_ARCHIVED,
    GRID_FEES_SET,
    TARIFFS_SET,
)

__all__ = [
    "DR_ENROLLED",
    "DR_EVENT_PUBLISHED",
    "DR_EVENT_SETTLED",
    "DR_JOINED",
    "DR_LEFT",
    "DR_REWARDED",
    "EVENTS",
    "FEEDER_LIMIT_SET",
    "GRID_ARCHIVED",
    "GRID_FEES_SET",
    "TARIFFS_SET",
]
