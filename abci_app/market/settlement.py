"""Settlement after delivery: one interval, all its money in one block.

Runs once the interval has ended and the grace period for late readings has passed
(then with whatever readings have arrived). Nothing here can fail halfway: the hook's
branch is kept only if it returns.

- Market positions settle in full at the clearing price: each buyer's cost (energy at
  its zone's price + grid fee, already all that is left of its escrow) leaves the escrow
  account; each seller receives floor(Σ leg Wh × price / 1000); the grid operator
  (Tariffs.operator) receives the rest, i.e. the fees plus the rounding residue.
- Deviations from the metered energy settle with the supplier (Tariffs.supplier) at the
  imbalance prices: a seller's device exporting less than it sold pays
  ceil(shortfall × imbalance_short / 1000), exporting more is paid
  floor(surplus × imbalance_long / 1000); a buyer's site meters (kind METER) importing
  more than it bought pay for the excess at imbalance_short, importing less are paid for
  the unused purchase at imbalance_long. A site without a meter has no buyer imbalance.
  A payer is charged at most its balance; the remainder is recorded as `unpaid` (owed by
  the member) or `unreceived` (owed by the supplier to the member). A supplier that is no
  longer eligible (grid/supplier.py: revoked, or its org lost the issuer capability since
  the tariffs were set) is charged nothing: all it owes is `unreceived`.
- Energy outside the market (retail.py): every site the devices domain marked as having
  energy in the interval settles its meters' import at the retail tariff when the site has no
  buy position, and its export beyond what its sold devices exported at the feed-in tariff
  (the site owner's, also when a device that sold there is someone else's).
- The upstream grid's trade of the interval (upstream.py) settles with the market positions:
  its escrowed payment joins the pool, it is paid what it sold like any seller.
- A site with a grid instruction's export cap (instructions.py) pays the export penalty for
  its export above the cap; that excess is taken off its surplus imbalance and its feed-in.
- Every member involved gets a Statement for the interval. An interval is settled once:
  the cursor RETAIL_MARK (the last interval settled) turns later marks into no-ops.

Missing data is not zero. A device has reported an interval when its last accepted reading
ends at or after the interval's end. At the deadline (end + grace) a position whose data is
missing is settled on an estimate that cannot favour its owner, given that registers only
grow (the energy recorded so far is at most the truth):
- a buyer's site with a meter that has not reported: consumed = max(bought, recorded), so
  no "unused purchase" is paid (only a known excess is charged);
- a seller's device that has not reported: delivered = recorded (0 with no data), so the
  rest is a shortfall it pays, and certificates move only for what was recorded.
Each such position counts in its Statement's `estimates`, a `settled_on_estimate` event names
it, and a SettlementEstimate record (with the imbalance prices used) is kept. When late data
arrives within `market.correction_window_seconds` after the deadline (a late reading marks
the site, and the hook calls settle_interval for the settled interval; only the marked
sites' estimates are read, and all of them once when an interval whose sites settled over
blocks completes, since settling a site consumed its mark), an estimate whose
meters (buyer) or device (seller) have now reported is corrected: the imbalance is computed
again on the metered energy and only the difference moves between the owner and the
supplier (a refund first forgives what the estimate left `unpaid`; the supplier pays the
rest, at most its balance, nothing when no longer eligible: `unreceived`; at the imbalance
prices the estimate was settled at, with the supplier the tariffs name now), the Statement's
`corrections` counts it and an `estimate_corrected` event says by how much. Certificates do
not follow a correction (a late-delivered seller keeps its device's certificates). When the
window ends without the data, the estimate is final (`estimate_final`): a reading arriving
later still records its energy but moves no money, as for any reading after settlement.
Energy outside the market (retail, feed-in) is not estimated: it is settled on what was
recorded by the deadline, except the feed-in of a site whose sold device had not reported,
which is withheld until that device's data arrives within the same window (feed_in.py).

Sites over several blocks. A block settles at most `market.settle_sites_per_block` sites'
energy outside the market (hooks.py shares the budget among the intervals it settles): the
interval's orders, upstream trade and certificates settle in its first block with the first
sites in key order (of lp(site id)); when marked sites remain, a SitesInSettlement record keeps
the last site settled and, of the sites still to settle, those with filled buy or sell orders
(with the export of the sold devices) or an export penalty (settled differently from a plain
site), and the next blocks go on from
there (a `sites_settled` event each) with the tariffs and supplier eligibility of their own
block, as any settlement uses its block's, adding to the members' statements; the interval's
ClearingResult says `settled` (its statements are final) once its last site is settled. A late reading
that marks a site already settled is not settled again: it is dropped once the interval's sites
are done, as after any settlement. An interval whose sites fit in one block settles exactly as
before (a million metered sites: 400 blocks at the default 2,500).

Authorisation (whose signature moves what). No money moves here that a signature did not
commit to: buyers' escrow was signed over by their PlaceOrder (or their rule's SetRule, or a
site owner's consent for a leased battery); sellers are paid for orders their device's owner
placed; imbalance and tariffs move between a member and the supplier the grid operator named
in its signed SetTariffs, computed from readings signed by the member's own devices — and
silence (no reading) never earns money: the estimates above. Certificates move (dvp.deliver)
only from a seller whose own device delivered energy to a buyer who paid for it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import fields, replace

from abci_app.accounts import keeper as accounts
from abci_app.certificates.params import period
from abci_app.devices import keeper as devices
from abci_app.errors import TxError
from abci_app.grid import keeper as grid
from abci_app.grid.records import Tariffs
from abci_app.grid.supplier import supplier_problem
from abci_app.keys import lp, u64
from abci_app.market import events, keeper, keys
from abci_app.market.feed_in import release_feed_in, withhold_feed_in
from abci_app.market.instructions import penalise_export, take_excess
from abci_app.market.params import SETTLE_SITES, correction_window, interval_length, settlement_grace
from abci_app.market.records import (
    BUY,
    SELL,
    SettlementEstimate,
    SiteExport,
    SitePenalty,
    SitesInSettlement,
    Statement,
)
from abci_app.market.retail import (
    METER,
    StatementSums,
    add_to_statement,
    amend_statement,
    drop_marks,
    pay,
    pay_from_supplier,
    reported,
    settle_sites,
    statement_of,
)
from abci_app.market.upstream import settle_upstream
from abci_app.params import domain_param
from abci_app.store.branch import Branch
from abci_app.types import Address, BlockInfo, Event

__all__ = [
    "RETAIL_MARK",
    "SiteBudget",
    "correct_estimates",
    "deliver_certificates",
    "finalise_estimates",
    "imbalance_owed",
    "settle_interval",
]

try:  # the certificates domain's delivery-versus-payment entry point
    from abci_app.certificates.dvp import deliver as _dvp_deliver
except ImportError:  # pragma: no cover - only while certificates is not in the tree
    _dvp_deliver = None  # type: ignore[assignment]

RETAIL_MARK = "settled_interval"


def deliver_certificates(
    store: Branch, block: BlockInfo, sellers: list[tuple[bytes, int]], buyers: list[tuple[bytes, int]], interval: int
) -> int:
    """Delivery versus payment of certificates, on the settlement's own branch: the uniform
    auction has no bilateral trades, so each seller's delivered Wh (sold and exported, in
    owner order) are paired with bought Wh (buyers in owner order) first come first served,
    and each pair calls the certificates domain's `dvp.deliver` for the interval's production
    hour. Returns the Wh of certificates moved now (what the hour's issuance has not produced
    yet is queued by the certificates domain as a pending delivery, completed after issuance;
    0 when the certificates domain is absent)."""
    if _dvp_deliver is None:  # pragma: no cover - the certificates domain is registered
        return 0
    hour = interval - interval % period(store)
    moved = 0
    si = bi = 0
    s_left = sellers[0][1] if sellers else 0
    b_left = buyers[0][1] if buyers else 0
    while si < len(sellers) and bi < len(buyers):
        q = min(s_left, b_left)
        seller, buyer = sellers[si][0], buyers[bi][0]
        if q and seller != buyer:
            branch = store.branch()
            try:
                moved += _dvp_deliver(branch, seller, buyer, hour, q, block, interval=interval)
            except TxError:  # a refused delivery moves no certificates; the money still settles
                pass
            else:
                branch.merge_into(store)
        s_left -= q
        b_left -= q
        if s_left == 0:
            si += 1
            s_left = sellers[si][1] if si < len(sellers) else 0
        if b_left == 0:
            bi += 1
            b_left = buyers[bi][1] if bi < len(buyers) else 0
    return moved


def _imbalance(  # noqa: PLR0917 - internal
    store: Branch,
    t: Tariffs,
    stmts: StatementSums,
    owner: bytes,
    interval: int,
    short_wh: int,
    long_wh: int,
    eligible: bool,
) -> int:
    """`short_wh` bought from the supplier, `long_wh` sold to it (paid only by an `eligible`
    supplier); returns what the owner could not pay."""
    unpaid = 0
    if short_wh > 0:
        paid, unpaid = pay(store, owner, t.supplier, -(-short_wh * t.imbalance_short_per_kwh // 1000))
        add_to_statement(stmts, owner, interval, imbalance_paid=paid, unpaid=unpaid)
    if long_wh > 0:
        paid, owed = pay_from_supplier(store, t, eligible, owner, long_wh * t.imbalance_long_per_kwh // 1000)
        add_to_statement(stmts, owner, interval, imbalance_received=paid, unreceived=owed)
    return unpaid


def _retail(store: Branch, t: Tariffs, stmts: StatementSums, owner: bytes, interval: int, wh: int) -> None:  # noqa: PLR0917 - internal
    """`wh` the site's buy orders asked for and did not get, consumed anyway: bought from the
    supplier at the retail tariff (ceil), as energy outside the market is, not at the
    imbalance price: a buy that is partly filled never costs more than one that is not."""
    paid, unpaid = pay(store, owner, t.supplier, -(-wh * t.retail_per_kwh // 1000))
    add_to_statement(stmts, owner, interval, retail_wh=wh, retail_paid=paid, unpaid=unpaid)


def imbalance_owed(side: int, traded: int, metered: int, short_price: int, long_price: int) -> int:
    """What the position's owner owes the supplier net (negative: is owed) for `metered` Wh
    against `traded` Wh, rounded as settlement rounds (members pay up, receive down)."""
    short = metered - traded if side == BUY else traded - metered
    if short >= 0:
        return -(-short * short_price // 1000)
    return -(-short * long_price // 1000)


class SiteBudget:
    """Sites one block may still settle outside the market (`market.settle_sites_per_block`),
    shared by the intervals the block settles."""

    def __init__(self, store: Branch) -> None:
        self.left = domain_param(store, SETTLE_SITES)


def _sum_statements(have: Statement, more: Statement) -> Statement:
    """`have` with every amount of `more` added (the same member and interval)."""
    added = {
        f.name: getattr(have, f.name) + getattr(more, f.name)
        for f in fields(Statement)
        if f.name not in {"owner", "interval_start"}
    }
    return replace(have, **added)


def _sites_left(
    interval: int,
    last: str,
    buy_sites: frozenset[str],
    sell_sites: frozenset[str],
    *,
    penalised: Mapping[str, int],
    market_export: Mapping[str, int],
) -> SitesInSettlement:
    """Where the interval's sites resume: after `last`, with the special sites still ahead (in
    the key order of the site marks: lp(site id))."""
    at = lp(last)
    return SitesInSettlement(
        interval_start=interval,
        after_site=last,
        buy_sites=tuple(sorted((s for s in buy_sites if lp(s) > at), key=lp)),
        sell_sites=tuple(sorted((s for s in sell_sites if lp(s) > at), key=lp)),
        penalised=tuple(SitePenalty(s, wh) for s, wh in sorted(penalised.items(), key=_by_site) if wh and lp(s) > at),
        market_export=tuple(SiteExport(s, wh) for s, wh in sorted(market_export.items(), key=_by_site) if lp(s) > at),
    )


def _by_site(item: tuple[str, int]) -> bytes:
    """A (site id, Wh) pair's place in the key order of the site marks."""
    return lp(item[0])


