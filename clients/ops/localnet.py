"""The localnet: N validators (CometBFT node + gridledger app) on 127.0.0.1, and its supervisor.

    python -m clients.ops.localnet init   --home .localnet   # testnet folders, demo consortium, genesis
    python -m clients.ops.localnet start  --home .localnet   # init if needed, start, wait, print endpoints
    python -m clients.ops.localnet stop   --home .localnet
    python -m clients.ops.localnet status --home .localnet
    python -m clients.ops.localnet resync NODE --home .localnet   # wipe node NODE, rejoin by state sync

Node i listens on p2p base+100i, rpc base+1+100i, abci base+2+100i, and its gRPC bridge on
base+3+100i (base 26656); Prometheus metrics of its app on base+4+100i and of CometBFT on
base+5+100i (http://127.0.0.1:PORT/metrics). An app and its node are started, and restarted, together. Tests
use the `Localnet` class directly with their own folder and a free port range.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from clients.node import upgrade_switch
from clients.node.children import app_args, bridge_command, comet_command
from clients.node.cometconfig import (
    NodePorts,
    apply_settings,
    node_id,
    node_settings,
    ports_from_base,
    set_toml,
    statesync_settings,
    validator_key,
)
from clients.ops.consortium import Consortium, demo_consortium
from clients.rpc import CometRPC, RPCError
from clients.servers.dashboard.launch import PORT_OFFSET, dashboard_url, start_dashboard

__all__ = ["Localnet", "NodePorts", "free_base_port", "node_id", "set_toml"]

REPO = Path(__file__).resolve().parents[2]
DEFAULT_BASE_PORT = 26656
DEFAULT_CHAIN_ID = "gridledger-localnet"
SNAPSHOT_INTERVAL = "governance.snapshot_interval_blocks"  # the app's governed snapshot interval
DEFAULT_SNAPSHOT_INTERVAL = 100
# Each validator's genesis power (`cometbft testnet` writes 1). CometBFT's block sync hands over to
# consensus at once on a node whose validator has at least total ÷ 3 of the power, integer
# division (it would block the chain): with 4 × 1 that is 1, so every validator believed it, and a
# wiped one caught up through consensus gossip at about 5 blocks a second instead of block sync.
# With 4 × 10 a validator's 10 is below 13, as a quarter of the power is below a third.
VALIDATOR_POWER = 10


def _ephemeral_port_floor() -> int:
    try:
        return int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


def free_base_port(n: int = 4, *, start: int = 27000, stop: int | None = None) -> int:
    """A base port whose n nodes' ports are all free: above the localnet's 26656-26958 and below
    the kernel's ephemeral range (default `stop`), where an outgoing connection could take a
    port between this check and the node's bind."""
    stop = stop if stop is not None else _ephemeral_port_floor()
    bases = list(range(start, stop - 100 * n, 10))
    if not bases:
        raise RuntimeError(f"no room for {n} nodes between ports {start} and {stop}")
    first = (os.getpid() * 37) % len(bases)  # concurrent test runs start at different places
    for base in bases[first:] + bases[:first]:
        if all(_port_free(base + 100 * i + k) for i in range(n) for k in range(6)):
            return base
    raise RuntimeError("no free port range found")


def _port_free(port: int) -> bool:
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _port_open(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.2)
        return s.connect_ex(("127.0.0.1", port)) == 0


