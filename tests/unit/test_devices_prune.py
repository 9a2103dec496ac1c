"""Bounded devices state: interval energy and hour flows older than the retention are pruned,
at most `devices.prune_per_block` records per block, oldest first; recent ones stay; nothing is pruned while
settlement or issuance still has to read it; the watermark refuses energy that old."""

from __future__ import annotations

from gridledger.grid.v1 import grid_pb2

from abci_app.devices import keeper, keys
from abci_app.devices.params import PRUNE_PER_BLOCK
from abci_app.devices.prune import retention
from abci_app.params import DOMAIN_PARAMS, domain_param
from abci_app.store.backend import prefix_end
from clients.ops.consortium import Consortium
from tests.support.driver import AppDriver
from tests.unit.test_market import L, Market

DAY = 86_400


def _market(driver: AppDriver, consortium: Consortium, *, tariffs: bool = True) -> Market:
    """The test market, a week on: its devices were registered before the days the tests read."""
    m = Market(driver, consortium)
    m.setup(tariffs=tariffs)
    m.until(m.d.time + 7 * DAY)
    return m


def _count(m: Market, prefix: bytes) -> int:
    return sum(1 for _ in m.d.app.state.iter_range(prefix, prefix_end(prefix)))


def _pruned(evs: list[tuple[str, dict[str, str]]]) -> int:
    return sum(int(a["records"]) for t, a in evs if t == "energy_pruned")


def test_the_default_batch_keeps_up_with_a_million_meters(driver: AppDriver) -> None:
    """A million meters reading every 15 minutes create 1,111 interval records a second; the
    default batch prunes more than three times that per block at a block a second (room to
    catch up after a halt), and governance cannot set it below what a small consortium needs
    nor so high that one block's pruning is unbounded."""
    batch = domain_param(driver.app.state, PRUNE_PER_BLOCK)
    assert batch == DOMAIN_PARAMS[PRUNE_PER_BLOCK].default == 5_000
    assert batch >= 3 * -(-1_000_000 * 96 // DAY)
    assert (DOMAIN_PARAMS[PRUNE_PER_BLOCK].low, DOMAIN_PARAMS[PRUNE_PER_BLOCK].high) == (100, 20_000)


def test_old_records_are_pruned_in_bounded_batches_and_recent_ones_stay(consortium: Consortium) -> None:
    """With `devices.prune_per_block` at 500, five day-long PV readings make 5 × (96 intervals
    + 24 hours) = 600 records. 36 days later a block prunes the oldest 500, the next the last
    100; a fresh reading's records stay
    (its span reaches back 36 days to the last reading's end: only the last day is recorded,
    with its share floor(36_000 / 36) = 1000 Wh: 10 Wh in each of 95 intervals, 50 in the
    last one, 41 Wh in each of 23 hours, 57 in the last)."""
    m = _market(AppDriver(consortium, params={PRUNE_PER_BLOCK: 500}), consortium)
    t0 = m.d.time - m.d.time % DAY
    m.reading(m.alice, "pv-a", 1, t0 - 6 * DAY, t0 - 5 * DAY, 0, 0)  # the baseline counts nothing
    for i in range(5):
        m.reading(m.alice, "pv-a", 1, t0 - (5 - i) * DAY, t0 - (4 - i) * DAY, 0, 96_000 * (i + 1))
    assert _count(m, keys.age_prefix()) == 600
    assert keeper.get_energy(m.d.app.state, "pv-a", t0 - 5 * DAY) is not None
    assert retention(m.d.app.state) == 35 * DAY

    now = t0 + 36 * DAY
    fresh = now - now % L
    m.until(now)
    assert _count(m, keys.age_prefix()) == 100  # that block pruned the oldest 500
    assert keeper.get_energy(m.d.app.state, "pv-a", t0 - L) is not None  # the newest old one is still there
    m.reading(m.alice, "pv-a", 1, fresh - L, fresh, 0, 480_000 + 36_000)  # its block prunes the last 100
    assert _count(m, keys.age_prefix()) == 96 + 24  # the fresh day's intervals and hours
    assert _pruned(m.until(now + 180)) == 0  # nothing left: a quiet block prunes (and writes) nothing
    state = m.d.app.state
    assert _count(m, keys.ENERGY) == 96
    assert keeper.get_energy(state, "pv-a", t0 - 5 * DAY) is None
    assert keeper.hour_flow(state, "pv-a", t0 - 5 * DAY) == keeper.HourFlow(0, 0, 0)
    assert keeper.get_energy(state, "pv-a", fresh - DAY).export_wh == 10  # type: ignore[union-attr]
    assert keeper.get_energy(state, "pv-a", fresh - L).export_wh == 50  # type: ignore[union-attr]
    assert keeper.hour_flow(state, "pv-a", fresh - 3600).export_wh == 57
    assert keeper.get_energy(state, "pv-a", fresh - DAY - L) is None  # before the recorded day
    # the watermark is the horizon (block time − 35 days) of the last block that pruned
    assert t0 < keeper.pruned_before(state) <= now + 60 - 35 * DAY


def test_unsettled_intervals_hold_pruning_back(driver: AppDriver, consortium: Consortium) -> None:
    """Without tariffs nothing settles: 40 days later nothing is pruned (every interval is
    still marked for settlement); once tariffs are published and the intervals settle, the
    next blocks prune them."""
    m = _market(driver, consortium, tariffs=False)
    t0 = m.d.time - m.d.time % DAY
    m.reading(m.alice, "pv-a", 1, t0 - 2 * DAY, t0 - DAY, 0, 0)
    m.reading(m.alice, "pv-a", 1, t0 - DAY, t0, 0, 96_000)
    assert _pruned(m.until(t0 + 40 * DAY)) == 0
    assert _count(m, keys.ENERGY) == 96
    m.ok(m.operator, grid_pb2.SetTariffs(supplier=m.supplier.address, retail_per_kwh=30))
    assert _pruned(m.until(m.d.time + 1)) == 96 + 24
    assert _count(m, keys.ENERGY) == 0


def test_energy_before_the_watermark_is_not_recorded(driver: AppDriver, consortium: Consortium) -> None:
    """After pruning, a reading of a device that was quiet for weeks lands before the
    watermark: accepted (registers move on) but no interval energy or flow is recorded."""
    m = _market(driver, consortium)
    t0 = m.d.time - m.d.time % DAY
    m.reading(m.alice, "pv-a", 1, t0 - 2 * DAY, t0 - DAY, 0, 0)
    m.reading(m.alice, "pv-a", 1, t0 - DAY, t0, 0, 1_000)
    m.until(t0 + 40 * DAY)
    m.until(t0 + 40 * DAY + 60)
    assert keeper.pruned_before(m.d.app.state) > t0
    assert _count(m, keys.ENERGY) == 0
    m.reading(m.alice, "pv-a", 1, t0, t0 + DAY, 0, 2_000)  # old, but after the last one's end
    assert _count(m, keys.ENERGY) == 0
    assert _count(m, keys.age_prefix()) == 0
    assert keeper.get_reading(m.d.app.state, "pv-a").export_wh == 2_000  # type: ignore[union-attr]
