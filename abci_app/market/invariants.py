"""Market invariants, checked after every block by the test driver and the chaos run.

- The escrow account holds exactly the escrow of the orders that hold any: open buy
  orders (their max cost) and cleared buy orders awaiting settlement (their cost), and
  the upstream grid's payment for what it bought in intervals awaiting settlement.
- Every fill of an interval awaiting settlement has bid ≥ price ≥ ask: a buyer's
  price + fee ≤ its limit, a seller's price ≥ its limit.
- No feeder limit in force at clearing was exceeded by the pool volumes of an interval
  awaiting settlement.
- The upstream grid's trade of an interval awaiting settlement is on one side only, it paid
  exactly ceil(bought × (price + fee) / 1000) and earns floor(sold × price / 1000), and the
  pool energy balances: Σ pool Wh bought by members + what the grid bought = Σ pool Wh sold
  by members + what the grid sold.
- Each member's count of open orders per interval (what the per-interval cap reads) is
  the number of its orders in that interval's book.
- The copies of orders that the book keeps (what gate closure reads) are byte for byte the
  orders' records, and each settle-due record (what settlement writes and moves money by) is
  byte for byte the one its interval's CLEARED orders and buy fills make (settle_due.py).
- An interval whose sites settle over several blocks has been settled (its orders are not
  awaiting settlement any more, and the settled mark has reached it), and its sites still
  to settle lie after its last site settled.
- The rules' pass going on over several blocks is the one of the interval whose rules have
  started (the rules mark), in one of its stages.
- Feed-in withheld for a sold device's late data is of a settled interval and waits for at
  least one device.
- Every statement is in its interval's index and every entry of the index names a statement
  (pruning archives statements by it).
- Pruning's cursors are behind every live order and alert: none with an id up to
  archive_order or archive_alert is in live state.
(Settled intervals were checked while they awaited settlement; the checks stay bounded.)
"""

from __future__ import annotations

from gridledger.market.v1 import market_pb2

from abci_app.accounts import keeper as accounts
from abci_app.index_check import index_mismatch
from abci_app.keys import lp
from abci_app.market import keeper, keys, prune
from abci_app.market.placement import RULES_MARK
from abci_app.market.records import BUY, CLEARED, PLACEMENT_STAGES, SELL
from abci_app.market.settle_due import SettleDueBuilder
from abci_app.market.settlement import RETAIL_MARK
from abci_app.store.backend import prefix_end
from abci_app.store.branch import KVReader
from abci_app.store.scan import first_time

__all__ = [
    "copies_match_orders",
    "escrow_matches_orders",
    "feeder_limits_respected",
    "fills_within_limits",
    "open_counts_match_book",
    "rules_pass_follows_mark",
    "sites_in_settlement_follow_settlement",
    "upstream_trades_balance",
    "withheld_feed_in_follows_settlement",
]


def escrow_matches_orders(store: KVReader) -> str | None:
    """None when the market escrow account holds exactly the escrow of the open and cleared-but-unsettled
    orders plus the upstream grid's unsettled payments; else the difference."""
    held = 0
    for order_id in keeper.iter_book_orders(store):
        order = keeper.get_order(store, order_id)
        if order is not None:
            held += order.escrow
    for _interval, order_id in keeper.iter_settle_due(store):
        order = keeper.get_order(store, order_id)
        if order is not None:
            held += order.escrow
    for interval in _pending_intervals(store):
        trade = keeper.get_upstream(store, interval)
        if trade is not None and not trade.settled:
            held += trade.paid
    have = accounts.balance(store, keeper.ESCROW_ADDRESS)
    if have != held:
        return f"escrow account holds {have}, open and cleared buy orders and the upstream grid hold {held}"
    return None


def _pending_intervals(store: KVReader) -> list[int]:
    return sorted({interval for interval, _ in keeper.iter_settle_due(store)})


