"""Scans over collections keyed by time: one-byte prefix ‖ u64 time ‖ rest."""

from __future__ import annotations

from abci_app.store.branch import KVReader

__all__ = ["distinct_times"]


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
