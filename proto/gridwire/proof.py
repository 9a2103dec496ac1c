"""The state commitment's proof format and its verification (consensus: never change).

The app hash is the root of a 16-ary Merkle trie over SHA-256 of every state key:

    leaf     = SHA-256(0x00 || SHA-256(key) || SHA-256(value))
    internal = SHA-256(0x01 || child_0 || ... || child_15)   (empty child: 32 zero bytes)

A key's leaf sits at the shortest prefix of the nibbles of SHA-256(key) that no other key
shares. A `Proof` lists the 16 child hashes of every node on the key's path, root first; it
proves a value (the path ends at the key's leaf) or an absence (the path ends at an empty
slot, or at another key's leaf that shares the path so far).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

__all__ = ["EMPTY_ROOT", "ZERO", "Proof", "leaf_hash", "nibble", "node_hash", "verify_proof"]

_sha256 = hashlib.sha256
ZERO = b"\x00" * 32
LEVEL_SIZE = 16 * 32


def nibble(key_hash: bytes, depth: int) -> int:
    """The `depth`-th 4-bit digit of `key_hash` (high nibble first): the child slot at that depth."""
    b = key_hash[depth >> 1]
    return b >> 4 if depth & 1 == 0 else b & 0x0F


def leaf_hash(key_hash: bytes, value_hash: bytes) -> bytes:
    """A leaf's hash: SHA-256(0x00 || SHA-256(key) || SHA-256(value))."""
    return _sha256(b"\x00" + key_hash + value_hash).digest()


def node_hash(children: bytes) -> bytes:
    """An internal node's hash from its 16 concatenated child hashes (512 bytes)."""
    return _sha256(b"\x01" + children).digest()


EMPTY_ROOT = node_hash(ZERO * 16)


@dataclass(frozen=True, slots=True)
class Proof:
    """The path of a key through the trie: each level's 16 child hashes, root first."""

    levels: tuple[bytes, ...]
    other_key_hash: bytes = b""  # set when the path ends at another key's leaf
    other_value_hash: bytes = b""


def verify_proof(root: bytes, key: bytes, value: bytes | None, proof: Proof) -> bool:
    """True exactly when `proof` shows that `key` has `value` (None: is absent) under `root`.

    Every level must be 512 bytes and hash to the child hash its parent names (the first to
    `root`); the last named child must be the key's leaf for `value`, or, for an absence, an
    empty slot or another key's leaf whose key hash shares every nibble of the path.
    """
    kh = _sha256(key).digest()
    if not proof.levels:
        return False
    expected = root
    for depth, level in enumerate(proof.levels):
        if len(level) != LEVEL_SIZE or node_hash(level) != expected:
            return False
        nib = nibble(kh, depth)
        expected = level[nib * 32 : nib * 32 + 32]
    last_depth = len(proof.levels) - 1
    if value is not None:
        return expected == leaf_hash(kh, _sha256(value).digest())
    if expected == ZERO:
        return not proof.other_key_hash
    okh, ovh = proof.other_key_hash, proof.other_value_hash
    if len(okh) != 32 or len(ovh) != 32 or okh == kh:
        return False
    if any(nibble(okh, d) != nibble(kh, d) for d in range(last_depth + 1)):
        return False
    return expected == leaf_hash(okh, ovh)
