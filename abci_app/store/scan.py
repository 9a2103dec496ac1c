"""Scans over collections keyed by time: prefix ‖ u64 time ‖ rest."""

from __future__ import annotations

from abci_app.store.backend import prefix_end
from abci_app.store.branch import KVReader

__all__ = ["distinct_times", "first_time"]


def first_time(store: KVReader, prefix: bytes) -> int | None:
    """The u64 time right after `prefix` in its first key (the oldest entry of a time-ordered
    collection), or None when the collection is empty."""
    row = next(iter(store.iter_range(prefix, prefix_end(prefix))), None)
    return None if row is None else int.from_bytes(row[0][len(prefix) : len(prefix) + 8], "big")


def distinct_times(store: KVReader, collection: bytes, upto: int) -> list[int]:
    """The distinct times (u64 after the one-byte `collection` prefix) at or before `upto`,
    ascending; one seek per distinct time, however many keys each holds."""
    out: list[int] = []
    start = collection
    end = collection + (upto + 1).to_bytes(8, "big")
    while True:
        row = next(iter(store.iter_range(start, end)), None)
        if row is None:
            return out
        t = int.from_bytes(row[0][1:9], "big")
        out.append(t)
        start = collection + (t + 1).to_bytes(8, "big")
