"""The copies of orders that the book keeps (what gate closure reads instead of the orders) stay the
orders' bytes, the settle-due record (what settlement writes and moves money by) is what the
interval's cleared orders make, and the invariant notices when either is not."""

from __future__ import annotations

from dataclasses import replace

from abci_app.market import invariants, keeper, keys
from abci_app.market.records import BUY, CLEARED, OPEN, SELL, SETTLED, Order, OrderId
from abci_app.market.settle_due import SettleDueBuilder
from abci_app.store.backend import MemoryBackend
from abci_app.store.branch import Branch
from abci_app.types import Address

INTERVAL = 1_767_225_600


def _order(order_id: int, status: int = OPEN) -> Order:
    return Order(
        order_id=OrderId(order_id),
        owner=Address(bytes([order_id % 200 + 1]) * 20),
        side=BUY,
        interval_start=INTERVAL,
        energy_wh=1_000,
        limit_price=30,
        site_id=f"site-{order_id}",
        feeder="feeder-1",
        escrow=33,
        status=status,
    )


def test_the_book_keeps_each_open_orders_bytes() -> None:
    """Gate closure reads each open order's stored bytes from the book, equal to the order record."""
    store = Branch(MemoryBackend())
    orders = [_order(i) for i in (5, 2, 9)]
    for o in orders:
        keeper.put_order(store, o, new=True)
    entries, raws = keeper.read_book(store, INTERVAL)
    assert [e.order_id for e in entries] == [2, 5, 9]
    assert raws == [store.get(keys.order(i)) for i in (2, 5, 9)]
    assert invariants.copies_match_orders(store) is None


def _cleared(order_id: int, *, side: int = BUY, filled: int = 400, cost: int = 13) -> Order:
    o = replace(_order(order_id, CLEARED), side=side, filled_wh=filled, cost=cost, escrow=cost if side == BUY else 0)
    return replace(o, device_id=f"pv-{order_id}") if side == SELL else o


def _builder(*orders: tuple[Order, int]) -> SettleDueBuilder:
    due = SettleDueBuilder()
    for o, fee in orders:
        due.add(o.to_proto(), fee)
    return due


def test_settle_due_holds_each_order_as_settled_and_the_sums_settlement_moves() -> None:
    """Marking more orders of an interval keeps one record, in id order: each order as settlement stores
    it (SETTLED, a buy's escrow 0) and, per member, site and device, the sums of what they bought, sold,
    paid, earned and offered; taking it removes it."""
    store = Branch(MemoryBackend())
    buy4, buy8, sell1 = _cleared(4), _cleared(8, cost=20), _cleared(1, side=SELL, filled=300, cost=9)
    keeper.put_settle_due(store, INTERVAL, _builder((buy4, 7), (buy8, 2)))
    keeper.put_settle_due(store, INTERVAL, _builder((sell1, 0)))  # a book cleared again (genesis)
    assert len(list(store.iter_prefix(keys.SETTLE_DUE))) == 1
    assert list(keeper.iter_settle_due(store)) == [(INTERVAL, 1), (INTERVAL, 4), (INTERVAL, 8)]
    due = keeper.take_settle_due(store, INTERVAL)
    assert due is not None
    assert store.get(keys.settle_due(INTERVAL)) is None
    assert due.order_ids == [1, 4, 8]
    assert due.settled == [
        replace(sell1, status=SETTLED).encode(),
        replace(buy4, status=SETTLED, escrow=0).encode(),
        replace(buy8, status=SETTLED, escrow=0).encode(),
    ]
    owners = {o: (paid, bought, fees, received, sold) for o, paid, bought, fees, received, sold in due.owners}
    assert owners[buy4.owner] == (13, 400, 7, 0, 0)
    assert owners[buy8.owner] == (20, 400, 2, 0, 0)
    assert owners[sell1.owner] == (0, 0, 0, 9, 300)
    assert sorted(due.buy_sites) == sorted([(buy4.owner, "site-4", 400, 600), (buy8.owner, "site-8", 400, 600)])
    assert due.sold_devices == [(sell1.owner, "pv-1", "site-1", 300, 1_000)]
    assert keeper.take_settle_due(store, INTERVAL) is None


def test_a_copy_that_differs_from_its_order_breaks_the_invariant() -> None:
    """A book copy that is not the order's stored bytes, or a settle-due record that is not what the
    interval's cleared orders make, is reported."""
    store = Branch(MemoryBackend())
    keeper.put_order(store, _order(3), new=True)
    book_key = keys.book(INTERVAL, 3)
    good = store.get(book_key)
    assert good is not None
    store.set(book_key, good[:-1] + bytes([good[-1] ^ 1]))
    assert "book's copy of order 3" in (invariants.copies_match_orders(store) or "")
    store.set(book_key, good)
    cleared = _cleared(6)
    keeper.put_order(store, cleared, new=True)
    keeper.put_settle_due(store, INTERVAL, _builder((cleared, 0)))
    assert invariants.copies_match_orders(store) is None
    keeper.put_order(store, replace(cleared, cost=12))  # the order changed after its record was made
    assert "differs from what its cleared orders make" in (invariants.copies_match_orders(store) or "")
    keeper.put_order(store, replace(cleared, status=OPEN))
    assert "names order 6, not cleared" in (invariants.copies_match_orders(store) or "")
