"""The upgrade "market-retention": settled market intervals leave live state after the retention,
the statements gain an interval index, and settle-due records hold the orders as settled with
their sums.

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

The same version re-lays the settle-due record of each interval awaiting settlement
(abci_app/market/settle_due.py): the previous version kept each cleared order's stored bytes and
grid fee there, packed (u64 order id, u64 fee, u32 length, the bytes), and decoded every order at
settlement; this one keeps the orders as settled and their sums, which gate closure builds. The
migration rebuilds each such record from its entries through the same builder, and leaves alone a
record that is not in the old layout (the entries must tile it exactly, each one an order of its
own id), so a second run changes nothing.

Its work is not bounded per block: it reads every live statement once, in the block at the plan's
height, as a one-off migration may (a chain with a large market history can plan it after raising
no other load; the pruning that follows is bounded per block and catches up over the next blocks).
"""

from __future__ import annotations

import struct

from google.protobuf.message import DecodeError
from gridledger.market.v1 import market_pb2

from abci_app.governance.upgrades import MARKET_RETENTION
from abci_app.market import keeper, keys
from abci_app.market.settle_due import SettleDueBuilder
from abci_app.store.backend import prefix_end
from abci_app.store.branch import Branch
from abci_app.types import BlockInfo, Event
from abci_app.upgrades.migration import Migration

__all__ = ["MIGRATION"]


_OLD_ENTRY = struct.Struct(">QQI")  # the previous layout's entry head: order id, fee, length


def _old_entries(raw: bytes) -> list[tuple[market_pb2.Order, int]] | None:
    """The (order, fee) entries of a settle-due record in the previous layout; None when it is not one."""
    out = []
    i, n = 0, len(raw)
    while i < n:
        if i + _OLD_ENTRY.size > n:
            return None
        order_id, fee, length = _OLD_ENTRY.unpack_from(raw, i)
        i += _OLD_ENTRY.size
        if i + length > n:
            return None
        try:
            order = market_pb2.Order.FromString(raw[i : i + length])
        except DecodeError:
            return None
        if order.order_id != order_id:
            return None
        out.append((order, fee))
        i += length
    return out or None


def _apply(store: Branch, block: BlockInfo) -> list[Event]:
    """Index every stored statement under its interval, and re-lay every settle-due record still in the
    previous layout (the runner emits upgrade_applied)."""
    for s in list(keeper.iter_statements(store)):
        keeper.index_statement(store, s.interval_start, s.owner)
    for k, v in list(store.iter_range(keys.SETTLE_DUE, prefix_end(keys.SETTLE_DUE))):
        entries = _old_entries(v)
        if entries is not None:
            due = SettleDueBuilder()
            for order, fee in entries:
                due.add(order, fee)
            store.set(k, due.encode())
    return []


MIGRATION = Migration(MARKET_RETENTION, _apply)
