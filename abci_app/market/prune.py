"""Bounded market state: a settled interval's records leave live state after the retention, provably.

Every settled interval leaves a statement per member with energy or money in it (a million metered
sites: a million statements every 15 minutes), and every order its fills; kept for ever, that is
terabytes a year at a utility. Retention T = `market.retention_seconds` (governed; 35 days).

An interval I is due when its settlement and any correction of it are T behind:
I + length + `market.settlement_grace_seconds` + `market.correction_window_seconds` + T ≤ block
time, and nothing of it or of an earlier interval is still open or awaiting settlement: I is
before the cutoff C, the earliest of that time, the interval after the last one settled (the
settlement cursor), and the oldest interval with open orders, cleared orders awaiting
settlement, sites still settling, estimates or withheld feed-in in their correction window, or
sites the devices domain still marks with energy. An end-block hook, after settlement, removes:

- the statements of intervals before C, through their interval index (the entry and the
  statement);
- the fills of intervals before C, each with its owner index entry;
- the clearing results, upstream trades and grid instructions of intervals before C;
- orders in id order, from the cursor `archive_order` (the last order id archived), each with
  its owner index entry, while the next order is final (not OPEN or CLEARED) and of an interval
  before C: ids are allocated in block order and an order is for at most a week ahead, so an
  order for a later interval holds the sweep back a week at most;
- alerts in id order, from the cursor `archive_alert`, each with its owner index entry, while
  the next alert was raised T ago or more and is about an interval before C.

Work per block is bounded: at most `market.prune_per_block` rows are examined (governed, 5,000
by default). Everything is decided from state and block time in key order: a proposer cannot
make a node prune differently, and a block with nothing due writes nothing. The counter
`archive_interval` is the cutoff of the last block that archived anything: a record of an
interval before it that is not in live state is answered RECORD_ARCHIVED (queries.py), as is an
order or alert id up to its cursor.

Commitment. The records a block removes (each state key with the value it held, in removal
order) are committed to under ARCHIVE u64(height) as gridwire.archive's root and count, and
published in the block's `market_archived` event (its `archive`: the packed records), from which
an auditor proves a pruned record against the app hash (clients/archive.py), as for
certificates.
"""

from __future__ import annotations

from collections.abc import Callable
from itertools import islice

from gridledger.market.v1 import market_pb2

from abci_app.archive import ArchiveBatch
from abci_app.devices import keeper as devices
from abci_app.keys import u64
from abci_app.market import events, keeper, keys
from abci_app.market.params import PRUNE_PER_BLOCK, RETENTION, correction_window, interval_length, settlement_grace
from abci_app.market.records import CLEARED, OPEN
from abci_app.market.settlement import RETAIL_MARK
from abci_app.params import domain_param
from abci_app.store.backend import prefix_end
from abci_app.store.branch import Branch, KVReader
from abci_app.store.scan import first_time
from abci_app.types import BlockInfo, Event

__all__ = ["ARCHIVE_ALERT", "ARCHIVE_INTERVAL", "ARCHIVE_ORDER", "archived_before", "cutoff", "end_block"]

ARCHIVE_ORDER = "archive_order"  # counter: the last order id archived
ARCHIVE_ALERT = "archive_alert"  # counter: the last alert id archived
ARCHIVE_INTERVAL = "archive_interval"  # counter: the cutoff of the last block that archived anything

# the families keyed by interval first whose oldest entry holds pruning back (still to settle or correct)
_UNSETTLED = (keys.BOOK, keys.SETTLE_DUE, keys.SITES_IN_SETTLEMENT, keys.ESTIMATE, keys.WITHHELD_FEED_IN)


class _Batch(ArchiveBatch):
    """The records one block removes and how many of each kind."""

    def __init__(self, store: Branch) -> None:
        super().__init__(store)
        self.counts = {"statements": 0, "fills": 0, "orders": 0, "clearings": 0, "alerts": 0}


def archived_before(store: KVReader) -> int:
    """Intervals before this have had their records archived as far as the last pruning block's
    cutoff went (0: none)."""
    return keeper.peek_counter(store, ARCHIVE_INTERVAL)


def cutoff(store: KVReader, now: int) -> int:
    """C (module doc): intervals before it are due for archiving at block time `now`."""
    length = interval_length(store)
    due = now - domain_param(store, RETENTION) - length - settlement_grace(store) - correction_window(store) + 1
    raw = store.get(keys.counter(RETAIL_MARK))
    c = min(due, 0 if raw is None else int.from_bytes(raw, "big") + length)
    for prefix in _UNSETTLED:
        held = first_time(store, prefix)
        if held is not None:
            c = min(c, held)
    marked = devices.energy_intervals(store, c)
    return min(c, marked[0]) if marked else c


