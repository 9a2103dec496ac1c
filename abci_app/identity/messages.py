"""Identity messages as frozen records, converted from their protobuf form at the codec."""

from __future__ import annotations

from dataclasses import dataclass

from gridledger.identity.v1 import identity_pb2

from abci_app.codec_util import address_field, bytes_field, text_field
from abci_app.types import Address

__all__ = [
    "EnrollMember",
    "GrantRole",
    "RevokeMember",
    "RevokeRole",
    "enroll_member_from_proto",
    "grant_role_from_proto",
    "revoke_member_from_proto",
    "revoke_role_from_proto",
]

MAX_CERT_BYTES = 8_192


@dataclass(frozen=True, slots=True)
class EnrollMember:
    """Enrol the signer with a member certificate issued by its org's CA."""

    certificate_der: bytes


@dataclass(frozen=True, slots=True)
class RevokeMember:
    """Revoke member `member` and its certificate (its org's admins)."""

    member: Address
    reason: str


@dataclass(frozen=True, slots=True)
class GrantRole:
    """Grant `role` to member `member` (its org's admins)."""

    member: Address
    role: str


@dataclass(frozen=True, slots=True)
class RevokeRole:
    """Take `role` from member `member` (its org's admins)."""

    member: Address
    role: str


def enroll_member_from_proto(m: identity_pb2.EnrollMember) -> EnrollMember:
    """An EnrollMember carrying a DER certificate of at most MAX_CERT_BYTES (checked against the org's CA
    by the handler)."""
    return EnrollMember(bytes_field(m.certificate_der, "certificate_der", MAX_CERT_BYTES))


def revoke_member_from_proto(m: identity_pb2.RevokeMember) -> RevokeMember:
    """A RevokeMember of a 20-byte address, with a reason of at most 256 bytes."""
    return RevokeMember(address_field(m.member, "member"), text_field(m.reason, "reason", 256))


def grant_role_from_proto(m: identity_pb2.GrantRole) -> GrantRole:
    """A GrantRole of a 20-byte address and a role name of at most 32 bytes (the handler checks it names a
    role)."""
    return GrantRole(address_field(m.member, "member"), text_field(m.role, "role", 32))


def revoke_role_from_proto(m: identity_pb2.RevokeRole) -> RevokeRole:
    """A RevokeRole of a 20-byte address and a role name of at most 32 bytes (the handler checks it names a
    role)."""
    return RevokeRole(address_field(m.member, "member"), text_field(m.role, "role", 32))
