"""The upgrade "retired-bundles-first" (abci_app/upgrades/retired_bundles_first.py): on a chain the
previous version ran, retirements have no owner index entries; governance plans the upgrade and, at
its height, this version writes exactly those entries, after which `/retirements/owner/<address>`
lists them and retired bundles leave a day after their retirement."""

from __future__ import annotations

from gridledger.certificates.v1 import certificates_pb2 as pb

from abci_app.certificates import keeper, keys
from abci_app.certificates.invariants import retirements_indexed_by_owner
from abci_app.certificates.records import RETIRED
from abci_app.governance import upgrades
from abci_app.governance.upgrades import HOUR_INDEXES, RETIRED_BUNDLES_FIRST
from abci_app.store.branch import Branch
from abci_app.types import BlockInfo
from abci_app.upgrades import retired_bundles_first
from abci_app.upgrades.registry import RELEASED, STAGED
from clients.certificates import retire
from clients.ops.consortium import Consortium
from tests.support.driver import AppDriver
from tests.unit.test_certificates import pv_day_start
from tests.unit.test_certificates_support import H0, ok
from tests.unit.test_upgrade_hour_indexes import _everything, _plan, _restart, _rewrite_committed

DAY = 86_400


def test_the_upgrade_indexes_the_previous_versions_retirements_and_nothing_else(
    driver: AppDriver, consortium: Consortium
) -> None:
    """Two retirements whose owner index entries the previous version never wrote fail
    retirements_indexed_by_owner; at the governed height this version writes exactly their entries
    (and the runner its record of the upgrade), the owner's retirements are listed, a second run
    changes nothing, and a day later the retired bundles leave while the retirements stay listed."""
    pv_day_start(driver, consortium)
    alice, bob = consortium.member("community-a/alice"), consortium.member("community-a/bob")
    (bundle,) = keeper.owner_hour_bundles(driver.app.state, alice.address, H0)
    hour = (H0, H0 + 3600)
    ok(driver, alice, retire(bundle.bundle_id, 1, bob.address, hour), retire(bundle.bundle_id, 2, bob.address, hour))
    height = driver.height + 20
    _plan(driver, consortium, height, RETIRED_BUNDLES_FIRST)
    while driver.height < height - 1:
        driver.block([])

    state = driver.app.state
    entries = [keys.retirement_by_owner(alice.address, H0, rid) for rid in (1, 2)]
    _rewrite_committed(state, *entries)  # as the previous version left it
    _restart(driver)
    state = driver.app.state
    assert list(keeper.iter_owner_retirement_ids(state)) == []
    assert (retirements_indexed_by_owner(state) or "").startswith("retirements not in the owner index")
    before = _everything(state)

    assert RETIRED_BUNDLES_FIRST in driver.app.migrations  # released: on in this version without a switch
    result = driver.block([])  # the driver checks every invariant after it
    assert result.height == height
    assert [e.type for e in result.response.events][:1] == ["upgrade_applied"]
    state = driver.app.state
    assert [(a.name, a.height) for a in upgrades.iter_applied(state)] == [(RETIRED_BUNDLES_FIRST, height)]
    assert retirements_indexed_by_owner(state) is None
    after = _everything(state)
    assert set(entries) <= set(after) - set(before)
    listed = pb.RetirementList.FromString(driver.query(f"/retirements/owner/{alice.address.hex()}").value)
    assert [(r.retirement_id, r.wh) for r in listed.retirements] == [(1, 1), (2, 2)]

    store = Branch(state)
    block = BlockInfo(driver.chain_id, driver.height + 1, (driver.time + 1) * 1_000_000_000)
    assert retired_bundles_first.MIGRATION.apply(store, block) == []
    assert all(state.get(k) == v for k, v in store.writes.items())  # a second run changes nothing

    driver.block([], seconds=DAY + 60)
    state = driver.app.state
    assert not [b for b in keeper.iter_bundles(state) if b.status == RETIRED]
    listed = pb.RetirementList.FromString(driver.query(f"/retirements/owner/{alice.address.hex()}/{H0}").value)
    assert [r.retirement_id for r in listed.retirements] == [1, 2]


def test_both_released_upgrades_are_on_without_a_switch() -> None:
    """Released, not staged: this version runs both migrations at their planned heights."""
    assert [m.name for m in RELEASED] == [HOUR_INDEXES, RETIRED_BUNDLES_FIRST]
    assert RETIRED_BUNDLES_FIRST not in [m.name for m in STAGED]
