"""The upgrade halt as a supervisor sees it: the app's exit code and upgrade-info file, and the switch
(clients/node/upgrade_switch.py) that picks the version to run next."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

import pytest
from gridledger.governance.v1 import governance_pb2
from gridwire.contract.governance import EXIT_UPGRADE_NEEDED, EXIT_UPGRADE_TOO_EARLY, UPGRADE_INFO_FILE

from abci_app import server
from abci_app.app import GridLedgerApp
from abci_app.governance.upgrades import PROPOSAL_KINDS
from abci_app.pb import abci
from abci_app.statesync.store import SnapshotStore
from abci_app.store.sqlite import SQLiteBackend
from abci_app.upgrades.registry import migrations
from clients.cli_types import UsageError
from clients.commands.governance import build_proposal
from clients.node import upgrade_switch
from clients.ops.consortium import Consortium
from tests.support.driver import AppDriver
from tests.unit.helpers import proposal, signed, submit, vote

PROGRAM = ["python", "-m", "abci_app"]
ARGS = ["--home", "H"]


def _plan_upgrade(home: Path, consortium: Consortium, *, ahead: int, run_to_height: bool) -> int:
    """A SQLite app home whose chain planned PROPOSAL_KINDS `ahead` blocks after the vote; with
    `run_to_height`, committed up to the block before it. The plan's height."""
    backend = SQLiteBackend(home / "state.sqlite")
    driver = AppDriver(consortium, backend=backend)
    driver.block([])
    height = driver.height + ahead
    plan = governance_pb2.ScheduleUpgrade(name=PROPOSAL_KINDS, height=height, info="v0.2")
    first = driver.block([signed(driver, consortium.member("utility/admin"), submit("up", schedule_upgrade=plan))])
    (event,) = [e for e in first.tx_results[0].events if e.type == "proposal_submitted"]
    pid = int({a.key: a.value for a in event.attributes}["proposal_id"])
    for org in ("utility", "gridop", "certissuer", "community-a"):
        driver.block([signed(driver, consortium.member(f"{org}/admin"), vote(pid))])
    assert proposal(driver, pid).status == governance_pb2.PROPOSAL_STATUS_PASSED
    while run_to_height and driver.height < height - 1:
        driver.block([])
    backend.close()
    return height


def _start(home: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, "-m", "abci_app", "--home", str(home), "--address", "tcp://127.0.0.1:0", *extra]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=False)


def test_the_old_app_refuses_to_start_at_the_height(tmp_path: Path, consortium: Consortium) -> None:
    """Started on a chain whose next block is the plan's height, the old version logs UPGRADE NEEDED,
    writes the plan for its supervisor and exits with EXIT_UPGRADE_NEEDED."""
    height = _plan_upgrade(tmp_path, consortium, ahead=12, run_to_height=True)
    done = _start(tmp_path, "--no-snapshots")
    assert done.returncode == EXIT_UPGRADE_NEEDED, done.stderr[-2000:]
    assert f"UPGRADE NEEDED {PROPOSAL_KINDS} at height {height} (v0.2)" in done.stderr
    info = json.loads((tmp_path / UPGRADE_INFO_FILE).read_text())
    assert info == {"name": PROPOSAL_KINDS, "height": height, "info": "v0.2"}


def test_the_new_app_refuses_to_start_early(tmp_path: Path, consortium: Consortium) -> None:
    """Started with the upgrade switched on while its height is still far ahead, the new version
    refuses with EXIT_UPGRADE_TOO_EARLY; an unknown upgrade name is a usage error."""
    _plan_upgrade(tmp_path, consortium, ahead=50, run_to_height=False)
    done = _start(tmp_path, "--no-snapshots", "--upgrades", PROPOSAL_KINDS)
    assert done.returncode == EXIT_UPGRADE_TOO_EARLY, done.stderr[-2000:]
    assert "UPGRADE TOO EARLY" in done.stderr
    assert _start(tmp_path, "--upgrades", "no-such-upgrade").returncode == 2


