"""The clearing engine: a pure, deterministic function from one interval's book to its fills.

Integers only; one sort of each side; no I/O. The rules (the README's "Market clearing"):

- **Uniform-price double auction.** Bids in priority order (highest effective bid first,
  then lowest order id: time priority), asks likewise (lowest ask first, then lowest order
  id; in community mode a renewable ask goes before a non-renewable one at the same price).
  The best bid is matched with the best ask while the bid is at least the ask, with partial
  fills; the price is the floor of the midpoint of the last matched bid and ask, so every
  matched bid ≥ price ≥ every matched ask.
- **Grid fees change who trades.** A buyer's limit is all-in: its effective bid is
  limit − fee of the trade's fee class, so the same buyer may reach a seller on its own
  feeder (intra fee) but not one across feeders (inter fee).
- **Feeders first, then the pool.** Each feeder is cleared on its own first (intra fee, its
  own *local price*). The residual orders of all feeders then clear in one pool (inter fee,
  the *pool price*). Since intra ≤ inter, no feeder has both a buyer and a seller matched in
  the pool, so each feeder is a pure importer or exporter there.
- **Feeder limits curtail the pool.** A feeder imports at most its import limit and exports
  at most its export limit per interval. Pool volume is first capped per feeder, then the
  longer side is cut to the shorter; within those caps the matched pool orders are served in
  priority order (the lowest-priority matched orders are curtailed). The pool price stays
  the uncurtailed one, which still lies between every remaining matched bid and ask.
- **Community storage absorbs local surplus** (community mode only). A buy entry flagged
  renewable is a community battery's bid (placed by the rules hook, rules.py). It takes no
  part in its feeder's auction nor in the pool: right after the feeder's own auction, the
  feeder's community bids meet the feeder's renewable asks still unmatched, in one more
  uniform-price auction at the intra fee (leg ABSORB, its own price); only what they leave
  goes on to the pool. The feeder's local Wh include what storage absorbed.
- **The upstream grid takes part** (when `clear` is given an `Upstream`: the supplier of
  last resort, close.py). It is one more participant of the pool, on no feeder: a buy entry
  at the feed-in price (all-in feed-in + inter fee, so it pays the fee as any cross-feeder
  buyer) for up to every Wh offered (or what its balance pays for), and a sell entry at the
  retail price for every Wh bid, each after every member order at the same price. So every
  surplus offered at or below feed-in has a buyer. Its entries are curtailed like any pool
  order: a feeder's export and import limits bind flows to and from upstream exactly as to
  other feeders. Every auction (local, storage, pool) then trades only bids worth at least
  feed-in (effective bid) and asks of at most retail, and its price — the midpoint — is
  clamped into [feed-in, retail]: every matched bid ≥ feed-in and ≥ the midpoint, every
  matched ask ≤ retail and ≤ the midpoint, so bid ≥ price ≥ ask still holds for every fill.
  Upstream never trades with itself (it takes part only when feed-in < retail).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import NamedTuple

__all__ = [
    "ABSORB",
    "BUY",
    "SELL",
    "UPSTREAM_BUY",
    "UPSTREAM_SELL",
    "BookEntry",
    "ClearOutcome",
    "FeederOutcome",
    "Leg",
    "Upstream",
    "auction",
    "clear",
]

BUY = 1
SELL = 2
LOCAL = 0
POOL = 1
ABSORB = 2
# the upstream grid's two pool entries: ids no order reaches (order ids count up from 1), the
# highest so that members go first at the same price; on no feeder ("" is no feeder id)
UPSTREAM_BUY = (1 << 64) - 2
UPSTREAM_SELL = (1 << 64) - 1
UPSTREAM_FEEDER = ""


class BookEntry(NamedTuple):
    order_id: int
    side: int
    limit: int  # buyers: all-in price per kWh; sellers: lowest acceptable price
    energy: int  # Wh
    feeder: str
    renewable: bool


class Leg(NamedTuple):
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
    feeder: str
    local_price: int
    local_wh: int
    pool_import_wh: int
    pool_export_wh: int
    curtailed_wh: int
    local_cleared: bool


@dataclass(frozen=True, slots=True)
class ClearOutcome:
    legs: list[Leg]
    pool_price: int
    pool_wh: int
    pool_cleared: bool
    feeders: list[FeederOutcome]
    curtailed: dict[int, int]  # order id → Wh matched in the pool but cut by a feeder limit
    upstream_bought_wh: int = 0  # the upstream grid's pool legs (not in `legs` nor `curtailed`)
    upstream_sold_wh: int = 0
    upstream_curtailed_wh: int = 0


def auction(  # noqa: PLR0917 - the book, the fee, the state and the bounds
    bids: Sequence[BookEntry],
    asks: Sequence[BookEntry],
    fee: int,
    rem: dict[int, int],
    lo: int = 0,
    hi: int | None = None,
) -> tuple[dict[int, int], int, int]:
    """Match `bids` against `asks` (both in priority order) at effective bid limit − `fee`,
    using each order's remaining Wh in `rem` (reduced in place). Returns the Wh matched per
    order id, the volume and the uniform price (0 when nothing matched). With bounds, only
    effective bids ≥ `lo` and asks ≤ `hi` trade and the price is clamped into [lo, hi]."""
    got: dict[int, int] = {}
    nb, na = len(bids), len(asks)
    bi = ai = 0
    b_left = a_left = 0
    b = a = None
    volume = 0
    last_bid = last_ask = 0
    while True:
        if b_left == 0:
            while bi < nb and rem[bids[bi].order_id] == 0:
                bi += 1
            if bi == nb:
                break
            b = bids[bi]
            bi += 1
            b_left = rem[b.order_id]
        if a_left == 0:
            while ai < na and rem[asks[ai].order_id] == 0:
                ai += 1
            if ai == na:
                break
            a = asks[ai]
            ai += 1
            a_left = rem[a.order_id]
        assert b is not None
        assert a is not None
        bid = b.limit - fee
        if bid < a.limit or bid < lo or (hi is not None and a.limit > hi):
            break
        q = b_left if b_left < a_left else a_left
        b_left -= q
        a_left -= q
        got[b.order_id] = got.get(b.order_id, 0) + q
        got[a.order_id] = got.get(a.order_id, 0) + q
        last_bid, last_ask = bid, a.limit
        volume += q
    for oid, q in got.items():
        rem[oid] -= q
    if not volume:
        return got, 0, 0
    price = max((last_bid + last_ask) // 2, lo)
    return got, volume, (price if hi is None else min(price, hi))


# Sort keys packed into one integer (cheaper to compare than tuples): prices and ids are
# below 2**63, so (price, rank, id) packs into disjoint bit fields.
_ID_BITS = 64
_TOP = 1 << 64


def _bid_key(e: BookEntry) -> int:
    return ((_TOP - e.limit) << (_ID_BITS + 1)) | e.order_id


def _ask_key(e: BookEntry) -> int:
    return (e.limit << (_ID_BITS + 1)) | e.order_id


def _ask_key_community(e: BookEntry) -> int:
    return (e.limit << (_ID_BITS + 1)) | ((0 if e.renewable else 1) << _ID_BITS) | e.order_id


def _add_legs(  # noqa: PLR0917 - internal
    legs: list[Leg],
    bids: Sequence[BookEntry],
    asks: Sequence[BookEntry],
    got: dict[int, int],
    kind: int,
    price: int,
    fee: int,
) -> None:
    """One leg of `kind` per matched bid (paying `fee`) and ask, in their priority order."""
    for e in bids:
        q = got.get(e.order_id)
        if q:
            legs.append(Leg(e.order_id, kind, q, price, fee))
    for e in asks:
        q = got.get(e.order_id)
        if q:
            legs.append(Leg(e.order_id, kind, q, price, 0))


def clear(
    book: Sequence[BookEntry],
    intra_fee: int,
    inter_fee: int,
    limits: Mapping[str, tuple[int, int]],
    *,
    community: bool = False,
    upstream: Upstream | None = None,
) -> ClearOutcome:
    """Clear one interval's `book`. `limits` maps a feeder to its (import Wh, export Wh)
    limits (absent: unlimited); `upstream` the upstream grid's prices (None: it takes no part).
    Deterministic for a given input, whatever its order."""
    intra = min(intra_fee, inter_fee)  # a local trade never pays more than a cross-feeder one
    if upstream is not None and upstream.feed_in >= upstream.retail:
        upstream = None  # it would trade with itself
    lo, hi = (0, None) if upstream is None else (upstream.feed_in, upstream.retail)
    bids = sorted((e for e in book if e.side == BUY), key=_bid_key)
    asks = sorted((e for e in book if e.side == SELL), key=_ask_key_community if community else _ask_key)
    rem = {e.order_id: e.energy for e in book}
    feeder_of = {e.order_id: e.feeder for e in book}
    storage: dict[str, list[BookEntry]] = {}
    if community:
        for e in bids:
            if e.renewable:
                storage.setdefault(e.feeder, []).append(e)
        bids = [e for e in bids if not e.renewable]
    by_feeder: dict[str, tuple[list[BookEntry], list[BookEntry]]] = {}
    for e in bids:
        by_feeder.setdefault(e.feeder, ([], []))[0].append(e)
    for e in asks:
        by_feeder.setdefault(e.feeder, ([], []))[1].append(e)
    for f in storage:
        by_feeder.setdefault(f, ([], []))
    feeders = sorted(by_feeder)

    legs: list[Leg] = []
    local: dict[str, tuple[int, int]] = {}
    for f in feeders:
        fb, fa = by_feeder[f]
        price = volume = 0
        if fb and fa:
            got, volume, price = auction(fb, fa, intra, rem, lo, hi)
            _add_legs(legs, fb, fa, got, LOCAL, price, intra)
        absorbed = 0
        green = [e for e in fa if e.renewable]
        if f in storage and green:
            got, absorbed, stored_at = auction(storage[f], green, intra, rem, lo, hi)
            _add_legs(legs, storage[f], green, got, ABSORB, stored_at, intra)
            price = price if volume else stored_at
        local[f] = (price, volume + absorbed)

    if upstream is not None:
        offered = sum(rem[e.order_id] for e in asks)
        up_buy = offered if upstream.max_buy_wh is None else min(offered, upstream.max_buy_wh)
        up_sell = sum(rem[e.order_id] for e in bids)
        if up_buy:
            entry = BookEntry(UPSTREAM_BUY, BUY, upstream.feed_in + inter_fee, up_buy, UPSTREAM_FEEDER, False)
            bids = sorted([*bids, entry], key=_bid_key)
            rem[UPSTREAM_BUY] = up_buy
        if up_sell:
            entry = BookEntry(UPSTREAM_SELL, SELL, upstream.retail, up_sell, UPSTREAM_FEEDER, False)
            asks = sorted([*asks, entry], key=_ask_key_community if community else _ask_key)
            rem[UPSTREAM_SELL] = up_sell
    got, volume, pool_price = auction(bids, asks, inter_fee, rem, lo, hi)
    curtailed: dict[int, int] = {}
    pool_in: dict[str, int] = {}
    pool_out: dict[str, int] = {}
    if volume:
        want_in: dict[str, int] = {}
        want_out: dict[str, int] = {}
        for e in bids:
            q = got.get(e.order_id)
            if q:
                want_in[e.feeder] = want_in.get(e.feeder, 0) + q
        for e in asks:
            q = got.get(e.order_id)
            if q:
                want_out[e.feeder] = want_out.get(e.feeder, 0) + q
        cap_in = {f: min(q, limits[f][0]) if f in limits else q for f, q in want_in.items()}
        cap_out = {f: min(q, limits[f][1]) if f in limits else q for f, q in want_out.items()}
        served = min(sum(cap_in.values()), sum(cap_out.values()))
        for side, cap, fee, out in ((bids, cap_in, inter_fee, pool_in), (asks, cap_out, 0, pool_out)):
            left = served
            for e in side:
                q = got.get(e.order_id)
                if not q:
                    continue
                f = e.feeder
                grant = min(q, cap[f], left)
                if grant:
                    cap[f] -= grant
                    left -= grant
                    out[f] = out.get(f, 0) + grant
                    legs.append(Leg(e.order_id, POOL, grant, pool_price, fee))
                if grant < q:
                    curtailed[e.order_id] = q - grant
        volume = served

    up_legs = [leg for leg in legs if leg.order_id >= UPSTREAM_BUY]
    if up_legs:
        legs = [leg for leg in legs if leg.order_id < UPSTREAM_BUY]
    up_cut = curtailed.pop(UPSTREAM_BUY, 0) + curtailed.pop(UPSTREAM_SELL, 0)
    cut: dict[str, int] = {}
    for oid, q in curtailed.items():
        cut[feeder_of[oid]] = cut.get(feeder_of[oid], 0) + q
    outcomes = [
        FeederOutcome(
            f, local[f][0], local[f][1], pool_in.get(f, 0), pool_out.get(f, 0), cut.get(f, 0), local[f][1] > 0
        )
        for f in feeders
    ]
    return ClearOutcome(
        legs,
        pool_price if volume else 0,
        volume,
        volume > 0,
        outcomes,
        curtailed,
        sum(leg.energy for leg in up_legs if leg.order_id == UPSTREAM_BUY),
        sum(leg.energy for leg in up_legs if leg.order_id == UPSTREAM_SELL),
        up_cut,
    )
