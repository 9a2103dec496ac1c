"""The upgrade "market-retention": settled market intervals leave live state after the retention,
and the statements gain an interval index.

This version archives a settled interval's statements, fills, orders, clearing result, upstream
trade, instructions and old alerts `market.retention_seconds` after its correction window
(abci_app/market/prune.py), and sweeps the statements through their interval's index (SUBFAMILIES
0x08 u64(interval) owner), written by keeper.put_statement. The previous version kept every market
record for ever and wrote no such index: on a chain it ran, the invariant
statements_indexed_by_interval would fail and pruning would miss those statements, and nodes
switching versions at different heights would prune differently. So a chain the previous version
ran plans this upgrade: every node switches at its height, where the migration writes the interval
index entry of every stored statement, in key order, and nothing else (an entry already present is
written again, unchanged). Genesis import builds the index itself; a chain that began on this
version never plans it. Consensus rules: state only, key order, no clock.

Its work is not bounded per block: it reads every live statement once, in the block at the plan's
height, as a one-off migration may (a chain with a large market history can plan it after raising
no other load; the pruning that follows is bounded per block and catches up over the next blocks).
"""

from __future__ import annotations

from abci_app.governance.upgrades import MARKET_RETENTION
from abci_app.market import keeper
from abci_app.store.branch import Branch
from abci_app.types import BlockInfo, Event
from abci_app.upgrades.migration import Migration

__all__ = ["MIGRATION"]


def _apply(store: Branch, block: BlockInfo) -> list[Event]:
    """Index every stored statement under its interval (the runner emits upgrade_applied)."""
    for s in list(keeper.iter_statements(store)):
        keeper.index_statement(store, s.interval_start, s.owner)
    return []


MIGRATION = Migration(MARKET_RETENTION, _apply)
