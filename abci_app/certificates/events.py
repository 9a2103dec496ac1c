"""Certificates event types (tx events and end-block hook events)."""

from __future__ import annotations

__all__ = [
    "BUNDLE_CONSUMED",
    "BUNDLE_EXPIRED",
    "BUNDLE_ISSUED",
    "BUNDLE_MERGED",
    "BUNDLE_RETIRED",
    "BUNDLE_REVOKED",
    "BUNDLE_SPLIT",
    "BUNDLE_SUSPENDED",
    "BUNDLE_TRANSFERRED",
    "EVENTS",
]

BUNDLE_ISSUED = "bundle_issued"
BUNDLE_SPLIT = "bundle_split"
BUNDLE_TRANSFERRED = "bundle_transferred"
BUNDLE_MERGED = "bundle_merged"
BUNDLE_RETIRED = "bundle_retired"
BUNDLE_SUSPENDED = "bundle_suspended"
BUNDLE_REVOKED = "bundle_revoked"
BUNDLE_EXPIRED = "bundle_expired"
BUNDLE_CONSUMED = "bundle_consumed_by_storage"
EVENTS = frozenset(
    {
        BUNDLE_ISSUED,
        BUNDLE_SPLIT,
        BUNDLE_TRANSFERRED,
        BUNDLE_MERGED,
        BUNDLE_RETIRED,
        BUNDLE_SUSPENDED,
        BUNDLE_REVOKED,
        BUNDLE_EXPIRED,
        BUNDLE_CONSUMED,
    }
)