def _mark_settled(store: Branch, interval: int) -> None:
    """The interval's clearing result (if it had a book) says it is settled: its statements
    are final."""
    result = keeper.get_clearing(store, interval)
    if result is not None:
        keeper.put_clearing(store, replace(result, settled=True))


def _settle_more_sites(
    store: Branch, block: BlockInfo, tariffs: Tariffs, due: SitesInSettlement, budget: SiteBudget
) -> list[Event]:
    """The next sites of an interval whose sites settle over several blocks (module doc)."""
    interval = due.interval_start
    buy, sell = frozenset(due.buy_sites), frozenset(due.sell_sites)
    penalised = {p.site_id: p.wh for p in due.penalised}
    market_export = {e.site_id: e.wh for e in due.market_export}
    stmts: StatementSums = {}
    count, last = settle_sites(
        store,
        tariffs,
        stmts,
        interval,
        buy,
        sell,
        supplier_eligible=supplier_problem(store, tariffs.supplier, block.time) is None,
        penalised=penalised,
        market_export=market_export,
        after=due.after_site,
        budget=budget.left,
    )
    budget.left -= count
    for owner in sorted(stmts):
        more = statement_of(stmts, owner, interval)
        have = keeper.get_statement(store, owner, interval)
        keeper.put_statement(store, more if have is None else _sum_statements(have, more))
    released: list[Event] = []
    if last is None:
        keeper.delete_sites_in_settlement(store, interval)
        _mark_settled(store, interval)
        # its last sites settled: estimates and feed-in withheld for late data that has since
        # arrived follow (once an interval, all of them; later late readings do their own sites)
        released = correct_estimates(store, block, tariffs, interval, None)
        released.extend(release_feed_in(store, block, tariffs, interval))
    else:
        keeper.put_sites_in_settlement(
            store, _sites_left(interval, last, buy, sell, penalised=penalised, market_export=market_export)
        )
    return [
        Event.of(
            events.SITES_SETTLED,
            interval=interval,
            sites=count,
            members=len(stmts),
            complete=str(last is None).lower(),
        ),
        *released,
    ]


