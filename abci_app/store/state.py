"""The committed state: a backend, a read cache and the commitment trie, written once per block."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Mapping

from abci_app.store.backend import Backend, CommitBatch, CommitMeta, CorruptStateError, PinnedView
from abci_app.store.commitment import Proof, Trie

__all__ = ["CommittedState"]

_MISSING = object()


class CommittedState:
    """Read view of the last committed block, plus the block staged for the next Commit."""

    def __init__(self, backend: Backend, *, cache_limit: int = 1_000_000) -> None:
        self.backend = backend
        try:
            self.trie = Trie(backend.get_node)
        except (IndexError, ValueError) as exc:
            raise CorruptStateError(f"the state trie's root node is damaged: {exc}") from exc
        self._cache: dict[bytes, bytes | None] = {}
        self._cache_limit = cache_limit
        self._staged: Mapping[bytes, bytes | None] | None = None
        meta = backend.meta()
        self.height = 0 if meta is None else meta.height
        self.app_hash = b"" if meta is None else meta.app_hash
        if meta is not None and meta.app_hash != self.trie.committed_root:
            raise CorruptStateError(
                f"stored app hash {meta.app_hash.hex()} does not match the state trie root "
                f"{self.trie.committed_root.hex()} at height {meta.height}"
            )

    def get(self, key: bytes) -> bytes | None:
        v = self._cache.get(key, _MISSING)
        if v is _MISSING:
            v = self.backend.get(key)
            if len(self._cache) >= self._cache_limit:
                self._cache.clear()
            self._cache[key] = v
        return v  # type: ignore[return-value]

    def iter_range(self, start: bytes, end: bytes | None) -> Iterator[tuple[bytes, bytes]]:
        return self.backend.iter_range(start, end)

    def pinned(self) -> PinnedView:
        """A view of this committed state (height and app hash included) that the following
        commits leave as it is, for a reader on another thread (a state sync snapshot)."""
        view = self.backend.pinned()
        if (view.height, view.app_hash) != (self.height, self.app_hash):
            view.close()
            raise CorruptStateError(
                f"the database's last commit is height {view.height}, this state is at {self.height}"
            )
        return view

    def stage(self, writes: Mapping[bytes, bytes | None]) -> bytes:
        """Stage a finalized block's writes; returns the app hash the block results in."""
        self.trie.discard_staged()
        self._staged = writes
        return self.trie.apply(writes)

    def commit(self, height: int) -> bytes:
        """Persist the staged block (state, trie nodes, height, app hash) in one atomic write."""
        writes = self._staged if self._staged is not None else {}
        app_hash = self.trie.root_hash()
        nodes = self.trie.take_staged()
        self.backend.commit(CommitBatch(kv=writes, nodes=nodes, meta=CommitMeta(height, app_hash)))
        for k, v in writes.items():
            if k in self._cache or len(self._cache) < self._cache_limit:
                self._cache[k] = v
        self._staged = None
        self.height = height
        self.app_hash = app_hash
        return app_hash

    def discard_staged(self) -> None:
        self._staged = None
        self.trie.discard_staged()

    def verify(self) -> int:
        """Check every stored key/value against the committed trie (and the trie against its
        root); returns the number of keys. Raises CorruptStateError on any difference: a
        state that does not match its own commitment must never be served or built on."""
        try:
            leaves = self.trie.committed_leaves()
        except ValueError as exc:
            raise CorruptStateError(f"state trie is damaged at height {self.height}: {exc}") from exc
        count = 0
        for key, value in self.backend.iter_range(b"", None):
            want = leaves.pop(hashlib.sha256(key).digest(), None)
            if want != hashlib.sha256(value).digest():
                what = "is not in the committed trie" if want is None else "does not match the committed trie"
                raise CorruptStateError(f"state key {key.hex()} {what} (height {self.height})")
            count += 1
        if leaves:
            raise CorruptStateError(f"{len(leaves)} committed keys are missing from the state (height {self.height})")
        return count

    def prove(self, key: bytes) -> Proof:
        return self.trie.prove(key)
