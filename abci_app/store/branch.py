"""Copy-on-write branches over a key/value reader.

A block runs on one branch of the committed state; each transaction runs on a branch
of the block's branch and is merged into it only if every message succeeded. Reads
fall through to the parent; nothing reaches the backend until Commit.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterator
from typing import Protocol

from abci_app.store.backend import prefix_end

__all__ = ["Branch", "KVReader"]

_MISSING = object()


class KVReader(Protocol):
    def get(self, key: bytes) -> bytes | None: ...

    def iter_range(self, start: bytes, end: bytes | None) -> Iterator[tuple[bytes, bytes]]: ...


class Branch:
    """Pending writes over a parent reader (`None` marks a delete)."""

    __slots__ = ("_parent", "writes")

    def __init__(self, parent: KVReader) -> None:
        self._parent = parent
        self.writes: dict[bytes, bytes | None] = {}

    def get(self, key: bytes) -> bytes | None:
        v = self.writes.get(key, _MISSING)
        if v is _MISSING:
            return self._parent.get(key)
        return v  # type: ignore[return-value]

    def has(self, key: bytes) -> bool:
        return self.get(key) is not None

    def set(self, key: bytes, value: bytes) -> None:
        self.writes[key] = value

    def delete(self, key: bytes) -> None:
        self.writes[key] = None

    def branch(self) -> Branch:
        return Branch(self)

    def merge_into(self, parent: Branch) -> None:
        """Apply this branch's writes to `parent` (which must be the branch's parent)."""
        parent.writes.update(self.writes)

    def iter_range(self, start: bytes, end: bytes | None) -> Iterator[tuple[bytes, bytes]]:
        own = sorted(k for k in self.writes if k >= start and (end is None or k < end))
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
