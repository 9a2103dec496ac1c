"""Identity event types."""

from __future__ import annotations

__all__ = ["EVENTS", "MEMBER_ENROLLED", "MEMBER_REVOKED", "ROLE_GRANTED", "ROLE_REVOKED"]

MEMBER_ENROLLED = "member_enrolled"
MEMBER_REVOKED = "member_revoked"
ROLE_GRANTED = "role_granted"
ROLE_REVOKED = "role_revoked"
EVENTS = frozenset({MEMBER_ENROLLED, MEMBER_REVOKED, ROLE_GRANTED, ROLE_REVOKED})
