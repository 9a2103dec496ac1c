"""Addresses: the first 20 bytes of SHA-256 of an Ed25519 public key."""

from __future__ import annotations

import hashlib

__all__ = ["ADDRESS_SIZE", "address_of"]

ADDRESS_SIZE = 20


def address_of(public_key: bytes) -> bytes:
    """A member's (or device's) address: the first 20 bytes of SHA-256 of its public key."""
    return hashlib.sha256(public_key).digest()[:ADDRESS_SIZE]
