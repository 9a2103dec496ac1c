"""The localnet supervisor behind `make localnet`: start, restart a dead pair together, resume, stop."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from clients.ops.localnet import Localnet, free_base_port

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "clients.ops.localnet", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )


def _pid(home: Path, name: str) -> int:
    return int((home / "pids" / f"{name}.pid").read_text())


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a zombie has exited too
    return "Z" not in Path(f"/proc/{pid}/stat").read_text().split()[2]


def _wait(cond, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.2)


def test_supervisor_restarts_a_killed_app_with_its_node_and_stop_ends_everything(tmp_path: Path) -> None:
    """Killing one app makes the supervisor restart that app and its node; stop leaves no process behind."""
    home = tmp_path / "net"
    base = free_base_port(2)
    started = _cli("start", "--home", str(home), "--base-port", str(base), "--validators", "2")
    try:
        assert started.returncode == 0, started.stdout + started.stderr
        assert "is up" in started.stdout
        net = Localnet(home, n=2, base_port=base)
        old_app, old_node = _pid(home, "node1.app"), _pid(home, "node1.cometbft")
        os.kill(old_app, signal.SIGKILL)
        _wait(lambda: _pid(home, "node1.app") != old_app, 30, "a new app pid")
        # the node is restarted together with its app (its pid file is written right after)
        _wait(lambda: _pid(home, "node1.cometbft") != old_node, 30, "a new node pid")
        assert not _alive(old_node)
        assert _alive(_pid(home, "node1.cometbft"))
        h = max(net.height(0) or 0, 3)
        net.wait_height(h + 2, timeout=60)
        assert net.app_hashes(h + 1)[0] == net.app_hashes(h + 1)[1]

        # `start` again on a running net resumes it instead of re-initialising
        again = _cli("start", "--home", str(home))
        assert again.returncode == 0, again.stdout + again.stderr
        assert "initialising" not in again.stdout
    finally:
        pids = [int(p.read_text()) for p in (home / "pids").glob("*.pid")] if (home / "pids").exists() else []
        stopped = _cli("stop", "--home", str(home))
    assert stopped.returncode == 0
    for pid in pids:
        _wait(lambda pid=pid: not _alive(pid), 20, f"pid {pid} to exit")
