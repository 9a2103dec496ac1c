"""Archive commitments: what pruning removes from live state stays provable (consensus: never change).

A pruning block removes records (state key and value) in a deterministic order and keeps, in
state, one commitment: the root of a binary Merkle tree over those records and their count.
The records themselves leave consensus state (the node publishes them, see
abci_app/certificates/prune.py); an auditor holding a record checks it against the commitment,
and the commitment against the app hash with an ordinary trie proof (gridwire/proof.py).

    record bytes = u32(len(key)) || key || u32(len(value)) || value      (u32 big-endian)
    leaf         = SHA-256(0x00 || record bytes)
    node         = SHA-256(0x01 || left || right)
    root of n    = RFC 6962's Merkle tree hash: one leaf is its own root; otherwise the
                   left subtree holds the first k leaves, k the largest power of two < n
    commitment   = root (32 bytes) || u64(count) big-endian

The 0x00 / 0x01 prefixes keep a leaf from passing for a node (second preimages); the count
fixes the tree's shape, so a record's position (0-based, in removal order) and its audit path
(sibling hashes from the leaf up) prove it was the position-th record removed.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Sequence

__all__ = [
    "COMMITMENT_SIZE",
    "audit_path",
    "decode_commitment",
    "encode_commitment",
    "leaf_hash",
    "merkle_root",
    "pack_record",
    "root_from_path",
    "unpack_records",
]

COMMITMENT_SIZE = 40


def pack_record(key: bytes, value: bytes) -> bytes:
    """A removed record's bytes: u32(len(key)) key u32(len(value)) value."""
    return len(key).to_bytes(4, "big") + key + len(value).to_bytes(4, "big") + value


def unpack_records(blob: bytes) -> Iterator[tuple[bytes, bytes]]:
    """The (key, value) records of concatenated `pack_record` bytes, in order; ValueError when
    the bytes are not exactly such records."""
    i, n = 0, len(blob)
    while i < n:
        if i + 4 > n:
            raise ValueError("truncated record: no key length")
        klen = int.from_bytes(blob[i : i + 4], "big")
        key = blob[i + 4 : i + 4 + klen]
        j = i + 4 + klen
        if len(key) != klen or j + 4 > n:
            raise ValueError("truncated record: key or value length")
        vlen = int.from_bytes(blob[j : j + 4], "big")
        value = blob[j + 4 : j + 4 + vlen]
        if len(value) != vlen:
            raise ValueError("truncated record: value")
        yield key, value
        i = j + 4 + vlen


def leaf_hash(key: bytes, value: bytes) -> bytes:
    """SHA-256(0x00 || pack_record(key, value))."""
    return hashlib.sha256(b"\x00" + pack_record(key, value)).digest()


def _node(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def _split(n: int) -> int:
    """The largest power of two below n (n >= 2)."""
    return 1 << ((n - 1).bit_length() - 1)


def merkle_root(leaves: Sequence[bytes]) -> bytes:
    """The RFC 6962 tree hash of the leaf hashes (at least one)."""
    if not leaves:
        raise ValueError("a commitment covers at least one record")
    if len(leaves) == 1:
        return leaves[0]
    k = _split(len(leaves))
    return _node(merkle_root(leaves[:k]), merkle_root(leaves[k:]))


def audit_path(leaves: Sequence[bytes], position: int) -> list[bytes]:
    """The sibling hashes from leaf `position` up to the root (RFC 6962 audit path)."""
    if not 0 <= position < len(leaves):
        raise ValueError(f"position {position} is outside 0..{len(leaves) - 1}")
    if len(leaves) == 1:
        return []
    k = _split(len(leaves))
    if position < k:
        return [*audit_path(leaves[:k], position), merkle_root(leaves[k:])]
    return [*audit_path(leaves[k:], position - k), merkle_root(leaves[:k])]


def root_from_path(leaf: bytes, position: int, count: int, path: Sequence[bytes]) -> bytes | None:
    """The root that `leaf` at `position` of `count` leaves and its audit `path` lead to, or None
    when the path has the wrong length for that position and count."""
    if not 0 <= position < count:
        return None
    # the subtree sizes and sides from the root down, then fold from the leaf up
    sides: list[bool] = []  # True: the leaf is in the left subtree at that level
    lo, n = position, count
    while n > 1:
        k = _split(n)
        if lo < k:
            sides.append(True)
            n = k
        else:
            sides.append(False)
            lo, n = lo - k, n - k
    if len(path) != len(sides):
        return None
    h = leaf
    for sibling, left in zip(path, reversed(sides), strict=True):
        h = _node(h, sibling) if left else _node(sibling, h)
    return h


def encode_commitment(root: bytes, count: int) -> bytes:
    """The stored commitment: root (32 bytes) then u64(count)."""
    return root + count.to_bytes(8, "big")


def decode_commitment(raw: bytes) -> tuple[bytes, int]:
    """(root, count) of a stored commitment; ValueError when it is not 40 bytes."""
    if len(raw) != COMMITMENT_SIZE:
        raise ValueError(f"a commitment is {COMMITMENT_SIZE} bytes, got {len(raw)}")
    return raw[:32], int.from_bytes(raw[32:], "big")
