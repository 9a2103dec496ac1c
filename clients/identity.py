"""Client side of the identity domain: message builders (no abci_app imports)."""

from __future__ import annotations

from gridledger.identity.v1 import identity_pb2

__all__ = ["enroll", "grant_role", "revoke_member", "revoke_role"]


def enroll(certificate_der: bytes) -> identity_pb2.EnrollMember:
    """Enrol the member a DER certificate of an admitted org's CA names."""
    return identity_pb2.EnrollMember(certificate_der=certificate_der)


def revoke_member(member: bytes, reason: str) -> identity_pb2.RevokeMember:
    """Revoke the member at address `member` (an org admin's message)."""
    return identity_pb2.RevokeMember(member=member, reason=reason)


def grant_role(member: bytes, role: str) -> identity_pb2.GrantRole:
    """Give `member` the role `role` (within its org's capabilities)."""
    return identity_pb2.GrantRole(member=member, role=role)


def revoke_role(member: bytes, role: str) -> identity_pb2.RevokeRole:
    """Take the role `role` from `member`."""
    return identity_pb2.RevokeRole(member=member, role=role)
