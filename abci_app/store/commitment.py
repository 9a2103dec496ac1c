"""The state commitment: a 16-ary Merkle trie over SHA-256(key), updated incrementally.

Shape: a leaf for key k sits at the shortest prefix of the nibbles of SHA-256(k) that no
other key shares (like Diem's Jellyfish Merkle tree), so the shape depends only on the set
of keys, never on the order they were written. Hashes (domain-separated):

    leaf     = SHA-256(0x00 || SHA-256(key) || SHA-256(value))
    internal = SHA-256(0x01 || child_0 || ... || child_15)   (empty child: 32 zero bytes)

The root hash of the whole state is the app hash. Nodes are stored by their nibble path;
`prove` gives the 16 child hashes of every node on the key's path; `gridwire.proof.verify_proof`
(shared with clients) recomputes the root from them.

In memory the trie is a tree of nodes linked directly (no lookups by path), loaded lazily
from the backend. A node is `(buf, kids)`: `buf` is the bytearray 0x01 || child_0 || ... ||
child_15, so the node's hash is SHA-256(buf) in one call, and `kids` its 16 slots: None
(empty), bytes (a leaf: 0x00 || key hash || value hash, whose SHA-256 is the leaf hash), a
node, or STUB (a node not loaded yet). A block's writes are sorted by key hash and merged
into the tree in one descent: the writes under a node are applied to a copy of it (the
committed tree is never changed, so a discarded block leaves no trace), each touched node is
hashed once, and shared prefixes are walked once per block instead of once per write.
"""

from __future__ import annotations

import hashlib
from bisect import bisect_left
from collections.abc import Callable, Mapping
from typing import Final, TypeAlias

from gridwire.proof import EMPTY_ROOT, ZERO, Proof, leaf_hash, verify_proof
from gridwire.proof import nibble as _nibble

__all__ = ["EMPTY_ROOT", "ZERO", "Proof", "Trie", "leaf_hash", "verify_proof"]

_sha256 = hashlib.sha256
# Stored node encoding, per slot: 0 (empty) | 1, key hash, value hash (leaf) | 2, child hash (node).
LEAF: Final = 1
NODE: Final = 2
STUB: Final = 0  # a kids slot holding an internal node that is not loaded yet

Slot: TypeAlias = "None | bytes | int | Node"
Node: TypeAlias = "tuple[bytearray, list[Slot]]"

_EMPTY_BUF: Final = b"\x01" + ZERO * 16
_NIBBLE_BYTES: Final = tuple(bytes((n,)) for n in range(16))
# Above this many writes under one node, a child's group is found by bisection, not by scanning.
_SCAN_MAX: Final = 8


def _empty_node() -> Node:
    return bytearray(_EMPTY_BUF), [None] * 16


def _encode(node: Node) -> bytes:
    """The stored form of a node (unchanged since the first release: consensus-neutral, but
    every existing database holds it)."""
    buf, kids = node
    out = bytearray()
    for nib, s in enumerate(kids):
        if s is None:
            out.append(0)
        elif type(s) is bytes:
            out += s
            out[-65] = LEAF
        else:
            out.append(NODE)
            off = 1 + 32 * nib
            out += buf[off : off + 32]
    return bytes(out)


def _decode(raw: bytes) -> Node:
    """A stored node; raises IndexError (or ValueError) when `raw` is truncated."""
    kids: list[Slot] = []
    parts = [b"\x01"]
    i = 0
    for _ in range(16):
        kind = raw[i]
        if kind == 0:
            kids.append(None)
            parts.append(ZERO)
            i += 1
        elif kind == LEAF:
            leaf = b"\x00" + raw[i + 1 : i + 65]
            kids.append(leaf)
            parts.append(_sha256(leaf).digest())
            i += 65
        else:
            kids.append(STUB)
            parts.append(raw[i + 1 : i + 33])
            i += 33
    if i > len(raw):
        raise ValueError("truncated trie node")
    return bytearray(b"".join(parts)), kids


def _collapsed(kids: list[Slot]) -> tuple[bool, Slot]:
    """Whether a non-root node with these kids leaves the canonical shape, and what replaces
    it in its parent: a node with no child goes, one with a single leaf and nothing else is
    replaced by that leaf."""
    empty = kids.count(None)
    if empty < 15:
        return False, None
    if empty == 16:
        return True, None
    only = next(s for s in kids if s is not None)
    return type(only) is bytes, only


