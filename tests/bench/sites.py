"""The end-block work a utility's meters make each interval, in process: settling metered sites
outside the market (retail and feed-in at the tariffs) and scoring their forecasts.

A utility's interval holds every metered site's energy: a million sites every 15 minutes.
The market's end-block hook settles at most `market.settle_sites_per_block` of them a block
(settlement.py); this part builds `sites` sites with a meter and energy in one interval (the
state written through the keepers, not by txs), runs the hook block after block from the
settlement deadline until the interval is done, and reports the CPU per site and the worst
block (the hook's own work; the trie re-hashes the block's writes afterwards, which this
leaves out). Before the budget, one block settled the whole interval. Each meter also posted a
forecast for the interval, and the forecasts' hook scores them at most
`forecasts.score_per_block` a block (before: every device of the interval in one block).

Then the market state those sites left: the bytes of the interval's statements (one per site,
with its interval index entry) in live state, and, once the interval is past the market's
retention, the hook's pruning archiving them block after block (at most
`market.prune_per_block` rows a block) and what stays (the commitments): a million metered sites
at 15 minutes for the 90-day retention, and what a year would have kept before pruning.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import abci_app.registry  # noqa: F401 - publishes the domains' parameters
from abci_app.accounts import keeper as accounts
from abci_app.devices import keeper as devices
from abci_app.devices.records import Device, DeviceId, Site, SiteId
from abci_app.forecasts import keeper as forecasts
from abci_app.forecasts import scoring
from abci_app.forecasts.params import ERROR_GRACE, SCORE_PER_BLOCK
from abci_app.forecasts.records import Forecast
from abci_app.grid import keeper as grid
from abci_app.grid.records import Tariffs
from abci_app.market import hooks
from abci_app.market.params import PARAMS as MARKET_PARAMS
from abci_app.market.params import (
    PRUNE_PER_BLOCK,
    RETENTION,
    SETTLE_SITES,
    correction_window,
    interval_length,
    settlement_grace,
)
from abci_app.params import domain_param, set_domain_param
from abci_app.store.backend import MemoryBackend
from abci_app.store.branch import Branch
from abci_app.types import Address, BlockInfo

__all__ = ["site_settlement_costs"]

METER = 1  # gridledger.devices.v1.DeviceKind METER
INTERVAL = 1_767_225_600 + 86_400
CLOCK = time.process_time


def _sites(store: Branch, n: int) -> None:
    supplier, operator = Address(b"\x01" * 20), Address(b"\x02" * 20)
    grid.put_tariffs(store, Tariffs(supplier, operator, 30, 5, 40, 2, 0))
    accounts.add(store, supplier, 10**15)
    for i in range(n):
        owner = Address((i + 16).to_bytes(20, "big"))
        accounts.add(store, owner, 10**9)
        site = SiteId(f"site-{i:07d}")
        devices.put_site(store, Site(site, owner, "feeder-1", "nl-north", 0))
        meter = DeviceId(f"meter-{i:07d}")
        devices.put_device(
            store,
            Device(
                meter,
                site,
                owner,
                METER,
                bytes(32),
                20_000,
                "",
                "",
                0,
                "NL",
                "nl-north",
                "feeder-1",
                b"",
                None,
                False,
                0,
            ),
        )
        # importers pay retail, every third site exports (feed-in)
        devices.add_energy(store, meter, INTERVAL, 300 + i % 7, 200 if i % 3 == 0 else 0, site, pruned_before=0)
        forecasts.put_forecast(store, Forecast(meter, INTERVAL, 0, 310, INTERVAL - 3_600, owner))
    forecasts.set_misc(store, scoring.CURSOR, INTERVAL)  # the scorer's cursor: this interval is next


def _scoring(store: Branch, n: int) -> dict[str, Any]:
    """Score the interval's forecasts block after block (after its error grace)."""
    cap = domain_param(store, SCORE_PER_BLOCK)
    t = INTERVAL + 900 + domain_param(store, ERROR_GRACE)
    blocks: list[float] = []
    scored = 0
    while (forecasts.get_misc(store, scoring.CURSOR) or 0) <= INTERVAL and len(blocks) <= n // cap + 5:
        started = CLOCK()
        evs = scoring.end_block(store, BlockInfo("bench", 1_000 + len(blocks), (t + 5 * len(blocks)) * 1_000_000_000))
        blocks.append(CLOCK() - started)
        scored += sum(int(dict(e.attributes)["devices"]) for e in evs if e.type == "forecast_scored")
    if scored != n:
        raise RuntimeError(f"forecast scoring bench: {scored} of {n} devices scored")
    return {
        "score_per_block": cap,
        "score_blocks": len(blocks),
        "score_us_per_device": round(sum(blocks) * 1e6 / n, 1),
        "score_worst_block_ms": round(max(blocks) * 1000, 1),
    }


MARKET_KEYS = (b"\x40", b"\x50")  # every market key (prefixes 0x40-0x4F)
MILLION = 1_000_000


def _market_bytes(store: Branch) -> int:
    return sum(len(k) + len(v) for k, v in store.iter_range(*MARKET_KEYS))


