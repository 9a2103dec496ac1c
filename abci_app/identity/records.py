"""Org, member and device-CA records (frozen) and their stored encoding.

Each encodes field by field (abci_app/proto_record.py) to the `gridledger.identity.v1`
message of the same name; `decode(raw).encode() == raw`. Decoding is cached by the bytes:
every tx reads its signer's member record and org.
"""

from __future__ import annotations

from dataclasses import dataclass

from gridledger.identity.v1 import identity_pb2

from abci_app.proto_record import ProtoRecord, proto_record
from abci_app.types import Address, OrgId

__all__ = ["DeviceCa", "Member", "Org"]


@proto_record(cached=4096)
@dataclass(frozen=True, slots=True)
class Org(ProtoRecord[identity_pb2.Org]):
    """An org: its name, root CA, whether it is active, when it was admitted, and the roles its members may
    hold besides admin (sorted)."""

    org_id: OrgId
    name: str
    root_ca_der: bytes
    active: bool
    admitted_at: int
    capabilities: tuple[str, ...]  # roles its members may hold besides admin; sorted

    def allows(self, role: str) -> bool:
        """Whether members of this org may hold `role` (admin always)."""
        return role == "admin" or role in self.capabilities


@proto_record(cached=65_536)
@dataclass(frozen=True, slots=True)
class Member(ProtoRecord[identity_pb2.Member]):
    """An enrolled member: its key and org, roles (sorted, unique), certificate serial and validity,
    whether it is revoked, and when it enrolled."""

    address: Address
    public_key: bytes
    org_id: OrgId
    roles: tuple[str, ...]  # sorted, unique
    cert_serial: bytes
    not_before: int
    not_after: int
    revoked: bool
    common_name: str
    enrolled_at: int

    def has_role(self, role: str) -> bool:
        """Whether the member holds `role` (its roles are sorted and unique)."""
        return role in self.roles


@proto_record(cached=1024)
@dataclass(frozen=True, slots=True)
class DeviceCa(ProtoRecord[identity_pb2.DeviceCa]):
    """A device CA governance admitted: an org's (org_id set) or a manufacturer's (org_id '')."""

    ca_id: str
    name: str
    org_id: str
    ca_der: bytes
    admitted_at: int
    revoked_at: int  # 0: not revoked

    @property
    def revoked(self) -> bool:
        """Whether governance revoked the CA (keys it certified are then untrusted)."""
        return self.revoked_at != 0
