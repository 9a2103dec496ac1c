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
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["MAX_LIFETIME_S", "READ_DOMAIN", "ReadRequest", "signed_path"]

READ_DOMAIN = b"gridledger.read.v1"
MAX_LIFETIME_S = 600  # a request may not expire later than this after the last block's time
_HEAD = 32 + 64 + 8 + 8


@dataclass(frozen=True)
class ReadRequest:
    """One member's signed request to read `path` at `height` (0: the latest) until `expiry`."""

    public_key: bytes
    signature: bytes
    expiry: int
    height: int
    path: str

    def encode(self) -> bytes:
        """The query data carrying this request."""
        return (
            self.public_key
            + self.signature
            + self.expiry.to_bytes(8, "big")
            + self.height.to_bytes(8, "big")
            + self.path.encode()
        )

    @classmethod
    def decode(cls, data: bytes) -> ReadRequest | None:
        """The request in `data`, or None when it is not one (too short, path not UTF-8)."""
        if len(data) <= _HEAD or len(data) > _HEAD + 1024:
            return None
        try:
            path = data[_HEAD:].decode()
        except UnicodeDecodeError:
            return None
        expiry = int.from_bytes(data[96:104], "big")
        height = int.from_bytes(data[104:112], "big")
        return cls(data[:32], data[32:96], expiry, height, path)

    @staticmethod
    def message(chain_id: str, path: str, height: int, expiry: int) -> bytes:
        """The exact bytes a member signs to read `path` at `height` until `expiry` on `chain_id`."""
        return b"\x00".join([READ_DOMAIN, chain_id.encode(), path.encode(), str(height).encode(), str(expiry).encode()])


def signed_path(path: str) -> str:
    """The `/signed/...` query path that serves the private `path` to a signed read request."""
    return "/signed" + (path if path.startswith("/") else "/" + path)
