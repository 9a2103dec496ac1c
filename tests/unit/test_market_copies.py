"""The copies of orders that the book and the settle-due records keep (what gate closure and
settlement read instead of the orders) stay the orders' bytes, and the invariant notices when
they do not."""

from __future__ import annotations

from abci_app.market import invariants, keeper, keys
from abci_app.market.records import BUY, CLEARED, OPEN, Order, OrderId
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


def test_settle_due_marks_merge_into_one_record_in_id_order() -> None:
    """Marking more orders of an interval keeps one record, in id order, an order marked again with its last
    entry."""
    store = Branch(MemoryBackend())
    first = [_order(i, CLEARED) for i in (4, 8)]
    keeper.put_settle_due(store, INTERVAL, [(o.order_id, 7, o.encode()) for o in first])
    again = _order(4, CLEARED)
    keeper.put_settle_due(store, INTERVAL, [(1, 0, b"one"), (again.order_id, 9, again.encode())])
    got = [(oid, fee, raw) for _iv, oid, fee, raw in keeper.iter_settle_copies(store)]
    assert got == [(1, 0, b"one"), (4, 9, again.encode()), (8, 7, first[1].encode())]
    assert len(list(store.iter_prefix(keys.SETTLE_DUE))) == 1
    assert keeper.take_settle_due(store, INTERVAL) == [(b"one", 0), (again.encode(), 9), (first[1].encode(), 7)]
    assert store.get(keys.settle_due(INTERVAL)) is None


def test_a_copy_that_differs_from_its_order_breaks_the_invariant() -> None:
    """A book copy or a settle-due copy that is not the order's stored bytes is reported."""
    store = Branch(MemoryBackend())
    keeper.put_order(store, _order(3), new=True)
    book_key = keys.book(INTERVAL, 3)
    good = store.get(book_key)
    assert good is not None
    store.set(book_key, good[:-1] + bytes([good[-1] ^ 1]))
    assert "book's copy of order 3" in (invariants.copies_match_orders(store) or "")
    store.set(book_key, good)
    cleared = _order(6, CLEARED)
    keeper.put_order(store, cleared, new=True)
    keeper.put_settle_due(store, INTERVAL, [(6, 0, _order(6, OPEN).encode())])
    assert "settle-due copy of order 6" in (invariants.copies_match_orders(store) or "")
