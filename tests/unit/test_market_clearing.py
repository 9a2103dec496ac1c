"""Market clearing engine on hand-checked books: ties, partial fills, no cross, empty side,
fees that change who trades, binding feeder limits with their own zone prices, community mode,
and the three counterexamples of issue 22 (the old feeder-first clearing missed the optimum).

Every expected price is re-derived by the documented rule (clearing.py): the pool price is the
midpoint of its market-clearing range, an unconstrained importer's zone price is pool + (inter −
intra), an exporter's the pool price, a zone at its import limit takes the lowest price of its
own clearing range, at its export limit the highest."""

from __future__ import annotations

from abci_app.market.clearing import BUY, POOL, SELL, BookEntry, ClearOutcome, clear


def b(oid: int, limit: int, wh: int, feeder: str = "f1") -> BookEntry:
    return BookEntry(oid, BUY, limit, wh, feeder, False)


def s(oid: int, limit: int, wh: int, feeder: str = "f1", renewable: bool = False) -> BookEntry:
    return BookEntry(oid, SELL, limit, wh, feeder, renewable)


def filled(out: ClearOutcome) -> dict[int, int]:
    got: dict[int, int] = {}
    for leg in out.legs:
        got[leg.order_id] = got.get(leg.order_id, 0) + leg.energy
    return got


def test_partial_fill_sets_the_market_clearing_price() -> None:
    """Bids 30×100, 25×100 against asks 20×150, 28×100: at 25 the 30-bid must buy, the 25-bid may,
    and the 20-ask must sell 150 — the only clearing price (24: demand 200 > 150; 26: supply 150 >
    demand 100). Bid 2 is partly filled at its own limit, ask 4 not at all."""
    out = clear([b(1, 30, 100), b(2, 25, 100), s(3, 20, 150), s(4, 28, 100)], 0, 0, {})
    assert filled(out) == {1: 100, 2: 50, 3: 150}
    (f1,) = out.feeders
    assert (f1.local_price, f1.local_wh) == (25, 150)
    assert all(leg.price == 25 for leg in out.legs)
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
    assert out.pool_price == (20 + 23) // 2  # clearing pool prices: [ask 20, bid 28 − 5]
    assert [(leg.price, leg.fee) for leg in out.legs if leg.order_id == 1] == [(21, 5)]


def test_binding_import_limit_gives_the_feeder_its_own_price() -> None:
    """f2 may import 150 Wh. The pool price is 10 (f1's ask: above it f1 must sell 300, more than
    f2 may take). f2 sits at its limit: its price is the lowest that clears its own buyers at an
    import of 150 — 28, the partly filled bid. The f2 buyers pay 28 (pool legs at 28 − 0), the
    f1 seller gets 10; the difference is the congestion rent. The 28-bid is curtailed by 50 Wh,
    and f1's seller, marginal at the pool price, by the 150 Wh f2's limit kept the pool from taking."""
    book = [s(1, 10, 300, "f1"), b(2, 30, 100, "f2"), b(3, 28, 100, "f2")]
    out = clear(book, 0, 0, {"f2": (150, 10_000)})
    assert filled(out) == {1: 150, 2: 100, 3: 50}
    assert out.curtailed == {3: 50, 1: 150}
    by = {f.feeder: f for f in out.feeders}
    assert (by["f2"].pool_import_wh, by["f2"].local_price, by["f2"].curtailed_wh) == (150, 28, 50)
    assert (by["f1"].pool_export_wh, by["f1"].local_price, by["f1"].curtailed_wh) == (150, 10, 150)
    assert out.pool_price == 10
    assert {(leg.order_id, leg.price) for leg in out.legs} == {(1, 10), (2, 28), (3, 28)}


