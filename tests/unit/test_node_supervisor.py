"""The node supervisor's restart policy on stand-in children: backoff and giving up on a unit that
keeps failing, stopping a running unit, and governed upgrades through the upgrade switch."""

from __future__ import annotations

import configparser
import json
import sys
import threading
from dataclasses import replace
from pathlib import Path

from gridwire.contract.governance import EXIT_UPGRADE_NEEDED, UPGRADE_INFO_FILE

from clients.node import upgrade_switch
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


def test_the_app_command_follows_the_upgrade_switch(tmp_path: Path) -> None:
    """The app command is this version's `python -m abci_app` with the node's addresses, and once
    the app home is switched to an upgrade it names that upgrade (and its own program, if any)."""
    sup, _lines = _supervisor(tmp_path)
    assert sup.app_cmd()[1:3] == ["-m", "abci_app"]
    assert "tcp://127.0.0.1:3" in sup.app_cmd()
    assert "--upgrades" not in sup.app_cmd()
    upgrade_switch.prepare(tmp_path / "app", "v2", ["/opt/gridledger-v2/bin/python", "-m", "abci_app"])
    (tmp_path / "app" / UPGRADE_INFO_FILE).write_text(json.dumps({"name": "v2", "height": 9, "info": ""}))
    assert upgrade_switch.after_exit(tmp_path / "app", EXIT_UPGRADE_NEEDED).action == "upgraded"
    assert sup.app_cmd()[0] == "/opt/gridledger-v2/bin/python"
    assert sup.app_cmd()[-2:] == ["--upgrades", "v2"]


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


def test_an_app_stopping_for_a_prepared_upgrade_is_restarted_as_the_new_version(tmp_path: Path) -> None:
    """An app exiting with EXIT_UPGRADE_NEEDED for an upgrade whose new version is prepared is
    started again at once as the new version, even with max_restarts 0 (not a failure)."""
    calls = tmp_path / "calls"
    stand_in = tmp_path / "stand-in-app"
    info = json.dumps({"name": "v2", "height": 9, "info": "demo"})
    stand_in.write_text(
        "#!/bin/sh\n"
        f'echo "$*" >> {calls}\n'
        f"echo '{info}' > {tmp_path / 'app' / UPGRADE_INFO_FILE}\n"
        f"exit {EXIT_UPGRADE_NEEDED}\n"
    )
    stand_in.chmod(0o755)
    sup, lines = _supervisor(tmp_path, supervisor_max_restarts=0, node_python=str(stand_in))
    (tmp_path / "app").mkdir()
    upgrade_switch.prepare(tmp_path / "app", "v2")

    def stop_after_two_runs() -> None:
        while not (calls.exists() and len(calls.read_text().splitlines()) >= 2):
            sup.stopping.wait(0.05)
        sup._unit_stops.setdefault("consensus", threading.Event()).set()

    watcher = threading.Thread(target=stop_after_two_runs)
    watcher.start()
    sup._keep_running("consensus", sup._run_consensus)
    watcher.join()
    runs = calls.read_text().splitlines()
    assert sup.failed == []
    assert "--upgrades" not in runs[0]
    assert runs[1].endswith("--upgrades v2")
    assert any("upgrade v2 at height 9" in line for line in lines)


def test_an_app_stopping_for_a_missing_new_version_is_left_down(tmp_path: Path) -> None:
    """An app stopping for an upgrade whose new version is not installed stays down (no restart,
    no failure) and the supervisor says where to install it."""
    stand_in = tmp_path / "stand-in-app"
    info = json.dumps({"name": "v3", "height": 9, "info": ""})
    stand_in.write_text(
        f"#!/bin/sh\necho '{info}' > {tmp_path / 'app' / UPGRADE_INFO_FILE}\nexit {EXIT_UPGRADE_NEEDED}\n"
    )
    stand_in.chmod(0o755)
    sup, lines = _supervisor(tmp_path, node_python=str(stand_in))
    (tmp_path / "app").mkdir()

    def stop_once_left_down() -> None:
        while not any("left down" in line for line in lines):
            sup.stopping.wait(0.05)
        sup._unit_stops.setdefault("consensus", threading.Event()).set()

    watcher = threading.Thread(target=stop_once_left_down)
    watcher.start()
    sup._keep_running("consensus", sup._run_consensus)
    watcher.join()
    assert sup.failed == []
    assert sum("app started" in line for line in lines) == 1
    assert any("UPGRADE NEEDED v3" in line and "upgrades/v3" in line for line in lines)