class Localnet:
    def __init__(
        self,
        home: Path,
        *,
        n: int = 4,
        base_port: int = DEFAULT_BASE_PORT,
        chain_id: str = DEFAULT_CHAIN_ID,
        cometbft: Path | None = None,
        timeout_commit: str = "500ms",
        python: str = sys.executable,
        app: str = "gridledger",
    ) -> None:
        if app not in ("gridledger", "kvstore"):
            raise ValueError(f"app must be 'gridledger' or 'kvstore' (CometBFT's built-in one), got {app!r}")
        self.home = home.resolve()
        self.app = app  # "kvstore": no app processes, each node runs CometBFT's in-memory kvstore
        self.n = n
        self.base_port = base_port
        self.chain_id = chain_id
        self.cometbft = str(cometbft or shutil.which("cometbft") or REPO / "bin" / "cometbft")
        self.timeout_commit = timeout_commit
        self.python = python
        self.apps: dict[int, subprocess.Popen[bytes]] = {}
        self.nodes: dict[int, subprocess.Popen[bytes]] = {}
        self.bridges: dict[int, subprocess.Popen[bytes]] = {}

    # -- layout ------------------------------------------------------------------------

    def ports(self, i: int) -> NodePorts:
        return ports_from_base(self.base_port + 100 * i)

    def node_home(self, i: int) -> Path:
        return self.home / f"node{i}"

    def app_home(self, i: int) -> Path:
        return self.home / f"node{i}" / "app"

    def host(self, i: int) -> str:
        """The address node i binds its p2p and RPC ports to, and its peers dial (a subclass
        placing nodes on other hosts overrides it; the app's ABCI port stays on 127.0.0.1)."""
        return "127.0.0.1"

    def command(self, i: int, argv: list[str]) -> list[str]:
        """How node i's processes are launched (a subclass wraps them, e.g. in `ip netns exec`)."""
        return argv

    def listening(self, i: int, port: int) -> bool:
        """Whether something listens on 127.0.0.1:`port` where node i's processes run."""
        return _port_open(port)

    def rpc(self, i: int, timeout: float = 10.0) -> CometRPC:
        return CometRPC(f"http://{self.host(i)}:{self.ports(i).rpc}", timeout=timeout)

    def log_path(self, i: int, what: str) -> Path:
        return self.home / "logs" / f"node{i}.{what}.log"

    @property
    def initialized(self) -> bool:
        return (self.home / "localnet.json").exists()

    def consortium(self) -> Consortium:
        return Consortium.load(self.home / "consortium")

    # -- init --------------------------------------------------------------------------

    def init(self, *, params: dict[str, int] | None = None, consortium: Consortium | None = None) -> None:
        """Create the testnet folders, configure every node, and write the genesis app_state."""
        if self.initialized:
            raise RuntimeError(f"{self.home} already holds a localnet")
        self.home.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            [self.cometbft, "testnet", "--v", str(self.n), "--o", str(self.home), "--populate-persistent-peers=false"],
            check=True,
            capture_output=True,
        )
        ids = [node_id(self.node_home(i)) for i in range(self.n)]
        for i in range(self.n):
            self._configure(i, ids)
        c = consortium or demo_consortium()
        c.save(self.home / "consortium")
        genesis_path = self.node_home(0) / "config" / "genesis.json"
        genesis = json.loads(genesis_path.read_text())
        genesis["chain_id"] = self.chain_id
        for v in genesis["validators"]:
            v["power"] = str(VALIDATOR_POWER)
        genesis["app_state"] = c.app_state({SNAPSHOT_INTERVAL: DEFAULT_SNAPSHOT_INTERVAL, **(params or {})})
        for i in range(self.n):
            (self.node_home(i) / "config" / "genesis.json").write_text(json.dumps(genesis, indent=2))
        (self.home / "logs").mkdir(exist_ok=True)
        meta = {"n": self.n, "base_port": self.base_port, "chain_id": self.chain_id}
        (self.home / "localnet.json").write_text(json.dumps(meta, indent=2))

    def _configure(self, i: int, ids: list[str], *, peers: bool = True) -> None:
        p = self.ports(i)
        peer_list = [f"{ids[j]}@{self.host(j)}:{self.ports(j).p2p}" for j in range(self.n) if j != i and peers]
        settings = node_settings(
            moniker=f"node{i}",
            proxy_app="kvstore" if self.app == "kvstore" else f"tcp://127.0.0.1:{p.abci}",
            p2p_laddr=f"{self.host(i)}:{p.p2p}",
            rpc_laddr=f"{self.host(i)}:{p.rpc}",
            peers=peer_list,
            prometheus_addr=f"127.0.0.1:{p.comet_metrics}",
            timeout_commit=self.timeout_commit,
        )
        apply_settings(self.node_home(i) / "config" / "config.toml", settings)

    def add_node(self) -> int:
        """Create node `n` (a full node, not a validator) for the running net: same genesis, peers to all; its index.

        Pick the net's base port with room for it (`free_base_port(n + 1)`). It becomes a
        validator only through a governance proposal (UpdateValidator with `validator_pub_key`).
        """
        i = self.n
        home = self.node_home(i)
        subprocess.run([self.cometbft, "init", "--home", str(home)], check=True, capture_output=True)
        shutil.copyfile(self.node_home(0) / "config" / "genesis.json", home / "config" / "genesis.json")
        self.n += 1
        self._configure(i, [node_id(self.node_home(j)) for j in range(self.n)])
        meta_path = self.home / "localnet.json"
        meta = json.loads(meta_path.read_text())
        meta["n"] = self.n
        meta_path.write_text(json.dumps(meta, indent=2))
        return i

    def validator_pub_key(self, i: int) -> bytes:
        """Node i's 32-byte Ed25519 consensus public key."""
        return validator_key(self.node_home(i))[1]

    def validator_address(self, i: int) -> str:
        """Node i's validator address (upper-case hex, as CometBFT's RPC prints it)."""
        return validator_key(self.node_home(i))[0]

    def isolate(self, i: int, isolated: bool) -> None:
        """Rewrite node i's peer list: empty (cut off from its peers at its next start) or full."""
        ids = [node_id(self.node_home(j)) for j in range(self.n)]
        self._configure(i, ids, peers=not isolated)

    # -- state sync ------------------------------------------------------------------------

    def snapshot_interval(self) -> int:
        genesis = json.loads((self.node_home(0) / "config" / "genesis.json").read_text())
        return int(genesis["app_state"].get("params", {}).get(SNAPSHOT_INTERVAL, 0))

    def configure_statesync(self, i: int, servers: list[int]) -> int:
        """Point node i's [statesync] at two running nodes' RPC, trusting a header one of them
        serves now (two snapshot intervals below its tip, so the newest snapshots are above it);
        the trusted height."""
        tip = self.rpc(servers[0]).height()
        trust_height = max(1, tip - 2 * max(1, self.snapshot_interval()))
        trust_hash = self.rpc(servers[0]).block(trust_height)["block_id"]["hash"]
        settings = statesync_settings(
            enable=True,
            rpc_servers=[f"{self.host(j)}:{self.ports(j).rpc}" for j in servers[:2]],
            trust_height=trust_height,
            trust_hash=trust_hash,
        )
        apply_settings(self.node_home(i) / "config" / "config.toml", settings)
        return trust_height

    def wipe(self, i: int) -> None:
        """Delete node i's chain data and its app's state and snapshots (the node must be
        stopped); its keys, config and signing state (priv_validator_state.json) stay."""
        data = self.node_home(i) / "data"
        for entry in data.iterdir() if data.exists() else []:
            if entry.name == "priv_validator_state.json":
                continue
            shutil.rmtree(entry) if entry.is_dir() else entry.unlink()
        shutil.rmtree(self.app_home(i), ignore_errors=True)

    def resync(self, i: int) -> int:
        """Stop node i, wipe it, and start it again to rejoin by state sync; the trusted height."""
        servers = [j for j in range(self.n) if j != i and self.height(j) is not None]
        if len(servers) < 2:
            raise RuntimeError("state sync needs two other running nodes to serve snapshots and light blocks")
        self.stop_pair(i)
        self.wipe(i)
        trust_height = self.configure_statesync(i, servers)
        self.start_pair(i)
        return trust_height

    # -- processes -----------------------------------------------------------------------

    def start_app(self, i: int, env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
        p = self.ports(i)
        log = open(self.log_path(i, "app"), "ab")  # noqa: SIM115 - owned by the child process
        args = app_args(abci=f"tcp://127.0.0.1:{p.abci}", home=self.app_home(i), metrics=f"127.0.0.1:{p.metrics}")
        # the version to run: this code, or the new version once an upgrade switched the home over
        cmd = upgrade_switch.app_command(self.app_home(i), [self.python, "-m", "abci_app"], args)
        env = {**os.environ, **(env or {})}
        proc = subprocess.Popen(self.command(i, cmd), stdout=log, stderr=subprocess.STDOUT, cwd=REPO, env=env)
        log.close()
        self.apps[i] = proc
        self._write_pid(f"node{i}.app", proc.pid)
        deadline = time.monotonic() + 30
        while not self.listening(i, p.abci):
            if proc.poll() is not None:
                raise RuntimeError(f"app {i} exited with {proc.returncode}; see {self.log_path(i, 'app')}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"app {i} did not listen on {p.abci} within 30s")
            time.sleep(0.05)
        return proc

    def start_node(self, i: int) -> subprocess.Popen[bytes]:
        log = open(self.log_path(i, "cometbft"), "ab")  # noqa: SIM115 - owned by the child process
        cmd = self.command(i, comet_command(self.cometbft, self.node_home(i)))
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)
        log.close()
        self.nodes[i] = proc
        self._write_pid(f"node{i}.cometbft", proc.pid)
        return proc

    def start_bridge(self, i: int) -> subprocess.Popen[bytes]:
        """The gRPC bridge beside node i (stateless; it may start before its node is up)."""
        p = self.ports(i)
        log = open(self.log_path(i, "bridge"), "ab")  # noqa: SIM115 - owned by the child process
        cmd = bridge_command(
            self.python,
            listen=f"127.0.0.1:{p.bridge}",
            rpc_url=f"http://{self.host(i)}:{p.rpc}",
            genesis=self.node_home(i) / "config" / "genesis.json",
        )
        proc = subprocess.Popen(self.command(i, cmd), stdout=log, stderr=subprocess.STDOUT, cwd=REPO)
        log.close()
        self.bridges[i] = proc
        self._write_pid(f"node{i}.bridge", proc.pid)
        return proc

    def stop_bridge(self, i: int) -> None:
        proc = self.bridges.pop(i, None)
        if proc is not None and proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()

    def start_pair(self, i: int, app_env: dict[str, str] | None = None) -> None:
        if self.app == "gridledger":
            self.start_app(i, app_env)
        self.start_node(i)

    def start(self, nodes: Iterable[int] | None = None) -> None:
        for i in nodes if nodes is not None else range(self.n):
            self.start_pair(i)

    def signal_pair(self, i: int, sig: int) -> None:
        for proc in (self.nodes.get(i), self.apps.get(i)):
            if proc is not None and proc.poll() is None:
                proc.send_signal(sig)

    def kill_app(self, i: int) -> None:
        proc = self.apps.get(i)
        if proc is not None and proc.poll() is None:
            proc.kill()
            proc.wait()

    def stop_pair(self, i: int, *, kill: bool = False, timeout: float = 15.0) -> None:
        """Stop node i and its app (SIGKILL with `kill`, else SIGTERM then SIGKILL)."""
        for table in (self.nodes, self.apps):
            proc = table.pop(i, None)
            if proc is None or proc.poll() is not None:
                continue
            if kill:
                proc.kill()
            else:
                proc.terminate()
            try:
                proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()

    def stop(self) -> None:
        for i in sorted(self.bridges):
            self.stop_bridge(i)
        for i in sorted(set(self.nodes) | set(self.apps)):
            self.stop_pair(i)

    def pair_alive(self, i: int) -> bool:
        node, app = self.nodes.get(i), self.apps.get(i)
        if self.app == "kvstore":
            return node is not None and node.poll() is None
        return node is not None and app is not None and node.poll() is None and app.poll() is None

    def revive(self, i: int) -> upgrade_switch.Decision:
        """Node i's pair is down (either process exited): stop what is left of it and, unless the
        upgrade switch says to leave it down, start it again — as the new version when its app
        stopped for a due upgrade whose new version is prepared (clients/ops/upgrade_switch.py)."""
        app = self.apps.get(i)
        status = app.poll() if app is not None else None
        self.stop_pair(i)
        decision = upgrade_switch.Decision("restart")
        if status is not None and self.app == "gridledger":
            decision = upgrade_switch.after_exit(self.app_home(i), status)
        if decision.action != "stop":
            self.start_pair(i)
        elif app is not None:
            self.apps[i] = app  # left down: keep its exit status for the next look
        return decision

    def _write_pid(self, name: str, pid: int) -> None:
        folder = self.home / "pids"
        folder.mkdir(exist_ok=True)
        (folder / f"{name}.pid").write_text(str(pid))

    # -- observation ----------------------------------------------------------------------

    def height(self, i: int) -> int | None:
        try:
            return self.rpc(i, timeout=2).height()
        except (RPCError, KeyError, ValueError):
            return None

    def wait_height(self, height: int, nodes: Iterable[int] | None = None, *, timeout: float = 60.0) -> None:
        wanted = list(nodes) if nodes is not None else list(range(self.n))
        deadline = time.monotonic() + timeout
        while True:
            heights = {i: self.height(i) for i in wanted}
            if all(h is not None and h >= height for h in heights.values()):
                return
            if time.monotonic() > deadline:
                raise TimeoutError(f"nodes did not reach height {height} in {timeout}s: {heights}")
            time.sleep(0.2)

    def app_hashes(self, height: int, nodes: Iterable[int] | None = None) -> dict[int, str]:
        """The app hash each node's header at `height` carries."""
        return {i: self.rpc(i).app_hash_at(height).hex() for i in (nodes if nodes is not None else range(self.n))}


# -- the supervisor behind `make localnet` --------------------------------------------------------


def _load(home: Path) -> Localnet:
    meta = json.loads((home / "localnet.json").read_text())
    return Localnet(home, n=meta["n"], base_port=meta["base_port"], chain_id=meta["chain_id"])


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except (ProcessLookupError, PermissionError):
        return False
    return True


def _supervisor_pid(home: Path) -> int | None:
    path = home / "pids" / "supervisor.pid"
    if not path.exists():
        return None
    pid = int(path.read_text())
    return pid if _pid_alive(pid) else None


def supervise(home: Path) -> int:
    """Run every node pair; restart a pair together when either of its processes exits."""
    net = _load(home)
    net._write_pid("supervisor", os.getpid())
    stopping = False

    def on_term(_sig: int, _frame: Any) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGINT, on_term)
    restarts: dict[int, list[float]] = {i: [] for i in range(net.n)}
    held: dict[int, str] = {}  # why a node is left down (an upgrade it waits for), printed once
    net.start()
    for i in range(net.n):
        net.start_bridge(i)
    rpcs = [f"http://127.0.0.1:{net.ports(i).rpc}" for i in range(net.n)]
    web = start_dashboard(rpcs, net.base_port + PORT_OFFSET, home / "logs" / "dashboard.log", label=str(home))
    net._write_pid("dashboard", web.pid)
    print(f"supervisor: started {net.n} validators, their gRPC bridges and the dashboard", flush=True)
    while not stopping:
        time.sleep(0.5)
        for request in sorted(home.glob("resync-*.request")):
            i = int(request.stem.removeprefix("resync-"))
            request.unlink(missing_ok=True)
            try:
                trust = net.resync(i)
                print(f"supervisor: node{i} wiped; rejoining by state sync (trusted height {trust})", flush=True)
            except (RuntimeError, OSError, RPCError, KeyError) as exc:
                print(f"supervisor: resync of node{i} failed: {exc}", flush=True)
        for i in range(net.n):
            bridge = net.bridges.get(i)
            if not stopping and (bridge is None or bridge.poll() is not None):
                print(f"supervisor: bridge{i} exited; restarting it", flush=True)
                net.start_bridge(i)
            if stopping or net.pair_alive(i):
                continue
            now = time.monotonic()
            recent = [t for t in restarts[i] if now - t < 60]
            if len(recent) >= 5:
                continue  # crash-looping: leave it down, the operator reads the logs
            try:
                decision = net.revive(i)
            except RuntimeError as exc:
                restarts[i] = [*recent, now]
                print(f"supervisor: restart of node{i} failed: {exc}", flush=True)
                continue
            if decision.action == "restart":
                restarts[i] = [*recent, now]
                print(f"supervisor: node{i} pair exited; restarted both", flush=True)
            elif decision.message != held.get(i):
                print(f"supervisor: node{i}: {decision.message}", flush=True)
            held[i] = decision.message if decision.action == "stop" else ""
    web.terminate()
    net.stop()
    (home / "pids" / "supervisor.pid").unlink(missing_ok=True)
    print("supervisor: stopped", flush=True)
    return 0


