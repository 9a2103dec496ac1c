"""The upstream grid in the market: the supplier of last resort stands in every clearing.

At gate closure (close.py) the supplier of the published tariffs (grid/supplier.py) takes part
in the interval's pool when it is eligible at block time and feed-in < retail: it buys any
surplus at the feed-in price (paying the inter-feeder fee, as any cross-feeder buyer) and
sells at the retail price (its buyers pay the inter-feeder fee). Feeder limits bind its flows
as any other feeder's (clearing.py). Its volumes are the substation's export (what it bought)
and import (what it sold), stored per interval as an `UpstreamTrade` (query /upstream/<interval>).

Money, like any participant's: what it buys is paid at gate closure into the market escrow
account (a buyer's escrow), ceil(bought × (price + fee) / 1000) — so it buys at most what its
balance pays for at that moment; the rest of the surplus is not sold in the market and falls
to feed-in at settlement, where what the supplier cannot pay is recorded `unreceived` on the
member's statement, as today. An ineligible supplier (revoked, or its org lost the issuer
capability) takes no part at all: the surplus again falls to feed-in, which settlement records
as unreceived. What it sells it is paid at settlement, floor(sold × price / 1000), from the
buyers' escrow like any seller. Settlement gives the supplier a statement for both.
"""

from __future__ import annotations

from abci_app.accounts import keeper as accounts
from abci_app.grid import keeper as grid
from abci_app.grid.records import GridFees
from abci_app.grid.supplier import supplier_problem
from abci_app.market import keeper
from abci_app.market.clearing import ClearOutcome, Upstream
from abci_app.market.records import UpstreamTrade
from abci_app.market.retail import StatementSums, add_to_statement
from abci_app.store.branch import Branch, KVReader
from abci_app.types import Address

__all__ = ["record_upstream", "settle_upstream", "upstream_of"]


def upstream_of(store: KVReader, now: int, fees: GridFees) -> tuple[Upstream | None, Address | None]:
    """The upstream participant of a clearing at block time `now` and its supplier (None, None
    when no tariffs are published, the supplier is not eligible or feed-in ≥ retail)."""
    t = grid.get_tariffs(store)
    if t is None or t.feed_in_per_kwh >= t.retail_per_kwh or supplier_problem(store, t.supplier, now) is not None:
        return None, None
    unit = t.feed_in_per_kwh + fees.inter_feeder_per_kwh
    cap = None if unit == 0 else accounts.balance(store, t.supplier) * 1000 // unit
    return Upstream(t.feed_in_per_kwh, t.retail_per_kwh, cap), t.supplier


def record_upstream(
    store: Branch, interval: int, supplier: Address, outcome: ClearOutcome, fee: int
) -> UpstreamTrade | None:
    """Store what the upstream grid traded in `interval` and escrow what it pays (None: it
    neither traded nor was cut). Its price is the pool price: at most feed-in when it bought
    (feed-in unless it bought all its balance pays for), retail when it sold."""
    bought, sold, cut = outcome.upstream_bought_wh, outcome.upstream_sold_wh, outcome.upstream_curtailed_wh
    if not (bought or sold or cut):
        return None
    price = outcome.pool_price
    paid = -(-bought * (price + fee) // 1000)
    if paid:  # within its balance: it bought at most what the balance pays for at feed-in
        accounts.subtract(store, supplier, paid)
        accounts.add(store, keeper.ESCROW_ADDRESS, paid)
    trade = UpstreamTrade(
        interval_start=interval,
        supplier=supplier,
        bought_wh=bought,
        sold_wh=sold,
        price=price,
        fee_per_kwh=fee if bought else 0,
        paid=paid,
        earned=sold * price // 1000,
        curtailed_wh=cut,
    )
    keeper.put_upstream(store, trade)
    return trade


def settle_upstream(store: Branch, stmts: StatementSums, interval: int) -> tuple[int, int]:
    """Settle the upstream grid's trade of `interval` (once): it is paid what it earned (moved
    here) and its escrowed payment joins the pool the caller moves out of escrow. Returns
    (its escrowed payment, what it was paid); the supplier's statement gets both."""
    trade = keeper.get_upstream(store, interval)
    if trade is None or trade.settled:
        return 0, 0
    if trade.earned:
        accounts.add(store, trade.supplier, trade.earned)
    fees = trade.bought_wh * trade.fee_per_kwh // 1000
    add_to_statement(
        stmts,
        trade.supplier,
        interval,
        bought_wh=trade.bought_wh,
        paid=trade.paid,
        fees=fees,
        sold_wh=trade.sold_wh,
        received=trade.earned,
    )
    keeper.put_upstream(
        store,
        UpstreamTrade(
            trade.interval_start,
            trade.supplier,
            trade.bought_wh,
            trade.sold_wh,
            trade.price,
            trade.fee_per_kwh,
            trade.paid,
            trade.earned,
            trade.curtailed_wh,
            True,
        ),
    )
    return trade.paid, trade.earned