def test_the_server_exits_unanswered_at_the_height(
    tmp_path: Path, consortium: Consortium, monkeypatch: pytest.MonkeyPatch
) -> None:
    """FinalizeBlock of the plan's height on the socket makes the old app write upgrade-info and
    exit with EXIT_UPGRADE_NEEDED, answering nothing."""
    height = _plan_upgrade(tmp_path, consortium, ahead=12, run_to_height=True)
    app = GridLedgerApp(SQLiteBackend(tmp_path / "state.sqlite"))
    app.upgrade_info_path = tmp_path / UPGRADE_INFO_FILE

    def exit_(code: int) -> None:
        raise SystemExit(code)

    monkeypatch.setattr("abci_app.server.os._exit", exit_)
    protocol = server.AbciProtocol(app, server._dispatch_table(app))
    req = abci.Request(finalize_block=abci.RequestFinalizeBlock(height=height))
    req.finalize_block.time.seconds = 1_767_300_000
    with pytest.raises(SystemExit) as exited:
        protocol._handle(req)
    assert exited.value.code == EXIT_UPGRADE_NEEDED
    assert json.loads(app.upgrade_info_path.read_text())["height"] == height
    assert app.state.height == height - 1


def test_the_switch_runs_the_new_version_once_prepared(tmp_path: Path) -> None:
    """An upgrade exit without the new version installed leaves the node down; once prepared, the
    switch turns the upgrade on and the command gains `--upgrades`; other exits restart as before."""
    assert upgrade_switch.app_command(tmp_path, PROGRAM, ARGS) == [*PROGRAM, *ARGS]
    assert upgrade_switch.after_exit(tmp_path, 70).action == "restart"
    (tmp_path / UPGRADE_INFO_FILE).write_text(json.dumps({"name": PROPOSAL_KINDS, "height": 40, "info": "v0.2"}))
    waiting = upgrade_switch.after_exit(tmp_path, EXIT_UPGRADE_NEEDED)
    assert waiting.action == "stop"
    assert f"UPGRADE NEEDED {PROPOSAL_KINDS} at height 40 (v0.2)" in waiting.message
    assert upgrade_switch.app_command(tmp_path, PROGRAM, ARGS) == [*PROGRAM, *ARGS]
    upgrade_switch.prepare(tmp_path, PROPOSAL_KINDS)
    assert upgrade_switch.after_exit(tmp_path, EXIT_UPGRADE_NEEDED).action == "upgraded"
    assert upgrade_switch.after_exit(tmp_path, EXIT_UPGRADE_NEEDED).action == "upgraded"  # idempotent
    assert upgrade_switch.active_upgrades(tmp_path) == [PROPOSAL_KINDS]
    assert upgrade_switch.app_command(tmp_path, PROGRAM, ARGS) == [*PROGRAM, *ARGS, "--upgrades", PROPOSAL_KINDS]
    assert upgrade_switch.after_exit(tmp_path, EXIT_UPGRADE_TOO_EARLY).action == "stop"


def test_a_prepared_installation_replaces_the_program(tmp_path: Path) -> None:
    """A new version installed elsewhere (its own command) is what runs after the switch; a bad name is refused."""
    upgrade_switch.prepare(tmp_path, "v3", ["/opt/gridledger-v3/bin/python", "-m", "abci_app"])
    (tmp_path / UPGRADE_INFO_FILE).write_text(json.dumps({"name": "v3", "height": 9, "info": ""}))
    assert upgrade_switch.after_exit(tmp_path, EXIT_UPGRADE_NEEDED).action == "upgraded"
    cmd = upgrade_switch.app_command(tmp_path, PROGRAM, ARGS)
    assert cmd == ["/opt/gridledger-v3/bin/python", "-m", "abci_app", *ARGS, "--upgrades", "v3"]
    with pytest.raises(ValueError, match="upgrade name"):
        upgrade_switch.prepare(tmp_path, "../escape")


