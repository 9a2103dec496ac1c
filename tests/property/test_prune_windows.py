"""Property: pruning never removes what settlement, demand response or certificate issuance
still reads within their windows, for any governed parameters, block time and pending marks.

Records are laid at every time a reader may still need (and a few older ones); after the
pruning hook has run (as often as it takes), every needed record is still there and the
old ones beyond every window are gone."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from abci_app.certificates.params import GRACE, PERIOD
from abci_app.devices import keeper, keys, prune
from abci_app.devices.params import ENERGY_RETENTION, SETTLEMENT_INTERVAL
from abci_app.grid.params import BASELINE_DAYS, BASELINE_PERIOD, DR_GRACE, MAX_DR_SECONDS
from abci_app.market.params import SETTLEMENT_GRACE
from abci_app.params import set_domain_param
from abci_app.store.backend import MemoryBackend
from abci_app.store.branch import Branch
from abci_app.types import BlockInfo

DAY = 86_400
params = st.fixed_dictionaries(
    {
        SETTLEMENT_INTERVAL: st.sampled_from([10, 60, 300, 900, 3_600]),
        ENERGY_RETENTION: st.integers(3_600, 60 * DAY),
        SETTLEMENT_GRACE: st.integers(0, 7 * DAY),
        DR_GRACE: st.integers(0, 7 * DAY),
        BASELINE_DAYS: st.integers(1, 30),
        BASELINE_PERIOD: st.integers(10, 7 * DAY),
        GRACE: st.integers(0, 30 * DAY),
        PERIOD: st.sampled_from([60, 900, 3_600]),
    }
)


def _align(t: int, n: int) -> int:
    return t - t % n


@settings(max_examples=150, deadline=None)
@given(
    p=params,
    now=st.integers(1_700_000_000, 1_800_000_000),
    held_back=st.lists(st.integers(0, 90 * DAY), max_size=3),
    pending_back=st.lists(st.integers(0, 90 * DAY), max_size=3),
)
def test_pruning_keeps_what_readers_still_need(
    p: dict[str, int], now: int, held_back: list[int], pending_back: list[int]
) -> None:
    store = Branch(MemoryBackend())
    for name, value in p.items():
        set_domain_param(store, name, value, genesis=True)  # any legal value, down to the genesis floor
    length, hour = p[SETTLEMENT_INTERVAL], p[PERIOD]
    # The oldest record each reader may still read at `now`:
    unsettled = _align(now - length - p[SETTLEMENT_GRACE], length) + length  # first interval not yet due
    dr_oldest = now - p[DR_GRACE] - MAX_DR_SECONDS - p[BASELINE_DAYS] * p[BASELINE_PERIOD]
    unissued = _align(now - hour - p[GRACE], hour) + hour  # first hour not yet past the issuance grace
    marked = [_align(now - b, length) for b in held_back]  # intervals still awaiting settlement
    pending = [_align(now - b, hour) for b in pending_back]  # device-hours still awaiting issuance
    needed = {
        ("e", _align(unsettled, length)),
        ("e", _align(dr_oldest, length) + length),
        ("f", unissued),
        *(("e", t) for t in marked),
        *(("f", t) for t in pending),
    }
    for t in marked:
        keeper.add_energy(store, "m", t, 1, 0, site_id="s")
    for t in pending:
        keeper.add_hour_flow(store, "p", t, keeper.HourFlow(1, 0, 0))
    for kind, t in needed:
        if kind == "e":
            keeper.add_energy(store, "d", t, 1, 0)
        else:
            keeper.add_hour_flow(store, "d", t, keeper.HourFlow(1, 0, 0))
    ancient = min(now - 200 * DAY, now - prune.retention(store) - DAY)  # older than every window
    keeper.add_energy(store, "old", _align(ancient, length), 1, 0)
    keeper.add_hour_flow(store, "old", _align(ancient, hour), keeper.HourFlow(1, 0, 0))
    keeper.clear_pending(store, _align(ancient, hour), "old")  # issued long ago
    for kind, t in needed:  # a record still needed is never before the horizon
        assert t >= prune.horizon(store, now), (kind, t)

    block = BlockInfo("c", 1, now * 1_000_000_000)
    while prune.end_block(store, block):
        pass
    for kind, t in needed:
        if kind == "e":
            assert keeper.get_energy(store, "d", t) is not None, ("energy", t)
        else:
            assert keeper.hour_flow(store, "d", t).export_wh == 1, ("flow", t)
    if not marked and not pending:
        assert keeper.get_energy(store, "old", _align(ancient, length)) is None
        assert store.get(keys.hour_flow("old", _align(ancient, hour))) is None
