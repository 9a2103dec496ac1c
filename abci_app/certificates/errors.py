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
    # EnergyTag GC Registry API actions (registry_actions.py)
    NOT_ACCEPTED = 261  # the recipient accepts transfers only from its allow-list, and the sender is not on it
    UNKNOWN_RETIREMENT = 262
    NOT_BENEFICIARY = 263  # only a retirement's beneficiary claims it
    ALREADY_CLAIMED = 264
    NOT_WITHDRAWABLE = 265  # retired, consumed by storage, revoked or withdrawn already
    NOT_LOCKED_OR_RESERVED = 266  # release of a bundle that is neither locked nor reserved
    UNKNOWN_RECURRING_ACTION = 267
    NOT_ACTION_OWNER = 268  # only the owner of a standing instruction cancels it
    ALLOW_LIST_FULL = 269  # more than MAX_ALLOWED senders on one allow-list
    BAD_RECURRENCE = 270  # first_hour not a production-hour boundary
