"""Identity state keys: orgs, members, the member-by-org index, revoked serials, device CAs."""

from __future__ import annotations

from abci_app.keys import lp

__all__ = [
    "KEY_PREFIXES",
    "device_ca",
    "device_ca_prefix",
    "member",
    "member_by_org",
    "member_by_org_prefix",
    "member_prefix",
    "org",
    "org_prefix",
    "revoked_cert",
    "revoked_cert_prefix",
]

ORG = b"\x02"
MEMBER = b"\x03"
MEMBER_BY_ORG = b"\x04"
REVOKED_CERT = b"\x05"
DEVICE_CA = b"\x0d"  # lp(ca id) → DeviceCa (admitted by governance; revoked ones kept)
KEY_PREFIXES = frozenset({ORG[0], MEMBER[0], MEMBER_BY_ORG[0], REVOKED_CERT[0], DEVICE_CA[0]})


def org_prefix() -> bytes:
    return ORG


def org(org_id: str) -> bytes:
    return ORG + lp(org_id)


def member_prefix() -> bytes:
    return MEMBER


def revoked_cert_prefix() -> bytes:
    return REVOKED_CERT


def member(address: bytes) -> bytes:
    return MEMBER + address


def member_by_org_prefix(org_id: str) -> bytes:
    return MEMBER_BY_ORG + lp(org_id)


def member_by_org(org_id: str, address: bytes) -> bytes:
    return member_by_org_prefix(org_id) + address


def revoked_cert(org_id: str, serial: bytes) -> bytes:
    return REVOKED_CERT + lp(org_id) + serial


def device_ca_prefix() -> bytes:
    return DEVICE_CA


def device_ca(ca_id: str) -> bytes:
    return DEVICE_CA + lp(ca_id)
