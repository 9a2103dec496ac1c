"""The upgrade "hour-indexes" (abci_app/upgrades/hour_indexes.py): on a chain the previous version
ran, clear-sky holds and hourly-matching claims have no production-hour index entries; governance
plans the upgrade and, at its height, this version writes exactly those entries and nothing else,
after which pruning archives the records as it archives its own."""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator, Mapping

from gridledger.governance.v1 import governance_pb2
from gridledger.grid.v1 import grid_pb2
from gridwire.contract.certificates import CERTIFICATES_ARCHIVED
from gridwire.contract.governance import EXIT_UPGRADE_TOO_EARLY
from gridwire.reading import Reading

from abci_app.app import GridLedgerApp
from abci_app.certificates import keeper, keys
from abci_app.certificates.invariants import hour_indexes_complete
from abci_app.devices import keeper as devices
from abci_app.devices.prune import retention
from abci_app.governance import keys as governance_keys
from abci_app.governance import upgrades
from abci_app.governance.upgrades import HOUR_INDEXES
from abci_app.pb import abci
from abci_app.registry import check_invariants
from abci_app.store.branch import Branch
from abci_app.store.state import CommittedState
from abci_app.types import Address, BlockInfo
from abci_app.upgrades import hour_indexes
from abci_app.upgrades.migration import Migration
from abci_app.upgrades.registry import RELEASED, STAGED, migrations
from abci_app.upgrades.runner import start_refusal
from clients import devices as dc
from clients.certificates import retire
from clients.ops.consortium import Consortium
from tests.support.devices import certify
from tests.support.driver import AppDriver
from tests.unit.helpers import proposal, signed, submit, vote
from tests.unit.test_certificates_support import H0, device_key, ok, setup_devices
from tests.unit.test_certificates_support import submit as submit_readings

HOUR = 3_600
AMSTERDAM = (52_370_000, 4_900_000)  # 01:00-02:00 UTC on 1 January is night there: a clear-sky bound of 0
ORGS = ("utility", "gridop", "certissuer", "community-a")  # 4 of the 5 orgs: > 2/3


def _held_and_claimed(driver: AppDriver, consortium: Consortium) -> tuple[Address, Address]:
    """pv-1 (site-a, no location) exports 3000 Wh in hour H0, issued to alice, who retires 1 Wh of it
    for bob and 1 Wh for herself: claims (bob, H0) and (alice, H0). pv-l, on site-l in Amsterdam,
    claims 3000 Wh in the same night hour: above its clear-sky bound, all held (hold (pv-l, H0)).
    Returns (alice, bob)."""
    # tariffs: the market settles the intervals, so the devices' pruning is not held back for them
    tariffs = grid_pb2.SetTariffs(supplier=consortium.member("utility/treasury").address, retail_per_kwh=30)
    ok(driver, consortium.member("gridop/control"), tariffs)
    pv_l = dc.register_device("pv-l", "site-l", "pv", dc.device_public_key(device_key(7)), 5_000, energy_source="solar")
    site_l = dc.register_site("site-l", "feeder-1", "nl", location=AMSTERDAM)
    setup_devices(driver, consortium, extra=[site_l, certify(consortium, pv_l)], commissioned=["pv-l"])
    alice, bob = consortium.member("community-a/alice"), consortium.member("community-a/bob")
    driver.block([], seconds=4_500)
    submit_readings(
        driver, alice, 1, Reading("pv-1", 1, H0, H0 + 900, 0, 0), Reading("pv-1", 2, H0 + 900, H0 + 4_500, 0, 4_000)
    )
    night = [
        Reading("pv-l", 1, H0 - 60, H0, 0, 0),
        Reading("pv-l", 2, H0, H0 + HOUR, 0, 3_000),
        Reading("pv-l", 3, H0 + HOUR, H0 + HOUR + 60, 0, 3_000),
    ]
    submit_readings(driver, alice, 7, *night)
    driver.block([], seconds=2 * HOUR)  # past the issuance grace: every device-hour is examined
    (bundle,) = keeper.owner_hour_bundles(driver.app.state, alice.address, H0)
    hour = (H0, H0 + HOUR)
    ok(driver, alice, retire(bundle.bundle_id, 1, bob.address, hour), retire(bundle.bundle_id, 1, alice.address, hour))
    state = driver.app.state
    assert [(h.device_id, h.hour_start, h.held_wh) for h in keeper.iter_holds(state)] == [("pv-l", H0, 3_000)]
    assert sorted(keeper.iter_claims(state)) == sorted([(bob.address, H0, 1), (alice.address, H0, 1)])
    return Address(alice.address), Address(bob.address)


