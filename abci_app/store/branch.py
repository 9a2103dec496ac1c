"""Copy-on-write branches over a key/value reader.

A block runs on one branch of the committed state; each transaction runs on a branch
of the block's branch and is merged into it only if every message succeeded. Reads
fall through to the parent; nothing reaches the backend until Commit.
"""

from __future__ import annotations

import bisect
import heapq
from collections.abc import Iterable, Iterator
from typing import Protocol

from abci_app.store.backend import prefix_end

__all__ = ["Branch", "KVReader"]

_MISSING = object()
# Branches with fewer writes than this scan them all for a range (cheaper than an index).
_INDEX_MIN = 64


class KVReader(Protocol):
    def get(self, key: bytes) -> bytes | None: ...

    def iter_range(self, start: bytes, end: bytes | None) -> Iterator[tuple[bytes, bytes]]: ...


class Branch:
    """Pending writes over a parent reader (`None` marks a delete)."""

    __slots__ = ("_dirty", "_index", "_parent", "_size", "writes")

    def __init__(self, parent: KVReader) -> None:
        self._parent = parent
        self.writes: dict[bytes, bytes | None] = {}
        # Range scans of a big branch (a block's, the mempool's) would otherwise sort all its
        # writes every time: its written keys by first byte, built by the first `iter_range`
        # that needs it (all first bytes in one pass), then kept complete as keys are written
        # (appended; a list with unsorted keys is in `_dirty` and sorted at its next scan).
        # `_size` is len(writes) as far as the index knows (any other change of `writes`
        # makes the index rebuild).
        self._index: dict[bytes, list[bytes]] = {}
        self._dirty: set[bytes] = set()  # only tested for membership
        self._size = 0

    def get(self, key: bytes) -> bytes | None:
        v = self.writes.get(key, _MISSING)
        if v is _MISSING:
            return self._parent.get(key)
        return v  # type: ignore[return-value]

    def has(self, key: bytes) -> bool:
        return self.get(key) is not None

    def set(self, key: bytes, value: bytes) -> None:
        writes = self.writes
        if self._index and key not in writes:  # `_added`, inlined: a block writes ~10⁵ keys
            index = self._index
            head = key[:1]
            ks = index.get(head)
            if ks is None:
                index[head] = [key]
            else:
                ks.append(key)
                self._dirty.add(head)
            self._size += 1
        writes[key] = value

    def set_many(self, items: Iterable[tuple[bytes, bytes]]) -> None:
        """`set` of every (key, value) of `items`, in order, in one pass."""
        if self._index:
            for key, value in items:
                self.set(key, value)
        else:
            self.writes.update(items)

    def delete(self, key: bytes) -> None:
        if self._index and key not in self.writes:
            self._added(key)
        self.writes[key] = None

    def _added(self, key: bytes) -> None:
        """Keep the (built) index in step with a key about to be written for the first time."""
        head = key[:1]
        ks = self._index.get(head)
        if ks is None:
            self._index[head] = [key]
        else:
            ks.append(key)
            self._dirty.add(head)
        self._size += 1

    def branch(self) -> Branch:
        return Branch(self)

    def merge_into(self, parent: Branch) -> None:
        """Apply this branch's writes to `parent` (which must be the branch's parent)."""
        if parent._index:
            theirs = parent.writes
            added = parent._added
            for k in self.writes:
                if k not in theirs:
                    added(k)
        parent.writes.update(self.writes)

    def _own_keys(self, start: bytes, end: bytes | None) -> list[bytes]:
        """This branch's written keys in [start, end), sorted."""
        writes = self.writes
        lo = start[0] if start else 0
        # The last first byte a key below `end` can have (none of end[0] if `end` is one byte).
        hi = 255 if end is None else (end[0] - (len(end) == 1) if end else -1)
        if len(writes) < _INDEX_MIN or not start or hi - lo > 3:
            return sorted(k for k in writes if k >= start and (end is None or k < end))
        index = self._index
        if index and len(writes) != self._size:
            index.clear()
        if not index:
            for k in writes:
                ks = index.get(k[:1])
                if ks is None:
                    index[k[:1]] = [k]
                else:
                    ks.append(k)
            self._dirty = set(index)
            self._size = len(writes)
        dirty = self._dirty
        own: list[bytes] = []
        for b in range(lo, hi + 1):
            h = bytes((b,))
            ks = index.get(h)
            if ks is None:
                continue
            if h in dirty:
                ks.sort()
                dirty.discard(h)
            i = bisect.bisect_left(ks, start)
            j = len(ks) if end is None else bisect.bisect_left(ks, end)
            own.extend(ks[i:j])
        return own

    def iter_range(self, start: bytes, end: bytes | None) -> Iterator[tuple[bytes, bytes]]:
        own = self._own_keys(start, end)
        if not own:
            yield from self._parent.iter_range(start, end)
            return
        mine = ((k, self.writes[k]) for k in own)
        # Merge by key; on equal keys our write wins (tagged 0 sorts before the parent's 1).
        merged = heapq.merge(
            ((k, 0, v) for k, v in mine),
            ((k, 1, v) for k, v in self._parent.iter_range(start, end)),
        )
        last: bytes | None = None
        for k, _tag, v in merged:
            if k == last:
                continue
            last = k
            if v is not None:
                yield k, v

    def iter_prefix(self, prefix: bytes) -> Iterator[tuple[bytes, bytes]]:
        return self.iter_range(prefix, prefix_end(prefix))
