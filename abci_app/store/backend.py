"""The durable layer: a bytes→bytes store with atomic batch commits.

Two namespaces share one atomic write: the state key/values and the commitment
trie's nodes, plus the commit metadata (height and app hash).
"""

from __future__ import annotations

import bisect
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Protocol

__all__ = [
    "Backend",
    "CommitBatch",
    "CommitMeta",
    "CommitView",
    "CorruptStateError",
    "MemoryBackend",
    "PinnedView",
    "prefix_end",
]


class CorruptStateError(RuntimeError):
    """The database exists but does not hold a consistent gridledger state."""


@dataclass(frozen=True, slots=True)
class CommitMeta:
    height: int
    app_hash: bytes


@dataclass(frozen=True, slots=True)
class CommitBatch:
    """Everything one Commit writes; applied all together or not at all."""

    kv: Mapping[bytes, bytes | None]  # None deletes
    nodes: Mapping[bytes, bytes | None]
    meta: CommitMeta


def prefix_end(prefix: bytes) -> bytes | None:
    """The smallest key greater than every key starting with `prefix` (None: no bound)."""
    b = bytearray(prefix)
    while b:
        if b[-1] != 0xFF:
            b[-1] += 1
            return bytes(b)
        b.pop()
    return None


class CommitView(Protocol):
    """A committed state read as a whole: its height, app hash and items (the committed state
    itself between Commit and the next FinalizeBlock, or a pinned view)."""

    @property
    def height(self) -> int: ...

    @property
    def app_hash(self) -> bytes: ...

    def iter_range(self, start: bytes, end: bytes | None) -> Iterator[tuple[bytes, bytes]]:
        """State items with start <= key < end, in key order, as of that commit."""
        ...


class PinnedView(CommitView, Protocol):
    """A read-only view of the state as one commit left it, unaffected by later commits: what a
    worker thread reads a snapshot from while the node goes on committing blocks."""

    def close(self) -> None:
        """Release the view (idempotent)."""
        ...


class Backend(Protocol):
    def get(self, key: bytes) -> bytes | None: ...

    def iter_range(self, start: bytes, end: bytes | None) -> Iterator[tuple[bytes, bytes]]:
        """State items with start <= key < end, in key order."""
        ...

    def get_node(self, path: bytes) -> bytes | None: ...

    def meta(self) -> CommitMeta | None: ...

    def pinned(self) -> PinnedView:
        """A view of the last commit that later commits leave as it is (call it between
        commits); CorruptStateError if nothing was committed yet."""
        ...

    def commit(self, batch: CommitBatch) -> None: ...

    def close(self) -> None: ...


class MemoryBackend:
    """In-memory backend for unit tests and in-process benchmarks."""

    def __init__(self) -> None:
        self._kv: dict[bytes, bytes] = {}
        self._sorted: list[bytes] | None = []
        self._nodes: dict[bytes, bytes] = {}
        self._meta: CommitMeta | None = None

    def get(self, key: bytes) -> bytes | None:
        return self._kv.get(key)

    def iter_range(self, start: bytes, end: bytes | None) -> Iterator[tuple[bytes, bytes]]:
        if self._sorted is None:
            self._sorted = sorted(self._kv)
        keys = self._sorted  # a commit replaces the list, never changes it
        i = bisect.bisect_left(keys, start)
        j = len(keys) if end is None else bisect.bisect_left(keys, end)
        for n in range(i, j):  # no copy of the range: a caller may take only its first rows
            k = keys[n]
            yield k, self._kv[k]

    def get_node(self, path: bytes) -> bytes | None:
        return self._nodes.get(path)

    def meta(self) -> CommitMeta | None:
        return self._meta

    def pinned(self) -> PinnedView:
        """A copy of the committed key/values (tests only: it costs the size of the state)."""
        if self._meta is None:
            raise CorruptStateError("nothing is committed yet: no view to pin")
        copy = MemoryBackend()
        copy._kv = dict(self._kv)
        copy._sorted = None
        copy._meta = self._meta
        return _MemoryView(copy, self._meta)

    def commit(self, batch: CommitBatch) -> None:
        for k, v in batch.kv.items():
            if v is None:
                self._kv.pop(k, None)
            else:
                self._kv[k] = v
        for p, n in batch.nodes.items():
            if n is None:
                self._nodes.pop(p, None)
            else:
                self._nodes[p] = n
        self._meta = batch.meta
        self._sorted = None

    def close(self) -> None:
        pass


@dataclass(frozen=True, slots=True)
class _MemoryView:
    """MemoryBackend.pinned's view: a private copy of the state."""

    _copy: MemoryBackend
    _meta: CommitMeta

    @property
    def height(self) -> int:
        return self._meta.height

    @property
    def app_hash(self) -> bytes:
        return self._meta.app_hash

    def iter_range(self, start: bytes, end: bytes | None) -> Iterator[tuple[bytes, bytes]]:
        return self._copy.iter_range(start, end)

    def close(self) -> None:
        pass
