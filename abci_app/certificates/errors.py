"""Certificates error codes (250-299). Consensus: never renumber or reuse."""

from __future__ import annotations

from enum import IntEnum

__all__ = ["ERROR_RANGE", "CertificatesCode"]

ERROR_RANGE = (250, 299)


class CertificatesCode(IntEnum):
    UNKNOWN_BUNDLE = 250
    NOT_BUNDLE_OWNER = 251
    BUNDLE_NOT_ACTIVE = 252  # retired, suspended, revoked, consumed by storage or expired
    VOLUME_EXCEEDED = 253  # more Wh than the bundle holds
    UNKNOWN_RECIPIENT = 254  # not an enrolled, active member
    BAD_CONSUMPTION_PERIOD = 255  # start >= end or longer than MAX_CONSUMPTION_SECONDS
    UNKNOWN_DEVICE = 256
    OVERSIGHT_REVOKED = 257  # reinstate from an hour the device's standing revocation covers (revoked is final)
    PARTIAL_REINSTATE = 258  # reinstate from after the standing suspension's first hour (lifted whole)
    UNKNOWN_HOLD = 259  # no clear-sky hold of that device-hour
    HOLD_DECIDED = 260  # the clear-sky hold holds nothing awaiting the certifier (released or rejected)
