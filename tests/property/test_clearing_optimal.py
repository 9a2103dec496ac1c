"""The clearing reaches the welfare optimum across feeders, the pool and the upstream grid, with
market-clearing prices per zone: checked against an exact rational LP and a brute force written
independently in clearing_reference.py, on random books (one feeder and several, limits binding
or not, community mode, with and without the upstream grid)."""

from __future__ import annotations

import random
from fractions import Fraction

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from abci_app.market.clearing import ABSORB, BUY, LOCAL, POOL, BookEntry, ClearOutcome, Upstream, clear
from tests.property.clearing_reference import brute_optimum, lp_optimum, welfare

Case = tuple[list[BookEntry], int, int, dict[str, tuple[int, int]], bool, Upstream | None]


@st.composite
def cases(draw: st.DrawFn, max_orders: int = 9, max_wh: int = 40, feeders: int = 3, community: bool = True) -> Case:
    """A random book with fees, limits (some binding: small or zero), maybe community mode and
    maybe the upstream grid."""
    names = [f"f{i}" for i in range(1, draw(st.integers(1, feeders)) + 1)]
    inter = draw(st.integers(0, 12))
    intra = draw(st.integers(0, inter))
    n = draw(st.integers(0, max_orders))
    book = [
        BookEntry(
            i + 1,
            draw(st.sampled_from((BUY, 2))),
            draw(st.integers(0, 60)),
            draw(st.integers(1, max_wh)),
            draw(st.sampled_from(names)),
            draw(st.booleans()),
        )
        for i in range(n)
    ]
    limits = draw(
        st.dictionaries(st.sampled_from(names), st.tuples(st.integers(0, max_wh), st.integers(0, max_wh)), max_size=3)
    )
    up = None
    if draw(st.booleans()):
        feed_in = draw(st.integers(0, 40))
        up = Upstream(feed_in, draw(st.integers(feed_in + 1, 70)), draw(st.one_of(st.none(), st.integers(0, max_wh))))
    return book, intra, inter, limits, community and draw(st.booleans()), up


def check_prices(out: ClearOutcome, case: Case) -> None:
    """Every zone's price is market-clearing for its orders; the pool couples them; money exact."""
    book, intra, inter, limits, community, up = case
    intra = min(intra, inter)
    delta = inter - intra
    by_id = {e.order_id: e for e in book}
    zone = {f.feeder: f for f in out.feeders}
    got: dict[int, int] = {}
    rho: dict[str, int] = {}
    pool_in = dict.fromkeys(zone, 0)
    pool_out = dict.fromkeys(zone, 0)
    assert out.pool_price >= 0
    assert all(f.local_price >= 0 for f in out.feeders)  # prices are unsigned in the records
    for leg in out.legs:
        e = by_id[leg.order_id]
        assert leg.price >= 0
        got[e.order_id] = got.get(e.order_id, 0) + leg.energy
        sigma = zone[e.feeder].local_price
        if leg.leg == ABSORB:
            assert community
            assert e.renewable
            assert leg.fee == (intra if e.side == BUY else 0)
            assert rho.setdefault(e.feeder, leg.price) == leg.price
            assert leg.price >= sigma
        elif e.side == BUY:
            assert (leg.price, leg.fee) == ((sigma, intra) if leg.leg == LOCAL else (sigma - delta, inter))
            pool_in[e.feeder] += leg.energy if leg.leg == POOL else 0
        else:
            assert (leg.price, leg.fee) == (sigma, 0)
            pool_out[e.feeder] += leg.energy if leg.leg == POOL else 0
    for e in book:
        q = got.get(e.order_id, 0)
        if community and e.renewable and e.side == BUY and e.feeder not in rho:
            # a battery that bought nothing: no renewable ask it could afford is left unsold
            assert all(
                g.limit + intra > e.limit or got.get(g.order_id, 0) == g.energy
                for g in book
                if g.feeder == e.feeder and g.side != BUY and g.renewable
            )
            continue
        assert 0 <= q <= e.energy
        sigma = zone[e.feeder].local_price
        storage = community and e.renewable and e.side == BUY
        green = community and e.renewable and e.side != BUY
        price = rho.get(e.feeder, sigma) if (storage or green) else sigma
        if e.side == BUY:
            if q:  # a filled buyer pays at most its limit
                assert e.limit >= price + intra
            if q < e.energy:  # nobody unfilled would buy at its zone's price
                assert e.limit <= price + intra
        else:
            if q:
                assert e.limit <= (price if not green or e.feeder not in rho else rho[e.feeder])
            if q < e.energy:
                assert e.limit >= price
    for f, fo in zone.items():
        assert (fo.pool_import_wh, fo.pool_export_wh) == (pool_in[f], pool_out[f])
        assert not (pool_in[f] and pool_out[f])
        imp, exp = limits.get(f, (None, None))
        assert imp is None or pool_in[f] <= imp
        assert exp is None or pool_out[f] <= exp
    assert sum(pool_in.values()) + out.upstream_bought_wh == sum(pool_out.values()) + out.upstream_sold_wh
    assert out.pool_wh == sum(pool_in.values()) + out.upstream_bought_wh
    pi = out.pool_price
    if out.pool_wh:  # the pool price couples the zones that trade through it
        for f, fo in zone.items():
            imp, exp = limits.get(f, (None, None))
            if pool_in[f]:
                assert fo.local_price >= pi + delta
                if imp is None or pool_in[f] < imp:
                    assert fo.local_price == pi + delta
            if pool_out[f]:
                assert fo.local_price <= pi
                if exp is None or pool_out[f] < exp:
                    assert fo.local_price == pi
        if up is not None and up.feed_in < up.retail:
            if out.upstream_bought_wh:
                assert pi <= up.feed_in
            if out.upstream_sold_wh:
                assert pi >= up.retail
            assert pi <= up.retail
            if up.max_buy_wh is None or out.upstream_bought_wh < up.max_buy_wh:
                assert pi >= up.feed_in
    # money: buyers pay exactly sellers' earnings + fees + the congestion rent, which is ≥ 0
    paid = sum(g.energy * (g.price + g.fee) for g in out.legs if by_id[g.order_id].side == BUY)
    earned = sum(g.energy * g.price for g in out.legs if by_id[g.order_id].side != BUY)
    fees = sum(g.energy * g.fee for g in out.legs if by_id[g.order_id].side == BUY)
    paid += out.upstream_bought_wh * (pi + inter)
    earned += out.upstream_sold_wh * pi
    fees += out.upstream_bought_wh * inter
    rent = sum(
        fo.pool_import_wh * (fo.local_price - delta - pi) + fo.pool_export_wh * (pi - fo.local_price)
        for fo in out.feeders
    )
    assert rent >= 0
    assert paid == earned + fees + rent