def fills_within_limits(store: KVReader) -> str | None:
    """None when every unsettled fill respects its order's limit (a buy: price + fee <= bid; a sell: price
    >= ask); else the first breach."""
    for interval in _pending_intervals(store):
        for f in keeper.iter_fills(store, interval):
            if f.side == BUY and f.price + f.fee_per_kwh > f.limit_price:
                return f"order {f.order_id}: price {f.price} + fee {f.fee_per_kwh} above bid {f.limit_price}"
            if f.side == SELL and f.price < f.limit_price:
                return f"order {f.order_id}: price {f.price} below ask {f.limit_price}"
    return None


def feeder_limits_respected(store: KVReader) -> str | None:
    """None when no unsettled clearing moved more pool energy into or out of a limited feeder than its
    limit; else the first breach."""
    for interval in _pending_intervals(store):
        result = keeper.get_clearing(store, interval)
        if result is None:
            continue
        for f in result.feeders:
            if f.has_limit and (f.pool_import_wh > f.import_limit_wh or f.pool_export_wh > f.export_limit_wh):
                return f"interval {interval}: feeder {f.feeder} moved {f.pool_import_wh}/{f.pool_export_wh} Wh"
    return None


def open_counts_match_book(store: KVReader) -> str | None:
    """None when the per-(interval, owner) open-order counts equal the orders on the book; else a few of
    the differences."""
    want: dict[tuple[int, bytes], int] = {}
    for order_id in keeper.iter_book_orders(store):
        order = keeper.get_order(store, order_id)
        if order is not None:
            k = (order.interval_start, bytes(order.owner))
            want[k] = want.get(k, 0) + 1
    have = {
        (int.from_bytes(k[1:9], "big"), k[9:]): int.from_bytes(v, "big")
        for k, v in store.iter_range(keys.OPEN_COUNT, prefix_end(keys.OPEN_COUNT))
    }
    if have != want:
        wrong = sorted(set(have.items()) ^ set(want.items()))[:3]
        return f"open-order counts disagree with the book: {[(i, o.hex(), n) for (i, o), n in wrong]}"
    return None


