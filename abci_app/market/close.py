"""Gate closure: clear one interval's book and record the result, the fills and the escrow.

For each order of the book: its fills (one per leg: local, pool) are stored; a buyer's
cost is ceil(Σ leg Wh × (price + fee) / 1000) ≤ its escrow, and the rest of its escrow is
refunded at once (all of it when nothing traded); a seller earns floor(Σ leg Wh × price /
1000). Filled orders wait for settlement; unfilled sell orders free their device capacity.
Orders placed by rules update the rule's daily counters and raise alerts when the rule
could not be met (no seller, price above the limit). The upstream grid takes part in the
clearing (upstream.py); every order a feeder limit cut raises an alert and its site gets a
grid instruction (instructions.py).
"""

from __future__ import annotations

from dataclasses import replace

from gridledger.market.v1 import market_pb2

from abci_app.grid import keeper as grid
from abci_app.market import events, keeper, orders
from abci_app.market.alerts import raise_alert
from abci_app.market.clearing import SELL, ClearOutcome, Leg, clear
from abci_app.market.instructions import instruct_curtailed
from abci_app.market.params import COMMUNITY_MODE, interval_length
from abci_app.market.records import (
    BUY,
    CLEARED,
    RULE_DEFERRABLE,
    UNFILLED,
    AlertReason,
    ClearingResult,
    FeederClearing,
    Order,
    Statement,
)
from abci_app.market.settle_due import SettleDueBuilder
from abci_app.market.upstream import record_upstream, upstream_of
from abci_app.params import domain_param
from abci_app.store.branch import Branch
from abci_app.types import Address, BlockInfo, Event

__all__ = ["best_prices", "close_interval"]

REASON = AlertReason


def best_prices(outcome_asks: dict[str, int], intra: int, inter: int) -> dict[str, int]:
    """Per feeder, the lowest all-in price a buyer there could have had from the book's asks
    (a local ask + the intra fee, or another feeder's + the inter fee)."""
    ranked = sorted(outcome_asks.items(), key=lambda kv: (kv[1], kv[0]))
    out: dict[str, int] = {}
    for f, ask in outcome_asks.items():
        other = next((p for g, p in ranked if g != f), None)
        cands = [ask + min(intra, inter)] + ([] if other is None else [other + inter])
        out[f] = min(cands)
    return out


def _rule_updates(  # noqa: PLR0917 - internal, called once
    store: Branch, block: BlockInfo, order: Order, outcome: ClearOutcome, no_seller: bool, best: int | None
) -> list[Event]:
    rule = keeper.get_rule(store, order.rule_id)
    if rule is None:
        return []
    evs: list[Event] = []
    if order.side == BUY:
        if rule.day == order.interval_start // 86_400:
            rule = replace(
                rule,
                day_wh=max(0, rule.day_wh - (order.energy_wh - order.filled_wh)),
                day_spent=max(0, rule.day_spent - (order.escrow + order.refunded - order.cost)),
            )
        rule = replace(rule, done_wh=rule.done_wh + order.filled_wh)
        keeper.put_rule(store, rule)
        # A deferrable load that did not clear is simply deferred (its rule alerts when the
        # deadline is at risk); other rules alert with the reason they were not met. An order a
        # feeder limit cut alerts as every cut order does (instructions.py).
        cut = bool(outcome.curtailed.get(order.order_id))
        if order.filled_wh < order.energy_wh and rule.kind != RULE_DEFERRABLE and not cut:
            if no_seller:
                reason, price = REASON.NO_SELLER, 0
            elif best is not None and best <= order.limit_price:
                # offers within the limit existed but ran out: not enough supply, not the price
                reason, price = REASON.NO_SELLER, best
            else:
                reason, price = REASON.PRICE_ABOVE_LIMIT, best or 0
            evs.append(raise_alert(store, block.time, rule, reason, order.interval_start, price))
    return evs


