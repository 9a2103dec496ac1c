"""The clearing engine: a pure, deterministic function from one interval's book to its fills.

Integers only (no floats, no solver), one sort of each side, no I/O. The README's "Market
clearing" states the rules; this docstring says why they are optimal.

**Objective.** Maximise welfare = Σ filled bid Wh × bid − Σ filled ask Wh × ask − grid fees,
over every feeder, the pool between feeders and the upstream grid (a participant of the pool
on no feeder: it bids feed-in, all-in feed-in + inter fee, for at most `max_buy_wh`, and offers
retail for any amount), subject to each feeder's pool import ≤ its import limit and pool export
≤ its export limit. A buyer's limit is all-in: a Wh bought on its own feeder pays the intra fee,
a Wh bought across feeders (through the pool) the inter fee (intra ≤ inter). In community mode
a community battery's bid (a buy entry flagged renewable) is served only by renewable asks on its
own feeder (at the intra fee); the objective stays welfare, with renewable asks filled before
others at an equal price.

**Why the algorithm is exact.** The problem is a linear program over a star network (feeders
around the pool) with integer data, so it has integral optimal flows and integral dual prices.
Its dual has one price per zone — σ_f, the energy price on feeder f (its buyers pay σ_f + intra
all-in for any Wh) — and one pool price π, tied by complementary slackness: a feeder that
exports without reaching its export limit has σ_f = π, one that imports without reaching its
import limit has σ_f = π + Δ (Δ = inter − intra: its buyers pay π + inter for imported energy),
one that neither imports nor exports has π ≤ σ_f ≤ π + Δ, and a limit that is reached releases
the corresponding bound (an import-limited zone may price above π + Δ, an export-limited one
below π). So a feeder's best net position is a non-increasing step function of π (its local
excess demand z_f(σ) = D_f(σ + intra) − S_f(σ) read at σ = π + Δ for imports and σ = π for
exports, cut to its limits), and the whole clearing reduces to finding the π at which the sum of
the feeders' and the upstream's net positions can be zero. That sum is monotone in π, so a
binary search over integer prices finds it (O(F log n) per probe, ~log2(price span) probes);
every feeder then clears against its net position at its own zone price, again found by binary
search. Any allocation that is supported by such prices is welfare-optimal (LP duality), and
every order on the right side of its zone's price is filled, so the result is the optimum. The
tests compare it with an independent exact LP (fractions + simplex) and brute force.

With integer prices "may trade" (limit = price) and "must trade" (limit strictly better) are
one price step apart: the feeder's net position range at π + 1 starts where the one at π ends,
so the search never falls between two prices and no rounding is needed: every price is an
integer at which the allocation is exactly market-clearing.

**Prices (the rule).** The pool price is the midpoint (rounded down) of the range of
market-clearing pool prices; an end the book does not bound (e.g. no ask at all) is not used
(then the other end is the price, 0 when neither is bounded). A zone's price σ_f is the
market-clearing price of its own orders at its net position, within the bounds the pool sets:
π + Δ for an importer, π for an exporter (exact, when its limit is not reached); for a zone at its
import limit, the lowest price of its range (the one nearest the pool), at its export limit the
highest; for a zone that neither imports nor exports, the midpoint of [max(π, its range's low),
min(π + Δ, its range's high)] (a zero limit releases that side's bound). Buyers on f pay σ_f +
intra all-in for every Wh: a local leg at price σ_f with the intra fee, a pool leg at σ_f − Δ
with the inter fee. Sellers on f get σ_f for every Wh. The upstream trades at π. A community
battery's leg (ABSORB) is priced at the renewable price ρ_f of its feeder: σ_f, unless the
batteries' demand at σ_f exceeds the renewable supply there — then the batteries and the
renewable asks clear among themselves at the midpoint of their own clearing range above σ_f.

**Congestion rent.** When a limit binds, buyers on an importing zone pay more (σ_f − Δ per pool
Wh) than the pool price, and sellers on an exporting zone get less; the difference stays in the
escrow account with the fees and goes to the grid operator at settlement, like the fees
(settlement.py). Money is thereby exactly conserved: every Wh bought through the pool is sold
through it, each buyer pays ≥ each seller gets.

**Ties (deterministic).** Among the optimal allocations: at a zone's price, the orders exactly at
the price are filled in time priority (lowest order id first), every stricter order in full, and
as many Wh as the price allows are bought (renewable asks before others at an equal price in
community mode). In the pool: the most Wh bought, then the upstream grid trading as little as
possible (members first at an equal price); a feeder's net position starts as close to trading
only locally as π allows and what is left to balance is taken up in feeder-id order. Imported Wh
go to a zone's buyers after its local Wh, exported Wh come from its sellers after its local Wh,
both in priority order.

**Curtailment.** A feeder's limit *binds* when at π it would import (export) more than its limit.
Then each order there that would trade at the pool-coupled price (buyers with limit ≥ π + inter,
sellers with ask ≤ π) and is not filled in full is curtailed by its unfilled Wh; and the pool's
marginal orders elsewhere (exactly at their zone's pool-coupled price, partly unfilled) are
curtailed too, as the limit kept the pool from trading more of them: sellers when an import limit
binds, buyers when an export limit binds (alerts; grid instructions only on the limited feeder,
instructions.py).
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import NamedTuple

__all__ = [
    "ABSORB",
    "BUY",
    "LOCAL",
    "POOL",
    "SELL",
    "BookEntry",
    "ClearOutcome",
    "FeederOutcome",
    "Leg",
    "Upstream",
    "clear",
]

BUY = 1
SELL = 2
LOCAL = 0
POOL = 1
ABSORB = 2
# ids no order reaches (order ids count up from 1), kept for the records' readers
UPSTREAM_BUY = (1 << 64) - 2
UPSTREAM_SELL = (1 << 64) - 1


class BookEntry(NamedTuple):
    """One order as clearing sees it: side, limit price per kWh, Wh, feeder and whether its supply is
    renewable."""

    order_id: int
    side: int
    limit: int  # buyers: all-in price per kWh; sellers: lowest acceptable price
    energy: int  # Wh
    feeder: str
    renewable: bool


class Leg(NamedTuple):
    """Part of an order's fill: LOCAL (inside its feeder), POOL (across feeders) or ABSORB, its Wh, energy
    price and (buyers) grid fee per kWh."""

    order_id: int
    leg: int  # LOCAL, POOL or ABSORB
    energy: int
    price: int  # energy price per kWh
    fee: int  # grid fee per kWh the buyer pays (0 for sellers)


class Upstream(NamedTuple):
    """The upstream grid in a clearing: buys at `feed_in`, sells at `retail` (feed_in < retail),
    buying at most `max_buy_wh` (None: any amount)."""

    feed_in: int
    retail: int
    max_buy_wh: int | None = None


@dataclass(frozen=True, slots=True)
class FeederOutcome:
    """One feeder's result of a clearing: its zone price, local and pool volumes, and what its limit
    curtailed."""

    feeder: str
    local_price: int  # the zone's price σ_f (meaningful when anything on the feeder traded)
    local_wh: int  # Wh bought on the feeder from its own sellers (community storage included)
    pool_import_wh: int
    pool_export_wh: int
    curtailed_wh: int
    local_cleared: bool


@dataclass(frozen=True, slots=True)
class ClearOutcome:
    """A clearing's result: every order's legs, the pool price and volume, each feeder's outcome, the Wh
    limits kept from trading, and the upstream grid's trades."""

    legs: list[Leg]
    pool_price: int
    pool_wh: int
    pool_cleared: bool
    feeders: list[FeederOutcome]
    curtailed: dict[int, int]  # order id → Wh a binding feeder limit kept from trading
    upstream_bought_wh: int = 0  # the upstream grid's pool trades (not in `legs` nor `curtailed`)
    upstream_sold_wh: int = 0
    upstream_curtailed_wh: int = 0


