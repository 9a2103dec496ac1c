"""Governed upgrades: a passed proposal plans an upgrade at a height; there an app without its
migration stops having committed nothing of the height, and the new version migrates exactly once."""

from __future__ import annotations

import json
from collections.abc import Sequence

import pytest
from gridledger.governance.v1 import governance_pb2
from gridwire.contract.governance import EXIT_UPGRADE_NEEDED, EXIT_UPGRADE_TOO_EARLY, Paths

from abci_app.app import GridLedgerApp, RequestRefusedError
from abci_app.domain import GenesisError
from abci_app.errors import Code
from abci_app.genesis import apply_genesis
from abci_app.governance.domain import DOMAIN as GOVERNANCE
from abci_app.governance.errors import GovernanceCode
from abci_app.governance.upgrades import PROPOSAL_KINDS
from abci_app.pb import abci
from abci_app.store.backend import MemoryBackend
from abci_app.store.branch import Branch
from abci_app.types import BlockInfo, Event
from abci_app.upgrades.migration import Migration
from abci_app.upgrades.registry import migrations
from abci_app.upgrades.runner import UpgradeNeeded, start_refusal
from clients.ops.consortium import Consortium
from tests.support.driver import GENESIS_TIME, AppDriver, BlockResult
from tests.support.genesis_roundtrip import differences, export_and_import
from tests.unit.helpers import proposal, signed, submit, vote

ORGS = ("utility", "gridop", "certissuer", "community-a")  # 4 of the 5 orgs: > 2/3


def _run(driver: AppDriver, consortium: Consortium, ref: str, *msgs: object) -> BlockResult:
    return driver.block([signed(driver, consortium.member(ref), *msgs)], check=False)  # type: ignore[arg-type]


def _propose(driver: AppDriver, consortium: Consortium, by: str = "utility", **action: object) -> BlockResult:
    return _run(driver, consortium, f"{by}/admin", submit("upgrade", **action))


def _pid(result: BlockResult) -> int:
    assert result.codes == (0,), result.tx_results[0].log
    (event,) = [e for e in result.tx_results[0].events if e.type == "proposal_submitted"]
    return int({a.key: a.value for a in event.attributes}["proposal_id"])


def _pass(driver: AppDriver, consortium: Consortium, pid: int) -> None:
    for org in ORGS:
        assert _run(driver, consortium, f"{org}/admin", vote(pid)).codes == (0,)
    assert proposal(driver, pid).status == governance_pb2.PROPOSAL_STATUS_PASSED, proposal(driver, pid).result


def _schedule(driver: AppDriver, consortium: Consortium, height: int, name: str = PROPOSAL_KINDS) -> int:
    """Plan upgrade `name` at `height` by a passed proposal; its id."""
    plan = governance_pb2.ScheduleUpgrade(name=name, height=height, info="release 0.2.0")
    pid = _pid(_propose(driver, consortium, schedule_upgrade=plan))
    _pass(driver, consortium, pid)
    return pid


def _plan(driver: AppDriver) -> governance_pb2.UpgradePlan | None:
    r = driver.query(Paths.UPGRADE_PLAN())
    if r.code == Code.QUERY_NOT_FOUND:
        return None
    assert r.code == 0, r.log
    return governance_pb2.UpgradePlan.FromString(r.value)


def _applied(driver: AppDriver) -> list[tuple[str, int]]:
    r = driver.query(Paths.APPLIED_UPGRADES())
    assert r.code == 0, r.log
    return [(u.name, u.height) for u in governance_pb2.AppliedUpgradeList.FromString(r.value).upgrades]


def _upgrade_to_new_version(driver: AppDriver, enabled: Sequence[str] = (PROPOSAL_KINDS,)) -> None:
    """Restart the driver's app on its committed state as the version implementing `enabled`."""
    app = GridLedgerApp(driver.backend)
    app.migrations = migrations(enabled)
    driver.app = app


def _blocks_until(driver: AppDriver, height: int) -> None:
    while driver.height < height:
        driver.block([])


def test_a_passed_proposal_plans_the_upgrade(driver: AppDriver, consortium: Consortium) -> None:
    """ScheduleUpgrade passes by the usual vote and the plan is in state, queryable with its proposal id."""
    driver.block([])
    height = driver.height + 50
    pid = _schedule(driver, consortium, height)
    plan = _plan(driver)
    assert plan is not None
    assert (plan.name, plan.height, plan.info, plan.proposal_id) == (PROPOSAL_KINDS, height, "release 0.2.0", pid)
    assert proposal(driver, pid).result == "executed"


