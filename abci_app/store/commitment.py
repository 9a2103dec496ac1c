"""The state commitment: a 16-ary Merkle trie over SHA-256(key), updated incrementally.

Shape: a leaf for key k sits at the shortest prefix of the nibbles of SHA-256(k) that no
other key shares (like Diem's Jellyfish Merkle tree), so the shape depends only on the set
of keys, never on the order they were written. Hashes (domain-separated):

    leaf     = SHA-256(0x00 || SHA-256(key) || SHA-256(value))
    internal = SHA-256(0x01 || child_0 || ... || child_15)   (empty child: 32 zero bytes)

The root hash of the whole state is the app hash. Nodes are stored by their nibble path;
a block's changes are staged copy-on-write and only the touched paths are re-hashed.
`prove` gives the 16 child hashes of every node on the key's path; `gridwire.proof.verify_proof`
(shared with clients) recomputes the root from them.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping

from gridwire.proof import EMPTY_ROOT, ZERO, Proof, leaf_hash, verify_proof
from gridwire.proof import nibble as _nibble
from gridwire.proof import node_hash as _hash_children

__all__ = ["EMPTY_ROOT", "ZERO", "Proof", "Trie", "leaf_hash", "verify_proof"]

_sha256 = hashlib.sha256
LEAF = 1
NODE = 2

# slot: None (empty) | (LEAF, hash, key_hash, value_hash) | (NODE, hash)
Slot = tuple[int, bytes] | tuple[int, bytes, bytes, bytes] | None
Node = list[Slot]


def _children_bytes(node: Node) -> bytes:
    return b"".join([ZERO if s is None else s[1] for s in node])


def _node_hash(node: Node) -> bytes:
    return _hash_children(_children_bytes(node))


def _encode(node: Node) -> bytes:
    out = bytearray()
    for s in node:
        if s is None:
            out.append(0)
        elif s[0] == LEAF:
            out.append(LEAF)
            out += s[2] + s[3]  # type: ignore[misc]
        else:
            out.append(NODE)
            out += s[1]
    return bytes(out)


def _decode(raw: bytes) -> Node:
    node: Node = []
    i = 0
    for _ in range(16):
        kind = raw[i]
        i += 1
        if kind == 0:
            node.append(None)
        elif kind == LEAF:
            kh, vh = raw[i : i + 32], raw[i + 32 : i + 64]
            i += 64
            node.append((LEAF, leaf_hash(kh, vh), kh, vh))
        else:
            node.append((NODE, raw[i : i + 32]))
            i += 32
    return node


class Trie:
    """Committed nodes (loaded lazily from the backend) plus the staged block's changes."""

    def __init__(self, load_node: Callable[[bytes], bytes | None]) -> None:
        self._load = load_node
        self._committed: dict[bytes, Node] = {}
        self._pending: dict[bytes, Node | None] = {}
        self._dirty: set[bytes] = set()
        root = self._get_committed(b"")
        self._committed_root = EMPTY_ROOT if root is None else _node_hash(root)
        self._root = self._committed_root

    # -- node access -------------------------------------------------------------------

    def _get_committed(self, path: bytes) -> Node | None:
        node = self._committed.get(path)
        if node is None:
            raw = self._load(path)
            if raw is None:
                return None
            node = _decode(raw)
            self._committed[path] = node
        return node

    def _get(self, path: bytes) -> Node | None:
        if path in self._pending:
            return self._pending[path]
        return self._get_committed(path)

    def _mutable(self, path: bytes) -> Node:
        node = self._pending.get(path)
        if node is not None:
            return node
        base = self._get_committed(path) if path not in self._pending else None
        node = [None] * 16 if base is None else list(base)
        self._pending[path] = node
        return node

    # -- updates -----------------------------------------------------------------------

    def update(self, key_hash: bytes, value_hash: bytes) -> None:
        path = b""
        depth = 0
        node = self._mutable(path)
        while True:
            nib = _nibble(key_hash, depth)
            slot = node[nib]
            if slot is None or (slot[0] == LEAF and slot[2] == key_hash):  # type: ignore[misc]
                node[nib] = (LEAF, leaf_hash(key_hash, value_hash), key_hash, value_hash)
                self._dirty.add(path)
                return
            child_path = path + bytes((nib,))
            if slot[0] == LEAF:
                # Another key's leaf: push it one level down and keep descending.
                child: Node = [None] * 16
                child[_nibble(slot[2], depth + 1)] = slot  # type: ignore[misc]
                self._pending[child_path] = child
                node[nib] = (NODE, ZERO)
                node = child
            else:
                node = self._mutable(child_path)
            path = child_path
            depth += 1

    def delete(self, key_hash: bytes) -> None:
        path = b""
        depth = 0
        node = self._get(path)
        trail: list[bytes] = []
        while node is not None:
            nib = _nibble(key_hash, depth)
            slot = node[nib]
            if slot is None:
                return
            if slot[0] == LEAF:
                if slot[2] != key_hash:  # type: ignore[misc]
                    return
                break
            trail.append(path)
            path += bytes((nib,))
            depth += 1
            node = self._get(path)
        if node is None:
            return
        node = self._mutable(path)
        node[_nibble(key_hash, depth)] = None
        self._dirty.add(path)
        # Keep the shape canonical: a non-root node left with no child, or with a single
        # leaf and nothing else, is replaced in its parent by that leaf (or by nothing).
        while trail:
            filled = [s for s in node if s is not None]
            if len(filled) > 1 or (filled and filled[0][0] == NODE):
                return
            replacement = filled[0] if filled else None
            self._pending[path] = None
            self._dirty.discard(path)
            parent_path = trail.pop()
            parent = self._mutable(parent_path)
            parent[path[-1]] = replacement
            self._dirty.add(parent_path)
            path, node = parent_path, parent

    def apply(self, writes: Mapping[bytes, bytes | None]) -> bytes:
        """Stage a block's writes (None deletes) and return the new root hash."""
        for key in sorted(writes):
            value = writes[key]
            kh = _sha256(key).digest()
            if value is None:
                self.delete(kh)
            else:
                self.update(kh, _sha256(value).digest())
        return self.root_hash()

    def root_hash(self) -> bytes:
        if not self._dirty:
            return self._root
        levels: dict[int, set[bytes]] = {}
        for p in self._dirty:
            levels.setdefault(len(p), set()).add(p)
        for depth in range(max(levels), -1, -1):
            for p in levels.get(depth, ()):
                node = self._get(p)
                if node is None:
                    continue
                h = _node_hash(node)
                if depth == 0:
                    self._root = h
                else:
                    parent_path = p[:-1]
                    self._mutable(parent_path)[p[-1]] = (NODE, h)
                    levels.setdefault(depth - 1, set()).add(parent_path)
        self._dirty.clear()
        return self._root

    # -- lifecycle ---------------------------------------------------------------------

    def take_staged(self) -> dict[bytes, bytes | None]:
        """Serialise the staged nodes for the backend and make them the committed ones."""
        self.root_hash()
        out: dict[bytes, bytes | None] = {}
        for path, node in self._pending.items():
            if node is None:
                out[path] = None
                self._committed.pop(path, None)
            else:
                out[path] = _encode(node)
                self._committed[path] = node
        self._pending.clear()
        self._committed_root = self._root
        return out

    def discard_staged(self) -> None:
        self._pending.clear()
        self._dirty.clear()
        self._root = self._committed_root

    @property
    def committed_root(self) -> bytes:
        return self._committed_root

    def committed_leaves(self) -> dict[bytes, bytes]:
        """Walk every committed node from the root, checking each stored child hash and each
        leaf's position; returns key hash → value hash. Raises ValueError on any mismatch."""
        leaves: dict[bytes, bytes] = {}
        raw_root = self._load(b"")
        if raw_root is None:
            if self._committed_root != EMPTY_ROOT:
                raise ValueError("the trie's root node is missing")
            return leaves
        stack: list[tuple[bytes, bytes]] = [(b"", raw_root)]
        while stack:
            path, raw = stack.pop()
            try:
                node = _decode(raw)
            except IndexError as exc:
                raise ValueError(f"trie node at path {path.hex()} is truncated") from exc
            for nib, slot in enumerate(node):
                if slot is None:
                    continue
                child_path = path + bytes((nib,))
                if slot[0] == LEAF:
                    kh = slot[2]  # type: ignore[misc]
                    if any(_nibble(kh, depth) != child_path[depth] for depth in range(len(child_path))):
                        raise ValueError(f"leaf at path {child_path.hex()} is not on its key's path")
                    leaves[kh] = slot[3]  # type: ignore[misc]
                    continue
                child = self._load(child_path)
                if child is None:
                    raise ValueError(f"trie node at path {child_path.hex()} is missing")
                try:
                    child_hash = _node_hash(_decode(child))
                except IndexError as exc:
                    raise ValueError(f"trie node at path {child_path.hex()} is truncated") from exc
                if child_hash != slot[1]:
                    raise ValueError(f"trie node at path {child_path.hex()} does not match its parent's hash")
                stack.append((child_path, child))
        return leaves

    # -- proofs ------------------------------------------------------------------------

    def prove(self, key: bytes) -> Proof:
        """A proof of the key's committed value, or of its absence."""
        kh = _sha256(key).digest()
        levels: list[bytes] = []
        path = b""
        depth = 0
        node = self._get_committed(path) or [None] * 16
        while True:
            levels.append(_children_bytes(node))
            slot = node[_nibble(kh, depth)]
            if slot is None:
                return Proof(tuple(levels))
            if slot[0] == LEAF:
                if slot[2] == kh:  # type: ignore[misc]
                    return Proof(tuple(levels))
                return Proof(tuple(levels), slot[2], slot[3])  # type: ignore[misc]
            path += bytes((_nibble(kh, depth),))
            depth += 1
            child = self._get_committed(path)
            if child is None:
                raise RuntimeError(f"trie node missing at path {path.hex()}")
            node = child
