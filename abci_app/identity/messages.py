"""Identity messages as frozen records, converted from their protobuf form at the codec."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from abci_app.codec_util import address_field, text_field
from abci_app.types import Address

__all__ = ["FROM_PROTO", "EnrollMember", "GrantRole", "RevokeMember", "RevokeRole"]


@dataclass(frozen=True, slots=True)
class EnrollMember:
    certificate_der: bytes


@dataclass(frozen=True, slots=True)
class RevokeMember:
    member: Address
    reason: str


@dataclass(frozen=True, slots=True)
class GrantRole:
    member: Address
    role: str


@dataclass(frozen=True, slots=True)
class RevokeRole:
    member: Address
    role: str


FROM_PROTO: dict[str, Callable[[Any], object]] = {
    "enroll_member": lambda m: EnrollMember(bytes(m.certificate_der)),
    "revoke_member": lambda m: RevokeMember(address_field(m.member, "member"), text_field(m.reason, "reason", 256)),
    "grant_role": lambda m: GrantRole(address_field(m.member, "member"), text_field(m.role, "role", 32)),
    "revoke_role": lambda m: RevokeRole(address_field(m.member, "member"), text_field(m.role, "role", 32)),
}