def test_cancel_removes_the_plan_and_the_height_passes_quietly(driver: AppDriver, consortium: Consortium) -> None:
    """A passed CancelUpgrade removes the plan: the old app then runs through the planned height."""
    driver.block([])
    height = driver.height + 30
    _schedule(driver, consortium, height)
    cancel = governance_pb2.CancelUpgrade(name=PROPOSAL_KINDS)
    _pass(driver, consortium, _pid(_propose(driver, consortium, cancel_upgrade=cancel)))
    assert _plan(driver) is None
    _blocks_until(driver, height + 1)
    assert _applied(driver) == []
    wrong = _propose(driver, consortium, cancel_upgrade=cancel)
    assert wrong.codes == (GovernanceCode.UNKNOWN_UPGRADE_PLAN,)


def test_heights_and_names_are_checked(driver: AppDriver, consortium: Consortium) -> None:
    """A height not above the current one, or beyond the governed delay, a second plan, an unknown
    cancel and a bad name are each refused with their own code."""
    driver.block([])

    def plan(height: int, name: str = PROPOSAL_KINDS) -> int:
        action = governance_pb2.ScheduleUpgrade(name=name, height=height)
        return _propose(driver, consortium, schedule_upgrade=action).codes[0]

    assert plan(driver.height + 1) == GovernanceCode.UPGRADE_HEIGHT_INVALID  # the block that runs the tx
    assert plan(1) == GovernanceCode.UPGRADE_HEIGHT_INVALID
    assert plan(driver.height + 1 + 1_000_001) == GovernanceCode.UPGRADE_HEIGHT_INVALID
    assert plan(driver.height + 10, name="Bad Name") == Code.INVALID_ARGUMENT
    cancel = governance_pb2.CancelUpgrade(name="nothing-planned")
    assert _propose(driver, consortium, cancel_upgrade=cancel).codes == (GovernanceCode.UNKNOWN_UPGRADE_PLAN,)
    _schedule(driver, consortium, driver.height + 40)
    assert plan(driver.height + 50, name="another") == GovernanceCode.UPGRADE_PLAN_PENDING


def test_a_plan_whose_height_passes_during_the_vote_fails(driver: AppDriver, consortium: Consortium) -> None:
    """The height is checked again when the proposal passes: reached by then, it FAILS and nothing is planned."""
    driver.block([])
    action = governance_pb2.ScheduleUpgrade(name=PROPOSAL_KINDS, height=driver.height + 3)
    pid = _pid(_propose(driver, consortium, schedule_upgrade=action))
    for org in ORGS:
        _run(driver, consortium, f"{org}/admin", vote(pid))
    p = proposal(driver, pid)
    assert p.status == governance_pb2.PROPOSAL_STATUS_FAILED
    assert "must be above the current height" in p.result
    assert _plan(driver) is None


def test_only_admins_can_propose_an_upgrade(driver: AppDriver, consortium: Consortium) -> None:
    """A prosumer's ScheduleUpgrade is UNAUTHORIZED, in the mempool and forced into a block alike."""
    driver.block([])
    action = governance_pb2.ScheduleUpgrade(name=PROPOSAL_KINDS, height=driver.height + 20)
    raw = signed(driver, consortium.member("community-a/alice"), submit("mine", schedule_upgrade=action))
    result = driver.block([raw], check=True)
    assert result.check_codes == (Code.UNAUTHORIZED,)
    forced = _run(driver, consortium, "community-a/alice", submit("mine", schedule_upgrade=action))
    assert forced.codes == (Code.UNAUTHORIZED,)
    assert _plan(driver) is None


def test_the_old_app_stops_before_the_height_and_commits_nothing(driver: AppDriver, consortium: Consortium) -> None:
    """Without the migration, FinalizeBlock at the plan's height raises UpgradeNeeded before staging
    anything: the committed height and app hash stay, and a Commit has nothing to write."""
    driver.block([])
    height = driver.height + 20
    _schedule(driver, consortium, height)
    _blocks_until(driver, height - 1)
    before = (driver.app.state.height, driver.app.state.app_hash)
    fin = abci.RequestFinalizeBlock(height=height)
    fin.time.seconds = driver.time + 1
    with pytest.raises(UpgradeNeeded) as halted:
        driver.app.finalize_block(fin)
    assert str(halted.value) == f"UPGRADE NEEDED {PROPOSAL_KINDS} at height {height} (release 0.2.0)"
    with pytest.raises(RequestRefusedError):
        driver.app.commit(abci.RequestCommit())
    assert (driver.app.state.height, driver.app.state.app_hash) == before
    assert start_refusal(driver.app.state, driver.app.state.height, driver.app.migrations) is not None


