"""Devices event types."""

from __future__ import annotations

__all__ = [
    "BATTERY_RULES_SET",
    "COMMISSIONING_WITHDRAWN",
    "DEVICE_COMMISSIONED",
    "DEVICE_KEY_ROTATED",
    "DEVICE_REGISTERED",
    "DEVICE_REINSTATED",
    "DEVICE_SUSPENDED",
    "DEVICE_TRANSFERRED",
    "ENERGY_PRUNED",
    "EVENTS",
    "READING_ACCEPTED",
    "READING_DUPLICATE",
    "READING_REJECTED",
    "SITE_MOVED",
    "SITE_REGISTERED",
]

SITE_REGISTERED = "site_registered"
SITE_MOVED = "site_moved"
DEVICE_REGISTERED = "device_registered"
DEVICE_SUSPENDED = "device_suspended"
DEVICE_REINSTATED = "device_reinstated"
DEVICE_TRANSFERRED = "device_transferred"
DEVICE_KEY_ROTATED = "device_key_rotated"
READING_ACCEPTED = "reading_accepted"
READING_REJECTED = "reading_rejected"
READING_DUPLICATE = "reading_duplicate"
BATTERY_RULES_SET = "battery_rules_set"
ENERGY_PRUNED = "energy_pruned"
DEVICE_COMMISSIONED = "device_commissioned"
COMMISSIONING_WITHDRAWN = "commissioning_withdrawn"
EVENTS = frozenset(
    {
        SITE_REGISTERED,
        SITE_MOVED,
        DEVICE_REGISTERED,
        DEVICE_SUSPENDED,
        DEVICE_REINSTATED,
        DEVICE_TRANSFERRED,
        DEVICE_KEY_ROTATED,
        READING_ACCEPTED,
        READING_REJECTED,
        READING_DUPLICATE,
        BATTERY_RULES_SET,
        ENERGY_PRUNED,
        DEVICE_COMMISSIONED,
        COMMISSIONING_WITHDRAWN,
    }
)
