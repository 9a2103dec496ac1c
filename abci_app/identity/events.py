"""Identity event types: declared in the domain's contract (gridwire/contract/identity.py)."""

from __future__ import annotations

from gridwire.contract.identity import (
    EVENTS,
    MEMBER_ENROLLED,
    MEMBER_REVOKED,
    ROLE_GRANTED,
    ROLE_REVOKED,
)

__all__ = [
    "EVENTS",
    "MEMBER_ENROLLED",
    "MEMBER_REVOKED",
    "ROLE_GRANTED",
    "ROLE_REVOKED",
]
