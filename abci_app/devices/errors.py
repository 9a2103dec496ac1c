"""Devices error codes (100-149) and battery codes (150-199). Consensus: never renumber or reuse.

The reading codes (100-112, 150) are per-reading reason codes: they appear in
`reading_rejected` events while the tx itself succeeds.
"""

from __future__ import annotations

from enum import IntEnum

__all__ = ["ERROR_RANGE", "DevicesCode"]

ERROR_RANGE = (100, 199)


class DevicesCode(IntEnum):
    # per-reading reasons, in the order they are checked
    UNKNOWN_DEVICE = 100
    BAD_READING_SIGNATURE = 101  # the registered key did not sign (forged, or another device's key)
    RETIRED_KEY = 102  # signed by one of the device's 4 most recently rotated-out keys (older: 101)
    DEVICE_SUSPENDED = 103
    RELAY_NOT_ALLOWED = 104  # the tx signer is neither the device's gateway nor its owner
    SEQ_REPLAYED = 105  # seq at or below the last accepted one (and not an identical resend)
    INTERVAL_OVERLAP = 106  # start before the last accepted reading's end
    BAD_INTERVAL = 107  # start >= end, or longer than MAX_READING_SECONDS
    REGISTER_DECREASED = 108
    ABOVE_NAMEPLATE = 109
    INTERVAL_IN_FUTURE = 110
    # checked right after BAD_INTERVAL: too short first, then before registration
    READING_BEFORE_REGISTRATION = 111  # the reading starts before the device's registration time
    READING_TOO_SHORT = 112  # the reading's own interval is shorter than devices.min_reading_seconds
    # registry
    DEVICE_EXISTS = 120
    UNKNOWN_SITE = 121
    SITE_EXISTS = 122
    NOT_DEVICE_OWNER = 123
    UNKNOWN_OWNER = 124
    KEY_NOT_NEW = 125  # rotation to the current or a retired key
    DEVICE_STATE = 126  # suspend a suspended device, reinstate an active one
    NOT_SITE_OWNER = 127  # a device is registered on a site only for (and by or for) the site's owner
    SITE_MISMATCH = 128  # a device's feeder or grid region given and not its site's
    NOT_A_GENERATOR = 129  # a renewable energy_source declared by a kind that never generates (meter, load)
    # batteries
    SOC_OUT_OF_BOUNDS = 150
    NOT_A_BATTERY = 151
