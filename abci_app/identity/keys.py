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
    """The prefix of every org key."""
    return ORG


def org(org_id: str) -> bytes:
    """The key of org `org_id` (length-prefixed, so no id is a prefix of another's key)."""
    return ORG + lp(org_id)


def member_prefix() -> bytes:
    """The prefix of every member key."""
    return MEMBER


def revoked_cert_prefix() -> bytes:
    """The prefix of every revoked-certificate key."""
    return REVOKED_CERT


def member(address: bytes) -> bytes:
    """The key of the member with 20-byte `address`."""
    return MEMBER + address


def member_by_org_prefix(org_id: str) -> bytes:
    """The prefix of `org_id`'s member index."""
    return MEMBER_BY_ORG + lp(org_id)


def member_by_org(org_id: str, address: bytes) -> bytes:
    """The index key of member `address` under its org."""
    return member_by_org_prefix(org_id) + address


def revoked_cert(org_id: str, serial: bytes) -> bytes:
    """The key marking certificate `serial` of `org_id` revoked."""
    return REVOKED_CERT + lp(org_id) + serial


def device_ca_prefix() -> bytes:
    """The prefix of every device CA key."""
    return DEVICE_CA


def device_ca(ca_id: str) -> bytes:
    """The key of device CA `ca_id`."""
    return DEVICE_CA + lp(ca_id)
