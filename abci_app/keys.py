"""Every state key, built in one place.

One byte of prefix per collection; integers big-endian and fixed width so byte order is
numeric order; variable-length strings are length-prefixed so one id is never a prefix
of another's keys. Reverse indexes are explicit collections of their own.
Prefixes are consensus: never reuse one. Later domains: 0x20-0x2F devices, 0x30-0x3F
batteries, 0x40-0x4F market, 0x50-0x5F certificates, 0x60-0x6F grid.
"""

from __future__ import annotations

__all__ = [
    "account_balance",
    "member",
    "member_by_org",
    "member_by_org_prefix",
    "meta",
    "nonce",
    "org",
    "params",
    "proposal",
    "proposal_deadline",
    "proposal_deadline_prefix",
    "revoked_cert",
    "supply",
    "validator",
]

META = b"\x00"  # chain-level facts: chain id, last block time
PARAMS = b"\x01"
ORG = b"\x02"
MEMBER = b"\x03"
MEMBER_BY_ORG = b"\x04"
REVOKED_CERT = b"\x05"
NONCE = b"\x06"
BALANCE = b"\x07"
SUPPLY = b"\x08"
PROPOSAL = b"\x09"
PROPOSAL_DEADLINE = b"\x0a"
PROPOSAL_SEQ = b"\x0b"
VALIDATOR = b"\x0c"


def u64(n: int) -> bytes:
    return n.to_bytes(8, "big")


def lp(text: str) -> bytes:
    """A length-prefixed UTF-8 string (at most 255 bytes)."""
    raw = text.encode()
    return bytes((len(raw),)) + raw


def meta(name: str) -> bytes:
    return META + lp(name)


def params() -> bytes:
    return PARAMS


def org(org_id: str) -> bytes:
    return ORG + lp(org_id)


def member(address: bytes) -> bytes:
    return MEMBER + address


def member_by_org_prefix(org_id: str) -> bytes:
    return MEMBER_BY_ORG + lp(org_id)


def member_by_org(org_id: str, address: bytes) -> bytes:
    return member_by_org_prefix(org_id) + address


def revoked_cert(org_id: str, serial: bytes) -> bytes:
    return REVOKED_CERT + lp(org_id) + serial


def nonce(address: bytes) -> bytes:
    return NONCE + address


def account_balance(address: bytes) -> bytes:
    return BALANCE + address


def supply(kind: str) -> bytes:
    """`kind` is "minted" or "burned"."""
    return SUPPLY + lp(kind)


def proposal(proposal_id: int) -> bytes:
    return PROPOSAL + u64(proposal_id)


def proposal_seq() -> bytes:
    return PROPOSAL_SEQ


def proposal_deadline_prefix() -> bytes:
    return PROPOSAL_DEADLINE


def proposal_deadline(deadline: int, proposal_id: int) -> bytes:
    return PROPOSAL_DEADLINE + u64(deadline) + u64(proposal_id)


def validator(pub_key: bytes) -> bytes:
    return VALIDATOR + pub_key