def start(home: Path, *, wait_height: int = 3, base_port: int = DEFAULT_BASE_PORT, n: int = 4) -> int:
    if not (home / "localnet.json").exists():
        print(f"initialising a {n}-validator localnet in {home}")
        Localnet(home, n=n, base_port=base_port).init()
    net = _load(home)
    if _supervisor_pid(home) is None:
        log = open(home / "logs" / "supervisor.log", "ab")  # noqa: SIM115 - owned by the child process
        subprocess.Popen(
            [sys.executable, "-m", "clients.ops.localnet", "supervise", "--home", str(home)],
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=REPO,
            start_new_session=True,
        )
        log.close()
    print(f"waiting for all {net.n} validators to reach height {wait_height} ...", flush=True)
    try:
        net.wait_height(wait_height, timeout=120)
    except TimeoutError as exc:
        print(f"localnet did not come up: {exc}; logs in {home / 'logs'}", file=sys.stderr)
        return 1
    print_endpoints(net)
    return 0


def print_endpoints(net: Localnet) -> None:
    print(f"\ngridledger localnet '{net.chain_id}' is up ({net.home})")
    for i in range(net.n):
        p = net.ports(i)
        print(
            f"  node{i}: rpc http://127.0.0.1:{p.rpc}  p2p 127.0.0.1:{p.p2p}  "
            f"abci tcp://127.0.0.1:{p.abci}  grpc bridge 127.0.0.1:{p.bridge}  height {net.height(i)}"
        )
        print(
            f"         metrics: app http://127.0.0.1:{p.metrics}/metrics  cometbft http://127.0.0.1:{p.comet_metrics}/metrics"
        )
    print(f"  dashboard: {dashboard_url(net.base_port)}")
    print(f"  keys and certificates: {net.home / 'consortium'}")
    print(f"  logs: {net.home / 'logs'}    stop: make localnet-stop")