def settle_interval(store: Branch, block: BlockInfo, interval: int, budget: SiteBudget | None = None) -> list[Event]:
    """Settle every cleared order of `interval` and its sites' energy outside the market (the
    sites at most `budget`'s a block, module doc); postponed while no tariffs are published; an
    interval already settled only drops the marks of late readings."""
    tariffs = grid.get_tariffs(store)
    if tariffs is None:
        return []
    if budget is None:
        budget = SiteBudget(store)
    pending = keeper.get_sites_in_settlement(store, interval)
    if pending is not None:
        return _settle_more_sites(store, block, tariffs, pending, budget)
    raw = store.get(keys.counter(RETAIL_MARK))
    done = -1 if raw is None else int.from_bytes(raw, "big")
    if interval <= done and not keeper.has_settle_due(store, interval):
        marked = list(devices.iter_energy_sites(store, interval))  # where late readings arrived
        corrected = correct_estimates(store, block, tariffs, interval, marked)
        corrected.extend(release_feed_in(store, block, tariffs, interval, marked))
        drop_marks(store, interval)
        return corrected
    eligible = supplier_problem(store, tariffs.supplier, block.time) is None
    stmts: StatementSums = {}
    bought: dict[tuple[bytes, str], int] = {}
    unfilled: dict[tuple[bytes, str], int] = {}  # what the site's buys asked for and did not get
    sold: dict[tuple[bytes, str], int] = {}
    seller_site: dict[str, str] = {}  # sold device → its site
    pool = paid_out = 0
    # Money and capacity move once per account and device: the balances and the capacity end exactly
    # as one move per order would leave them. Gate closure summed the orders (settle_due.py).
    escrow_out: int | None = None  # Σ buyers' cost (None: no buy order)
    earned: dict[bytes, int] = {}  # seller → Σ cost of its sell orders
    freed: dict[str, int] = {}  # device → Σ Wh of its sell orders
    due = keeper.take_settle_due(store, interval)
    if due is not None:
        keeper.put_settled(store, due.order_ids, due.settled)
        for owner, paid, bought_wh, fees, received, sold_wh in due.owners:
            if paid or bought_wh or fees:
                add_to_statement(stmts, owner, interval, paid=paid, bought_wh=bought_wh, fees=fees)
            if received or sold_wh:
                add_to_statement(stmts, owner, interval, received=received, sold_wh=sold_wh)
                earned[owner] = received
            add_to_statement(stmts, owner, interval)
            pool += paid
            paid_out += received
        for owner, site_id, bought_wh, unfilled_wh in due.buy_sites:
            bought[(owner, site_id)] = bought_wh
            unfilled[(owner, site_id)] = unfilled_wh
        if due.buy_sites:
            escrow_out = pool
        for owner, device_id, site_id, sold_wh, offered_wh in due.sold_devices:
            sold[(owner, device_id)] = sold_wh
            seller_site[device_id] = site_id
            freed[device_id] = freed.get(device_id, 0) + offered_wh
    up_paid, up_earned = settle_upstream(store, stmts, interval)
    if up_paid:
        escrow_out = (escrow_out or 0) + up_paid
        pool += up_paid
    paid_out += up_earned
    if escrow_out is not None:
        accounts.subtract(store, keeper.ESCROW_ADDRESS, escrow_out)
    for owner in sorted(earned):
        accounts.add(store, owner, earned[owner])
    keeper.free_committed(store, interval, freed)
    if pool - paid_out:
        accounts.add(store, tariffs.operator, pool - paid_out)

    # certificates follow delivered energy: what a seller sold but did not export came from the
    # supplier as imbalance, and no renewable certificate backs it
    end = interval + interval_length(store)
    estimated: list[tuple[SettlementEstimate, int]] = []  # (estimate, its unpaid), flagged below
    backed: dict[bytes, int] = {}
    penalised = penalise_export(store, tariffs, stmts, interval)
    excess = dict(penalised)  # what the sellers' surplus does not take is not feed-in either
    market_export: dict[str, int] = {}  # sell site → its sold devices' export (retail.py)
    waiting: dict[str, set[str]] = {}  # sell site → its sold devices not reported (feed-in withheld)
    reported_export: dict[str, int] = {}  # sell site → the export of its sold devices that had reported
    counted: set[str] = set()
    for (owner, device_id), wh in sorted(sold.items()):
        energy = devices.get_energy(store, device_id, interval)
        exported = 0 if energy is None else energy.export_wh  # not reported: what was recorded
        backed[owner] = backed.get(owner, 0) + min(wh, exported)
        add_to_statement(stmts, owner, interval, delivered_wh=exported)
        long_wh = take_excess(store, excess, device_id, exported - wh)
        unpaid = _imbalance(store, tariffs, stmts, owner, interval, wh - exported, long_wh, eligible)
        site_id = seller_site[device_id]
        on_time = reported(store, device_id, end)
        if device_id not in counted:  # a device's export counts once, whoever sold from it
            counted.add(device_id)
            market_export[site_id] = market_export.get(site_id, 0) + exported
            if on_time:
                reported_export[site_id] = reported_export.get(site_id, 0) + exported
        if not on_time:
            estimated.append((SettlementEstimate(interval, Address(owner), SELL, device_id, wh, exported), unpaid))
            waiting.setdefault(site_id, set()).add(device_id)
    for (owner, site_id), wh in sorted(bought.items()):
        meters = [
            d
            for d in (devices.get_device(store, i) for i in devices.iter_site_devices(store, site_id))
            if d is not None and d.kind == METER
        ]
        if not meters:
            continue
        consumed = 0
        for m in meters:
            energy = devices.get_energy(store, m.device_id, interval)
            consumed += 0 if energy is None else energy.import_wh
        missing = not all(reported(store, m.device_id, end) for m in meters)
        if missing:  # the energy it bought counts as consumed
            consumed = max(consumed, wh)
        add_to_statement(stmts, owner, interval, consumed_wh=consumed)
        at_retail = 0 if missing else max(0, min(consumed - wh, unfilled.get((owner, site_id), 0)))
        if at_retail:  # what its buys asked for and the market could not supply: the supplier's retail
            _retail(store, tariffs, stmts, owner, interval, at_retail)
        unpaid = _imbalance(store, tariffs, stmts, owner, interval, consumed - wh - at_retail, wh - consumed, eligible)
        if missing:
            estimated.append((SettlementEstimate(interval, Address(owner), BUY, site_id, wh, consumed), unpaid))
    evs: list[Event] = []
    for guess, unpaid in estimated:
        est = replace(
            guess,
            unpaid=unpaid,
            short_price=tariffs.imbalance_short_per_kwh,
            long_price=tariffs.imbalance_long_per_kwh,
        )
        keeper.put_estimate(store, est)
        add_to_statement(stmts, est.owner, interval, estimates=1)
        evs.append(_estimate_event(events.SETTLED_ON_ESTIMATE, est, est.estimated_wh))

    buy_sites = frozenset(s for _o, s in bought)
    sell_sites = frozenset(market_export)
    for site_id in waiting:
        del market_export[site_id]
    withhold_feed_in(store, tariffs, interval, waiting, reported_export, excess)
    count, last = settle_sites(
        store,
        tariffs,
        stmts,
        interval,
        buy_sites,
        sell_sites,
        supplier_eligible=eligible,
        penalised=excess,
        market_export=market_export,
        budget=budget.left,
    )
    budget.left -= count
    if last is not None:
        keeper.put_sites_in_settlement(
            store, _sites_left(interval, last, buy_sites, sell_sites, penalised=excess, market_export=market_export)
        )
    if interval > done:
        store.set(keys.counter(RETAIL_MARK), u64(interval))

    certificates_wh = deliver_certificates(
        store,
        block,
        sorted(backed.items()),
        [(o, wh) for (o, _s), wh in sorted(bought.items())],
        interval,
    )
    for owner in sorted(stmts):
        new = statement_of(stmts, owner, interval)
        have = keeper.get_statement(store, owner, interval)
        if have is not None:
            new = replace(new, refunds=new.refunds + have.refunds)
        keeper.put_statement(store, new)
    if last is None:  # else once its last sites settle (_settle_more_sites)
        _mark_settled(store, interval)
    return [
        *evs,
        Event.of(
            events.INTERVAL_SETTLED,
            interval=interval,
            members=len(stmts),
            paid=pool,
            certificates_wh=certificates_wh,
        ),
    ]