class _Curve:
    """One class of orders of a zone in priority order, with cumulative Wh by ascending limit."""

    __slots__ = ("cum", "lim", "orders", "total")

    def __init__(self, orders: list[BookEntry], descending: bool) -> None:
        self.orders = orders
        seq = orders[::-1] if descending else orders
        self.lim = [e.limit for e in seq]
        cum = [0]
        t = 0
        for e in seq:
            t += e.energy
            cum.append(t)
        self.cum = cum
        self.total = t

    def le(self, p: int) -> int:
        """Wh with limit ≤ p."""
        return self.cum[bisect_right(self.lim, p)]

    def lt(self, p: int) -> int:
        """Wh with limit < p."""
        return self.cum[bisect_left(self.lim, p)]


_EMPTY: list[BookEntry] = []


class _Zone:
    """A feeder's orders and limits; `zmax`/`zmin` its local excess demand range at price σ."""

    __slots__ = ("asks", "bids", "exp", "greens", "imp", "intra", "name", "storage")

    def __init__(  # noqa: PLR0917 - internal
        self,
        name: str,
        bids: list[BookEntry],
        asks: list[BookEntry],
        greens: list[BookEntry],
        storage: list[BookEntry],
        lim: tuple[int, int],
        intra: int,
    ) -> None:
        self.name = name
        self.bids = _Curve(bids, True)
        self.asks = _Curve(asks, False)
        self.greens = _Curve(greens, False)
        self.storage = _Curve(storage, True)
        self.imp, self.exp = lim
        self.intra = intra

    def zmax(self, s: int) -> int:
        """Most net demand at zone price s: buyers who may buy less sellers who must sell."""
        b = s + self.intra
        d = self.bids.total - self.bids.lt(b)
        sup = self.asks.lt(s)
        if self.greens.total:
            sup += max(0, self.greens.lt(s) - (self.storage.total - self.storage.lt(b)))
        return d - sup

    def zmin(self, s: int) -> int:
        """Least net demand at zone price s (= zmax(s + 1): integer prices)."""
        b = s + self.intra
        d = self.bids.total - self.bids.le(b)
        sup = self.asks.le(s)
        if self.greens.total:
            sup += max(0, self.greens.le(s) - (self.storage.total - self.storage.le(b)))
        return d - sup

    def clearing_range(self, n: int, lo: int, hi: int) -> tuple[int, int]:
        """The zone prices in [lo, hi - 1] at which net demand n clears its orders (an end at lo
        or hi - 1: not bounded by the orders)."""
        return _first(lo, hi, lambda s: self.zmin(s) <= n), _first(lo, hi, lambda s: self.zmax(s) < n) - 1

    def storage_range(self, lo: int, hi: int) -> tuple[int, int]:
        """The renewable prices in [lo, hi - 1] at which the batteries and the renewable asks
        clear among themselves."""
        g, d, intra = self.greens, self.storage, self.intra
        return (
            _first(lo, hi, lambda r: d.total - d.le(r + intra) <= g.le(r)),
            _first(lo, hi, lambda r: d.total - d.lt(r + intra) < g.lt(r)) - 1,
        )

    def smax(self, s: int) -> int:
        """The most Wh the zone's sellers may sell to its own buyers and the pool at price s."""
        sup = self.asks.le(s)
        if self.greens.total:
            sup += max(0, self.greens.le(s) - (self.storage.total - self.storage.le(s + self.intra)))
        return sup

    def kink(self, pi: int, delta: int) -> int:
        """The net position up to which a rise is bought by the zone's buyers at pool price pi."""
        k = self.bids.total - self.bids.lt(pi + delta + self.intra) - self.smax(pi + delta)
        if k > 0:
            return k
        return self.bids.total - self.bids.lt(pi + self.intra) - self.smax(pi)

    def nmax(self, pi: int, delta: int) -> int:
        """The most net import (negative: export) of the zone at pool price pi."""
        z = self.zmax(pi + delta)
        if z > 0:
            return min(self.imp, z)
        return -min(self.exp, max(0, -self.zmax(pi)))

    def nmin(self, pi: int, delta: int) -> int:
        """The least net import of the zone at pool price pi (= nmax(pi + 1))."""
        z = self.zmin(pi)
        if z < 0:
            return -min(self.exp, -z)
        return min(self.imp, max(0, self.zmin(pi + delta)))


