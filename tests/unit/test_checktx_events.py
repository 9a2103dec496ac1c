"""CheckTx runs txs without building events (issue 16): nothing else about the outcome changes."""

from __future__ import annotations

from abci_app.executor import execute
from abci_app.store.branch import Branch
from abci_app.types import BlockInfo
from clients.ops.consortium import Consortium
from tests.support.driver import AppDriver
from tests.unit.helpers import signed, transfer


def test_without_events_the_outcome_and_writes_are_the_same(consortium: Consortium) -> None:
    """A transfer executed without events has the same code, validator updates and store writes
    as with them, and no events; with them it has its message and transfer events."""
    driver = AppDriver(consortium)
    driver.block([])
    alice, bob = consortium.member("community-a/alice"), consortium.member("community-a/bob")
    raw = signed(driver, alice, transfer(bob, 5))
    block = BlockInfo(driver.chain_id, driver.height + 1, (driver.time + 5) * 1_000_000_000)
    with_events, without = Branch(driver.app.state), Branch(driver.app.state)
    full = execute(with_events, block, raw)
    quiet = execute(without, block, raw, events=False)
    assert full.code == quiet.code == 0
    assert full.validator_updates == quiet.validator_updates
    assert with_events.writes == without.writes
    assert quiet.events == ()
    assert len(full.events) >= 2
