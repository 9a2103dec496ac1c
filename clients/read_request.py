"""Signed read requests, the client side: a member asks a node for its own (or its customers')
data on `/signed/<path>` (the ledger's rules: abci_app/read_access.py; the format:
gridwire.read_request). `GridClient.query_raw` signs one transparently when a node started with
`--private-queries` answers QUERY_PRIVATE, so callers of the client library do not change.
`sign_read_grant` makes a member's read grant for a bridge's (or the dashboard's) read key, and
`sign_granted_read` the request that reader key sends under it."""

from __future__ import annotations

import time

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from gridwire.read_request import MAX_GRANT_LIFETIME_S, ReadGrant, ReadRequest, signed_path

__all__ = ["GRANT_LIFETIME_S", "LIFETIME_S", "sign_granted_read", "sign_read_grant", "sign_read_request"]

LIFETIME_S = 120  # well inside the ledger's MAX_LIFETIME_S after the last block
GRANT_LIFETIME_S = MAX_GRANT_LIFETIME_S // 2  # a grant a bridge may use; leaves room for clock skew


def sign_read_request(
    key: Ed25519PrivateKey, chain_id: str, path: str, *, height: int = 0, expiry: int | None = None
) -> tuple[str, bytes]:
    """The query path (`/signed/...`) and data that read the private `path` as `key`'s member,
    valid until `expiry` (unix seconds; default LIFETIME_S from now)."""
    until = int(time.time()) + LIFETIME_S if expiry is None else expiry
    public = key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    signature = key.sign(ReadRequest.message(chain_id, path, height, until))
    return signed_path(path), ReadRequest(public, signature, until, height, path).encode()


def sign_read_grant(key: Ed25519PrivateKey, chain_id: str, reader_key: bytes, *, expiry: int | None = None) -> bytes:
    """An encoded read grant by `key`'s member letting `reader_key` (a bridge's read key) read as
    that member until `expiry` (unix seconds; default GRANT_LIFETIME_S from now)."""
    until = int(time.time()) + GRANT_LIFETIME_S if expiry is None else expiry
    public = key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    signature = key.sign(ReadGrant.message(chain_id, public, reader_key, until))
    return ReadGrant(public, signature, until, reader_key).encode()


def sign_granted_read(
    reader: Ed25519PrivateKey, chain_id: str, path: str, grant: bytes, *, height: int = 0, expiry: int | None = None
) -> tuple[str, bytes]:
    """The query path and data that read the private `path` with `reader`'s key under a member's `grant`."""
    until = int(time.time()) + LIFETIME_S if expiry is None else expiry
    public = reader.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    signature = reader.sign(ReadRequest.message(chain_id, path, height, until, grant))
    return signed_path(path), ReadRequest(public, signature, until, height, path, grant).encode()
