"""The node supervisor's restart policy on stand-in children: backoff and giving up on a unit that
keeps failing, stopping a running unit, and the app-command hook for governed upgrades."""

from __future__ import annotations

import configparser
import sys
import threading
from dataclasses import replace
from pathlib import Path

from clients.node.children import UPGRADE_NEEDED_EXIT_CODE, select_app_command
from clients.node.config import NodeConfig
from clients.node.layout import NodeHome
from clients.node.supervisor import Supervisor


def _supervisor(tmp_path: Path, **changes: object) -> tuple[Supervisor, list[str]]:
    config = NodeConfig(
        node_moniker="m",
        p2p_listen="127.0.0.1:1",
        rpc_listen="127.0.0.1:2",
        abci_listen="127.0.0.1:3",
        bridge_listen="127.0.0.1:4",
        supervisor_backoff_initial_s=0.01,
        supervisor_backoff_max_s=0.02,
        supervisor_max_restarts=2,
    )
    lines: list[str] = []
    home = NodeHome(tmp_path)
    for folder in (home.logs, home.run):
        folder.mkdir(parents=True, exist_ok=True)
    return Supervisor(tmp_path, replace(config, **changes), {}, out=lines.append), lines  # type: ignore[arg-type]


def test_a_unit_that_keeps_failing_is_given_up_after_max_restarts(tmp_path: Path) -> None:
    """A child exiting at once is started 1 + max_restarts times with backoff, then the unit is
    marked failed and the supervisor stops."""
    sup, lines = _supervisor(tmp_path)
    unit = sup._run_simple("bridge", lambda: [sys.executable, "-c", "raise SystemExit(3)"])
    sup._keep_running("bridge", unit)
    assert sup.failed == ["bridge"]
    assert sup.stopping.is_set()
    assert sum("bridge started" in line for line in lines) == 3
    assert sum("restart in" in line for line in lines) == 2
    assert not NodeHome(tmp_path).pidfile("bridge").exists()


def test_a_unit_that_ran_well_is_restarted_with_a_fresh_count(tmp_path: Path) -> None:
    """A failure after a healthy run (healthy_after_s) does not count toward giving up: with
    max_restarts 0, a child that fails after running well is still restarted."""
    sup, lines = _supervisor(tmp_path, supervisor_max_restarts=0, supervisor_healthy_after_s=0.0)
    runs = tmp_path / "runs"
    script = (
        "import pathlib, sys, time; p = pathlib.Path(sys.argv[1]); n = len(p.read_text()) if p.exists() else 0;"
        " p.write_text('x' * (n + 1)); time.sleep(0.5); raise SystemExit(1 if n < 2 else 0)"
    )
    unit = sup._run_simple("bridge", lambda: [sys.executable, "-c", script, str(runs)])

    def stop_after_third_run() -> None:
        while not (runs.exists() and len(runs.read_text()) >= 3):
            sup.stopping.wait(0.05)
        sup._unit_stops.setdefault("bridge", threading.Event()).set()

    watcher = threading.Thread(target=stop_after_third_run)
    watcher.start()
    sup._keep_running("bridge", unit)
    watcher.join()
    assert sup.failed == []
    assert sum("ran well before it failed" in line for line in lines) >= 2


def test_stopping_ends_a_running_child(tmp_path: Path) -> None:
    """When its unit is stopped, a running child is terminated and the unit is not a failure."""
    sup, _lines = _supervisor(tmp_path)
    unit = sup._run_simple("dashboard", lambda: [sys.executable, "-c", "import time; time.sleep(120)"])
    pidfile = NodeHome(tmp_path).pidfile("dashboard")

    def stop_once_started() -> None:
        while not pidfile.exists():
            sup.stopping.wait(0.02)
        sup._unit_stops.setdefault("dashboard", threading.Event()).set()

    watcher = threading.Thread(target=stop_once_started)
    watcher.start()
    sup._keep_running("dashboard", unit)
    watcher.join()
    assert sup.failed == []
    assert not pidfile.exists()
    assert sup._procs == {}


def test_the_app_command_hook_keeps_the_configured_command(tmp_path: Path) -> None:
    """select_app_command returns the configured app command, at the first start and after an
    upgrade-needed exit (until governed upgrades define their layout)."""
    current = [sys.executable, "-m", "abci_app", "--home", str(tmp_path)]
    assert select_app_command(current, None, tmp_path) == current
    assert select_app_command(current, UPGRADE_NEEDED_EXIT_CODE, tmp_path) == current
    sup, _lines = _supervisor(tmp_path)
    assert sup.app_cmd()[1:3] == ["-m", "abci_app"]
    assert "tcp://127.0.0.1:3" in sup.app_cmd()


def test_the_systemd_unit_runs_the_supervisor_and_lets_it_stop_its_children() -> None:
    """ops/systemd/gridledger-node.service starts `gridctl node start --home`, sends SIGTERM to the
    supervisor alone (KillMode=mixed) and restarts it only when it exits with a failure."""
    unit = configparser.ConfigParser(strict=False, interpolation=None)
    unit.optionxform = str  # type: ignore[assignment,method-assign]
    unit.read(Path(__file__).resolve().parents[2] / "ops" / "systemd" / "gridledger-node.service")
    service = unit["Service"]
    assert service["ExecStart"].split()[1:4] == ["node", "start", "--home"]
    assert service["ExecStart"].split()[0].endswith("/gridctl")
    assert service["KillMode"] == "mixed"
    assert service["Restart"] == "on-failure"
    assert unit["Install"]["WantedBy"] == "multi-user.target"


def test_run_exits_1_when_the_app_keeps_failing(tmp_path: Path) -> None:
    """A whole supervisor run whose app cannot start (its interpreter exits at once) prints the
    effective configuration, gives up after max_restarts and returns 1 with no child left."""
    sup, lines = _supervisor(tmp_path, node_python="/bin/false", bridge_enabled=False)
    assert sup.run() == 1
    assert '  node.python = "/bin/false"  (default)' in lines
    assert sum("app started" in line for line in lines) == 3
    assert "kept failing" in lines[-1]
    assert sup._procs == {}
    assert not NodeHome(tmp_path).pidfile("supervisor").exists()


def test_an_upgrade_exit_is_restarted_at_once_without_counting_a_failure(tmp_path: Path) -> None:
    """An app exiting with UPGRADE_NEEDED_EXIT_CODE is started again (with the hook's command) even
    with max_restarts 0, and the hook sees that exit status."""
    seen: list[int | None] = []
    script = f"raise SystemExit({UPGRADE_NEEDED_EXIT_CODE})"
    sup, lines = _supervisor(tmp_path, supervisor_max_restarts=0, node_python=sys.executable)

    def app_cmd() -> list[str]:
        seen.append(sup._last_app_exit)
        if len(seen) >= 3:
            sup._unit_stops["consensus"].set()
        return [sys.executable, "-c", script]

    sup.app_cmd = app_cmd  # type: ignore[method-assign]
    sup._keep_running("consensus", sup._run_consensus)
    assert sup.failed == []
    assert seen[:3] == [None, UPGRADE_NEEDED_EXIT_CODE, UPGRADE_NEEDED_EXIT_CODE]
    assert sum("asks for an upgrade" in line for line in lines) >= 2