def test_gridctl_builds_upgrade_proposals() -> None:
    """`gridctl propose upgrade|cancel-upgrade` build the ScheduleUpgrade and CancelUpgrade actions."""
    base = {"title": "", "org_id": "", "capabilities": "", "pub_key": None, "power": 10, "value": 0, "info": "v2"}
    up = build_proposal(argparse.Namespace(kind="upgrade", name="v2", height=900, **base))
    assert up.schedule_upgrade == governance_pb2.ScheduleUpgrade(name="v2", height=900, info="v2")
    cancel = build_proposal(argparse.Namespace(kind="cancel-upgrade", name="v2", height=0, **base))
    assert cancel.cancel_upgrade.name == "v2"
    with pytest.raises(UsageError, match="--height"):
        build_proposal(argparse.Namespace(kind="upgrade", name="v2", height=0, **base))


def test_an_old_version_restoring_a_snapshot_from_after_the_upgrade_stops_and_writes_nothing(
    tmp_path: Path, consortium: Consortium, monkeypatch: pytest.MonkeyPatch
) -> None:
    """State sync of a snapshot taken after an upgrade: the old version verifies it, then exits
    unanswered with EXIT_UPGRADE_NEEDED and upgrade-info instead of installing it (its state stays
    empty); the new version restores the same chunks to the same app hash."""
    chain = tmp_path / "chain"
    chain.mkdir()
    height = _plan_upgrade(chain, consortium, ahead=12, run_to_height=True)
    backend = SQLiteBackend(chain / "state.sqlite")
    driver = AppDriver(consortium, backend=backend)
    driver.app.migrations = migrations([PROPOSAL_KINDS])
    while driver.height < height + 2:
        driver.block([])
    snapshots = SnapshotStore(tmp_path / "snapshots")
    assert snapshots.take(driver.app.state, 2) is not None
    (listed,) = snapshots.list()
    snapshot = abci.Snapshot(
        height=listed.height, format=listed.format, chunks=listed.chunks, hash=listed.hash, metadata=listed.metadata
    )
    chunks = [snapshots.chunk(listed.height, listed.format, i) for i in range(listed.chunks)]
    app_hash = driver.app.state.app_hash

    def exit_(code: int) -> None:
        raise SystemExit(code)

    def apply(i: int) -> abci.Request:
        return abci.Request(apply_snapshot_chunk=abci.RequestApplySnapshotChunk(index=i, chunk=chunks[i]))

    monkeypatch.setattr("abci_app.server.os._exit", exit_)
    old = GridLedgerApp(SQLiteBackend(tmp_path / "old.sqlite"))  # the released version: no migration
    old.upgrade_info_path = tmp_path / UPGRADE_INFO_FILE
    protocol = server.AbciProtocol(old, server._dispatch_table(old))
    offered = protocol._handle(
        abci.Request(offer_snapshot=abci.RequestOfferSnapshot(snapshot=snapshot, app_hash=app_hash))
    )
    assert isinstance(offered, bytes)
    assert abci.Response.FromString(offered).offer_snapshot.result == abci.ResponseOfferSnapshot.ACCEPT
    for i in range(len(chunks) - 1):
        assert protocol._handle(apply(i)) is not None
    with pytest.raises(SystemExit) as exited:
        protocol._handle(apply(len(chunks) - 1))
    assert exited.value.code == EXIT_UPGRADE_NEEDED
    assert json.loads(old.upgrade_info_path.read_text())["name"] == PROPOSAL_KINDS
    assert (old.state.height, old.state.app_hash) == (0, b"")
    assert SQLiteBackend(tmp_path / "old.sqlite").meta() is None  # nothing of the snapshot was written

    new = GridLedgerApp(SQLiteBackend(tmp_path / "new.sqlite"))
    new.migrations = migrations([PROPOSAL_KINDS])
    offer = new.offer_snapshot(abci.RequestOfferSnapshot(snapshot=snapshot, app_hash=app_hash))
    assert offer.result == abci.ResponseOfferSnapshot.ACCEPT
    results = [
        new.apply_snapshot_chunk(abci.RequestApplySnapshotChunk(index=i, chunk=c)).result for i, c in enumerate(chunks)
    ]
    assert set(results) == {abci.ResponseApplySnapshotChunk.ACCEPT}
    assert (new.state.height, new.state.app_hash) == (height + 2, app_hash)