def _plan(driver: AppDriver, consortium: Consortium, height: int, name: str = HOUR_INDEXES) -> None:
    """Plan upgrade `name` at `height` by a proposal the admins of four orgs pass."""
    action = governance_pb2.ScheduleUpgrade(name=name, height=height, info=f"gridledger with {name}")
    result = driver.block([signed(driver, consortium.member("utility/admin"), submit("up", schedule_upgrade=action))])
    assert result.codes == (0,), result.tx_results[0].log
    (event,) = [e for e in result.tx_results[0].events if e.type == "proposal_submitted"]
    pid = int({a.key: a.value for a in event.attributes}["proposal_id"])
    for org in ORGS:
        assert driver.block([signed(driver, consortium.member(f"{org}/admin"), vote(pid))]).codes == (0,)
    assert proposal(driver, pid).status == governance_pb2.PROPOSAL_STATUS_PASSED


def _rewrite_committed(state: CommittedState, *deleted: bytes, replaced: Mapping[bytes, bytes] | None = None) -> None:
    """Commit the state again at its height with `deleted` keys removed and `replaced` keys rewritten."""
    store = Branch(state)
    for key in deleted:
        assert store.get(key) is not None, key.hex()
        store.delete(key)
    for key, value in (replaced or {}).items():
        assert store.get(key) is not None, key.hex()
        store.set(key, value)
    state.stage(store.writes)
    state.commit(state.height)


def _restart(driver: AppDriver) -> None:
    """Restart the driver's app on its committed state (this version: its released migrations)."""
    driver.app = GridLedgerApp(driver.backend)
    driver.app.private_queries = False


def _finalize(app: GridLedgerApp, height: int, time_s: int) -> None:
    """An empty block at `height`, straight through FinalizeBlock and Commit (no invariant check)."""
    fin = abci.RequestFinalizeBlock(height=height)
    fin.time.seconds = time_s
    app.finalize_block(fin)
    app.commit(abci.RequestCommit())


def _everything(state: CommittedState) -> dict[bytes, bytes]:
    return dict(state.iter_range(b"", None))


def migrate_index_at_plan(  # noqa: PLR0917 - the one flow of every index-building upgrade's test
    driver: AppDriver,
    consortium: Consortium,
    migration: Migration,
    entries: list[bytes],
    invariant: Callable[[CommittedState], str | None],
    refusal: str,
    replaced: Mapping[bytes, bytes] | None = None,
) -> None:
    """Plan `migration`'s upgrade 20 blocks on, delete the index `entries` from the state committed
    just before its height (as the previous version left it: `invariant` then says `refusal`), restart
    on this version and run the plan's block: the runner records the upgrade, the invariant holds, the
    entries are back, and running the migration again changes nothing."""
    height = driver.height + 20
    _plan(driver, consortium, height, migration.name)
    while driver.height < height - 1:
        driver.block([])
    now = {k: driver.app.state.get(k) for k in (replaced or {})}
    _rewrite_committed(driver.app.state, *entries, replaced=replaced)
    _restart(driver)
    state = driver.app.state
    assert (invariant(state) or "").startswith(refusal)
    before = _everything(state)
    assert migration.name in driver.app.migrations  # released: on in this version without a switch
    result = driver.block([])  # the driver checks every invariant after it
    assert result.height == height
    assert [e.type for e in result.response.events][:1] == ["upgrade_applied"]
    state = driver.app.state
    assert [(a.name, a.height) for a in upgrades.iter_applied(state)] == [(migration.name, height)]
    assert invariant(state) is None
    assert set(entries) <= set(_everything(state)) - set(before)
    assert {k: state.get(k) for k in now} == now
    store = Branch(state)
    block = BlockInfo(driver.chain_id, driver.height + 1, (driver.time + 1) * 1_000_000_000)
    assert migration.apply(store, block) == []
    assert all(state.get(k) == v for k, v in store.writes.items())  # a second run changes nothing


