"""Device keys: Ed25519 key files owned by the gateway, and reading signatures."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from gridwire.reading import Reading, reading_sign_bytes

from devices.records import SignedReading

__all__ = ["DeviceKey", "load_or_create_key", "verify_reading"]


@dataclass(frozen=True)
class DeviceKey:
    """One device's Ed25519 private key."""

    private: Ed25519PrivateKey

    @classmethod
    def generate(cls) -> DeviceKey:
        """A fresh random key."""
        return cls(Ed25519PrivateKey.generate())

    @classmethod
    def load(cls, path: Path) -> DeviceKey:
        """Read an unencrypted PKCS#8 PEM Ed25519 key; raises ValueError for any other key type."""
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
        if not isinstance(key, Ed25519PrivateKey):
            raise ValueError(f"{path} does not hold an Ed25519 private key")
        return cls(key)

    def save(self, path: Path) -> None:
        """Write the key as PKCS#8 PEM, readable by the owner only (mode 0600), atomically."""
        pem = self.private.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(path.suffix + ".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(pem)
            fh.flush()
            os.fsync(fh.fileno())
        tmp.replace(path)

    @property
    def public_bytes(self) -> bytes:
        """The raw 32-byte public key, as registered on the ledger."""
        return self.private.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)

    def sign(self, chain_id: str, reading: Reading) -> SignedReading:
        """Sign exactly `reading_sign_bytes(chain_id, reading)`."""
        return SignedReading(reading, self.private.sign(reading_sign_bytes(chain_id, reading)))


def load_or_create_key(path: Path) -> DeviceKey:
    """The key stored at `path`; a new one is generated and saved there when the file is missing."""
    if path.exists():
        return DeviceKey.load(path)
    key = DeviceKey.generate()
    key.save(path)
    return key


def verify_reading(public_key: bytes, chain_id: str, signed: SignedReading) -> bool:
    """True when `signed.signature` is `public_key`'s signature over the reading's sign bytes."""
    try:
        Ed25519PublicKey.from_public_bytes(public_key).verify(
            signed.signature, reading_sign_bytes(chain_id, signed.reading)
        )
    except (InvalidSignature, ValueError):
        return False
    return True
