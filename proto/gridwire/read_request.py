"""Signed read requests: how a member asks a node for a household's data over `abci_query`.

`abci_query` carries no identity, so the app refuses the private roots on their plain path
(QUERY_PRIVATE) and serves them under `/signed/<path>` when the query's data is a read request
signed by a member the access rules allow (abci_app/read_access.py). The layout of the data:

    public key (32) | signature (64) | expiry (8, big-endian unix seconds) | height (8) | path (UTF-8)

and the signature is Ed25519, by that key, over

    "gridledger.read.v1" 0x00 chain_id 0x00 path 0x00 height 0x00 expiry   (numbers in decimal)

The app checks the expiry against the last committed block's time (no wall clock), so a
request replayed after it is refused; the path and height are inside the signature, so a
request cannot be moved to another path, height or chain. The bridge forwards the member's
request as it is: it cannot make one for a member.

A read grant lets a bridge read on a member's behalf without being able to forge anything: the
member signs once "reader key R may read as me until T" (`ReadGrant`), the bridge's requests are
signed by R and carry the grant after the path (path 0x00 grant), and the bridge's signature
covers the grant too:

    grant:   member public key (32) | signature (64) | expiry (8) | reader public key (32)
    signed:  "gridledger.read-grant.v1" 0x00 chain_id 0x00 member key hex 0x00 reader key hex 0x00 expiry
    request with a grant: ReadRequest.message(...) 0x00 SHA-256(grant) hex

The app then applies the member's own access rules (abci_app/read_access.py), so a reader holding a
grant reads exactly what the member could, until the grant (at most MAX_GRANT_LIFETIME_S after the
last block) and each request expire.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

__all__ = [
    "GRANT_DOMAIN",
    "MAX_GRANT_LIFETIME_S",
    "MAX_LIFETIME_S",
    "READ_DOMAIN",
    "ReadGrant",
    "ReadRequest",
    "signed_path",
]

READ_DOMAIN = b"gridledger.read.v1"
MAX_LIFETIME_S = 600  # a request may not expire later than this after the last block's time
GRANT_DOMAIN = b"gridledger.read-grant.v1"
MAX_GRANT_LIFETIME_S = 3600  # a grant may not expire later than this after the last block's time
_HEAD = 32 + 64 + 8 + 8
_GRANT_LEN = 32 + 64 + 8 + 32


@dataclass(frozen=True)
class ReadGrant:
    """A member's signed permission for `reader_key` to read what the member may read, until `expiry`."""

    member_key: bytes
    signature: bytes
    expiry: int
    reader_key: bytes

    def encode(self) -> bytes:
        """The grant's bytes (what travels in gRPC metadata and after a read request's path)."""
        return self.member_key + self.signature + self.expiry.to_bytes(8, "big") + self.reader_key

    @classmethod
    def decode(cls, data: bytes) -> ReadGrant | None:
        """The grant in `data`, or None when it is not one (wrong length)."""
        if len(data) != _GRANT_LEN:
            return None
        return cls(data[:32], data[32:96], int.from_bytes(data[96:104], "big"), data[104:136])

    @staticmethod
    def message(chain_id: str, member_key: bytes, reader_key: bytes, expiry: int) -> bytes:
        """The exact bytes a member signs to let `reader_key` read as it until `expiry` on `chain_id`."""
        keys = [member_key.hex().encode(), reader_key.hex().encode()]
        return b"\x00".join([GRANT_DOMAIN, chain_id.encode(), *keys, str(expiry).encode()])


@dataclass(frozen=True)
class ReadRequest:
    """One member's signed request to read `path` at `height` (0: the latest) until `expiry`."""

    public_key: bytes
    signature: bytes
    expiry: int
    height: int
    path: str
    grant: bytes = b""  # an encoded ReadGrant: the signer reads as the member who granted it

    def encode(self) -> bytes:
        """The query data carrying this request."""
        return (
            self.public_key
            + self.signature
            + self.expiry.to_bytes(8, "big")
            + self.height.to_bytes(8, "big")
            + self.path.encode()
            + (b"\x00" + self.grant if self.grant else b"")
        )

    @classmethod
    def decode(cls, data: bytes) -> ReadRequest | None:
        """The request in `data`, or None when it is not one (too short, path not UTF-8)."""
        if len(data) <= _HEAD or len(data) > _HEAD + 1024 + 1 + _GRANT_LEN:
            return None
        raw_path, nul, grant = data[_HEAD:].partition(b"\x00")
        if len(raw_path) > 1024 or (nul and len(grant) != _GRANT_LEN):
            return None
        try:
            path = raw_path.decode()
        except UnicodeDecodeError:
            return None
        expiry = int.from_bytes(data[96:104], "big")
        height = int.from_bytes(data[104:112], "big")
        return cls(data[:32], data[32:96], expiry, height, path, grant)

    @staticmethod
    def message(chain_id: str, path: str, height: int, expiry: int, grant: bytes = b"") -> bytes:
        """The exact bytes a reader signs to read `path` at `height` until `expiry` on `chain_id`
        (with `grant`: as the member who granted it; the grant's hash is signed too)."""
        parts = [READ_DOMAIN, chain_id.encode(), path.encode(), str(height).encode(), str(expiry).encode()]
        if grant:
            parts.append(hashlib.sha256(grant).hexdigest().encode())
        return b"\x00".join(parts)


def signed_path(path: str) -> str:
    """The `/signed/...` query path that serves the private `path` to a signed read request."""
    return "/signed" + (path if path.startswith("/") else "/" + path)
