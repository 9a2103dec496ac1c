"""The localnet as the chaos run sees it: which nodes are up, heights, catching up, wiping."""

from __future__ import annotations

import contextlib
import json
import shutil
import signal
import subprocess
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING

from clients.ops.localnet import Localnet, set_toml
from clients.rpc import CometRPC, RPCError

if TYPE_CHECKING:
    from tests.chaos.faults import FloodPlan

__all__ = ["ChaosNet"]


class ChaosNet:
    """Wraps a started `Localnet`; tracks which pairs a fault has taken away."""

    def __init__(self, net: Localnet) -> None:
        self.net = net
        self.n = net.n
        self.down: set[int] = set()  # pairs a fault stopped, paused or cut off
        self.lock = threading.Lock()
        self.rpcs = {i: net.rpc(i, timeout=3.0) for i in range(self.n)}
        self.addresses = {self._validator_address(i): i for i in range(self.n)}
        self.flood_plan: FloodPlan | None = None  # set by the run when it reserves flood signers

    # -- observation ----------------------------------------------------------------------

    def _validator_address(self, i: int) -> str:
        key = json.loads((self.net.node_home(i) / "config" / "priv_validator_key.json").read_text())
        return str(key["address"]).upper()

    def available(self) -> list[int]:
        with self.lock:
            return [i for i in range(self.n) if i not in self.down]

    def mark(self, nodes: set[int] | list[int] | tuple[int, ...], down: bool) -> None:
        with self.lock:
            if down:
                self.down |= set(nodes)
            else:
                self.down -= set(nodes)

    def height(self, i: int) -> int | None:
        try:
            return int(CometRPC(self.rpcs[i].url, timeout=1.5).status()["sync_info"]["latest_block_height"])
        except (RPCError, KeyError, ValueError):
            return None

    def heights(self, nodes: list[int] | None = None) -> dict[int, int | None]:
        return {i: self.height(i) for i in (nodes if nodes is not None else range(self.n))}

    def tip(self, nodes: list[int] | None = None) -> int:
        return max((h for h in self.heights(nodes).values() if h is not None), default=0)

    def proposer(self) -> int | None:
        """The node that proposes the current round, per a live node's consensus state."""
        for i in self.available():
            try:
                rs = self.rpcs[i].call("consensus_state")["round_state"]
                return self.addresses.get(str(rs["proposer"]["address"]).upper())
            except (RPCError, KeyError):
                continue
        return None

    def wait_caught_up(self, nodes: list[int], *, timeout: float, above: int = 0) -> float | None:
        """Seconds until every node in `nodes` is above `above` and level with the highest
        other node (None on timeout)."""
        start = time.monotonic()
        deadline = start + timeout
        while time.monotonic() < deadline:
            hs = self.heights()
            top = max((h for h in hs.values() if h is not None), default=0)
            if all((hs[i] or 0) > above and (hs[i] or 0) >= top for i in nodes):
                return time.monotonic() - start
            time.sleep(0.25)
        return None

    def wait_tip_above(self, height: int, *, timeout: float, nodes: list[int] | None = None) -> float | None:
        start = time.monotonic()
        while time.monotonic() - start < timeout:
            if self.tip(nodes) > height:
                return time.monotonic() - start
            time.sleep(0.25)
        return None

    # -- process control --------------------------------------------------------------------

    def kill(self, i: int) -> None:
        self.net.stop_pair(i, kill=True)

    def start(self, i: int, env: dict[str, str] | None = None) -> None:
        self.net.start_pair(i, env)

    def pause(self, i: int) -> None:
        self.net.signal_pair(i, signal.SIGSTOP)

    def resume(self, i: int) -> None:
        self.net.signal_pair(i, signal.SIGCONT)

    def kill_app_only(self, i: int, *, wait: float = 20.0) -> bool:
        """kill -9 the app alone; True if CometBFT then exited by itself within `wait` s."""
        self.net.kill_app(i)
        node = self.net.nodes.get(i)
        if node is None:
            return False
        try:
            node.wait(timeout=wait)
        except subprocess.TimeoutExpired:
            return False
        return True

    def wait_app_exit(self, i: int, timeout: float) -> int | None:
        app = self.net.apps.get(i)
        if app is None:
            return None
        try:
            return app.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return None

    def isolate(self, i: int, isolated: bool) -> None:
        """Cut node i off (no peers, and a p2p port nobody dials) or reconnect it; takes
        effect at its next start."""
        self.net.isolate(i, isolated)
        if isolated:
            path = self.net.node_home(i) / "config" / "config.toml"
            spare = self.net.ports(i).p2p + 3  # checked free by free_base_port, unused otherwise
            path.write_text(set_toml(path.read_text(), "p2p", "laddr", f'"tcp://127.0.0.1:{spare}"'))

    def signed_height(self, i: int) -> int:
        """The last height node i's validator key signed at (priv_validator_state.json)."""
        path = self.net.node_home(i) / "data" / "priv_validator_state.json"
        try:
            return int(json.loads(path.read_text())["height"])
        except (OSError, ValueError, KeyError):
            return 0

    def wipe(self, i: int) -> None:
        """Delete node i's CometBFT data and app state (keys and config stay) and reset its
        signing state to height 0. The pair must be stopped; see `faults.wipe` for when a
        restart is safe."""
        data = self.net.node_home(i) / "data"
        for child in data.iterdir():
            if child.is_dir():
                shutil.rmtree(child)
            else:
                child.unlink()
        shutil.rmtree(self.net.app_home(i), ignore_errors=True)
        (data / "priv_validator_state.json").write_text(
            json.dumps({"height": "0", "round": 0, "step": 0}, indent=2) + "\n"
        )

    def stop_all(self) -> None:
        for i in range(self.n):
            with contextlib.suppress(Exception):
                self.resume(i)
        self.net.stop()

    def log_tail(self, i: int, what: str, lines: int = 20) -> str:
        path: Path = self.net.log_path(i, what)
        try:
            return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""
