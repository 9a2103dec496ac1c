"""Market clearing engine on hand-checked books: ties, partial fills, no cross, empty side,
fees that change who trades, binding feeder limits, community mode."""

from __future__ import annotations

from abci_app.market.clearing import BUY, SELL, BookEntry, ClearOutcome, clear


def b(oid: int, limit: int, wh: int, feeder: str = "f1") -> BookEntry:
    return BookEntry(oid, BUY, limit, wh, feeder, False)


def s(oid: int, limit: int, wh: int, feeder: str = "f1", renewable: bool = False) -> BookEntry:
    return BookEntry(oid, SELL, limit, wh, feeder, renewable)


def filled(out: ClearOutcome) -> dict[int, int]:
    got: dict[int, int] = {}
    for leg in out.legs:
        got[leg.order_id] = got.get(leg.order_id, 0) + leg.energy
    return got


def test_partial_fill_and_midpoint_price() -> None:
    """The marginal bid 25 and ask 20 set the price 22; bid 2 is partly filled, ask 4 not at all."""
    out = clear([b(1, 30, 100), b(2, 25, 100), s(3, 20, 150), s(4, 28, 100)], 0, 0, {})
    assert filled(out) == {1: 100, 2: 50, 3: 150}
    (f1,) = out.feeders
    assert (f1.local_price, f1.local_wh) == (22, 150)
    assert all(leg.price == 22 for leg in out.legs)
    assert out.pool_wh == 0


def test_ties_go_to_the_lower_order_id() -> None:
    """Equal bids: the earlier order fills first; equal asks likewise."""
    out = clear([b(2, 30, 100), b(1, 30, 100), s(5, 10, 150)], 0, 0, {})
    assert filled(out) == {1: 100, 2: 50, 5: 150}
    out = clear([b(1, 30, 150), s(4, 10, 100), s(3, 10, 100)], 0, 0, {})
    assert filled(out) == {1: 150, 3: 100, 4: 50}


def test_community_mode_prefers_renewables_at_equal_price() -> None:
    """At equal asks the renewable one goes first in community mode, the earlier one otherwise."""
    book = [b(1, 30, 100), s(3, 10, 100, renewable=False), s(4, 10, 100, renewable=True)]
    assert filled(clear(book, 0, 0, {}, community=True)) == {1: 100, 4: 100}
    assert filled(clear(book, 0, 0, {}, community=False)) == {1: 100, 3: 100}
    # a cheaper non-renewable ask still wins on price
    book = [b(1, 30, 100), s(3, 9, 100), s(4, 10, 100, renewable=True)]
    assert filled(clear(book, 0, 0, {}, community=True)) == {1: 100, 3: 100}


def test_no_cross_and_empty_sides() -> None:
    """Bid below ask: nothing trades, no price. One side empty: nothing trades."""
    for book in ([b(1, 10, 100), s(2, 20, 100)], [b(1, 10, 100)], [s(2, 20, 100)], []):
        out = clear(book, 0, 0, {})
        assert out.legs == []
        assert (out.pool_wh, out.pool_price, out.pool_cleared) == (0, 0, False)
        assert all(not f.local_cleared for f in out.feeders)


def test_fees_change_who_trades() -> None:
    """With intra 1, inter 10: the seller on f2 serves the f2 buyer (limit 25 − 1 ≥ 20), not
    the f1 buyer with the higher limit (28 − 10 < 20). Without fees the f1 buyer would win
    the pool."""
    book = [b(1, 28, 100, "f1"), b(2, 25, 100, "f2"), s(3, 20, 100, "f2")]
    out = clear(book, 1, 10, {})
    assert filled(out) == {2: 100, 3: 100}
    assert {leg.fee for leg in out.legs if leg.order_id == 2} == {1}
    # only the cross-feeder buyer: the inter fee prices it out; a lower fee lets it trade
    assert clear([b(1, 28, 100, "f1"), s(3, 20, 100, "f2")], 1, 10, {}).legs == []
    out = clear([b(1, 28, 100, "f1"), s(3, 20, 100, "f2")], 1, 5, {})
    assert filled(out) == {1: 100, 3: 100}
    assert out.pool_price == (23 + 20) // 2
    assert [leg.fee for leg in out.legs if leg.order_id == 1] == [5]


def test_binding_import_limit_curtails_lowest_priority_buyers() -> None:
    """f2 may import 150 Wh: the pool serves the higher bid in full and cuts the lower one."""
    book = [s(1, 10, 300, "f1"), b(2, 30, 100, "f2"), b(3, 28, 100, "f2")]
    out = clear(book, 0, 0, {"f2": (150, 10_000)})
    assert filled(out) == {1: 150, 2: 100, 3: 50}
    assert out.curtailed == {3: 50, 1: 50}
    by = {f.feeder: f for f in out.feeders}
    assert by["f2"].pool_import_wh == 150
    assert by["f1"].pool_export_wh == 150
    assert out.pool_price == (28 + 10) // 2  # unchanged by the curtailment


def test_binding_export_limit_shares_supply_by_priority() -> None:
    """f1 may export 100 Wh of the 200 its ask matched: the pool is cut to 150 Wh (one pass:
    f3's unmatched supply is not re-auctioned), the buyer is curtailed by 100."""
    book = [s(1, 10, 200, "f1"), s(2, 12, 200, "f3"), b(3, 30, 250, "f2")]
    out = clear(book, 0, 0, {"f1": (0, 100)})
    assert filled(out) == {1: 100, 2: 50, 3: 150}
    assert out.curtailed == {1: 100, 3: 100}
    by = {f.feeder: f for f in out.feeders}
    assert by["f1"].pool_export_wh == 100
    assert by["f1"].curtailed_wh == 100
    assert out.pool_price == (30 + 12) // 2
    assert sum(f.pool_import_wh for f in out.feeders) == sum(f.pool_export_wh for f in out.feeders)


def test_local_first_then_pool() -> None:
    """Each feeder clears locally first at its own price; only residuals reach the pool."""
    book = [b(1, 30, 100, "f1"), s(2, 26, 60, "f1"), s(3, 10, 100, "f2")]
    out = clear(book, 0, 2, {})
    by = {f.feeder: f for f in out.feeders}
    assert (by["f1"].local_price, by["f1"].local_wh) == (28, 60)
    assert out.pool_wh == 40
    assert out.pool_price == (28 + 10) // 2
    assert filled(out) == {1: 100, 2: 60, 3: 40}
    for leg in out.legs:
        if leg.order_id == 1:
            assert leg.price + leg.fee <= 30