def _estimate_event(kind: str, est: SettlementEstimate, metered_wh: int, **more: int) -> Event:
    return Event.of(
        kind,
        interval=est.interval_start,
        owner=est.owner.hex(),
        side="buy" if est.side == BUY else "sell",
        target=est.target,
        traded_wh=est.traded_wh,
        estimated_wh=est.estimated_wh,
        metered_wh=metered_wh,
        **more,
    )


def _metered_now(store: Branch, est: SettlementEstimate, end: int) -> int | None:
    """The estimate's energy as metered now (buyer: its site's meters' import; seller: its
    device's export), or None while some of it has still not reported."""
    if est.side == SELL:
        if not reported(store, est.target, end):
            return None
        energy = devices.get_energy(store, est.target, est.interval_start)
        return 0 if energy is None else energy.export_wh
    total = 0
    for device_id in devices.iter_site_devices(store, est.target):
        d = devices.get_device(store, device_id)
        if d is None or d.kind != METER:
            continue
        if not reported(store, device_id, end):
            return None
        energy = devices.get_energy(store, device_id, est.interval_start)
        total += 0 if energy is None else energy.import_wh
    return total


def correct_estimates(
    store: Branch, block: BlockInfo, tariffs: Tariffs, interval: int, marked: Sequence[str] | None
) -> list[Event]:
    """Correct the interval's estimates whose data has now arrived, while the correction window
    is open (see the module doc); the others wait (or are finalised by `finalise_estimates`).
    Data arrives by readings, which mark their sites (`marked`): only the estimates of those
    sites (a buy's site, a sale's device on it) are read, so a late reading costs its own
    site's estimates, not the interval's. None: all of them (once, when an interval whose sites
    settled over blocks completes, since settling a site consumed its marks)."""
    length = interval_length(store)
    if block.time > interval + length + settlement_grace(store) + correction_window(store):
        return []
    eligible = supplier_problem(store, tariffs.supplier, block.time) is None
    evs: list[Event] = []
    if marked is None:
        found = list(keeper.iter_estimates(store, interval))
    else:
        targets = [(BUY, site) for site in marked]
        targets += [(SELL, d) for site in marked for d in devices.iter_site_devices(store, site)]
        found = keeper.target_estimates(store, interval, targets)
    for est in found:
        metered = _metered_now(store, est, interval + length)
        if metered is None:
            continue
        keeper.delete_estimate(store, est)
        before = imbalance_owed(est.side, est.traded_wh, est.estimated_wh, est.short_price, est.long_price)
        after = imbalance_owed(est.side, est.traded_wh, metered, est.short_price, est.long_price)
        stmts: StatementSums = {}
        have = keeper.get_statement(store, est.owner, interval) or statement_of({est.owner: {}}, est.owner, interval)
        delta = after - before
        if delta > 0:
            paid, unpaid = pay(store, est.owner, tariffs.supplier, delta)
            add_to_statement(stmts, est.owner, interval, imbalance_paid=paid, unpaid=unpaid)
        elif delta < 0:
            forgive = min(-delta, est.unpaid, have.unpaid)
            paid, owed = pay_from_supplier(store, tariffs, eligible, est.owner, -delta - forgive)
            add_to_statement(stmts, est.owner, interval, imbalance_received=paid, unreceived=owed, unpaid=-forgive)
        energy = metered - est.estimated_wh
        if est.side == BUY:
            add_to_statement(stmts, est.owner, interval, consumed_wh=energy, corrections=1)
        else:
            add_to_statement(stmts, est.owner, interval, delivered_wh=energy, corrections=1)
        amend_statement(store, stmts, est.owner, interval)
        evs.append(_estimate_event(events.ESTIMATE_CORRECTED, est, metered, owed_delta=delta))
    return evs


def finalise_estimates(store: Branch, now: int) -> list[Event]:
    """Drop the estimates whose correction window has ended: they are final."""
    length = interval_length(store)
    cutoff = now - length - settlement_grace(store) - correction_window(store)
    if cutoff <= 0:
        return []
    evs: list[Event] = []
    for est in keeper.estimates_before(store, cutoff):
        keeper.delete_estimate(store, est)
        evs.append(_estimate_event(events.ESTIMATE_FINAL, est, est.estimated_wh))
    return evs
