"""An exact reference for the clearing's objective, written independently of the engine: the
interval auction as a linear program over rationals (fractions.Fraction, a plain bounded
simplex with Bland's rule), and a brute force over integer fills for tiny books.

The LP (per feeder f; every variable ≥ 0):
  q_i ≤ e_i  (ordinary bid i filled), s_j ≤ e_j (ask j), g_k ≤ e_k (community storage bid k)
  L_f local Wh, M_f ≤ import limit, X_f ≤ export limit, T_f storage Wh, W_f renewable Wh to
  the general market; U_b ≤ cap (upstream buys), U_s (upstream sells)
  Σ_{bids on f} q − L_f − M_f = 0;  Σ_{plain asks on f} s + W_f − L_f − X_f = 0
  Σ_{renewable asks on f} s − T_f − W_f = 0;  Σ_{storage on f} g − T_f = 0
  Σ_f M_f + U_b − Σ_f X_f − U_s = 0
max Σ b q − Σ a s + Σ (b − intra) g − intra Σ L − inter Σ M + feed_in U_b − retail U_s.
Outside community mode every ask is plain and every bid ordinary.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from fractions import Fraction

from abci_app.market.clearing import BUY, BookEntry, ClearOutcome, Upstream


def simplex_max(
    c: list[Fraction], a_eq: list[list[Fraction]], b_eq: list[Fraction], ub: list[Fraction | None]
) -> Fraction:
    """max c·x subject to a_eq x = b_eq (b_eq ≥ 0 not required), 0 ≤ x ≤ ub (None: no bound),
    by the two-phase tableau simplex over rationals with Bland's rule. The LP must be feasible
    and bounded (every one built here is: x = 0 is feasible, all variables bounded by demand)."""
    n = len(c)
    rows: list[list[Fraction]] = []
    rhs: list[Fraction] = []
    for row, bv in zip(a_eq, b_eq, strict=True):
        rows.append(list(row))
        rhs.append(bv)
    # upper bounds as rows with slacks
    slack_of: list[int] = []
    for j, u in enumerate(ub):
        if u is not None:
            r = [Fraction(0)] * n
            r[j] = Fraction(1)
            rows.append(r)
            rhs.append(Fraction(u))
            slack_of.append(len(rows) - 1)
    m = len(rows)
    nslack = len(slack_of)
    total = n + nslack + m  # originals, slacks, artificials
    tab = []
    for i in range(m):
        r = rows[i] + [Fraction(0)] * (nslack + m)
        if i in slack_of:
            r[n + slack_of.index(i)] = Fraction(1)
        sign = -1 if rhs[i] < 0 else 1
        r = [x * sign for x in r]
        r[n + nslack + i] = Fraction(1)
        tab.append([*r, rhs[i] * sign])
    basis = [n + nslack + i for i in range(m)]

    def run(obj: list[Fraction], allowed: int) -> None:
        while True:
            # reduced costs: obj_j - Σ obj_B * a_ij
            col = -1
            for j in range(allowed):
                if j in basis:
                    continue
                rc = obj[j] - sum(obj[basis[i]] * tab[i][j] for i in range(m))
                if rc > 0:
                    col = j
                    break
            if col < 0:
                return
            best: tuple[Fraction, int, int] | None = None
            for i in range(m):
                if tab[i][col] > 0:
                    ratio = tab[i][-1] / tab[i][col]
                    key = (ratio, basis[i], i)
                    if best is None or key < best:
                        best = key
            assert best is not None, "unbounded"
            piv = best[2]
            pv = tab[piv][col]
            tab[piv] = [x / pv for x in tab[piv]]
            for i in range(m):
                if i != piv and tab[i][col] != 0:
                    f = tab[i][col]
                    tab[i] = [x - f * y for x, y in zip(tab[i], tab[piv], strict=True)]
            basis[piv] = col

    phase1 = [Fraction(0)] * (n + nslack) + [Fraction(-1)] * m
    run(phase1, total)
    assert all(tab[i][-1] == 0 for i in range(m) if basis[i] >= n + nslack), "infeasible"
    # drive artificials out of the basis where possible
    for i in range(m):
        if basis[i] >= n + nslack:
            for j in range(n + nslack):
                if tab[i][j] != 0 and j not in basis:
                    pv = tab[i][j]
                    tab[i] = [x / pv for x in tab[i]]
                    for k in range(m):
                        if k != i and tab[k][j] != 0:
                            f = tab[k][j]
                            tab[k] = [x - f * y for x, y in zip(tab[k], tab[i], strict=True)]
                    basis[i] = j
                    break
    phase2 = [Fraction(x) for x in c] + [Fraction(0)] * nslack + [Fraction(0)] * m
    run(phase2, n + nslack)
    return sum((phase2[basis[i]] * tab[i][-1] for i in range(m)), Fraction(0))


def lp_optimum(  # noqa: PLR0917 - the auction's inputs
    book: Sequence[BookEntry],
    intra: int,
    inter: int,
    limits: Mapping[str, tuple[int, int]],
    community: bool = False,
    upstream: Upstream | None = None,
) -> Fraction:
    """The welfare optimum of the interval auction (see the module doc)."""
    intra = min(intra, inter)
    if upstream is not None and upstream.feed_in >= upstream.retail:
        upstream = None
    feeders = sorted({e.feeder for e in book})
    names: list[str] = []
    c: list[Fraction] = []
    ub: list[Fraction | None] = []

    def var(name: str, cost: int, bound: int | None) -> int:
        names.append(name)
        c.append(Fraction(cost))
        ub.append(None if bound is None else Fraction(bound))
        return len(names) - 1

    order_var = {}
    for e in book:
        if e.side == BUY:
            value = e.limit - intra if community and e.renewable else e.limit
            order_var[e.order_id] = var(f"o{e.order_id}", value, e.energy)
        else:
            order_var[e.order_id] = var(f"o{e.order_id}", -e.limit, e.energy)
    lv, mv, xv, tv, wv = {}, {}, {}, {}, {}
    for f in feeders:
        imp, exp = limits.get(f, (None, None))
        lv[f] = var(f"L{f}", -intra, None)
        mv[f] = var(f"M{f}", -inter, imp)
        xv[f] = var(f"X{f}", 0, exp)
        tv[f] = var(f"T{f}", 0, None)
        wv[f] = var(f"W{f}", 0, None)
    ubv = usv = None
    if upstream is not None:
        ubv = var("Ub", upstream.feed_in, upstream.max_buy_wh)
        usv = var("Us", -upstream.retail, None)
    n = len(names)
    rows: list[list[Fraction]] = []

    def row(coefs: dict[int, int]) -> None:
        r = [Fraction(0)] * n
        for j, v in coefs.items():
            r[j] += v
        rows.append(r)

    for f in feeders:
        demand = {order_var[e.order_id]: 1 for e in book if e.feeder == f and e.side == BUY}
        plain = {order_var[e.order_id]: 1 for e in book if e.feeder == f and e.side != BUY}
        green: dict[int, int] = {}
        storage: dict[int, int] = {}
        if community:
            storage = {
                j: 1 for e in book if e.feeder == f and e.side == BUY and e.renewable for j in [order_var[e.order_id]]
            }
            demand = {order_var[e.order_id]: 1 for e in book if e.feeder == f and e.side == BUY and not e.renewable}
            green = {order_var[e.order_id]: 1 for e in book if e.feeder == f and e.side != BUY and e.renewable}
            plain = {order_var[e.order_id]: 1 for e in book if e.feeder == f and e.side != BUY and not e.renewable}
        row({**demand, lv[f]: -1, mv[f]: -1})
        row({**plain, wv[f]: 1, lv[f]: -1, xv[f]: -1})
        row({**green, tv[f]: -1, wv[f]: -1})
        row({**storage, tv[f]: -1})
    pool = {mv[f]: 1 for f in feeders} | {xv[f]: -1 for f in feeders}
    if ubv is not None and usv is not None:
        pool |= {ubv: 1, usv: -1}
    row(pool)
    return simplex_max(c, rows, [Fraction(0)] * len(rows), ub)


def brute_optimum(
    book: Sequence[BookEntry],
    intra: int,
    inter: int,
    limits: Mapping[str, tuple[int, int]],
    upstream: Upstream | None = None,
) -> int:
    """The welfare optimum over every integer fill of every order (tiny books, no community
    mode): given the fills, each feeder trades locally min(bought, sold), its net position
    crosses the pool (within its limits), and the upstream grid balances the pool."""
    intra = min(intra, inter)
    if upstream is not None and upstream.feed_in >= upstream.retail:
        upstream = None
    best = 0
    feeders = sorted({e.feeder for e in book})
    for fills in itertools.product(*(range(e.energy + 1) for e in book)):
        w = 0
        bought = dict.fromkeys(feeders, 0)
        sold = dict.fromkeys(feeders, 0)
        for e, q in zip(book, fills, strict=True):
            if e.side == BUY:
                w += q * e.limit
                bought[e.feeder] += q
            else:
                w -= q * e.limit
                sold[e.feeder] += q
        net = 0
        ok = True
        for f in feeders:
            n = bought[f] - sold[f]
            imp, exp = limits.get(f, (None, None))
            if (n > 0 and imp is not None and n > imp) or (n < 0 and exp is not None and -n > exp):
                ok = False
                break
            w -= intra * min(bought[f], sold[f]) + inter * max(n, 0)
            net += n
        if not ok:
            continue
        if net > 0:
            if upstream is None:
                continue
            w -= upstream.retail * net
        elif net < 0:
            if upstream is None or (upstream.max_buy_wh is not None and -net > upstream.max_buy_wh):
                continue
            w += upstream.feed_in * -net
        best = max(best, w)
    return best


def welfare(out: ClearOutcome, book: Sequence[BookEntry], upstream: Upstream | None) -> int:
    """The welfare of a clearing's legs: bid values − fees − ask costs, with the upstream's."""
    by_id = {e.order_id: e for e in book}
    w = 0
    for leg in out.legs:
        e = by_id[leg.order_id]
        w += leg.energy * (e.limit - leg.fee) if e.side == BUY else -leg.energy * e.limit
    if upstream is not None:
        w += out.upstream_bought_wh * upstream.feed_in - out.upstream_sold_wh * upstream.retail
    return w