class Trie:
    """The committed tree (loaded lazily from the backend) plus the staged block's copies."""

    def __init__(self, load_node: Callable[[bytes], bytes | None]) -> None:
        self._load = load_node
        raw = load_node(b"")
        self._committed: Node | None = None if raw is None else _decode(raw)
        self._committed_root = EMPTY_ROOT if self._committed is None else _sha256(self._committed[0]).digest()
        self._node = self._committed  # the staged tree's root
        self._root = self._committed_root
        # The staged block's nodes by path (None: the node at that path is gone). Each is a
        # private copy, changed in place while the block is staged.
        self._staged: dict[bytes, Node | None] = {}

    # -- updates -----------------------------------------------------------------------

    def update(self, key_hash: bytes, value_hash: bytes) -> None:
        """Stage one write (the root is re-hashed at once; `apply` batches a block's writes)."""
        self._write([key_hash], [value_hash])

    def delete(self, key_hash: bytes) -> None:
        """Stage one delete (a key that is not in the trie changes nothing)."""
        self._write([key_hash], [None])

    def apply(self, writes: Mapping[bytes, bytes | None]) -> bytes:
        """Stage a block's writes (None deletes) and return the new root hash."""
        pairs = {
            _sha256(key).digest(): None if value is None else _sha256(value).digest() for key, value in writes.items()
        }
        khs = sorted(pairs)
        self._write(khs, [pairs[kh] for kh in khs])
        return self._root

    def _write(self, khs: list[bytes], vhs: list[bytes | None]) -> None:
        """Merge writes sorted by key hash into the staged tree and re-hash the root."""
        if not khs or (self._node is None and all(v is None for v in vhs)):
            return  # nothing can change (and an empty trie stays without a root node)
        root = self._staged.get(b"")
        if root is None:
            base = self._node
            root = _empty_node() if base is None else (bytearray(base[0]), base[1].copy())
            self._staged[b""] = root
            self._node = root
        self._merge(root, b"", 0, khs, vhs, 0, len(khs))
        self._root = _sha256(root[0]).digest()

    def _merge(
        self, node: Node, path: bytes, depth: int, khs: list[bytes], vhs: list[bytes | None], lo: int, hi: int
    ) -> None:
        """Apply the writes khs[lo:hi] (all under `path`, sorted) to `node`, a staged copy, and
        update the child hashes in its buf (the caller hashes the node itself)."""
        buf, kids = node
        staged = self._staged
        bi = depth >> 1
        shift = 0 if depth & 1 else 4
        i = lo
        while i < hi:
            kh = khs[i]
            b = kh[bi]
            nib = (b >> shift) & 15
            # khs[i:j]: the writes under this child (sorted, so one run).
            if i + 1 == hi or nib == 15:
                j = hi
            elif hi - i <= _SCAN_MAX:
                j = i + 1
                while j < hi and (khs[j][bi] >> shift) & 15 == nib:
                    j += 1
            else:
                bound = kh[:bi] + bytes(((nib + 1) << 4 if shift else (b & 0xF0) | (nib + 1),))
                j = bisect_left(khs, bound, i + 1, hi)
            slot = kids[nib]
            off = 1 + 32 * nib
            if j == i + 1 and (slot is None or (type(slot) is bytes and slot.startswith(kh, 1))):
                # One write at an empty slot or at its own leaf.
                vh = vhs[i]
                if vh is not None:
                    leaf = b"\x00" + kh + vh
                    kids[nib] = leaf
                    buf[off : off + 32] = _sha256(leaf).digest()
                elif slot is not None:
                    kids[nib] = None
                    buf[off : off + 32] = ZERO
                i = j
                continue
            child_path = path + _NIBBLE_BYTES[nib]
            if j == i + 1 and type(slot) is bytes:
                # One write at another key's leaf: a new key splits the slot, a delete changes nothing.
                vh = vhs[i]
                if vh is not None:
                    child, h = self._pair(slot, bytes(buf[off : off + 32]), b"\x00" + kh + vh, child_path, depth + 1)
                    kids[nib] = child
                    buf[off : off + 32] = h
                i = j
                continue
            if slot is None or type(slot) is bytes:
                # Writes below an empty slot or another key's leaf: what remains there are the
                # new values and the old leaf (unless written); two or more make a new node.
                entries = {khs[k]: vh for k in range(i, j) if (vh := vhs[k]) is not None}
                if slot is not None:
                    okh = slot[1:33]
                    if not any(khs[k] == okh for k in range(i, j)):
                        entries[okh] = slot[33:]
                if not entries:
                    kids[nib] = None
                    buf[off : off + 32] = ZERO
                elif len(entries) == 1:
                    ((ekh, evh),) = entries.items()
                    leaf = b"\x00" + ekh + evh
                    kids[nib] = leaf
                    buf[off : off + 32] = _sha256(leaf).digest()
                else:
                    sub = sorted(entries)
                    child = _empty_node()
                    self._merge(child, child_path, depth + 1, sub, [entries[k] for k in sub], 0, len(sub))
                    staged[child_path] = child
                    kids[nib] = child
                    buf[off : off + 32] = _sha256(child[0]).digest()
                i = j
                continue
            maybe = staged.get(child_path)
            if maybe is not None:
                child = maybe  # already copied in this block
            elif type(slot) is tuple:
                child = (bytearray(slot[0]), slot[1].copy())
            else:
                child = self._load_node(child_path)  # freshly decoded: private already
            self._merge(child, child_path, depth + 1, khs, vhs, i, j)
            gone = False
            if child[1].count(None) >= 15:
                gone, replacement = _collapsed(child[1])
            if gone:
                staged[child_path] = None
                kids[nib] = replacement
                buf[off : off + 32] = _sha256(replacement).digest() if type(replacement) is bytes else ZERO
            else:
                staged[child_path] = child
                kids[nib] = child
                buf[off : off + 32] = _sha256(child[0]).digest()
            i = j

    def _pair(self, a: bytes, a_hash: bytes, b: bytes, path: bytes, depth: int) -> tuple[Node, bytes]:
        """Stage the new subtree at `path` (at `depth`) that holds just the leaves `a` (whose hash
        is `a_hash`) and `b`; returns its top node and that node's hash."""
        shared: list[int] = []
        d = depth
        while True:
            x, y = a[1 + (d >> 1)], b[1 + (d >> 1)]
            x, y = (x >> 4, y >> 4) if d & 1 == 0 else (x & 15, y & 15)
            if x != y:
                break
            shared.append(x)
            d += 1
        node = _empty_node()
        buf, kids = node
        kids[x], kids[y] = a, b
        buf[1 + 32 * x : 33 + 32 * x] = a_hash
        buf[1 + 32 * y : 33 + 32 * y] = _sha256(b).digest()
        p = path + bytes(shared)
        self._staged[p] = node
        h = _sha256(buf).digest()
        for n in reversed(shared):
            parent = _empty_node()
            parent[1][n] = node
            parent[0][1 + 32 * n : 33 + 32 * n] = h
            p = p[:-1]
            self._staged[p] = parent
            node, h = parent, _sha256(parent[0]).digest()
        return node, h

    def _load_node(self, path: bytes) -> Node:
        raw = self._load(path)
        if raw is None:
            raise RuntimeError(f"trie node missing at path {path.hex()}")
        return _decode(raw)

    def root_hash(self) -> bytes:
        """The staged tree's root hash (the committed one when nothing is staged)."""
        return self._root

    # -- lifecycle ---------------------------------------------------------------------

    def take_staged(self) -> dict[bytes, bytes | None]:
        """Serialise the staged nodes for the backend and make them the committed ones."""
        out = {path: None if node is None else _encode(node) for path, node in self._staged.items()}
        self._staged = {}
        self._committed = self._node
        self._committed_root = self._root
        return out

    def discard_staged(self) -> None:
        """Drop the staged block: the committed tree was never changed."""
        self._staged = {}
        self._node = self._committed
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
                buf, kids = _decode(raw)
            except (IndexError, ValueError) as exc:
                raise ValueError(f"trie node at path {path.hex()} is truncated") from exc
            for nib, slot in enumerate(kids):
                if slot is None:
                    continue
                child_path = path + bytes((nib,))
                if type(slot) is bytes:
                    kh = slot[1:33]
                    if any(_nibble(kh, depth) != child_path[depth] for depth in range(len(child_path))):
                        raise ValueError(f"leaf at path {child_path.hex()} is not on its key's path")
                    leaves[kh] = slot[33:]
                    continue
                child = self._load(child_path)
                if child is None:
                    raise ValueError(f"trie node at path {child_path.hex()} is missing")
                try:
                    child_hash = _sha256(_decode(child)[0]).digest()
                except (IndexError, ValueError) as exc:
                    raise ValueError(f"trie node at path {child_path.hex()} is truncated") from exc
                if child_hash != buf[1 + 32 * nib : 33 + 32 * nib]:
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
        node = self._committed or _empty_node()
        while True:
            buf, kids = node
            levels.append(bytes(buf[1:]))
            nib = _nibble(kh, depth)
            slot = kids[nib]
            if slot is None:
                return Proof(tuple(levels))
            if type(slot) is bytes:
                if slot.startswith(kh, 1):
                    return Proof(tuple(levels))
                return Proof(tuple(levels), slot[1:33], slot[33:])
            path += _NIBBLE_BYTES[nib]
            if type(slot) is not tuple:
                slot = self._load_node(path)
                kids[nib] = slot  # a committed node: only fills in what was not loaded yet
            node = slot
            depth += 1
