"""Clearing across feeders (issue 22), in process: 10,000 orders on 8 and on 50 feeders, every
feeder with import and export limits small enough to bind, the upstream grid taking part, fees
1/3. Times the matching step (`clear`) and the whole gate-closure step (`close_interval` on an
in-memory store: reading the book, clearing, writing fills, orders, refunds, alerts and grid
instructions for the cut orders, the result). Reports how many feeders' limits bound."""

from __future__ import annotations

import random
import statistics
import time
from collections.abc import Callable
from typing import Any

import abci_app.registry  # noqa: F401 - publishes the domains' parameters
from abci_app.accounts import keeper as accounts
from abci_app.grid import keeper as grid
from abci_app.grid.records import FeederLimit, GridFees
from abci_app.market import keeper
from abci_app.market.clearing import BUY, SELL, BookEntry, ClearOutcome, Upstream, clear
from abci_app.market.close import close_interval
from abci_app.market.orders import max_cost
from abci_app.market.records import OPEN, Order, OrderId
from abci_app.store.backend import MemoryBackend
from abci_app.store.branch import Branch
from abci_app.types import Address, BlockInfo

__all__ = ["FEEDER_COUNTS", "clearing_costs", "feeder_book", "feeder_limits"]

INTERVAL = 1_767_225_600 + 3_600
FEEDER_COUNTS = (8, 50)
INTRA, INTER = 1, 3
UPSTREAM = Upstream(8, 30)


def feeder_book(n: int, feeders: int, seed: int = 7) -> list[BookEntry]:
    """n orders on `feeders` feeders; each feeder leans to buying or selling (so the pool moves
    energy between them), prices 5..40 per kWh, 0.1..5 kWh, half renewable."""
    r = random.Random(seed)
    lean = [r.random() for _ in range(feeders)]
    out = []
    for i in range(1, n + 1):
        f = r.randrange(feeders)
        out.append(
            BookEntry(
                i,
                BUY if r.random() < lean[f] else SELL,
                r.randint(5, 40),
                r.randint(100, 5_000),
                f"feeder-{f + 1:02d}",
                r.random() < 0.5,
            )
        )
    return out


def feeder_limits(feeders: int, n: int) -> dict[str, tuple[int, int]]:
    """Every feeder may import and export about a tenth of its share of the book's Wh."""
    each = n * 2_550 // feeders // 10
    return {f"feeder-{f + 1:02d}": (each, each) for f in range(feeders)}


def _bound(out: ClearOutcome, limits: dict[str, tuple[int, int]]) -> int:
    return sum(
        1
        for f in out.feeders
        if f.pool_import_wh >= limits[f.feeder][0] > 0 or f.pool_export_wh >= limits[f.feeder][1] > 0
    )


def _gate_closure_ms(book: list[BookEntry], limits: dict[str, tuple[int, int]]) -> float:
    """Milliseconds of `close_interval` over the book stored as open orders."""
    store = Branch(MemoryBackend())
    owners = [Address(bytes([k]) * 20) for k in range(1, 41)]
    escrow = 0
    for e in book:
        order = Order(
            order_id=OrderId(e.order_id),
            owner=owners[e.order_id % len(owners)],
            side=e.side,
            interval_start=INTERVAL,
            energy_wh=e.energy,
            limit_price=e.limit,
            feeder=e.feeder,
            renewable=e.renewable,
            status=OPEN,
            site_id=f"site-{e.order_id}",
            device_id="" if e.side == BUY else f"dev-{e.order_id}",
            escrow=max_cost(e.energy, e.limit) if e.side == BUY else 0,
        )
        escrow += order.escrow
        keeper.put_order(store, order, new=True)
    accounts.add(store, keeper.ESCROW_ADDRESS, escrow)
    grid.put_fees(store, GridFees(INTRA, INTER))
    for f, (imp, exp) in sorted(limits.items()):
        grid.put_feeder_limit(store, FeederLimit(f, imp, exp))
    block = BlockInfo("bench", 10, (INTERVAL - 300) * 1_000_000_000)
    hook = store.branch()
    t = time.perf_counter()
    close_interval(hook, block, INTERVAL)
    return (time.perf_counter() - t) * 1000


def clearing_costs(log: Callable[[str], None], *, orders: int = 10_000, rounds: int = 5) -> dict[str, Any]:
    """Per feeder count: the matching step's median and best ms over `rounds`, the gate-closure
    step's median ms over 3 runs (fresh stores), the volumes and how many limits bound."""
    out: dict[str, Any] = {"orders": orders, "rounds": rounds}
    for feeders in FEEDER_COUNTS:
        book = feeder_book(orders, feeders)
        limits = feeder_limits(feeders, orders)
        samples = []
        result = None
        for _ in range(rounds):
            t = time.perf_counter()
            result = clear(book, INTRA, INTER, limits, upstream=UPSTREAM)
            samples.append((time.perf_counter() - t) * 1000)
        assert result is not None
        closes = [_gate_closure_ms(book, limits) for _ in range(3)]
        row = {
            "feeders": feeders,
            "match_ms": round(statistics.median(samples), 1),
            "match_best_ms": round(min(samples), 1),
            "close_ms": round(statistics.median(closes), 1),
            "limits_bound": _bound(result, limits),
            "pool_wh": result.pool_wh,
            "total_wh": result.pool_wh + sum(f.local_wh for f in result.feeders),
            "curtailed_orders": len(result.curtailed),
            "samples_ms": [round(x, 2) for x in samples],
        }
        out[str(feeders)] = row
        log(
            f"  {orders:,} orders on {feeders} feeders ({row['limits_bound']} limits bound): matching "
            f"{row['match_ms']} ms (best {row['match_best_ms']}), gate-closure step {row['close_ms']} ms"
        )
    return out


if __name__ == "__main__":  # pragma: no cover - `python -m tests.bench.clearing`
    clearing_costs(print)