@settings(max_examples=700, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cases())
def test_welfare_equals_the_exact_lp_optimum_and_prices_clear_every_zone(case: Case) -> None:
    """On every random book the clearing's welfare equals the exact LP optimum, every zone's
    price is market-clearing, fills are feasible and money is exact."""
    book, intra, inter, limits, community, up = case
    out = clear(book, intra, inter, limits, community=community, upstream=up)
    assert Fraction(welfare(out, book, up)) == lp_optimum(book, intra, inter, limits, community, up)
    check_prices(out, case)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cases(max_orders=5, max_wh=3, community=False))
def test_welfare_equals_the_brute_force_optimum_on_tiny_books(case: Case) -> None:
    """On tiny books the welfare equals the best of every integer fill (brute force)."""
    book, intra, inter, limits, _community, up = case
    out = clear(book, intra, inter, limits, upstream=up)
    assert welfare(out, book, up) == brute_optimum(book, intra, inter, limits, up)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cases(), st.randoms(use_true_random=False))
def test_the_result_does_not_depend_on_the_order_of_the_book(case: Case, rnd: random.Random) -> None:
    """Shuffling the book changes nothing: the same legs, prices and volumes."""
    book, intra, inter, limits, community, up = case
    shuffled = list(book)
    rnd.shuffle(shuffled)
    a = clear(book, intra, inter, limits, community=community, upstream=up)
    b = clear(shuffled, intra, inter, limits, community=community, upstream=up)
    assert sorted(a.legs) == sorted(b.legs)
    assert (a.pool_price, a.pool_wh, a.feeders, a.curtailed) == (b.pool_price, b.pool_wh, b.feeders, b.curtailed)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(
        st.tuples(
            st.sampled_from((BUY, 2)),
            st.integers(0, 2**62),
            st.integers(0, 2**40),
            st.sampled_from(("a", "b", "c")),
            st.booleans(),
        ),
        max_size=12,
    ),
    st.integers(0, 2**30),
    st.integers(0, 2**30),
    st.dictionaries(st.sampled_from(("a", "b", "c")), st.tuples(st.integers(0, 2**41), st.integers(0, 2**41))),
    st.booleans(),
    st.one_of(st.none(), st.tuples(st.integers(0, 2**62), st.integers(0, 2**62), st.integers(0, 2**41))),
)
def test_extreme_books_clear_without_failing_and_stay_feasible(  # noqa: PLR0917 - the strategies
    orders: list[tuple[int, int, int, str, bool]],
    intra: int,
    inter: int,
    limits: dict[str, tuple[int, int]],
    community: bool,
    grid: tuple[int, int, int] | None,
) -> None:
    """Huge prices, energies, fees and limits (as a hostile book could hold): the clearing
    returns, every fill within its order, prices unsigned, limits kept, the pool balanced."""
    book = [BookEntry(i + 1, side, p, wh, f, r) for i, (side, p, wh, f, r) in enumerate(orders)]
    up = None if grid is None else Upstream(*grid)
    out = clear(book, intra, inter, limits, community=community, upstream=up)
    by_id = {e.order_id: e for e in book}
    got: dict[int, int] = {}
    for leg in out.legs:
        got[leg.order_id] = got.get(leg.order_id, 0) + leg.energy
        assert leg.price >= 0
        e = by_id[leg.order_id]
        assert leg.price + leg.fee <= e.limit if e.side == BUY else leg.price >= e.limit
    assert all(q <= by_id[i].energy for i, q in got.items())
    for f in out.feeders:
        imp, exp = limits.get(f.feeder, (None, None))
        assert imp is None or f.pool_import_wh <= imp
        assert exp is None or f.pool_export_wh <= exp
        assert f.local_price >= 0
    moved_in = sum(f.pool_import_wh for f in out.feeders) + out.upstream_bought_wh
    assert moved_in == sum(f.pool_export_wh for f in out.feeders) + out.upstream_sold_wh
