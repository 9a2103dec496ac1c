"""Chain-level state keys and the encoding helpers every domain's `keys.py` uses.

One byte of prefix per collection; integers big-endian and fixed width so byte order is
numeric order; variable-length strings are length-prefixed so one id is never a prefix
of another's keys. Reverse indexes are explicit collections of their own.
Prefixes are consensus: never reuse one. The chain keeps 0x00 (meta), 0x01 (params) and
0x06 (nonces); each domain declares its own prefixes (the registry refuses overlaps):
identity 0x02-0x05 and 0x0D, accounts 0x07-0x08, governance 0x09-0x0C and 0x0E-0x0F, devices 0x20-0x2F,
market 0x40-0x4F, certificates 0x50-0x5F.
"""

from __future__ import annotations

__all__ = ["CHAIN_PREFIXES", "lp", "meta", "nonce", "param", "params", "u64"]

META = b"\x00"  # chain-level facts: chain id, last block time
PARAMS = b"\x01"
NONCE = b"\x06"
CHAIN_PREFIXES = frozenset({META[0], PARAMS[0], NONCE[0]})


def u64(n: int) -> bytes:
    return n.to_bytes(8, "big")


def lp(text: str) -> bytes:
    """A length-prefixed UTF-8 string (at most 255 bytes; converters bound every id)."""
    raw = text.encode()
    if len(raw) > 255:
        raise ValueError(f"key component of {len(raw)} bytes is longer than 255")
    return bytes((len(raw),)) + raw


def meta(name: str) -> bytes:
    return META + lp(name)


def params() -> bytes:
    """The chain's core parameters (one record)."""
    return PARAMS


def param(name: str) -> bytes:
    """A domain parameter (8-byte big-endian signed value)."""
    return PARAMS + lp(name)


def nonce(address: bytes) -> bytes:
    return NONCE + address
