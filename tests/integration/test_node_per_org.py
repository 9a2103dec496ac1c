"""One node per org: four homes made by `gridctl node init` from one consortium genesis, each run by
`gridctl node start`; they make blocks and agree, a killed app is restarted by its supervisor and
its node catches up, and SIGTERM leaves no process behind."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from clients.node.cometconfig import node_id
from clients.ops.localnet import Localnet, free_base_port
from clients.rpc import CometRPC, RPCError
from tests.integration.support import COMETBFT

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
N = 4


def _env() -> dict[str, str]:
    return {**os.environ, "PATH": f"{COMETBFT.parent}:{os.environ.get('PATH', '')}"}


def _gridctl(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "clients.gridctl", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env=_env(),
    )


def _wait(cond: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.2)


def _height(rpc: CometRPC) -> int:
    try:
        return rpc.height()
    except (RPCError, KeyError, ValueError):
        return -1


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False


def _processes_naming(text: str) -> list[int]:
    """Pids of live processes whose command line contains `text` (this test's folder)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        if text.encode() in cmdline and _alive(int(entry.name)):
            found.append(int(entry.name))
    return found


def test_four_org_nodes_from_one_genesis_run_supervised(tmp_path: Path) -> None:
    """Four `gridctl node init` homes from one genesis run under `gridctl node start`: blocks with
    agreeing app hashes, a SIGKILLed app restarted and caught up, SIGTERM stops all children."""
    gen = tmp_path / "consortium"
    Localnet(gen, n=N, cometbft=COMETBFT).init()  # the genesis and the validators' keys (never started)
    genesis = gen / "node0" / "config" / "genesis.json"
    base = free_base_port(N)
    p2p = [base + 100 * i for i in range(N)]
    ids = [node_id(gen / f"node{i}") for i in range(N)]
    homes = [tmp_path / f"org{i}" for i in range(N)]
    for i, home in enumerate(homes):
        peers = ",".join(f"{ids[j]}@127.0.0.1:{p2p[j]}" for j in range(N) if j != i)
        extra = ["--dashboard"] if i == 0 else []
        done = _gridctl(
            "--json", "node", "init", "--home", str(home), "--genesis", str(genesis), "--host", "127.0.0.1",
            "--base-port", str(p2p[i]), "--peers", peers, "--org", f"org{i}", "--timeout-commit", "300ms",
            "--node-key", str(gen / f"node{i}" / "config" / "node_key.json"),
            "--validator-key", str(gen / f"node{i}" / "config" / "priv_validator_key.json"), *extra,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        assert json.loads(done.stdout)["genesis_validator"] is True
    rpcs = [CometRPC(f"http://127.0.0.1:{p + 1}", timeout=3) for p in p2p]
    supervisors: list[subprocess.Popen[bytes]] = []
    try:
        for i, home in enumerate(homes):
            with open(tmp_path / f"supervisor{i}.log", "wb") as log:
                env = _env() | ({"GRIDLEDGER_SUPERVISOR_BACKOFF_INITIAL_S": "0.2"} if i == 1 else {})
                supervisors.append(
                    subprocess.Popen(
                        [sys.executable, "-m", "clients.gridctl", "node", "start", "--home", str(home)],
                        cwd=REPO,
                        stdout=log,
                        stderr=subprocess.STDOUT,
                        env=env,
                        start_new_session=True,
                    )
                )
        _wait(lambda: all(_height(r) >= 3 for r in rpcs), 90, "all four nodes at height 3")
        hashes = {r.app_hash_at(3).hex() for r in rpcs}
        assert len(hashes) == 1, hashes
        out = (tmp_path / "supervisor1.log").read_text()
        assert "supervisor.backoff_initial_s = 0.2  (env)" in out

        status = _gridctl("--json", "node", "status", "--home", str(homes[0]))
        assert status.returncode == 0, status.stderr
        seen = json.loads(status.stdout)
        assert seen["peers"] == N - 1
        assert all(seen[name] for name in ("supervisor", "app", "cometbft", "bridge", "dashboard"))

        # kill node 1's app: its supervisor restarts the app and CometBFT, and the node catches up
        pidfile = homes[1] / "run" / "app.pid"
        old_app = int(pidfile.read_text())
        os.kill(old_app, signal.SIGKILL)
        _wait(lambda: pidfile.exists() and int(pidfile.read_text()) != old_app, 60, "a new app on node 1")
        new_app = int(pidfile.read_text())
        assert _alive(new_app)
        tip = max(_height(r) for r in rpcs)
        _wait(lambda: _height(rpcs[1]) >= tip + 2, 60, "node 1 caught up after its app restarted")
        assert _alive(new_app)
        assert len({r.app_hash_at(tip + 1).hex() for r in rpcs}) == 1
        assert "app exited with status -9" in (tmp_path / "supervisor1.log").read_text()

        for sup in supervisors:
            sup.send_signal(signal.SIGTERM)
        codes = [sup.wait(timeout=60) for sup in supervisors]
        assert codes == [0] * N, [(tmp_path / f"supervisor{i}.log").read_text()[-2000:] for i in range(N)]
        assert _processes_naming(str(tmp_path)) == []
        assert all(not (home / "run" / "app.pid").exists() for home in homes)
    finally:
        for sup in supervisors:
            if sup.poll() is None:
                os.killpg(sup.pid, signal.SIGKILL)
                sup.wait()
        for pid in _processes_naming(str(tmp_path)):
            os.kill(pid, signal.SIGKILL)
