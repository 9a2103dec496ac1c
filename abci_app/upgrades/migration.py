"""A migration: the state change an upgrade makes, once, at the start of its height's block."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from abci_app.store.branch import Branch
from abci_app.types import BlockInfo, Event

__all__ = ["Migration"]


@dataclass(frozen=True, slots=True)
class Migration:
    """`apply(store, block)` rewrites state deterministically (consensus rules: no clock, no I/O,
    ordered iteration) on the block's branch, before the block's txs, and returns its events.
    It runs once per chain: the runner records the upgrade as applied in the same writes."""

    name: str
    apply: Callable[[Branch, BlockInfo], list[Event]]
