"""The market's rules' pass, in process: standing rules placing their orders for the upcoming
interval, at most `market.rules_per_block` a block (abci_app/market/placement.py).

A utility's members hold a rule each, a million of them; before the budget every rule placed
its order in the block where the interval's gate opened. Here the bench's prosumers (energy.py
`_market_setup`: each funded, with a site and a PV on every feeder) hold the most rules a
member may (32 buy rules each, on their sites), with a budget of `per_block` rules a block, so
the pass runs over several blocks through the real app (AppDriver, every invariant after each
block). The market's end-block hook is timed in each block of the pass (CPU time), and in five
blocks after it, whose median (the hook's work without a pass) is taken off each block of the
pass for the CPU per rule met; the part reports that, the worst block, and from them what a
block at the default budget and a million rules in one block, as before the budget, cost.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable
from typing import Any

from abci_app.market import keeper
from abci_app.market.handlers import MAX_RULES_PER_MEMBER
from abci_app.market.params import RULES_PER_BLOCK, next_open_interval
from abci_app.params import DOMAIN_PARAMS
from clients import market as mc
from clients.ops.consortium import Consortium
from tests.bench.energy import FEEDERS, GATE, LENGTH, _market_setup, _ok, _site, timed_hooks
from tests.support.driver import AppDriver
from tests.unit.helpers import signed

__all__ = ["rules_pass_costs"]


def rules_pass_costs(consortium: Consortium, log: Callable[[str], None], *, per_block: int = 32) -> dict[str, Any]:
    """Every prosumer's 32 buy rules placing their orders for one interval, at most `per_block`
    a block (see the module doc)."""
    driver = AppDriver(consortium, params={RULES_PER_BLOCK: per_block})
    members = _market_setup(driver, consortium)
    txs = [
        signed(
            driver,
            member,
            *[
                mc.rule("buy", site_id=_site(ref, i % FEEDERS + 1), limit_price=30, max_wh_per_interval=500 + i)
                for i in range(MAX_RULES_PER_MEMBER)
            ],
        )
        for ref, member in members.items()
    ]
    _ok(driver, txs, "setting the rules")
    rules = MAX_RULES_PER_MEMBER * len(members)
    interval = next_open_interval(driver.time + 1, LENGTH, GATE) + LENGTH  # its rules' turn is ahead
    with timed_hooks() as timer:
        driver.block([], seconds=interval - GATE - LENGTH - driver.time)  # the pass starts
        while keeper.get_rules_in_placement(driver.app.state) is not None and driver.time < interval - GATE - 1:
            driver.block([], seconds=1)
    with timed_hooks() as idle:  # the hook's own work in a block without a pass, taken off per block
        for _ in range(5):
            driver.block([], seconds=1)
    placed = sum(1 for o in keeper.iter_orders(driver.app.state) if o.interval_start == interval)
    if placed != rules:
        raise RuntimeError(f"rules' pass bench: {placed} of {rules} rules placed their orders; the bench is broken")
    blocks = timer.calls["market.end_block"]
    baseline = statistics.median(idle.calls["market.end_block"])
    default = DOMAIN_PARAMS[RULES_PER_BLOCK].default
    us_per_rule = max(0.0, sum(blocks) - baseline * len(blocks)) * 1e6 / rules
    out = {
        "rules": rules,
        "per_block": per_block,
        "blocks": len(blocks),
        "us_per_rule": round(us_per_rule, 1),
        "worst_block_ms": round(max(blocks) * 1000, 1),
        "idle_block_ms": round(baseline * 1000, 2),
        "default_per_block": default,
        "default_block_ms": round(us_per_rule * default / 1000, 1),
        "million_rules_blocks": -(-1_000_000 // default),
        "million_rules_one_block_s": round(us_per_rule, 1),  # µs per rule × 10^6 rules = s
    }
    log(
        f"  rules' pass: {rules} buy rules placed over {out['blocks']} blocks of at most {per_block}, "
        f"{out['us_per_rule']} µs per rule, worst block {out['worst_block_ms']} ms (a block at the default "
        f"{default:,}: about {out['default_block_ms']} ms; a million rules: {out['million_rules_blocks']} blocks; "
        f"in one block, as before, about {out['million_rules_one_block_s']} s)"
    )
    return out
