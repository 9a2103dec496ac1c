"""The check every record/index invariant makes: the records and their index entries name the same keys."""

from __future__ import annotations

from typing import Any

__all__ = ["index_mismatch"]


def index_mismatch(records: set[Any], index: set[Any], what: str, which: str) -> str | None:
    """None when the records and their index entries name the same keys; else the first few of each
    side that the other lacks (`what`: the record's name, `which`: the index's)."""
    if records == index:
        return None
    return (
        f"{what}s not in the {which} index: {sorted(records - index)[:3]}; index entries without a "
        f"{what}: {sorted(index - records)[:3]}"
    )
