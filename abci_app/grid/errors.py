"""Grid error codes (300-349). Consensus: never renumber or reuse."""

from __future__ import annotations

from enum import IntEnum

__all__ = ["ERROR_RANGE", "GridCode"]

ERROR_RANGE = (300, 349)


class GridCode(IntEnum):
    FEES_INVERTED = 300  # intra-feeder fee above the inter-feeder fee
    UNKNOWN_SUPPLIER = 301
    DR_EVENT_EXISTS = 302
    UNKNOWN_DR_EVENT = 303
    DR_BAD_WINDOW = 304  # end ≤ start, starts in the past, or too long
    DR_ENROLMENT_CLOSED = 305  # the event has started
    DR_ALREADY_ENROLLED = 306
    DR_WRONG_FEEDER = 307  # the device is not on the event's feeder
    NOT_DEVICE_OWNER = 308
    UNKNOWN_DEVICE = 309
    UNKNOWN_FEEDER_LIMIT = 310
    DR_TOO_MANY_ENROLMENTS = 311  # the event has grid.max_enrolments_per_event enrolments
    SUPPLIER_NOT_ELIGIBLE = 312  # not an active issuer of an org with the issuer capability (supplier.py)
