"""The state commitment: a 16-ary Merkle trie over SHA-256(key), updated incrementally.

Shape: a leaf for key k sits at the shortest prefix of the nibbles of SHA-256(k) that no
other key shares (like Diem's Jellyfish Merkle tree), so the shape depends only on the set
of keys, never on the order they were written. Hashes (domain-separated):

    leaf     = SHA-256(0x00 || SHA-256(key) || SHA-256(value))
    internal = SHA-256(0x01 || child_0 || ... || child_15)   (empty child: 32 zero bytes)

The root hash of the whole state is the app hash. Nodes are stored by their nibble path;
`prove` gives the 16 child hashes of every node on the key's path; `gridwire.proof.verify_proof`
(shared with clients) recomputes the root from them.

In memory a node is one flat bytearray (no Python object per child, so copying a node is one
memcpy and the garbage collector has nothing to traverse): its first 513 bytes are
0x01 || child_0 || ... || child_15, whose SHA-256 is the node's hash, then 16 slot records of
65 bytes: a kind (0 empty, 1 leaf, 2 internal node) and, for a leaf, its key hash and value
hash, which is exactly a leaf slot's stored form. A block's writes are sorted by key hash and
merged in one descent from the root: the writes under a node are applied to a private copy of
it (the committed nodes never change, so a discarded block leaves no trace), each touched node
is hashed once, and shared prefixes are walked once per block rather than once per write.
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
# Slot kinds, in memory and in the stored encoding (per slot: 0 | 1, key hash, value hash | 2, child hash).
EMPTY: Final = 0
LEAF: Final = 1
NODE: Final = 2

Node: TypeAlias = bytearray
_HASHED: Final = 1 + 16 * 32  # mem[:_HASHED] is what the node's hash is taken of
_REC: Final = 65  # a slot record: kind, key hash, value hash
_SIZE: Final = _HASHED + 16 * _REC
_EMPTY_NODE: Final = b"\x01" + ZERO * 16 + bytes(16 * _REC)
_NIBBLE_BYTES: Final = tuple(bytes((n,)) for n in range(16))
# Above this many writes under one node, a child's run of writes is found by bisection.
_SCAN_MAX: Final = 8


def _encode(mem: Node) -> bytes:
    """A node's stored form (unchanged since the first release: every database holds it)."""
    parts: list[bytes | bytearray] = []
    for nib, kind in enumerate(mem[_HASHED::_REC]):
        if kind == EMPTY:
            parts.append(b"\x00")
        elif kind == LEAF:
            rec = _HASHED + _REC * nib
            parts.append(mem[rec : rec + _REC])
        else:
            parts.append(b"\x02")
            parts.append(mem[1 + 32 * nib : 33 + 32 * nib])
    return b"".join(parts)


def _decode(raw: bytes) -> Node:
    """A stored node in memory; raises IndexError or ValueError when `raw` is cut short."""
    mem = bytearray(_EMPTY_NODE)
    i = 0
    for nib in range(16):
        kind = raw[i]
        if kind == EMPTY:
            i += 1
            continue
        rec = _HASHED + _REC * nib
        if kind == LEAF:
            mem[rec : rec + _REC] = raw[i : i + _REC]
            mem[1 + 32 * nib : 33 + 32 * nib] = _sha256(b"\x00" + raw[i + 1 : i + _REC]).digest()
            i += _REC
        else:
            mem[rec] = NODE
            mem[1 + 32 * nib : 33 + 32 * nib] = raw[i + 1 : i + 33]
            i += 33
    if i > len(raw) or len(mem) != _SIZE:
        raise ValueError("truncated trie node")
    return mem


