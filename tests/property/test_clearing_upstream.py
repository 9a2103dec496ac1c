"""Properties of the clearing with the upstream grid taking part (clearing.clear with an
Upstream): the grid bounds the prices of every feeder it can reach (a buyer never pays more
all-in than the grid's retail + inter fee, a seller never gets less than feed-in), every fill
bid ≥ price ≥ ask, feeder limits kept with the grid's flows counted, energy balanced, and —
without limits or a balance bound — every offer at or below feed-in and every bid worth retail
finds its counterpart."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from abci_app.market.clearing import ABSORB, BUY, POOL, SELL, BookEntry, Upstream, clear

FEEDERS = ("f1", "f2", "f3")


@st.composite
def books(draw: st.DrawFn) -> tuple[list[BookEntry], int, int, int, int, dict[str, tuple[int, int]], bool, int | None]:
    feed_in = draw(st.integers(0, 50))
    retail = draw(st.integers(feed_in + 1, 120))
    inter = draw(st.integers(0, 20))
    intra = draw(st.integers(0, inter))
    n = draw(st.integers(0, 14))
    book = [
        BookEntry(
            i + 1,
            draw(st.sampled_from((BUY, SELL))),
            draw(st.integers(0, 150)),
            draw(st.integers(1, 2_000)),
            draw(st.sampled_from(FEEDERS)),
            draw(st.booleans()),
        )
        for i in range(n)
    ]
    limits = draw(
        st.dictionaries(st.sampled_from(FEEDERS), st.tuples(st.integers(0, 3_000), st.integers(0, 3_000)), max_size=3)
    )
    community = draw(st.booleans())
    cap = draw(st.one_of(st.none(), st.integers(0, 5_000)))
    return book, feed_in, retail, intra, inter, limits, community, cap


@settings(max_examples=400, deadline=None)
@given(books())
def test_prices_stay_within_feed_in_and_retail_and_every_fill_keeps_bid_price_ask(
    case: tuple[list[BookEntry], int, int, int, int, dict[str, tuple[int, int]], bool, int | None],
) -> None:
    """Whatever the book, fees, limits and the grid's balance bound: on a feeder whose import
    is not at its limit a buyer pays at most retail + inter all-in, on one whose export is not at
    its limit a seller gets at least feed-in (unless the grid bought all its balance pays for);
    a buyer's price + fee ≤ its limit, a seller's price ≥ its ask, no order fills beyond its
    energy, the limits hold, and pool energy bought = pool energy sold."""
    book, feed_in, retail, intra, inter, limits, community, cap = case
    out = clear(book, intra, inter, limits, community=community, upstream=Upstream(feed_in, retail, cap))
    by_id = {e.order_id: e for e in book}
    filled: dict[int, int] = {}
    pool_in = dict.fromkeys(FEEDERS, 0)
    pool_out = dict.fromkeys(FEEDERS, 0)
    zone = {f.feeder: f for f in out.feeders}
    grid_capped = cap is not None and out.upstream_bought_wh >= min(cap, sum(e.energy for e in book if e.side == SELL))
    for leg in out.legs:
        e = by_id[leg.order_id]
        imp, exp = limits.get(e.feeder, (None, None))
        fo = zone[e.feeder]
        if leg.leg != ABSORB and e.side == BUY and (imp is None or fo.pool_import_wh < imp):
            assert leg.price + leg.fee <= retail + inter
        if leg.leg != ABSORB and e.side == SELL and (exp is None or fo.pool_export_wh < exp) and not grid_capped:
            assert leg.price >= feed_in
        if e.side == BUY:
            assert leg.price + leg.fee <= e.limit
            pool_in[e.feeder] += leg.energy if leg.leg == POOL else 0
        else:
            assert leg.price >= e.limit
            pool_out[e.feeder] += leg.energy if leg.leg == POOL else 0
        filled[leg.order_id] = filled.get(leg.order_id, 0) + leg.energy
    assert all(q <= by_id[oid].energy for oid, q in filled.items())
    for f, (imp, exp) in limits.items():
        assert pool_in[f] <= imp
        assert pool_out[f] <= exp
    assert sum(pool_in.values()) + out.upstream_bought_wh == sum(pool_out.values()) + out.upstream_sold_wh
    assert not (out.upstream_bought_wh and out.upstream_sold_wh)  # never both sides at once
    if cap is not None:
        assert out.upstream_bought_wh <= cap
    if out.upstream_bought_wh and not grid_capped:  # when it bought all it could, surplus may price lower
        assert out.pool_price == feed_in
    if out.upstream_sold_wh:
        assert out.pool_price == retail


@settings(max_examples=300, deadline=None)
@given(books())
def test_without_limits_every_cheap_offer_and_every_bid_worth_retail_clears_in_full(
    case: tuple[list[BookEntry], int, int, int, int, dict[str, tuple[int, int]], bool, int | None],
) -> None:
    """No limits and no balance bound: an ask ≤ feed-in always has a buyer (the grid's, at
    worst) and a bid whose effective price across feeders (limit − inter fee) ≥ retail always
    has a seller: both fill in full."""
    book, feed_in, retail, intra, inter, _limits, community, _cap = case
    out = clear(book, intra, inter, {}, community=community, upstream=Upstream(feed_in, retail))
    filled: dict[int, int] = {}
    for leg in out.legs:
        filled[leg.order_id] = filled.get(leg.order_id, 0) + leg.energy
    for e in book:
        if e.side == SELL and e.limit <= feed_in:
            assert filled.get(e.order_id, 0) == e.energy
        if e.side == BUY and not (community and e.renewable) and e.limit - inter >= retail:
            assert filled.get(e.order_id, 0) == e.energy
    assert out.curtailed == {}