def _pruning(store: Branch, sites: int, per_block: int | None) -> dict[str, Any]:
    """The interval's market state, then its pruning once past the retention, block after block."""
    if per_block is not None:
        set_domain_param(store, PRUNE_PER_BLOCK, per_block, genesis=True)
    cap = domain_param(store, PRUNE_PER_BLOCK)
    live = _market_bytes(store)
    length = interval_length(store)
    days = domain_param(store, RETENTION) / 86_400
    due = INTERVAL + length + settlement_grace(store) + correction_window(store) + domain_param(store, RETENTION)
    blocks: list[float] = []
    while len(blocks) <= 2 * sites // cap + 5:
        block = BlockInfo("bench", 10_000 + len(blocks), (due + 5 * len(blocks)) * 1_000_000_000)
        started = CLOCK()
        archived = [e for e in hooks.end_block(store, block) if e.type == "market_archived"]
        blocks.append(CLOCK() - started)
        if not archived and len(blocks) > 1:
            break
    left = _market_bytes(store)
    if next(iter(store.iter_range(b"\x4a", b"\x4b")), None) is not None:
        raise RuntimeError("market pruning bench: statements were left in live state")
    per_site = (live - left) / sites
    intervals_a_day = 86_400 / length
    return {
        "market_prune_per_block": cap,
        "market_prune_default_per_block": MARKET_PARAMS[PRUNE_PER_BLOCK].default,
        "market_bytes_per_site_interval": round(per_site, 1),
        "market_bytes_left": left,
        "market_prune_blocks": len(blocks) - 1,
        "market_prune_us_per_site": round(sum(blocks) * 1e6 / sites, 1),
        "market_prune_worst_block_ms": round(max(blocks) * 1000, 1),
        "market_retention_days": days,
        "million_sites_market_tb": round(MILLION * per_site * intervals_a_day * days / 1e12, 2),
        "million_sites_market_tb_year_unpruned": round(MILLION * per_site * intervals_a_day * 365 / 1e12, 2),
        # rows a million sites' statements make due per second (one row per statement), against the cap
        "million_sites_market_rows_per_s": round(MILLION / length, 0),
    }


def site_settlement_costs(
    sites: int, log: Callable[[str], None], *, per_block: int | None = None, score_per_block: int | None = None
) -> dict[str, Any]:
    """`sites` metered sites with energy in one interval settled by the market's hook, block
    after block (at most `per_block` a block: the governed default unless given), then their
    forecasts scored (at most `score_per_block` a block, likewise)."""
    store = Branch(MemoryBackend())
    if per_block is not None:
        set_domain_param(store, SETTLE_SITES, per_block, genesis=True)
    if score_per_block is not None:
        set_domain_param(store, SCORE_PER_BLOCK, score_per_block, genesis=True)
    _sites(store, sites)
    cap = domain_param(store, SETTLE_SITES)
    t = INTERVAL + 900 + 900  # end + settlement grace
    blocks: list[float] = []
    while True:
        block = BlockInfo("bench", 100 + len(blocks), (t + 5 * len(blocks)) * 1_000_000_000)
        started = CLOCK()
        hooks.end_block(store, block)
        blocks.append(CLOCK() - started)
        settled = sites - sum(1 for _ in devices.iter_energy_sites(store, INTERVAL))
        if settled == sites or len(blocks) > sites // max(1, cap) + 5:
            break
    if settled != sites:
        raise RuntimeError(f"site settlement bench: {settled} of {sites} sites settled")
    scored = _scoring(store, sites)
    pruned = _pruning(store, sites, per_block)
    out = {
        **scored,
        **pruned,
        "sites": sites,
        "per_block": cap,
        "blocks": len(blocks),
        "us_per_site": round(sum(blocks) * 1e6 / sites, 1),
        "worst_block_ms": round(max(blocks) * 1000, 1),
        "million_sites_blocks": -(-1_000_000 // cap),
        "million_sites_one_block_s": round(sum(blocks) / sites * 1_000_000, 1),
    }
    log(
        f"  {sites:,} metered sites settled outside the market: {out['blocks']} blocks of at most {cap:,}, "
        f"{out['us_per_site']} µs per site, worst block {out['worst_block_ms']} ms (a million sites: "
        f"{out['million_sites_blocks']} blocks; in one block, as before, about {out['million_sites_one_block_s']} s)"
    )
    log(
        f"  their forecasts scored: {out['score_blocks']} blocks of at most {out['score_per_block']:,}, "
        f"{out['score_us_per_device']} µs per device, worst block {out['score_worst_block_ms']} ms"
    )
    log(
        f"  their market state: {out['market_bytes_per_site_interval']} bytes per site-interval; past the retention "
        f"archived in {out['market_prune_blocks']} blocks of at most {out['market_prune_per_block']:,} rows, "
        f"{out['market_prune_us_per_site']} µs per site, worst block {out['market_prune_worst_block_ms']} ms, "
        f"{out['market_bytes_left']} bytes left; a million sites: {out['million_sites_market_tb']} TB at the "
        f"{out['market_retention_days']:g}-day retention (kept for ever: {out['million_sites_market_tb_year_unpruned']}"
        " TB a year)"
    )
    return out