def stop(home: Path) -> int:
    pid = _supervisor_pid(home)
    if pid is not None:
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + 40
        while _pid_alive(pid) and time.monotonic() < deadline:
            time.sleep(0.2)
    # Anything the supervisor left behind (it was killed, say): only our own processes.
    for pidfile in (home / "pids").glob("*.pid") if (home / "pids").exists() else []:
        try:
            child = int(pidfile.read_text())
            cmdline = Path(f"/proc/{child}/cmdline").read_bytes()
        except (OSError, ValueError):
            pidfile.unlink(missing_ok=True)
            continue
        if str(home).encode() in cmdline:
            os.kill(child, signal.SIGKILL)
        pidfile.unlink(missing_ok=True)
    print("localnet stopped")
    return 0


def resync(home: Path, i: int, *, timeout: float = 300.0) -> int:
    """Wipe node i and rejoin it by state sync (through the supervisor when one runs); wait
    until it is back at the tip and print how long that took."""
    net = _load(home)
    if not 0 <= i < net.n:
        print(f"no node{i}: the localnet has nodes 0..{net.n - 1}", file=sys.stderr)
        return 2
    started = time.monotonic()
    if _supervisor_pid(home) is not None:
        (home / f"resync-{i}.request").write_text("")
    else:
        others = [j for j in range(net.n) if j != i]
        if sum(net.height(j) is not None for j in others) < 2:
            net.wipe(i)  # nothing running: the next start syncs by replay, or configure state sync by hand
            print(f"node{i} wiped; start the localnet with two other nodes up to rejoin it by state sync")
            return 0
        net.resync(i)
    other = next(j for j in range(net.n) if j != i)
    time.sleep(2)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        h, tip = net.height(i), net.height(other)
        if h is not None and tip is not None and h >= tip - 1:
            print(f"node{i} rejoined by state sync at height {h} in {time.monotonic() - started:.1f} s")
            return 0
        time.sleep(0.5)
    print(f"node{i} did not reach the tip within {timeout:.0f} s; see {net.log_path(i, 'cometbft')}", file=sys.stderr)
    return 1


