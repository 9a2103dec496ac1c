"""Ed25519 signatures and addresses.

Transaction signatures are verified by one pinned library, PyNaCl (libsodium), on every
node: libsodium verifies about twice as fast as OpenSSL here and is strict (it rejects
non-canonical S values and small-order public keys), and its verdict is consensus, so
every node must run the same one. X.509 certificates are handled by `cryptography`.
"""

from __future__ import annotations

import hashlib
from functools import lru_cache

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from nacl.bindings import crypto_sign_open
from nacl.exceptions import BadSignatureError, CryptoError

from abci_app.types import Address

__all__ = ["address_of", "public_key_bytes", "sign", "verify", "verify_cached"]

PUBLIC_KEY_SIZE = 32
SIGNATURE_SIZE = 64

_P = 2**255 - 19  # the field prime
_L = 2**252 + 27742317777372353535851937790883648493  # the prime order of the base point
_Y_MASK = (1 << 255) - 1  # an encoding is y (255 bits, little-endian) plus the sign bit of x


def _small_order_ys() -> frozenset[int]:
    """y of every point of order 1, 2, 4 or 8: 1, -1, 0 and the ±y of the order-8 points,
    whose y² = (-1 - sqrt(1 + d)) / d (from doubling to y = 0, the order-4 points)."""
    d = -121665 * pow(121666, -1, _P) % _P
    sqrt_m1 = pow(2, (_P - 1) // 4, _P)

    def sqrt(a: int) -> int:
        x = pow(a, (_P + 3) // 8, _P)
        return x if (x * x - a) % _P == 0 else x * sqrt_m1 % _P

    y8 = sqrt((-1 - sqrt(1 + d)) * pow(d, -1, _P) % _P)
    return frozenset({1, _P - 1, 0, y8, _P - y8})


_SMALL_ORDER_YS = _small_order_ys()


def _acceptable_point(encoding: bytes) -> bool:
    """Canonical (y < p) and not of small order."""
    y = int.from_bytes(encoding, "little") & _Y_MASK
    return y < _P and y not in _SMALL_ORDER_YS


def address_of(public_key: bytes) -> Address:
    """A member's address: the first 20 bytes of SHA-256 of its Ed25519 public key."""
    return Address(hashlib.sha256(public_key).digest()[:20])


def verify(public_key: bytes, signature: bytes, message: bytes) -> bool:
    if len(public_key) != PUBLIC_KEY_SIZE or len(signature) != SIGNATURE_SIZE:
        return False
    if int.from_bytes(signature[32:], "little") >= _L:
        return False
    if not (_acceptable_point(public_key) and _acceptable_point(signature[:32])):
        return False
    try:
        crypto_sign_open(signature + message, public_key)
    except (BadSignatureError, CryptoError, ValueError, TypeError):
        return False
    return True


@lru_cache(maxsize=100_000)
def verify_cached(public_key: bytes, signature: bytes, message: bytes) -> bool:
    """`verify`, remembered: a device reading is verified in CheckTx and again in RECHECK and
    FinalizeBlock; the verdict is a pure function of its arguments, so caching it changes no
    outcome, only the cost (about 30 MB at the bound)."""
    return verify(public_key, signature, message)


def sign(private_key: Ed25519PrivateKey, message: bytes) -> bytes:
    return private_key.sign(message)


def public_key_bytes(private_key: Ed25519PrivateKey) -> bytes:
    return private_key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