def _first(lo: int, hi: int, ok: Callable[[int], bool]) -> int:
    """The smallest x in [lo, hi] with ok(x) (ok monotone false→true; hi when none)."""
    while lo < hi:
        mid = (lo + hi) // 2
        if ok(mid):
            hi = mid
        else:
            lo = mid + 1
    return lo


def _pick(lo: int | None, hi: int | None, fallback: int) -> int:
    """The midpoint (floor) of [lo, hi]; the finite end when one is open; `fallback` if both."""
    if lo is not None and hi is not None:
        return (lo + hi) // 2
    if lo is not None:
        return lo
    return fallback if hi is None else hi


def _fill(orders: Sequence[BookEntry], total: int, got: dict[int, int]) -> None:
    """Fill `total` Wh over `orders` in their priority order."""
    for e in orders:
        if total <= 0:
            return
        q = e.energy if e.energy < total else total
        got[e.order_id] = q
        total -= q


def _bid_key(e: BookEntry) -> int:
    # (−limit, order id) packed into one integer (cheaper to compare than a tuple): ids < 2**64
    return (-e.limit << 64) | e.order_id


def _ask_key(e: BookEntry) -> int:
    return (e.limit << 64) | e.order_id


def clear(
    book: Sequence[BookEntry],
    intra_fee: int,
    inter_fee: int,
    limits: Mapping[str, tuple[int, int]],
    *,
    community: bool = False,
    upstream: Upstream | None = None,
) -> ClearOutcome:
    """Clear one interval's `book` at the welfare optimum (see the module doc). `limits` maps a
    feeder to its (import Wh, export Wh) limits (absent: unlimited); `upstream` the upstream
    grid's prices (None: it takes no part). Guarantees: every fill within its order's energy,
    a buyer's price + fee ≤ its limit, a seller's price ≥ its ask, feeder limits kept, pool Wh
    bought = pool Wh sold, welfare maximal, deterministic whatever the input order."""
    inter = inter_fee
    intra = min(intra_fee, inter_fee)  # a local trade never pays more than a cross-feeder one
    delta = inter - intra
    if upstream is not None and upstream.feed_in >= upstream.retail:
        upstream = None  # it would trade with itself
    bids: list[BookEntry] = []
    asks: list[BookEntry] = []
    for e in book:
        (bids if e.side == BUY else asks).append(e)
    bids.sort(key=_bid_key)
    asks.sort(key=_ask_key)
    grouped: dict[str, tuple[list[BookEntry], list[BookEntry], list[BookEntry], list[BookEntry]]] = {}
    for e in bids:
        g = grouped.get(e.feeder)
        if g is None:
            g = grouped[e.feeder] = ([], [], [], [])
        (g[3] if community and e.renewable else g[0]).append(e)
    for e in asks:
        g = grouped.get(e.feeder)
        if g is None:
            g = grouped[e.feeder] = ([], [], [], [])
        (g[2] if community and e.renewable else g[1]).append(e)
    zones = [_Zone(f, *grouped[f], (0, 0), intra) for f in sorted(grouped)]
    supply_wh = sum(z.asks.total + z.greens.total for z in zones)
    demand_wh = sum(z.bids.total + z.storage.total for z in zones)
    inf = supply_wh + demand_wh + 1  # more than any flow: an absent limit
    for z in zones:
        imp, exp = limits.get(z.name, (inf, inf))
        z.imp, z.exp = min(imp, inf), min(exp, inf)

    prices = [0]  # the book's lowest and highest prices (both sides are sorted)
    for side in (bids, asks):
        if side:
            prices += [side[0].limit, side[-1].limit]
    if upstream is not None:
        prices += [upstream.feed_in, upstream.retail]
    p_lo = min(prices) - inter - 2
    p_hi = max(prices) + inter + 2
    cap_buy = 0
    if upstream is not None:
        # more than every Wh offered (bid) is "any amount": the upstream is never the short side
        cap = upstream.max_buy_wh
        cap_buy = supply_wh + 1 if cap is None or cap >= supply_wh else max(0, cap)
    up_sell = demand_wh + 1

    def up_max(pi: int) -> int:
        if upstream is None:
            return 0
        return cap_buy if pi <= upstream.feed_in else (-up_sell if pi > upstream.retail else 0)

    def up_min(pi: int) -> int:
        if upstream is None:
            return 0
        return cap_buy if pi < upstream.feed_in else (-up_sell if pi >= upstream.retail else 0)

    def n_min_ok(pi: int) -> bool:
        return sum(z.nmin(pi, delta) for z in zones) + up_min(pi) <= 0

    def n_max_bad(pi: int) -> bool:
        return sum(z.nmax(pi, delta) for z in zones) + up_max(pi) < 0

    pi_lo = _first(p_lo, p_hi, n_min_ok)
    pi_hi = _first(p_lo, p_hi, n_max_bad) - 1  # the last price whose most net demand is ≥ 0
    pi = _pick(None if pi_lo <= p_lo else pi_lo, None if pi_hi >= p_hi - 1 else pi_hi, 0)

    # the net positions at pi (ties): the most Wh bought, then the upstream grid trading as
    # little as possible. A zone's buyers take up a rise of its net position until `kink` (then
    # its sellers sell less instead), so the total net position goes to Σ min(kink, hi) (the
    # upstream covering the rest), each zone filled in feeder order
    lo_n = [z.nmin(pi, delta) for z in zones]
    hi_n = [z.nmax(pi, delta) for z in zones]
    knee = [min(max(z.kink(pi, delta), lo), hi) for z, lo, hi in zip(zones, lo_n, hi_n, strict=True)]
    t_lo = max(sum(lo_n), -up_max(pi))
    t_hi = min(sum(hi_n), -up_min(pi))
    total = min(max(sum(knee), t_lo), t_hi)
    up = -total
    nets = list(lo_n)
    gap = total - sum(nets)
    for upto in (knee, hi_n):
        for i in range(len(nets)):
            if gap <= 0:
                break
            step = min(gap, upto[i] - nets[i])
            if step > 0:
                nets[i] += step
                gap -= step
    up_bought, up_sold = max(up, 0), max(-up, 0)

    legs: list[Leg] = []
    outcomes: list[FeederOutcome] = []
    curtailed: dict[int, int] = {}
    cut_buy = cut_sell = 0
    margin_sell: list[tuple[int, list[tuple[int, int]]]] = []
    margin_buy: list[tuple[int, list[tuple[int, int]]]] = []
    pool_in_total = 0
    for k, z in enumerate(zones):
        n = nets[k]
        # the zone's market-clearing range at net position n, then the pool's bounds
        s_lo, s_hi = z.clearing_range(n, p_lo, p_hi)
        lo: int | None = None if s_lo <= p_lo else s_lo
        hi: int | None = None if s_hi >= p_hi - 1 else s_hi
        at_imp = n > 0 and n >= z.imp
        at_exp = n < 0 and -n >= z.exp
        if not (at_exp or (n == 0 and z.exp == 0)):
            bound = pi + delta if n > 0 else pi
            lo = bound if lo is None else max(lo, bound)
        if not (at_imp or (n == 0 and z.imp == 0)):
            bound = pi if n < 0 else pi + delta
            hi = bound if hi is None else min(hi, bound)
        if at_imp:
            sigma = _pick(lo, None, pi + delta)
        elif at_exp:
            sigma = _pick(None, hi, pi)
        else:
            sigma = _pick(lo, hi, pi)
        beta = sigma + intra
        bd, ad, gd, sd = z.bids, z.asks, z.greens, z.storage
        # renewable supply to the general market and to storage at sigma
        rho = sigma
        g_lo = g_hi = 0
        if gd.total:
            st_gt = sd.total - sd.le(beta)
            st_ge = sd.total - sd.lt(beta)
            if gd.le(sigma) >= st_gt:
                g_lo, g_hi = max(0, gd.lt(sigma) - st_ge), gd.le(sigma) - st_gt
            else:  # the batteries want more than the renewables at sigma: their own price above it
                r_lo, r_hi = z.storage_range(sigma, p_hi)
                rho = _pick(r_lo, None if r_hi >= p_hi - 1 else r_hi, sigma)
        b_tot = min(bd.total - bd.lt(beta), n + ad.le(sigma) + g_hi)
        need = b_tot - n
        r_gen = min(g_hi, need - ad.lt(sigma))
        r_gen = max(r_gen, g_lo)
        o_tot = need - r_gen
        if gd.total:
            rb = beta if rho == sigma else rho + intra
            st_may = sd.total - sd.lt(rb)
            store_wh = min(st_may, gd.le(rho) - r_gen)
        else:
            store_wh = 0
        got: dict[int, int] = {}
        _fill(bd.orders, b_tot, got)
        sgot: dict[int, int] = {}
        _fill(sd.orders, store_wh, sgot)
        agot: dict[int, int] = {}
        _fill(ad.orders, o_tot, agot)
        ggot: dict[int, int] = {}
        _fill(gd.orders, store_wh + r_gen, ggot)
        sold = {**agot, **ggot}  # every ask's Wh (renewables: storage and general)
        imp_wh, exp_wh = max(0, n), max(0, -n)
        # buyers: local Wh first, imported Wh after, in priority order
        local_left = b_tot - imp_wh
        for e in bd.orders:
            q = got.get(e.order_id, 0)
            if not q:
                continue
            loc = min(q, local_left)
            local_left -= loc
            if loc:
                legs.append(Leg(e.order_id, LOCAL, loc, sigma, intra))
            if q > loc:
                legs.append(Leg(e.order_id, POOL, q - loc, sigma - delta, inter))
        for e in sd.orders:
            q = sgot.get(e.order_id, 0)
            if q:
                legs.append(Leg(e.order_id, ABSORB, q, rho, intra))
        # sellers: storage first (renewables), then local, then exported Wh, in priority order
        sellers = sorted(ad.orders + gd.orders, key=_ask_key) if gd.orders and ad.orders else ad.orders or gd.orders
        stored_left = store_wh
        local_left = b_tot - imp_wh
        for e in gd.orders:
            q = ggot.get(e.order_id, 0)
            s = min(q, stored_left)
            stored_left -= s
            if s:
                legs.append(Leg(e.order_id, ABSORB, s, rho, 0))
            ggot[e.order_id] = q - s
        for e in sellers:
            q = (ggot if community and e.renewable else agot).get(e.order_id, 0)
            if not q:
                continue
            loc = min(q, local_left)
            local_left -= loc
            if loc:
                legs.append(Leg(e.order_id, LOCAL, loc, sigma, 0))
            if q > loc:
                legs.append(Leg(e.order_id, POOL, q - loc, sigma, 0))
        # curtailment: the zone's limit binds at pi
        cut = 0
        bound_in = n >= 0 and imp_wh >= z.imp and z.zmax(pi + delta) > z.imp
        bound_out = not bound_in and n <= 0 and exp_wh >= z.exp and -z.zmin(pi) > z.exp
        # the pool's marginal orders here, cut when another feeder's limit binds (the limit
        # keeps the pool from taking more of this zone's supply or bringing it more energy)
        if sigma == pi and not bound_out:
            rest = [(e.order_id, e.energy - sold.get(e.order_id, 0)) for e in sellers if e.limit == sigma]
            margin_sell.append((k, [(oid, q) for oid, q in rest if q > 0]))
        if sigma == pi + delta and not bound_in:
            rest = [(e.order_id, e.energy - got.get(e.order_id, 0)) for e in bd.orders if e.limit == beta]
            margin_buy.append((k, [(oid, q) for oid, q in rest if q > 0]))
        if bound_in:
            for e in bd.orders:
                if e.limit < pi + inter:
                    break
                q = e.energy - got.get(e.order_id, 0)
                if q > 0:
                    curtailed[e.order_id] = q
                    cut += q
            cut_buy += cut
        elif bound_out:
            for e in sellers:
                if e.limit > pi:
                    break
                q = e.energy - sold.get(e.order_id, 0)
                if q > 0:
                    curtailed[e.order_id] = q
                    cut += q
            cut_sell += cut
        local_wh = b_tot - imp_wh + store_wh
        pool_in_total += imp_wh
        # a price below 0 is possible only where nothing trades (every ask is ≥ 0, and every
        # pool trade has a seller): 0 clears such a zone as well, and prices are unsigned
        outcomes.append(FeederOutcome(z.name, max(sigma, 0), local_wh, imp_wh, exp_wh, cut, local_wh > 0))
    for binds, margin in ((cut_buy, margin_sell), (cut_sell, margin_buy)):
        if not binds:
            continue
        for k, rest in margin:
            more = sum(q for _oid, q in rest)
            if more:
                curtailed.update(rest)
                fo = outcomes[k]
                outcomes[k] = FeederOutcome(
                    fo.feeder, fo.local_price, fo.local_wh, fo.pool_import_wh, fo.pool_export_wh,
                    fo.curtailed_wh + more, fo.local_cleared,
                )  # fmt: skip

    up_cut = 0
    if upstream is not None:
        if up_bought and pi <= upstream.feed_in:
            up_cut = min(cut_sell, cap_buy - up_bought)
        elif up_sold and pi >= upstream.retail:
            up_cut = cut_buy
    pool_wh = pool_in_total + up_bought
    return ClearOutcome(
        legs,
        max(pi, 0) if pool_wh else 0,
        pool_wh,
        pool_wh > 0,
        outcomes,
        curtailed,
        up_bought,
        up_sold,
        up_cut,
    )