def status(home: Path) -> int:
    if not (home / "localnet.json").exists():
        print(f"no localnet in {home}")
        return 1
    net = _load(home)
    for i in range(net.n):
        h = net.height(i)
        app_hash = "-"
        if h:
            with contextlib.suppress(RPCError):
                app_hash = net.rpc(i).status()["sync_info"]["latest_app_hash"][:16]
        print(f"node{i}: height {h if h is not None else 'down'}  app_hash {app_hash}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m clients.ops.localnet")
    parser.add_argument("command", choices=["init", "start", "stop", "status", "supervise", "resync"])
    parser.add_argument("node", nargs="?", type=int, help="resync: the node to wipe and rejoin by state sync")
    parser.add_argument("--home", type=Path, default=Path(".localnet"))
    parser.add_argument("--base-port", type=int, default=DEFAULT_BASE_PORT, help="p2p port of node0 (init only)")
    parser.add_argument("--validators", type=int, default=4, help="number of validators (init only)")
    args = parser.parse_args(argv)
    home = args.home.resolve()
    if args.command == "init":
        # Testnet folders, node configs, demo org CAs, member keys and the genesis app_state.
        Localnet(home, n=args.validators, base_port=args.base_port).init()
        print(f"localnet initialised in {home}; genesis app_state in node*/config/genesis.json")
        return 0
    if args.command == "start":
        return start(home, base_port=args.base_port, n=args.validators)
    if args.command == "stop":
        return stop(home) if home.exists() else 0
    if args.command == "status":
        return status(home)
    if args.command == "resync":
        if args.node is None:
            parser.error("resync needs the node's number, e.g. `resync 3`")
        return resync(home, args.node)
    return supervise(home)


if __name__ == "__main__":
    sys.exit(main())