def _interval_rows(store: Branch, prefix: bytes, before: int, budget: int) -> list[tuple[bytes, bytes]]:
    """Up to `budget` rows of a family keyed `prefix` u64(interval) … with interval before `before`."""
    if before <= 0:
        return []
    return list(islice(store.iter_range(prefix, prefix + u64(before)), budget))


def _statements(store: Branch, before: int, out: _Batch, budget: int) -> int:
    rows = _interval_rows(store, keys.STATEMENTS_BY_INTERVAL, before, budget)
    at = len(keys.STATEMENTS_BY_INTERVAL)
    for k, _v in rows:
        out.remove(k)
        out.remove(keys.statement(k[at + 8 :], int.from_bytes(k[at : at + 8], "big")))
        out.counts["statements"] += 1
    return budget - len(rows)


def _fills(store: Branch, before: int, out: _Batch, budget: int) -> int:
    rows = _interval_rows(store, keys.FILL, before, budget)
    for k, v in rows:
        out.remove(k)
        out.remove(keys.FILLS_BY_OWNER + market_pb2.Fill.FromString(v).owner + k[1:])
        out.counts["fills"] += 1
    return budget - len(rows)


def _per_interval(store: Branch, before: int, out: _Batch, budget: int) -> int:
    """Clearing results, upstream trades and grid instructions of intervals before `before`."""
    for prefix in (keys.CLEARING, keys.UPSTREAM, keys.INSTRUCTION):
        rows = _interval_rows(store, prefix, before, budget)
        for k, _v in rows:
            out.remove(k)
        if prefix == keys.CLEARING:
            out.counts["clearings"] += len(rows)
        budget -= len(rows)
    return budget


def _by_id(  # noqa: PLR0917 - internal
    store: Branch, prefix: bytes, cursor: str, due: Callable[[bytes], bytes | None], out: _Batch, budget: int
) -> int:
    """Archive records keyed `prefix` u64(id) in id order from the cursor while `due` (given the
    record's bytes) returns the owner index key to archive with it; stop at the first it refuses."""
    last = keeper.peek_counter(store, cursor)
    rows = list(islice(store.iter_range(prefix + u64(last + 1), prefix_end(prefix)), budget))
    for k, v in rows:
        index = due(v)
        if index is None:
            break
        out.remove(k)
        out.remove(index)
        last = int.from_bytes(k[len(prefix) :], "big")
        budget -= 1
    if last != keeper.peek_counter(store, cursor):
        keeper.set_counter(store, cursor, last)
    return budget


def end_block(store: Branch, block: BlockInfo) -> list[Event]:
    """Archive what is past its retention (module doc), at most `market.prune_per_block` rows;
    when anything left live state, store the block's archive commitment and the cutoff, and emit
    market_archived with the records. A block with nothing due writes nothing."""
    before = cutoff(store, block.time)
    if before <= 0:
        return []
    old = block.time - domain_param(store, RETENTION)
    out = _Batch(store)
    budget = domain_param(store, PRUNE_PER_BLOCK)
    budget = _statements(store, before, out, budget)
    if budget > 0:
        budget = _fills(store, before, out, budget)
    if budget > 0:
        budget = _per_interval(store, before, out, budget)

    def order_due(v: bytes) -> bytes | None:
        o = market_pb2.Order.FromString(v)
        if o.status in (OPEN, CLEARED) or o.interval_start >= before:
            return None
        out.counts["orders"] += 1
        return keys.orders_by_owner(o.owner, o.order_id)

    def alert_due(v: bytes) -> bytes | None:
        a = market_pb2.Alert.FromString(v)
        if a.created_at > old or a.interval_start >= before:
            return None
        out.counts["alerts"] += 1
        return keys.alerts_by_owner(a.owner, a.alert_id)

    if budget > 0:
        budget = _by_id(store, keys.ORDER, ARCHIVE_ORDER, order_due, out, budget)
    if budget > 0:
        _by_id(store, keys.ALERT, ARCHIVE_ALERT, alert_due, out, budget)
    if out.records and before > archived_before(store):
        keeper.set_counter(store, ARCHIVE_INTERVAL, before)
    return out.commit(events.MARKET_ARCHIVED, keys.archive_commitment(block.height), block.height, **out.counts)