def upstream_trades_balance(store: KVReader) -> str | None:
    """None when every unsettled upstream trade only buys or only sells, is paid and earns exactly its
    volume at its price (and fee), and matches the cross-feeder fills it stands against; else the first
    breach."""
    for interval in _pending_intervals(store):
        t = keeper.get_upstream(store, interval)
        if t is None or t.settled:
            continue
        if t.bought_wh and t.sold_wh:
            return f"interval {interval}: the upstream grid both bought and sold"
        if t.paid != -(-t.bought_wh * (t.price + t.fee_per_kwh) // 1000) or t.earned != t.sold_wh * t.price // 1000:
            return (
                f"interval {interval}: the upstream grid's payment {t.paid} or earnings {t.earned} are not its trade's"
            )
        bought = sold = 0
        for f in keeper.iter_fills(store, interval):
            if f.cross_feeder:
                bought += f.energy_wh if f.side == BUY else 0
                sold += f.energy_wh if f.side == SELL else 0
        if bought + t.bought_wh != sold + t.sold_wh:
            return f"interval {interval}: pool bought {bought} + upstream {t.bought_wh} != sold {sold} + {t.sold_wh}"
    return None


def copies_match_orders(store: KVReader) -> str | None:
    """None when every open order's copy in the book equals the order's stored record and every
    settle-due record is the one its interval's cleared orders make; else the first that differs."""
    for order_id, raw in keeper.iter_book_copies(store):
        if store.get(keys.order(order_id)) != raw:
            return f"the book's copy of order {order_id} differs from the order"
    for interval, due in keeper.iter_settle_records(store):
        fees: dict[int, int] = {}
        for f in keeper.iter_fills(store, interval):
            if f.side == BUY and f.fee_per_kwh:
                fees[f.order_id] = fees.get(f.order_id, 0) + f.energy_wh * f.fee_per_kwh // 1000
        rebuilt = SettleDueBuilder()
        for order_id in due.order_ids:
            stored = store.get(keys.order(order_id))
            order = None if stored is None else market_pb2.Order.FromString(stored)
            if order is None or order.status != CLEARED or order.interval_start != interval:
                return f"interval {interval}'s settle-due record names order {order_id}, not cleared in it"
            rebuilt.add(order, fees.get(order_id, 0))
        if rebuilt.encode() != store.get(keys.settle_due(interval)):
            return f"interval {interval}'s settle-due record differs from what its cleared orders make"
    return None


def sites_in_settlement_follow_settlement(store: KVReader) -> str | None:
    """None when every interval whose sites settle over several blocks was settled first (no
    order of it awaits settlement, the settled mark is at or past it) and its special sites
    still ahead come after its last site settled (lp order), the sold devices' export named
    only for its sell sites."""
    raw = store.get(keys.counter(RETAIL_MARK))
    mark = -1 if raw is None else int.from_bytes(raw, "big")

    for due in keeper.iter_sites_in_settlement(store):
        interval = due.interval_start
        if interval > mark or keeper.has_settle_due(store, interval):
            return f"interval {interval} settles its sites before its orders settled"
        ahead = [*due.buy_sites, *due.sell_sites, *(p.site_id for p in due.penalised)]
        if any(lp(site) <= lp(due.after_site) for site in ahead):
            return f"interval {interval} keeps a special site at or before its last site settled"
        if not {e.site_id for e in due.market_export} <= set(due.sell_sites):
            return f"interval {interval} keeps the market export of a site that sold nothing"
    return None


def rules_pass_follows_mark(store: KVReader) -> str | None:
    """None when no rules' pass is going on, or it is the upcoming interval's (see the module doc)."""
    cursor = keeper.get_rules_in_placement(store)
    if cursor is None:
        return None
    raw = store.get(keys.counter(RULES_MARK))
    mark = None if raw is None else int.from_bytes(raw, "big")
    if cursor.interval_start != mark:
        return f"a rules' pass for interval {cursor.interval_start} goes on while the rules mark is {mark}"
    if not 0 <= cursor.stage < len(PLACEMENT_STAGES):
        return f"the rules' pass is in stage {cursor.stage}, none of {PLACEMENT_STAGES}"
    return None


def withheld_feed_in_follows_settlement(store: KVReader) -> str | None:
    """None when every withheld feed-in is of an interval already settled (the settled mark is
    at or past it) and waits for at least one device, named once, in order."""
    raw = store.get(keys.counter(RETAIL_MARK))
    mark = -1 if raw is None else int.from_bytes(raw, "big")
    for w in keeper.iter_withheld_feed_in(store):
        if w.interval_start > mark:
            return f"site {w.site_id!r} has feed-in withheld for interval {w.interval_start}, not settled yet"
        if not w.waiting_devices or list(w.waiting_devices) != sorted(set(w.waiting_devices)):
            return (
                f"site {w.site_id!r}'s withheld feed-in of interval {w.interval_start} waits for no device, or unsorted"
            )
    return None


def statements_indexed_by_interval(store: KVReader) -> str | None:
    """See the module doc."""
    stored = {(s.interval_start, bytes(s.owner)) for s in keeper.iter_statements(store)}
    return index_mismatch(stored, set(keeper.iter_statement_index(store)), "statement", "interval")


def archived_behind_cursors(store: KVReader) -> str | None:
    """See the module doc."""
    swept = ((keys.ORDER, prune.ARCHIVE_ORDER, "order"), (keys.ALERT, prune.ARCHIVE_ALERT, "alert"))
    for prefix, cursor, what in swept:
        last = keeper.peek_counter(store, cursor)
        first = first_time(store, prefix)  # the lowest id (ids are u64 right after the prefix)
        if first is not None and first <= last:
            return f"{what} {first} is live, but pruning archived every {what} up to {last}"
    return None
