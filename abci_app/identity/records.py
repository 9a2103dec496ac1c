"""Org and member records (frozen) and their stored encoding."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from gridledger.identity.v1 import identity_pb2

from abci_app.types import Address, OrgId

__all__ = ["DeviceCa", "Member", "Org", "decode_device_ca", "decode_member", "decode_org"]


@dataclass(frozen=True, slots=True)
class Org:
    org_id: OrgId
    name: str
    root_ca_der: bytes
    active: bool
    admitted_at: int
    capabilities: tuple[str, ...]  # roles its members may hold besides admin; sorted

    def allows(self, role: str) -> bool:
        """Whether members of this org may hold `role` (admin always)."""
        return role == "admin" or role in self.capabilities

    def encode(self) -> bytes:
        return identity_pb2.Org(
            org_id=self.org_id,
            name=self.name,
            root_ca_der=self.root_ca_der,
            active=self.active,
            admitted_at=self.admitted_at,
            capabilities=self.capabilities,
        ).SerializeToString()


@lru_cache(maxsize=4096)
def decode_org(raw: bytes) -> Org:
    pb = identity_pb2.Org.FromString(raw)
    return Org(OrgId(pb.org_id), pb.name, pb.root_ca_der, pb.active, pb.admitted_at, tuple(pb.capabilities))


@dataclass(frozen=True, slots=True)
class Member:
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
        return role in self.roles

    def encode(self) -> bytes:
        return identity_pb2.Member(
            address=self.address,
            public_key=self.public_key,
            org_id=self.org_id,
            roles=self.roles,
            cert_serial=self.cert_serial,
            not_before=self.not_before,
            not_after=self.not_after,
            revoked=self.revoked,
            common_name=self.common_name,
            enrolled_at=self.enrolled_at,
        ).SerializeToString()


@lru_cache(maxsize=65536)
def decode_member(raw: bytes) -> Member:
    """Decoded members are cached by their bytes: the hot path reads the signer every tx."""
    pb = identity_pb2.Member.FromString(raw)
    return Member(
        address=Address(pb.address),
        public_key=pb.public_key,
        org_id=OrgId(pb.org_id),
        roles=tuple(pb.roles),
        cert_serial=pb.cert_serial,
        not_before=pb.not_before,
        not_after=pb.not_after,
        revoked=pb.revoked,
        common_name=pb.common_name,
        enrolled_at=pb.enrolled_at,
    )


@dataclass(frozen=True, slots=True)
class DeviceCa:
    """A device CA governance admitted: an org's (org_id set) or a manufacturer's (org_id '')."""

    ca_id: str
    name: str
    org_id: str
    ca_der: bytes
    admitted_at: int
    revoked_at: int  # 0: not revoked

    @property
    def revoked(self) -> bool:
        return self.revoked_at != 0

    def encode(self) -> bytes:
        return identity_pb2.DeviceCa(
            ca_id=self.ca_id,
            name=self.name,
            org_id=self.org_id,
            ca_der=self.ca_der,
            admitted_at=self.admitted_at,
            revoked_at=self.revoked_at,
        ).SerializeToString()


@lru_cache(maxsize=1024)
def decode_device_ca(raw: bytes) -> DeviceCa:
    pb = identity_pb2.DeviceCa.FromString(raw)
    return DeviceCa(pb.ca_id, pb.name, pb.org_id, pb.ca_der, pb.admitted_at, pb.revoked_at)
