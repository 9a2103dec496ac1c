"""The upgrade "market-retention" (abci_app/upgrades/market_retention.py): on a chain the previous
version ran, statements have no interval index entries; governance plans the upgrade and, at its
height, this version writes exactly those entries, after which pruning archives those statements
with the rest of their interval once it is past the retention."""

from __future__ import annotations

import struct

from abci_app.governance.upgrades import DR_RETENTION, HOUR_INDEXES, MARKET_RETENTION, RETIRED_BUNDLES_FIRST
from abci_app.market import keeper, keys
from abci_app.market.invariants import statements_indexed_by_interval
from abci_app.market.params import RETENTION
from abci_app.market.records import BUY
from abci_app.store.scan import first_time
from abci_app.upgrades import market_retention
from abci_app.upgrades.registry import RELEASED, STAGED
from clients.ops.consortium import Consortium
from tests.support.driver import AppDriver
from tests.unit.test_market import GRACE, L
from tests.unit.test_market_genesis import build_market
from tests.unit.test_upgrade_hour_indexes import migrate_index_at_plan

RETAIN = 6 * L


def test_the_upgrade_indexes_the_previous_versions_statements_and_nothing_else(consortium: Consortium) -> None:
    """Statements whose interval index entries the previous version never wrote fail
    statements_indexed_by_interval; at the governed height this version writes exactly their entries
    (and the runner its record of the upgrade) and re-lays the previous layout's settle-due record as
    gate closure now writes it, a second run changes nothing, and once their interval is past the
    retention pruning archives the statements."""
    driver = AppDriver(consortium, params={RETENTION: RETAIN, "market.correction_window_seconds": 0})
    build_market(driver, consortium)
    state = driver.app.state
    entries = [keys.statement_by_interval(i, owner) for i, owner in keeper.iter_statement_index(state)]
    assert len(entries) >= 3
    ((interval, due),) = keeper.iter_settle_records(state)  # the scenario's cleared interval
    fees: dict[int, int] = {}
    for f in keeper.iter_fills(state, interval):
        fees[f.order_id] = fees.get(f.order_id, 0) + (f.energy_wh * f.fee_per_kwh // 1000 if f.side == BUY else 0)
    old = b"".join(  # the previous version's layout: each cleared order's bytes and grid fee, packed
        struct.pack(">QQI", i, fees[i], len(raw)) + raw
        for i, raw in ((i, state.get(keys.order(i)) or b"") for i in due.order_ids)
    )
    migrate_index_at_plan(
        driver,
        consortium,
        market_retention.MIGRATION,
        entries,
        statements_indexed_by_interval,
        "statements not in the interval index",
        replaced={keys.settle_due(interval): old},
    )
    state = driver.app.state
    first = min(i for i, _o in keeper.iter_statement_index(state))
    owners = [o for i, o in keeper.iter_statement_index(state) if i == first]
    driver.block([], seconds=first + L + GRACE + RETAIN + L - driver.time)
    driver.block([])
    state = driver.app.state
    assert all(state.get(keys.statement(o, first)) is None for o in owners)
    oldest = first_time(state, keys.STATEMENTS_BY_INTERVAL)
    assert oldest is None or oldest > first


def test_the_released_upgrades_are_on_without_a_switch() -> None:
    """Released, not staged: this version runs the four migrations at their planned heights."""
    assert [m.name for m in RELEASED] == [HOUR_INDEXES, RETIRED_BUNDLES_FIRST, MARKET_RETENTION, DR_RETENTION]
    assert not {MARKET_RETENTION, DR_RETENTION} & {m.name for m in STAGED}
