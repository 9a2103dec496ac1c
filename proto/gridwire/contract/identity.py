"""The identity domain's contract with its clients: error codes, event types, query paths.

Identity error codes (20-39). Consensus: never renumber or reuse.
"""

from __future__ import annotations

from enum import IntEnum

from gridwire.contract.paths import QueryRoot

__all__ = [
    "ERROR_RANGE",
    "EVENTS",
    "MEMBER_ENROLLED",
    "MEMBER_REVOKED",
    "ROLE_GRANTED",
    "ROLE_REVOKED",
    "IdentityCode",
    "Paths",
    "is_org_id",
]

ERROR_RANGE = (20, 39)


def is_org_id(text: str) -> bool:
    """Whether `text` can be an org id (also a device CA id): [a-z0-9-], 2 to 32 characters (a
    certificate's O names its org by it; the ledger refuses any other)."""
    return 2 <= len(text) <= 32 and all(c.isascii() and (c.islower() or c.isdigit() or c == "-") for c in text)


class IdentityCode(IntEnum):
    CERT_INVALID = 20
    CERT_FOREIGN_CA = 21
    CERT_REVOKED = 22
    ALREADY_ENROLLED = 23
    UNKNOWN_ORG = 24
    ORG_EXISTS = 25
    UNKNOWN_MEMBER = 26
    CERT_NOT_YET_VALID = 27
    CERT_ROLE_NOT_ALLOWED = 28  # a certificate OU names a role beyond its org's capabilities
    ROLE_NOT_ALLOWED = 29  # a grant names a role beyond the member's org's capabilities
    NOT_ADMIN_OF_ORG = 30  # an admin acting on a member of another org
    ROLE_NOT_HELD = 31  # revoking a role the member does not hold
    DEVICE_CA_EXISTS = 32  # admitting a device CA id already used (revoked ones included)
    UNKNOWN_DEVICE_CA = 33  # revoking a device CA that is not admitted or already revoked


# ---- event types
MEMBER_ENROLLED = "member_enrolled"
MEMBER_REVOKED = "member_revoked"
ROLE_GRANTED = "role_granted"
ROLE_REVOKED = "role_revoked"
EVENTS = frozenset({MEMBER_ENROLLED, MEMBER_REVOKED, ROLE_GRANTED, ROLE_REVOKED})


class Paths:
    """One builder per query root of the identity domain (abci_app/identity/queries.py routes them)."""

    ORG = QueryRoot("org")
    ORGS = QueryRoot("orgs")
    MEMBER = QueryRoot("member")
    MEMBERS = QueryRoot("members")
    DEVICE_CA = QueryRoot("device_ca")
    DEVICE_CAS = QueryRoot("device_cas")
