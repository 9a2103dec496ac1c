"""Signed read requests, the client side: a member asks a node for its own (or its customers')
data on `/signed/<path>` (the ledger's rules: abci_app/read_access.py; the format:
gridwire.read_request). `GridClient.query_raw` signs one transparently when a node started with
`--private-queries` answers QUERY_PRIVATE, so callers of the client library do not change."""

from __future__ import annotations

import time

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from gridwire.read_request import ReadRequest, signed_path

__all__ = ["LIFETIME_S", "sign_read_request"]

LIFETIME_S = 120  # well inside the ledger's MAX_LIFETIME_S after the last block


def sign_read_request(
    key: Ed25519PrivateKey, chain_id: str, path: str, *, height: int = 0, expiry: int | None = None
) -> tuple[str, bytes]:
    """The query path (`/signed/...`) and data that read the private `path` as `key`'s member,
    valid until `expiry` (unix seconds; default LIFETIME_S from now)."""
    until = int(time.time()) + LIFETIME_S if expiry is None else expiry
    public = key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    signature = key.sign(ReadRequest.message(chain_id, path, height, until))
    return signed_path(path), ReadRequest(public, signature, until, height, path).encode()