def _cleared(  # noqa: PLR0917 - what clearing decides for one order
    o: Order, escrow: int, refunded: int, filled_wh: int, cost: int, status: int
) -> Order:
    """`o` as clearing leaves it (runs per order of the book: see `Order.with_outcome`)."""
    return o.with_outcome(escrow, refunded, filled_wh, cost, status)


def close_interval(store: Branch, block: BlockInfo, interval: int) -> list[Event]:
    """Clear `interval` (its gate has closed) and store everything clearing decides."""
    book, raws = keeper.read_book(store, interval)
    fees = grid.get_fees(store)
    limits: dict[str, tuple[int, int]] = {}
    for f in sorted({e.feeder for e in book}):
        lim = grid.get_feeder_limit(store, f)
        if lim is not None:
            limits[f] = (lim.import_wh, lim.export_wh)
    community = domain_param(store, COMMUNITY_MODE) == 1
    upstream, supplier = upstream_of(store, block.time, fees)
    outcome = clear(
        book, fees.intra_feeder_per_kwh, fees.inter_feeder_per_kwh, limits, community=community, upstream=upstream
    )

    legs: dict[int, list[Leg]] = {}
    for leg in outcome.legs:
        legs.setdefault(leg.order_id, []).append(leg)
    min_ask: dict[str, int] = {}
    for e in book:
        if e.side == SELL and (e.feeder not in min_ask or e.limit < min_ask[e.feeder]):
            min_ask[e.feeder] = e.limit
    best = best_prices(min_ask, fees.intra_feeder_per_kwh, fees.inter_feeder_per_kwh)
    no_seller = not min_ask and upstream is None
    if upstream is not None:  # the upstream grid offers at retail, across feeders
        retail = upstream.retail + fees.inter_feeder_per_kwh
        best = {f: min(best.get(f, retail), retail) for f in sorted({e.feeder for e in book})}

    refunds: dict[bytes, int] = {}
    unsold: dict[str, int] = {}  # device → Wh of its unfilled sell orders (capacity freed)
    evs: list[Event] = []
    demand = supply = buys = sells = 0
    # Records are built only where logic reads them (rule orders, orders a feeder limit cut);
    # each order's stored bytes (the book's copy) are read as plain protobuf fields and
    # rewritten with its outcome (`Order.with_outcome(…).encode()`: proto3 writes set fields in
    # field order and omits zeros), each fill written from the numbers (`Fill.encode_fields`,
    # one message reused).
    curtailed = outcome.curtailed
    done: list[Order] = []  # the orders a feeder limit cut, as clearing leaves them
    traded: dict[str, dict[int, int]] = {}  # when a limit cut: site → side → Wh filled (grid instructions)
    stored: list[tuple[int, bytes]] = []  # (order id, stored bytes)
    due = SettleDueBuilder()  # the CLEARED orders as settlement stores them, and its sums
    fills: list[tuple[int, bytes, int, bytes]] = []  # (order id, owner, leg, stored bytes)
    buy_side = BUY
    from_string = market_pb2.Order.FromString
    fill = market_pb2.Fill(interval_start=interval)
    keeper.remove_book(store, interval, [e.order_id for e in book])
    keeper.clear_open_counts(store, interval)
    for e, raw in zip(book, raws, strict=True):
        # the book entry carries the order's side, energy, limit and feeder (written from it)
        pb = from_string(raw)
        owner = pb.owner
        mine = legs.get(e.order_id, ())
        filled = value = fee_value = fee = 0
        for leg in mine:
            filled += leg.energy
            value += leg.energy * leg.price
            fee_value += leg.energy * leg.fee
        escrow, refunded = pb.escrow, pb.refunded
        if e.side == buy_side:
            buys += 1
            demand += e.energy
            cost = -(-(value + fee_value) // 1000)
            back = escrow - cost
            if back:  # the rest of the escrow goes back now (moved for all owners below)
                escrow -= back
                refunded += back
            if back > 0:
                refunds[owner] = refunds.get(owner, 0) + back
        else:
            sells += 1
            supply += e.energy
            cost = value // 1000
            if not mine:
                unsold[pb.device_id] = unsold.get(pb.device_id, 0) + e.energy
        status = CLEARED if mine else UNFILLED
        order_id = pb.order_id
        if mine:
            # one Fill message for every fill of the interval, all its fields set for each
            fill.order_id = order_id
            fill.owner = owner
            fill.side = e.side  # type: ignore[assignment]
            fill.limit_price = e.limit
            fill.feeder = e.feeder
            for leg in mine:
                fill.energy_wh = leg.energy
                fill.price = leg.price
                fill.fee_per_kwh = leg.fee
                fill.cross_feeder = leg.leg == 1
                fills.append((order_id, owner, leg.leg, fill.SerializeToString(deterministic=True)))
                if e.side == buy_side and leg.fee:  # settlement charges each buy leg's fee rounded down
                    fee += leg.energy * leg.fee // 1000
        cut = curtailed.get(order_id, 0) if curtailed else 0
        if curtailed and filled:
            sides = traded.setdefault(pb.site_id, {})
            sides[e.side] = sides.get(e.side, 0) + filled
        if pb.rule_id or cut:
            order = _cleared(Order.decode(raw), escrow, refunded, filled, cost, status)
            if cut:
                done.append(order)
            if order.rule_id:
                evs.extend(_rule_updates(store, block, order, outcome, no_seller, best.get(order.feeder)))
        pb.escrow = escrow
        pb.refunded = refunded
        pb.filled_wh = filled
        pb.cost = cost
        pb.status = status  # type: ignore[assignment]
        stored.append((order_id, pb.SerializeToString(deterministic=True)))
        if mine:
            due.add(pb, fee)  # (pb becomes the order as settled)
    keeper.put_cleared(store, interval, stored, fills, due)
    if supplier is not None:
        record_upstream(store, interval, supplier, outcome, fees.inter_feeder_per_kwh)
    if outcome.curtailed:
        sold_at = {fo.feeder: fo.local_price for fo in outcome.feeders}  # each zone's own price
        length = interval_length(store)
        evs.extend(
            instruct_curtailed(store, block.time, interval, length, done, traded, outcome, limits, best, sold_at)
        )
    orders.refund_many(store, refunds)
    keeper.free_committed(store, interval, unsold)

    for owner in sorted(refunds):
        st = keeper.get_statement(store, owner, interval) or Statement(owner=Address(owner), interval_start=interval)
        keeper.put_statement(store, replace(st, refunds=st.refunds + refunds[owner]))

    feeders = []
    for fo in outcome.feeders:
        import_limit, export_limit = limits.get(fo.feeder, (0, 0))
        feeders.append(
            FeederClearing(
                feeder=fo.feeder,
                local_price=fo.local_price,
                local_wh=fo.local_wh,
                pool_import_wh=fo.pool_import_wh,
                pool_export_wh=fo.pool_export_wh,
                curtailed_wh=fo.curtailed_wh,
                local_cleared=fo.local_cleared,
                has_limit=fo.feeder in limits,
                import_limit_wh=import_limit,
                export_limit_wh=export_limit,
            )
        )
    result = ClearingResult(
        interval_start=interval,
        pool_price=outcome.pool_price,
        pool_wh=outcome.pool_wh,
        total_wh=outcome.pool_wh + sum(f.local_wh for f in outcome.feeders),
        buy_orders=buys,
        sell_orders=sells,
        demand_wh=demand,
        supply_wh=supply,
        feeders=tuple(feeders),
        cleared_height=block.height,
        pool_cleared=outcome.pool_cleared,
    )
    keeper.put_clearing(store, result)
    evs.append(
        Event.of(
            events.INTERVAL_CLEARED,
            interval=interval,
            pool_price=result.pool_price,
            total_wh=result.total_wh,
            orders=len(book),
        )
    )
    return evs
