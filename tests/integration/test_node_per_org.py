"""One node per org: four orgs found a consortium with gridctl (`node keys`, `genesis assemble`),
and four homes made by `gridctl node init` from that genesis, each run by `gridctl node start`,
make blocks and agree; a killed app is restarted by its supervisor and its node catches up, and
SIGTERM leaves no process behind."""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from clients.ops.localnet import free_base_port
from clients.pki import new_org_ca
from clients.rpc import CometRPC, RPCError
from tests.integration.support import COMETBFT
from tests.support.gridctl import REPO, run_gridctl

pytestmark = pytest.mark.integration

N = 4


def _env() -> dict[str, str]:
    return {**os.environ, "PATH": f"{COMETBFT.parent}:{os.environ.get('PATH', '')}"}


def _gridctl(*args: str) -> subprocess.CompletedProcess[str]:
    return run_gridctl(*args, binaries=COMETBFT.parent)


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


def _found(tmp_path: Path, homes: list[Path]) -> tuple[Path, list[str]]:
    """The founding as four orgs and a coordinator do it: each org's root CA and admin certificate
    (offline, made here with the library `gridctl ca init` / `csr sign` use) and its node's keys
    (`gridctl node keys`); the coordinator's founding file and `gridctl genesis assemble`.
    Returns the genesis and the node ids."""
    folder = tmp_path / "founding"
    folder.mkdir()
    start = dt.datetime.now(dt.UTC) - dt.timedelta(days=1)
    text = 'chain_id = "founded-by-gridctl"\n'
    ids = []
    for i, home in enumerate(homes):
        org = f"org{i}"
        ca = new_org_ca(org, name=f"Org {i} root CA", not_before=start)
        (folder / f"{org}.ca.pem").write_text(ca.cert_pem)
        (folder / f"{org}.admin.pem").write_text(ca.issue(f"admin.{org}", ["admin"], not_before=start).cert_pem)
        keys = _gridctl("--json", "node", "keys", "--home", str(home), "--name", org)
        assert keys.returncode == 0, keys.stderr
        (folder / f"{org}.validator.json").write_text(keys.stdout)
        ids.append(json.loads(keys.stdout)["node_id"])
        text += f'[[org]]\nid = "{org}"\nca_cert = "{org}.ca.pem"\ncapabilities = ["prosumer"]\n'
        text += f'[[member]]\ncert = "{org}.admin.pem"\nbalance = {1000 * (i + 1)}\n'
        text += f'[[validator]]\nentry = "{org}.validator.json"\n'
    (folder / "founding.toml").write_text(text)
    genesis = folder / "genesis.json"
    made = _gridctl("--json", "genesis", "assemble", str(folder / "founding.toml"), "--out", str(genesis))
    assert made.returncode == 0, made.stderr
    assert json.loads(made.stdout)["ledger_check"] == f"genesis OK ({N} orgs, {N} members, {N} validators)"
    return genesis, ids


def test_four_org_nodes_from_one_genesis_run_supervised(tmp_path: Path) -> None:
    """Four orgs found a consortium with gridctl alone (CAs, node keys, `genesis assemble`); their
    `gridctl node init` homes run under `gridctl node start`: blocks with agreeing app hashes, the
    founding members enrolled, a SIGKILLed app restarted and caught up, SIGTERM stops all children."""
    homes = [tmp_path / f"org{i}" for i in range(N)]
    genesis, ids = _found(tmp_path, homes)
    base = free_base_port(N)
    p2p = [base + 100 * i for i in range(N)]
    for i, home in enumerate(homes):
        peers = ",".join(f"{ids[j]}@127.0.0.1:{p2p[j]}" for j in range(N) if j != i)
        extra = ["--dashboard"] if i == 0 else []
        done = _gridctl(
            "--json", "node", "init", "--home", str(home), "--genesis", str(genesis), "--host", "127.0.0.1",
            "--base-port", str(p2p[i]), "--peers", peers, "--org", f"org{i}", "--timeout-commit", "300ms", *extra,
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
        orgs = _gridctl("--json", "--node", f"http://127.0.0.1:{p2p[2] + 1}", "orgs")
        assert orgs.returncode == 0, orgs.stderr
        assert sorted(o["org_id"] for o in json.loads(orgs.stdout)) == [f"org{i}" for i in range(N)]

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
