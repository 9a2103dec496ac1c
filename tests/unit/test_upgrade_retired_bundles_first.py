"""The upgrade "retired-bundles-first" (abci_app/upgrades/retired_bundles_first.py): on a chain the
previous version ran, retirements have no owner index entries; governance plans the upgrade and, at
its height, this version writes exactly those entries, after which `/retirements/owner/<address>`
lists them and retired bundles leave a day after their retirement."""

from __future__ import annotations

from gridledger.certificates.v1 import certificates_pb2 as pb

from abci_app.certificates import keeper, keys
from abci_app.certificates.invariants import retirements_indexed_by_owner
from abci_app.certificates.records import RETIRED
from abci_app.upgrades import retired_bundles_first
from clients.certificates import retire
from clients.ops.consortium import Consortium
from tests.support.driver import AppDriver
from tests.unit.test_certificates import pv_day_start
from tests.unit.test_certificates_support import H0, ok
from tests.unit.test_upgrade_hour_indexes import migrate_index_at_plan

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
    entries = [keys.retirement_by_owner(alice.address, H0, rid) for rid in (1, 2)]
    migrate_index_at_plan(
        driver,
        consortium,
        retired_bundles_first.MIGRATION,
        entries,
        retirements_indexed_by_owner,
        "retirements not in the owner index",
    )
    listed = pb.RetirementList.FromString(driver.query(f"/retirements/owner/{alice.address.hex()}").value)
    assert [(r.retirement_id, r.wh) for r in listed.retirements] == [(1, 1), (2, 2)]

    driver.block([], seconds=DAY + 60)
    state = driver.app.state
    assert not [b for b in keeper.iter_bundles(state) if b.status == RETIRED]
    listed = pb.RetirementList.FromString(driver.query(f"/retirements/owner/{alice.address.hex()}/{H0}").value)
    assert [r.retirement_id for r in listed.retirements] == [1, 2]