def test_binding_export_limit_lets_the_next_feeder_serve_the_rest() -> None:
    """f1 may export 100 Wh: f3's seller serves the other 150 (the old one-pass cut left them
    unserved). The pool price is f3's partly filled ask, 12; f1, at its export limit, takes the
    highest price clearing its own seller at an export of 100: its ask, 10."""
    book = [s(1, 10, 200, "f1"), s(2, 12, 200, "f3"), b(3, 30, 250, "f2")]
    out = clear(book, 0, 0, {"f1": (0, 100)})
    assert filled(out) == {1: 100, 2: 150, 3: 250}
    assert out.curtailed == {1: 100}
    by = {f.feeder: f for f in out.feeders}
    assert (by["f1"].pool_export_wh, by["f1"].curtailed_wh, by["f1"].local_price) == (100, 100, 10)
    assert (by["f3"].local_price, by["f2"].local_price, out.pool_price) == (12, 12, 12)
    assert sum(f.pool_import_wh for f in out.feeders) == sum(f.pool_export_wh for f in out.feeders)


def test_cheaper_supply_across_feeders_beats_a_dear_local_seller() -> None:
    """intra 0, inter 2: f1's buyer (30) gains 30 − 2 − 10 = 18 per kWh from f2's seller and only
    30 − 26 = 4 from its own, so it imports all 100 and the local ask stays unfilled. Clearing
    pool prices: [10, 24] (at 25 f1's price 27 would oblige the 26-ask to sell) → 17; f1's price
    is 17 + 2 = 19, its buyer's pool leg 17 + fee 2."""
    book = [b(1, 30, 100, "f1"), s(2, 26, 60, "f1"), s(3, 10, 100, "f2")]
    out = clear(book, 0, 2, {})
    by = {f.feeder: f for f in out.feeders}
    assert filled(out) == {1: 100, 3: 100}
    assert (out.pool_price, out.pool_wh) == (17, 100)
    assert (by["f1"].local_price, by["f1"].local_wh, by["f1"].pool_import_wh) == (19, 0, 100)
    assert [(leg.leg, leg.price, leg.fee) for leg in out.legs if leg.order_id == 1] == [(POOL, 17, 2)]


def test_issue_22_a_limited_feeder_no_longer_blocks_the_others() -> None:
    """Feeder A may import nothing; buyer A 200, seller B 50, buyer C 190, 1,000 Wh each, fees 1/3:
    B sells 1,000 Wh to C. Pool prices that clear: [50, 187] → 118; C pays 118 + 3 = 121 all-in
    (its zone price 120 + intra 1). A's buyer is cut by its feeder's limit: its zone price is the
    lowest at which it would not buy, 200 − 1 = 199."""
    book = [b(1, 200, 1_000, "A"), s(2, 50, 1_000, "B"), b(3, 190, 1_000, "C")]
    out = clear(book, 1, 3, {"A": (0, 10_000)})
    assert filled(out) == {2: 1_000, 3: 1_000}
    assert out.pool_price == 118
    by = {f.feeder: f for f in out.feeders}
    assert (by["A"].local_price, by["B"].local_price, by["C"].local_price) == (199, 118, 120)
    assert out.curtailed == {1: 1_000}
    assert [(leg.price, leg.fee) for leg in out.legs if leg.order_id == 3] == [(118, 3)]


def test_issue_22_the_cheaper_remote_seller_wins_over_the_local_pair() -> None:
    """No fees; buyer A 136, seller A 77, seller B 72 (1,000 Wh each): the buyer takes B's cheaper
    energy. Clearing prices [72, 77] → 74 on both feeders."""
    book = [b(1, 136, 1_000, "A"), s(2, 77, 1_000, "A"), s(3, 72, 1_000, "B")]
    out = clear(book, 0, 0, {})
    assert filled(out) == {1: 1_000, 3: 1_000}
    assert out.pool_price == 74
    assert {f.feeder: f.local_price for f in out.feeders} == {"A": 74, "B": 74}


def test_issue_22_the_price_is_market_clearing_not_a_midpoint() -> None:
    """A buyer of 3 Wh at 105 and a seller of 1 Wh at 71: the buyer still wants energy at any
    price below 105, so 105 is the only clearing price (the old midpoint said 88)."""
    out = clear([b(1, 105, 3), s(2, 71, 1)], 0, 0, {})
    assert filled(out) == {1: 1, 2: 1}
    assert out.feeders[0].local_price == 105
    assert {leg.price for leg in out.legs} == {105}