class Trie:
    """Committed nodes (loaded lazily from the backend, then cached) plus the staged block's copies."""

    def __init__(self, load_node: Callable[[bytes], bytes | None]) -> None:
        self._load = load_node
        self._committed: dict[bytes, Node] = {}
        # The staged block's nodes by path (None: the node there is gone); private copies.
        self._staged: dict[bytes, Node | None] = {}
        self._deletes = False
        root = self._get_committed(b"")
        self._committed_root = EMPTY_ROOT if root is None else _sha256(root[:_HASHED]).digest()
        self._root = self._committed_root

    def _get_committed(self, path: bytes) -> Node | None:
        mem = self._committed.get(path)
        if mem is None:
            raw = self._load(path)
            if raw is None:
                return None
            mem = self._committed[path] = _decode(raw)
        return mem

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
        """Merge writes sorted by key hash into the staged nodes and re-hash the root."""
        root = self._staged.get(b"")
        if root is None:
            base = self._get_committed(b"")
            if not khs or (base is None and all(v is None for v in vhs)):
                return  # nothing can change (and an empty trie stays without a root node)
            root = self._staged[b""] = bytearray(_EMPTY_NODE if base is None else base)
        self._deletes = None in vhs  # without deletes no node can lose children
        self._merge(root, b"", 0, khs, vhs, 0, len(khs))
        self._root = _sha256(root[:_HASHED]).digest()

    def _merge(  # noqa: PLR0917 - a hot recursion: positional arguments are the cheapest
        self, mem: Node, path: bytes, depth: int, khs: list[bytes], vhs: list[bytes | None], lo: int, hi: int
    ) -> None:
        """Apply the writes khs[lo:hi] (sorted, all under `path`) to the staged node `mem` and
        update its child hashes (the caller hashes `mem` itself)."""
        staged = self._staged
        bi = depth >> 1
        shift = 0 if depth & 1 else 4
        i = lo
        while i < hi:
            kh = khs[i]
            b = kh[bi]
            nib = (b >> shift) & 15
            # khs[i:j]: the run of writes under this child.
            if i + 1 == hi or nib == 15:
                j = hi
            elif hi - i <= _SCAN_MAX:
                j = i + 1
                while j < hi and (khs[j][bi] >> shift) & 15 == nib:
                    j += 1
            else:
                bound = kh[:bi] + bytes(((nib + 1) << 4 if shift else (b & 0xF0) | (nib + 1),))
                j = bisect_left(khs, bound, i + 1, hi)
            rec = _HASHED + _REC * nib
            off = 1 + 32 * nib
            kind = mem[rec]
            if j == i + 1 and kind != NODE:
                vh = vhs[i]
                if kind == EMPTY or mem.startswith(kh, rec + 1):  # an empty slot or the key's own leaf
                    if vh is not None:
                        kv = kh + vh
                        mem[rec : rec + _REC] = b"\x01" + kv
                        mem[off : off + 32] = _sha256(b"\x00" + kv).digest()
                    elif kind:
                        mem[rec] = EMPTY
                        mem[off : off + 32] = ZERO
                elif vh is not None:  # a new key at another key's leaf: a subtree of the two
                    h = self._pair(mem[rec : rec + _REC], mem[off : off + 32], b"\x01" + kh + vh, path, nib, depth + 1)
                    mem[rec] = NODE
                    mem[off : off + 32] = h
                i = j
                continue
            child_path = path + _NIBBLE_BYTES[nib]
            if kind != NODE:
                # Several writes at an empty slot or a leaf: what stays there is their values and
                # the old leaf (unless written); two or more make a new subtree.
                entries = {khs[k]: vh for k in range(i, j) if (vh := vhs[k]) is not None}
                if kind == LEAF:
                    okh = bytes(mem[rec + 1 : rec + 33])
                    if not any(khs[k] == okh for k in range(i, j)):
                        entries[okh] = bytes(mem[rec + 33 : rec + _REC])
                if len(entries) >= 2:
                    sub = sorted(entries)
                    child = staged[child_path] = bytearray(_EMPTY_NODE)
                    self._merge(child, child_path, depth + 1, sub, [entries[k] for k in sub], 0, len(sub))
                    mem[rec] = NODE
                    mem[off : off + 32] = _sha256(child[:_HASHED]).digest()
                elif entries:
                    ((ekh, evh),) = entries.items()
                    kv = ekh + evh
                    mem[rec : rec + _REC] = b"\x01" + kv
                    mem[off : off + 32] = _sha256(b"\x00" + kv).digest()
                else:
                    mem[rec] = EMPTY
                    mem[off : off + 32] = ZERO
                i = j
                continue
            node = staged.get(child_path)
            if node is None:
                base = self._get_committed(child_path)
                if base is None:
                    raise RuntimeError(f"trie node missing at path {child_path.hex()}")
                node = staged[child_path] = bytearray(base)
            self._merge(node, child_path, depth + 1, khs, vhs, i, j)
            kinds = node[_HASHED::_REC] if self._deletes else b""
            if kinds.count(EMPTY) >= 15 and kinds.count(NODE) == 0:
                # Canonical shape: a node left with no child, or with one leaf and nothing else,
                # is replaced in its parent by that leaf (or by nothing).
                staged[child_path] = None
                if kinds.count(LEAF):
                    n = kinds.index(LEAF)
                    mem[rec : rec + _REC] = node[_HASHED + _REC * n : _HASHED + _REC * (n + 1)]
                    mem[off : off + 32] = node[1 + 32 * n : 33 + 32 * n]
                else:
                    mem[rec] = EMPTY
                    mem[off : off + 32] = ZERO
            else:
                mem[off : off + 32] = _sha256(node[:_HASHED]).digest()
            i = j

    def _pair(  # noqa: PLR0917 - positional, like _merge that calls it
        self, a: bytearray, a_hash: bytearray, b: bytes, path: bytes, nib: int, depth: int
    ) -> bytes:
        """Stage the new subtree below `path` + `nib` (at `depth`) holding just the leaf records
        `a` (whose leaf hash is `a_hash`) and `b`; returns the subtree's hash."""
        shared = [nib]
        d = depth
        while True:
            x, y = a[1 + (d >> 1)], b[1 + (d >> 1)]
            x, y = (x >> 4, y >> 4) if d & 1 == 0 else (x & 15, y & 15)
            if x != y:
                break
            shared.append(x)
            d += 1
        mem = bytearray(_EMPTY_NODE)
        mem[_HASHED + _REC * x : _HASHED + _REC * (x + 1)] = a
        mem[1 + 32 * x : 33 + 32 * x] = a_hash
        mem[_HASHED + _REC * y : _HASHED + _REC * (y + 1)] = b
        mem[1 + 32 * y : 33 + 32 * y] = _sha256(b"\x00" + b[1:]).digest()
        p = path + bytes(shared)
        self._staged[p] = mem
        h = _sha256(mem[:_HASHED]).digest()
        for n in reversed(shared[1:]):
            mem = bytearray(_EMPTY_NODE)
            mem[_HASHED + _REC * n] = NODE
            mem[1 + 32 * n : 33 + 32 * n] = h
            p = p[:-1]
            self._staged[p] = mem
            h = _sha256(mem[:_HASHED]).digest()
        return h

    def root_hash(self) -> bytes:
        """The staged root hash (the committed one when nothing is staged)."""
        return self._root

    # -- lifecycle ---------------------------------------------------------------------

    def take_staged(self) -> dict[bytes, bytes | None]:
        """Serialise the staged nodes for the backend and make them the committed ones."""
        out: dict[bytes, bytes | None] = {}
        committed = self._committed
        for path, mem in self._staged.items():
            if mem is None:
                out[path] = None
                committed.pop(path, None)
            else:
                out[path] = _encode(mem)
                committed[path] = mem
        self._staged = {}
        self._committed_root = self._root
        return out

    def discard_staged(self) -> None:
        """Drop the staged block: the committed nodes were never changed."""
        self._staged = {}
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
                mem = _decode(raw)
            except (IndexError, ValueError) as exc:
                raise ValueError(f"trie node at path {path.hex()} is truncated") from exc
            for nib in range(16):
                rec = _HASHED + _REC * nib
                kind = mem[rec]
                if kind == EMPTY:
                    continue
                child_path = path + bytes((nib,))
                if kind == LEAF:
                    kh = bytes(mem[rec + 1 : rec + 33])
                    if any(_nibble(kh, depth) != child_path[depth] for depth in range(len(child_path))):
                        raise ValueError(f"leaf at path {child_path.hex()} is not on its key's path")
                    leaves[kh] = bytes(mem[rec + 33 : rec + _REC])
                    continue
                child = self._load(child_path)
                if child is None:
                    raise ValueError(f"trie node at path {child_path.hex()} is missing")
                try:
                    child_hash = _sha256(_decode(child)[:_HASHED]).digest()
                except (IndexError, ValueError) as exc:
                    raise ValueError(f"trie node at path {child_path.hex()} is truncated") from exc
                if child_hash != mem[1 + 32 * nib : 33 + 32 * nib]:
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
        mem = self._get_committed(path) or bytearray(_EMPTY_NODE)
        while True:
            levels.append(bytes(mem[1:_HASHED]))
            nib = _nibble(kh, depth)
            rec = _HASHED + _REC * nib
            kind = mem[rec]
            if kind == EMPTY:
                return Proof(tuple(levels))
            if kind == LEAF:
                if mem.startswith(kh, rec + 1):
                    return Proof(tuple(levels))
                return Proof(tuple(levels), bytes(mem[rec + 1 : rec + 33]), bytes(mem[rec + 33 : rec + _REC]))
            path += _NIBBLE_BYTES[nib]
            depth += 1
            child = self._get_committed(path)
            if child is None:
                raise RuntimeError(f"trie node missing at path {path.hex()}")
            mem = child
