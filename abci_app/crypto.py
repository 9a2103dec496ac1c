"""Ed25519 signatures and addresses.

Transaction signatures are verified by one pinned library, PyNaCl (libsodium), on every
node: libsodium verifies about twice as fast as OpenSSL here and is strict (it rejects
non-canonical S values and small-order public keys), and its verdict is consensus, so
every node must run the same one. X.509 certificates are handled by `cryptography`.
"""

from __future__ import annotations

import hashlib

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from nacl.bindings import crypto_sign_open
from nacl.exceptions import BadSignatureError, CryptoError

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
        crypto_sign_open(signature + message, public_key)
    except (BadSignatureError, CryptoError, ValueError, TypeError):
        return False
    return True


def sign(private_key: Ed25519PrivateKey, message: bytes) -> bytes:
    return private_key.sign(message)


def public_key_bytes(private_key: Ed25519PrivateKey) -> bytes:
    return private_key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