def test_the_upgrade_indexes_the_previous_versions_holds_and_claims_and_nothing_else(
    driver: AppDriver, consortium: Consortium
) -> None:
    """A hold and two claims whose index entries the previous version never wrote fail
    hour_indexes_complete; at the governed height this version writes exactly their entries (and the
    runner its record of the upgrade): the block's state differs from the same block without the
    plan by those keys alone, the invariant holds, a second run writes nothing, and once the
    devices' pruning passes their hour pruning archives all three."""
    alice, bob = _held_and_claimed(driver, consortium)
    height = driver.height + 20
    _plan(driver, consortium, height)
    while driver.height < height - 1:
        driver.block([])

    # The previous version wrote no index: its committed state at height - 1 has the holds and claims
    # and no entry for them. This chain ran this version (its test builders are this version's), so
    # the entries are deleted from the committed state here, and the app restarted on that state.
    state = driver.app.state
    hold_entries = [keys.clear_sky_hold_age(H0, "pv-l")]
    claim_entries = sorted([keys.claim_age(H0, alice), keys.claim_age(H0, bob)])
    assert [keys.clear_sky_hold_age(h, d) for h, d in keeper.iter_hold_ages(state)] == hold_entries
    assert [keys.claim_age(h, b) for h, b in keeper.iter_claim_ages(state)] == claim_entries
    _rewrite_committed(state, *hold_entries, *claim_entries)
    _restart(driver)
    state = driver.app.state
    assert list(keeper.iter_hold_ages(state)) == []
    assert list(keeper.iter_claim_ages(state)) == []
    broken = hour_indexes_complete(state)
    assert broken is not None
    assert broken.startswith(f"clear-sky holds not in the hour index: [({H0}, 'pv-l')]")
    assert [v for v in check_invariants(state) if "hour index" in v] != []
    before = _everything(state)

    # a twin of the same chain without the plan: what the block at the height writes besides the upgrade
    twin = GridLedgerApp(copy.deepcopy(driver.backend))
    _rewrite_committed(twin.state, governance_keys.upgrade_plan())

    assert HOUR_INDEXES in driver.app.migrations  # released: on in this version without a switch
    result = driver.block([])  # the driver checks every invariant after it, hour_indexes_complete included
    assert result.height == height
    assert [e.type for e in result.response.events][:1] == ["upgrade_applied"]
    state = driver.app.state
    assert [(a.name, a.height) for a in upgrades.iter_applied(state)] == [(HOUR_INDEXES, height)]
    assert upgrades.get_plan(state) is None
    assert hour_indexes_complete(state) is None
    assert list(keeper.iter_hold_ages(state)) == [(h.hour_start, h.device_id) for h in keeper.iter_holds(state)]
    assert sorted(keeper.iter_claim_ages(state)) == sorted((h, b) for b, h, _wh in keeper.iter_claims(state))
    assert sorted(keeper.iter_claim_ages(state)) == sorted([(H0, alice), (H0, bob)])

    after = _everything(state)
    new_keys = {*hold_entries, *claim_entries, governance_keys.applied_upgrade(HOUR_INDEXES)}
    assert set(before) - set(after) == {governance_keys.upgrade_plan()}
    assert set(after) - set(before) >= new_keys
    _finalize(twin, height, driver.time)
    without = _everything(twin.state)
    assert set(after) - set(without) == new_keys
    assert set(without) - set(after) == set()
    assert [k for k in without if without[k] != after[k]] == []
    assert [after[k] for k in (*hold_entries, *claim_entries)] == [b""] * 3

    again = Branch(state)
    block = BlockInfo(driver.chain_id, driver.height + 1, (driver.time + 1) * 1_000_000_000)
    assert hour_indexes.MIGRATION.apply(again, block) == []
    assert again.writes == {}

    archived = [driver.block([], seconds=retention(state) + 3 * HOUR)]
    while len(archived) < 6 and (_first(keeper.iter_hold_ages(state)) or _first(keeper.iter_claim_ages(state))):
        archived.append(driver.block([]))  # pruning is bounded per block
    state = driver.app.state
    assert devices.pruned_before(state) >= H0 + HOUR
    assert (list(keeper.iter_holds(state)), list(keeper.iter_hold_ages(state))) == ([], [])
    assert (list(keeper.iter_claims(state)), list(keeper.iter_claim_ages(state))) == ([], [])
    events = [_attributes(e) for r in archived for e in r.response.events if e.type == CERTIFICATES_ARCHIVED]
    assert (sum(int(e["holds"]) for e in events), sum(int(e["claims"]) for e in events)) == (1, 2)


def _first(rows: Iterator[tuple[int, object]]) -> tuple[int, object] | None:
    return next(rows, None)


def _attributes(event: abci.Event) -> dict[str, str]:
    return {a.key: a.value for a in event.attributes}


def test_a_chain_that_never_plans_it_never_runs_it_and_this_version_starts(
    driver: AppDriver, consortium: Consortium
) -> None:
    """A chain that began on this version (localnet, demo, CI) indexes its holds and claims as it
    writes them and never plans the upgrade: this version starts on it, runs no migration, and the
    migration would write nothing there."""
    _held_and_claimed(driver, consortium)
    state = driver.app.state
    assert hour_indexes_complete(state) is None
    assert HOUR_INDEXES in migrations()
    assert start_refusal(state, state.height, migrations()) is None
    assert list(upgrades.iter_applied(state)) == []
    store = Branch(state)
    block = BlockInfo(driver.chain_id, driver.height + 1, (driver.time + 1) * 1_000_000_000)
    assert hour_indexes.MIGRATION.apply(store, block) == []
    assert store.writes == {}


def test_this_version_waits_for_the_planned_height(driver: AppDriver, consortium: Consortium) -> None:
    """Released, not staged: on a chain that planned the upgrade further than the next block this
    version refuses to start (the previous version, which implements no upgrade, runs until then),
    and one block before the height it starts."""
    assert HOUR_INDEXES in [m.name for m in RELEASED]
    assert HOUR_INDEXES not in [m.name for m in STAGED]
    driver.block([])
    height = driver.height + 20
    _plan(driver, consortium, height)
    state = driver.app.state
    previous: dict[str, Migration] = {}
    assert start_refusal(state, state.height, previous) is None
    early = start_refusal(state, state.height, migrations())
    assert early is not None
    assert early.exit_code == EXIT_UPGRADE_TOO_EARLY
    while driver.height < height - 1:
        driver.block([])
    assert start_refusal(state, state.height, migrations()) is None
