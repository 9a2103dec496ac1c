"""Grid event types."""

from __future__ import annotations

__all__ = [
    "DR_ENROLLED",
    "DR_EVENT_PUBLISHED",
    "DR_EVENT_SETTLED",
    "DR_JOINED",
    "DR_LEFT",
    "DR_REWARDED",
    "EVENTS",
    "FEEDER_LIMIT_SET",
    "GRID_FEES_SET",
    "TARIFFS_SET",
]

TARIFFS_SET = "tariffs_set"
GRID_FEES_SET = "grid_fees_set"
FEEDER_LIMIT_SET = "feeder_limit_set"
DR_EVENT_PUBLISHED = "dr_event"
DR_ENROLLED = "dr_enrolled"
DR_REWARDED = "dr_rewarded"
DR_EVENT_SETTLED = "dr_event_settled"
DR_JOINED = "dr_joined"
DR_LEFT = "dr_left"
EVENTS = frozenset(
    {
        TARIFFS_SET,
        GRID_FEES_SET,
        FEEDER_LIMIT_SET,
        DR_EVENT_PUBLISHED,
        DR_ENROLLED,
        DR_REWARDED,
        DR_EVENT_SETTLED,
        DR_JOINED,
        DR_LEFT,
    }
)
