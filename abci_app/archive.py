"""One block's pruning: the records it removes from live state, in removal order, and the archive
commitment that keeps them provable (gridwire.archive; consensus: never change).

A domain's pruning hook removes records through an `ArchiveBatch` and, when any left, stores the
commitment under its own key and publishes the packed records in its `<domain>_archived` event
(the `archive` attribute, kept in the block results and not indexed: abci_app/app.py), from which
an auditor proves a record against the app hash (clients/archive.py).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Protocol

from gridwire.archive import decode_commitment, encode_commitment, leaf_hash, merkle_root, pack_record

from abci_app.domain import GenesisError
from abci_app.store.backend import prefix_end
from abci_app.store.branch import Branch, KVReader
from abci_app.types import Event

__all__ = ["ArchiveBatch", "CommitmentEntry", "commitments_from_genesis", "iter_commitments"]


class CommitmentEntry(Protocol):
    """A genesis section's archive commitment (each domain's `ArchiveCommitment` message)."""

    @property
    def height(self) -> int: ...

    @property
    def root(self) -> bytes: ...

    @property
    def count(self) -> int: ...


def commitments_from_genesis(items: Sequence[CommitmentEntry], where: str) -> list[tuple[int, bytes]]:
    """(height, stored commitment) of each of a genesis section's archive commitments (`where`: the
    field, e.g. market.archive_commitments), in height order: a 32-byte root, a count above 0, one
    per height; GenesisError names the first that is not."""
    out: dict[int, bytes] = {}
    for i, c in enumerate(items):
        at = f"{where}[{i}]"
        if len(c.root) != 32 or c.count == 0:
            raise GenesisError(f"{at}: expected a 32-byte root and a count above 0")
        if c.height in out:
            raise GenesisError(f"{at}: duplicate height {c.height}")
        out[c.height] = encode_commitment(c.root, c.count)
    return sorted(out.items())


def iter_commitments(store: KVReader, prefix: bytes) -> Iterator[tuple[int, bytes, int]]:
    """(height, root, count) of every archive commitment stored under `prefix` u64(height), in
    height order."""
    for k, v in store.iter_range(prefix, prefix_end(prefix)):
        root, count = decode_commitment(v)
        yield int.from_bytes(k[-8:], "big"), root, count


class ArchiveBatch:
    """The records one block removes, in removal order."""

    def __init__(self, store: Branch) -> None:
        self.store = store
        self.records: list[tuple[bytes, bytes]] = []

    def remove(self, key: bytes) -> bool:
        """Remove `key` from live state and archive it with the value it held; False when absent."""
        value = self.store.get(key)
        if value is None:
            return False
        self.records.append((key, value))
        self.store.delete(key)
        return True

    def commit(self, event_type: str, key: bytes, height: int, **counts: int) -> list[Event]:
        """Nothing when no record was removed; else store the commitment (root and count) of the
        removed records under `key` and return the `<domain>_archived` event of block `height`:
        height, count, root, the domain's `counts` of what kinds were removed, and the records
        (`pack_record` bytes in order, in hex)."""
        if not self.records:
            return []
        root = merkle_root([leaf_hash(k, v) for k, v in self.records])
        self.store.set(key, encode_commitment(root, len(self.records)))
        packed = b"".join(pack_record(k, v) for k, v in self.records).hex()
        return [Event.of(event_type, height=height, count=len(self.records), root=root.hex(), **counts, archive=packed)]