def test_the_new_app_migrates_exactly_once_at_the_height(driver: AppDriver, consortium: Consortium) -> None:
    """At the height the new version re-encodes the old proposals before the block's txs, records the
    upgrade, and never runs it again (restarts, later blocks); old proposals read as before plus the kind."""
    driver.block([])
    height = driver.height + 20
    pid = _schedule(driver, consortium, height)
    old = proposal(driver, pid)
    assert old.action_kind == ""
    _blocks_until(driver, height - 1)
    calls: list[int] = []
    real = migrations([PROPOSAL_KINDS])[PROPOSAL_KINDS]

    def counted(store: object, block: BlockInfo) -> list[Event]:
        calls.append(block.height)
        return real.apply(store, block)  # type: ignore[arg-type]

    _upgrade_to_new_version(driver)
    driver.app.migrations = {PROPOSAL_KINDS: Migration(PROPOSAL_KINDS, counted)}
    # the block at the height carries a new proposal: it is submitted after the migration, with its kind
    action = governance_pb2.ChangeParam(name="governance.snapshot_keep_recent", value=3)
    at = _propose(driver, consortium, change_param=action)
    assert at.height == height
    assert calls == [height]
    assert [e.type for e in at.response.events][:1] == ["upgrade_applied"]
    assert _applied(driver) == [(PROPOSAL_KINDS, height)]
    assert _plan(driver) is None
    migrated = proposal(driver, pid)
    assert migrated.action_kind == "schedule_upgrade"
    migrated.ClearField("action_kind")
    assert migrated == old  # every other field reads as before
    assert proposal(driver, _pid(at)).action_kind == "change_param"
    _upgrade_to_new_version(driver)  # a restart after the upgrade
    driver.app.migrations = {PROPOSAL_KINDS: Migration(PROPOSAL_KINDS, counted)}
    _blocks_until(driver, height + 5)
    assert calls == [height]
    assert _applied(driver) == [(PROPOSAL_KINDS, height)]
    again = governance_pb2.ScheduleUpgrade(name=PROPOSAL_KINDS, height=driver.height + 20)
    assert _propose(driver, consortium, schedule_upgrade=again).codes == (GovernanceCode.UPGRADE_ALREADY_APPLIED,)


class _RecordingDriver(AppDriver):
    """An AppDriver that keeps every block's time, txs and app hash."""

    recorded: list[tuple[int, list[bytes], bytes]]

    def block(self, txs: Sequence[bytes], **kw: object) -> BlockResult:
        result = super().block(txs, **kw)  # type: ignore[arg-type]
        self.recorded.append((self.time, list(txs), result.app_hash))
        return result


def test_replay_from_genesis_gives_the_same_app_hashes(consortium: Consortium) -> None:
    """The same blocks replayed from genesis by the new version give every height's app hash of the
    chain that ran the old version up to the height and the new one from it."""
    live = _RecordingDriver(consortium)
    live.recorded = []
    live.block([])
    height = live.height + 20
    pid = _schedule(live, consortium, height)
    _blocks_until(live, height - 1)
    _upgrade_to_new_version(live)
    _blocks_until(live, height + 3)
    assert proposal(live, pid).action_kind == "schedule_upgrade"

    replay = AppDriver(consortium)
    assert replay.genesis_hash == live.genesis_hash
    replay.app.migrations = migrations([PROPOSAL_KINDS])
    for time_s, txs, app_hash in live.recorded:
        result = replay.block(txs, check=False, at=time_s)
        assert result.app_hash == app_hash, result.height
    assert replay.height == height + 3
    assert _applied(replay) == [(PROPOSAL_KINDS, height)]


