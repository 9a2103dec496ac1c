"""Clearing 10,000 orders in one interval: the engine alone and the whole gate-closure step
(read the book, clear, write fills, orders, refunds and the result) as the end-block hook runs
it. Prints the times (the design's target is ≤ 20 ms for the clearing); asserts only what the
clearing decided, never a time."""

from __future__ import annotations

import random
import time

import abci_app.registry  # noqa: F401 - publishes the domains' parameters
from abci_app.accounts import keeper as accounts
from abci_app.market import keeper
from abci_app.market.clearing import BUY, SELL, BookEntry, clear
from abci_app.market.close import close_interval
from abci_app.market.orders import max_cost
from abci_app.market.records import OPEN, ClearingResult, Order, OrderId
from abci_app.store.backend import MemoryBackend
from abci_app.store.branch import Branch
from abci_app.types import Address, BlockInfo

N = 10_000
INTERVAL = 1_767_225_600 + 3_600


def book(n: int, seed: int = 7) -> list[BookEntry]:
    """n orders, half bids, on 8 feeders, prices 5..40 per kWh, 0.1..5 kWh."""
    r = random.Random(seed)
    return [
        BookEntry(
            i,
            BUY if r.random() < 0.5 else SELL,
            r.randint(5, 40),
            r.randint(100, 5_000),
            f"feeder-{r.randint(1, 8)}",
            r.random() < 0.5,
        )
        for i in range(1, n + 1)
    ]


def bench_engine(n: int = N, rounds: int = 5) -> tuple[float, int]:
    """Best-of-`rounds` milliseconds of `clear` on an n-order book, and the Wh it cleared."""
    entries = book(n)
    best, volume = float("inf"), 0
    for _ in range(rounds):
        t = time.perf_counter()
        out = clear(entries, 1, 3, {"feeder-1": (2_000, 2_000)}, community=True)
        best = min(best, (time.perf_counter() - t) * 1000)
        volume = out.pool_wh + sum(f.local_wh for f in out.feeders)
    return best, volume


def bench_gate_closure(n: int = N) -> tuple[float, ClearingResult]:
    """Milliseconds of `close_interval` over n stored open orders (the end-block hook's work)."""
    store = Branch(MemoryBackend())
    owners = [Address(bytes([k]) * 20) for k in range(1, 41)]
    escrow = 0
    for e in book(n):
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
            device_id="" if e.side == BUY else f"dev-{e.order_id}",
            escrow=max_cost(e.energy, e.limit) if e.side == BUY else 0,
        )
        escrow += order.escrow
        keeper.put_order(store, order, new=True)
    accounts.add(store, keeper.ESCROW_ADDRESS, escrow)
    block = BlockInfo("bench", 10, (INTERVAL - 300) * 1_000_000_000)
    hook = store.branch()
    t = time.perf_counter()
    close_interval(hook, block, INTERVAL)
    ms = (time.perf_counter() - t) * 1000
    result = keeper.get_clearing(hook, INTERVAL)
    assert result is not None
    return ms, result


def test_clearing_10k_orders_timed() -> None:
    """Prints the engine's and the gate-closure step's times for 10,000 orders."""
    engine_ms, volume = bench_engine()
    hook_ms, result = bench_gate_closure()
    print(f"\nmarket clearing, {N} orders: engine {engine_ms:.1f} ms, gate-closure step {hook_ms:.1f} ms")
    assert volume > 0
    assert result.buy_orders + result.sell_orders == N
    assert result.total_wh > 0
