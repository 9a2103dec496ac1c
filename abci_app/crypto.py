"""Ed25519 signatures and addresses. The one signature library: `cryptography` (OpenSSL)."""

from __future__ import annotations

import hashlib

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from abci_app.types import Address

__all__ = ["address_of", "public_key_bytes", "sign", "verify"]

PUBLIC_KEY_SIZE = 32
SIGNATURE_SIZE = 64


def address_of(public_key: bytes) -> Address:
    """A member's address: the first 20 bytes of SHA-256 of its Ed25519 public key."""
    return Address(hashlib.sha256(public_key).digest()[:20])


def verify(public_key: bytes, signature: bytes, message: bytes) -> bool:
    if len(public_key) != PUBLIC_KEY_SIZE or len(signature) != SIGNATURE_SIZE:
        return False
    try:
        Ed25519PublicKey.from_public_bytes(public_key).verify(signature, message)
    except (InvalidSignature, ValueError):
        return False
    return True


def sign(private_key: Ed25519PrivateKey, message: bytes) -> bytes:
    return private_key.sign(message)


def public_key_bytes(private_key: Ed25519PrivateKey) -> bytes:
    return private_key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