def test_a_hostile_block_cannot_bring_a_migration_forward(driver: AppDriver, consortium: Consortium) -> None:
    """Txs a Byzantine proposer forces into blocks before the height (a prosumer's plan for the next
    height, member votes, a forged re-plan) leave the plan as voted: the new version migrates only at its height."""
    driver.block([])
    height = driver.height + 25
    pid = _schedule(driver, consortium, height)
    _upgrade_to_new_version(driver)  # a node running the new version already (as after a replay)
    alice = consortium.member("community-a/alice")
    soon = governance_pb2.ScheduleUpgrade(name=PROPOSAL_KINDS, height=driver.height + 2)
    hostile = [
        signed(driver, alice, submit("now", schedule_upgrade=soon)),
        signed(driver, alice, vote(pid)),
        signed(driver, consortium.member("utility/admin"), submit("again", schedule_upgrade=soon)),
        signed(driver, alice, submit("cancel", cancel_upgrade=governance_pb2.CancelUpgrade(name=PROPOSAL_KINDS))),
    ]
    result = driver.block(hostile, check=False)
    assert result.codes == (
        Code.UNAUTHORIZED,
        Code.UNAUTHORIZED,
        GovernanceCode.UPGRADE_PLAN_PENDING,
        Code.UNAUTHORIZED,
    )
    _blocks_until(driver, height - 1)
    assert _applied(driver) == []
    assert proposal(driver, pid).action_kind == ""
    plan = _plan(driver)
    assert plan is not None
    assert plan.height == height
    driver.block([])
    assert _applied(driver) == [(PROPOSAL_KINDS, height)]


def test_export_import_keeps_the_plan_and_the_applied_upgrades(driver: AppDriver, consortium: Consortium) -> None:
    """An applied upgrade, a pending plan and the re-encoded proposals survive export and import byte for byte."""
    driver.block([])
    height = driver.height + 20
    _schedule(driver, consortium, height)
    _blocks_until(driver, height - 1)
    _upgrade_to_new_version(driver)
    _blocks_until(driver, height)
    _schedule(driver, consortium, driver.height + 500, name="next-release")
    exported, fresh = export_and_import(driver.app.state)
    section = exported["governance"]
    assert section["applied_upgrades"] == [{"name": PROPOSAL_KINDS, "height": str(height)}]
    assert section["upgrade_plan"]["name"] == "next-release"
    assert all(p["actionKind"] for p in section["proposals"])
    assert differences(GOVERNANCE, driver.app.state, fresh) == []


def test_import_refuses_a_plan_for_an_applied_upgrade(consortium: Consortium) -> None:
    """A genesis whose plan names an upgrade that already ran is refused, naming the field."""
    state = consortium.app_state(None)
    state["governance"] = {
        "applied_upgrades": [{"name": "v2", "height": "5"}],
        "upgrade_plan": {"name": "v2", "height": "9"},
    }
    block = BlockInfo("gridledger-test", 1, GENESIS_TIME * 1_000_000_000)
    with pytest.raises(GenesisError, match=r"governance\.upgrade_plan\.name"):
        apply_genesis(Branch(MemoryBackend()), block, json.dumps(state).encode(), [])


def test_start_refuses_a_version_too_old_or_too_new(driver: AppDriver, consortium: Consortium) -> None:
    """At start, an old version with the plan due next and a new version with the plan far ahead are
    refused with their exit codes; the new version one block before the height starts."""
    driver.block([])
    height = driver.height + 20
    _schedule(driver, consortium, height)
    state = driver.app.state
    old, new = migrations(), migrations([PROPOSAL_KINDS])
    assert start_refusal(state, state.height, old) is None  # the old version runs until the height
    early = start_refusal(state, state.height, new)
    assert early is not None
    assert early.exit_code == EXIT_UPGRADE_TOO_EARLY
    _blocks_until(driver, height - 1)
    late = start_refusal(state, state.height, old)
    assert late is not None
    assert late.exit_code == EXIT_UPGRADE_NEEDED
    assert late.reason == f"UPGRADE NEEDED {PROPOSAL_KINDS} at height {height} (release 0.2.0)"
    assert start_refusal(state, state.height, new) is None
    _upgrade_to_new_version(driver)
    _blocks_until(driver, height + 1)
    state = driver.app.state
    assert start_refusal(state, state.height, new) is None
    restarted_old = start_refusal(state, state.height, old)  # the old version restarted after the upgrade
    assert restarted_old is not None
    assert restarted_old.exit_code == EXIT_UPGRADE_NEEDED
    assert restarted_old.plan.name == PROPOSAL_KINDS


def test_unknown_staged_upgrade_names_are_refused() -> None:
    """Switching on an upgrade this code base does not ship is an error naming the ones it has."""
    with pytest.raises(ValueError, match="unknown upgrade 'nope'"):
        migrations(["nope"])
