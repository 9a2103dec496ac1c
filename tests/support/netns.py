"""Hosts as Linux network namespaces, for tests that need several machines with their own addresses.

A `Sandbox` is one "switch" namespace holding a bridge, and N host namespaces, each wired to
the bridge by a veth pair (`eth0` in the host, port `p<k>` on the switch) with an address in a
private /24 of 10.213.0.0/16 picked per run. Everything lives in namespaces this run created;
nothing is added to the root namespace, so no traffic can leave the sandbox.

Faults are real link faults: `cut` takes the host's switch port down (the cable pulled at the
switch: the host keeps its own address, so a process on it can still be asked what it sees),
`impair` adds loss and delay — by `tc netem` where the kernel has it, else by iptables'
`statistic` match (random loss, or all of it for a partition) and a `tbf` slow link (queueing
delay) — and `clear` removes them. `split` partitions the hosts into two halves at the switch
itself: an nftables bridge-family table in the switch namespace drops every frame the bridge
would forward from a port of one half to a port of the other (ARP included), while frames
between ports of one half pass; `heal` deletes the table.

The test process reaches a host's ports from a thread that has entered that host's namespace
(`setns`), as an operator logged in on the host would: `HostNet` is a `Localnet` whose nodes run
under `ip netns exec`, bind their p2p and RPC ports to their host's address, and are read
through such threads.
"""

from __future__ import annotations

import contextlib
import ctypes
import ipaddress
import os
import re
import shutil
import signal
import socket
import subprocess
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from clients.ops.consortium import Consortium
from clients.ops.localnet import Localnet
from clients.rpc import CometRPC

__all__ = [
    "POOL",
    "Host",
    "HostNet",
    "Impairment",
    "NamespaceRPC",
    "Sandbox",
    "clear_commands",
    "heal_commands",
    "hosts_of",
    "impair_commands",
    "make_homes",
    "pick_subnet",
    "sandbox_names",
    "setup_commands",
    "skip_reason",
    "split_commands",
    "stale_namespaces",
    "taken_octets",
]

POOL = ipaddress.IPv4Network("10.213.0.0/16")  # every sandbox's /24 is inside it
PREFIX = "glns"  # every namespace a sandbox makes starts with it
SPLIT_TABLE = "glsplit"  # the switch's nftables bridge table that makes a split
_CLONE_NEWNET = 0x40000000
_NAME = re.compile(rf"^{PREFIX}(\d{{1,3}})p(\d+)(?:sw|h\d+)$")


# -- naming and addressing (pure) ---------------------------------------------------------------


def sandbox_names(octet: int, pid: int, hosts: int) -> tuple[str, list[str]]:
    """(switch namespace, host namespaces) of the sandbox using 10.213.`octet`.0/24 made by `pid`.

    The third octet is in every name so another run can see which subnets are taken.
    """
    if not 0 <= octet <= 255:
        raise ValueError(f"octet {octet} out of range")
    base = f"{PREFIX}{octet}p{pid}"
    return f"{base}sw", [f"{base}h{k}" for k in range(hosts)]


def taken_octets(namespaces: Iterable[str]) -> set[int]:
    """The third octets that existing sandboxes (namespaces named by `sandbox_names`) use."""
    out = set()
    for name in namespaces:
        m = _NAME.match(name)
        if m and int(m.group(1)) <= 255:
            out.add(int(m.group(1)))
    return out


def stale_namespaces(namespaces: Iterable[str], alive: Callable[[int], bool]) -> list[str]:
    """The namespaces of sandboxes whose creating process is gone (a run killed before its cleanup)."""
    out = []
    for name in namespaces:
        m = _NAME.match(name)
        if m and not alive(int(m.group(2))):
            out.append(name)
    return out


def pick_subnet(seed: int, taken: set[int], routes: Iterable[ipaddress.IPv4Network] = ()) -> ipaddress.IPv4Network:
    """A /24 of POOL whose third octet no other sandbox uses and which overlaps none of `routes`
    (the root namespace's, other than ones covering the whole pool); the search starts at `seed`
    (the pid: concurrent runs start apart) and skips .0 and .255."""
    clashing = [r for r in routes if r.overlaps(POOL) and not POOL.subnet_of(r)]  # a default route clashes with none
    for step in range(254):
        octet = 1 + (seed + step) % 254
        net = ipaddress.IPv4Network(f"10.213.{octet}.0/24")
        if octet not in taken and not any(net.overlaps(r) for r in clashing):
            return net
    raise RuntimeError("no free /24 left in 10.213.0.0/16")


@dataclass(frozen=True)
class Host:
    index: int
    netns: str
    address: str
    ifname: str = "eth0"  # its interface (inside its namespace)

    @property
    def port(self) -> str:
        """Its port on the switch (an interface in the switch namespace)."""
        return f"p{self.index}"


def hosts_of(subnet: ipaddress.IPv4Network, names: list[str]) -> list[Host]:
    """Host k gets the subnet's (k+1)-th address."""
    addrs = list(subnet.hosts())
    if len(names) > len(addrs):
        raise ValueError(f"{len(names)} hosts do not fit in {subnet}")
    return [Host(k, name, str(addrs[k])) for k, name in enumerate(names)]


def setup_commands(switch: str, hosts: list[Host], prefixlen: int) -> list[list[str]]:
    """The `ip` commands that make the switch (a bridge in its own namespace) and wire every host to it."""
    cmds = [
        ["ip", "netns", "add", switch],
        ["ip", "-n", switch, "link", "add", "br0", "type", "bridge"],
        ["ip", "-n", switch, "link", "set", "br0", "up"],
    ]
    for h in hosts:
        cmds += [
            ["ip", "netns", "add", h.netns],
            ["ip", "-n", h.netns, "link", "set", "lo", "up"],
            ["ip", "link", "add", h.ifname, "netns", h.netns, "type", "veth", "peer", "name", h.port, "netns", switch],
            ["ip", "-n", switch, "link", "set", h.port, "master", "br0"],
            ["ip", "-n", switch, "link", "set", h.port, "up"],
            ["ip", "-n", h.netns, "addr", "add", f"{h.address}/{prefixlen}", "dev", h.ifname],
            ["ip", "-n", h.netns, "link", "set", h.ifname, "up"],
        ]
    return cmds


@dataclass(frozen=True)
class Impairment:
    """A degraded link: `loss_pct` of packets dropped each way, `delay_ms` more latency (100% loss: a partition)."""

    loss_pct: int = 0
    delay_ms: int = 0

    def __post_init__(self) -> None:
        if not 0 <= self.loss_pct <= 100 or self.delay_ms < 0:
            raise ValueError(f"bad impairment {self}")


def impair_commands(switch: str, host: Host, imp: Impairment, *, netem: bool) -> list[list[str]]:
    """Commands that impair `host`'s link both ways (on its interface and its switch port).

    With netem: one `netem delay/loss` qdisc on each end. Without: iptables `statistic` DROP
    rules in the host's namespace for the loss (all of it at 100%), and for the delay a `tbf`
    slow link on each end, whose queue delays packets (about `delay_ms` for a full burst).
    """
    ends = [
        ["-n", host.netns, "qdisc", "replace", "dev", host.ifname],
        ["-n", switch, "qdisc", "replace", "dev", host.port],
    ]
    cmds: list[list[str]] = []
    if netem:
        args = ["root", "netem"]
        if imp.delay_ms:
            args += ["delay", f"{imp.delay_ms}ms", f"{max(1, imp.delay_ms // 5)}ms"]
        if imp.loss_pct:
            args += ["loss", f"{imp.loss_pct}%"]
        return [["tc", *end, *args] for end in ends] if len(args) > 2 else []
    if imp.delay_ms:
        # 256 kbit/s drains a 32 kbit burst in 125 ms: the queue holds packets about that long per burst
        tbf = ["root", "tbf", "rate", "256kbit", "burst", "32kbit", "latency", f"{max(imp.delay_ms, 50)}ms"]
        cmds += [["tc", *end, *tbf] for end in ends]
    if imp.loss_pct:
        match = (
            []
            if imp.loss_pct == 100
            else ["-m", "statistic", "--mode", "random", "--probability", f"{imp.loss_pct / 100:.2f}"]
        )
        for chain, flag in (("INPUT", "-i"), ("OUTPUT", "-o")):
            rule = ["iptables-legacy", "-w", "-A", chain, flag, host.ifname, *match, "-j", "DROP"]
            cmds.append(["ip", "netns", "exec", host.netns, *rule])
    return cmds


def clear_commands(switch: str, host: Host) -> list[list[str]]:
    """Commands that remove every impairment from `host`'s link (each may fail if there was none)."""
    return [
        ["tc", "-n", host.netns, "qdisc", "del", "dev", host.ifname, "root"],
        ["tc", "-n", switch, "qdisc", "del", "dev", host.port, "root"],
        ["ip", "netns", "exec", host.netns, "iptables-legacy", "-w", "-F", "INPUT"],
        ["ip", "netns", "exec", host.netns, "iptables-legacy", "-w", "-F", "OUTPUT"],
    ]


def split_commands(switch: str, halves: tuple[list[Host], list[Host]]) -> list[list[str]]:
    """Commands that partition the switch into two halves: nothing is forwarded between a port of
    one half and a port of the other (both ways), frames within a half are forwarded as before.

    An nftables table of the bridge family in the switch namespace, one chain on the bridge's
    forward hook, one drop rule per direction matching input and output port; the host's own
    namespaces and the root namespace are not touched. Hosts in neither half stay reachable from both.
    """
    a, b = halves
    if not a or not b:
        raise ValueError("a split needs two non-empty halves")
    if {h.port for h in a} & {h.port for h in b}:
        raise ValueError("a host cannot be in both halves")
    nft = ["ip", "netns", "exec", switch, "nft"]

    def ports(hosts: list[Host]) -> str:
        return "{ " + ", ".join(f'"{h.port}"' for h in hosts) + " }"

    chain = ["bridge", SPLIT_TABLE, "cross"]
    return [
        [*nft, "add", "table", "bridge", SPLIT_TABLE],
        [*nft, "add", "chain", *chain, "{ type filter hook forward priority 0; policy accept; }"],
        [*nft, "add", "rule", *chain, "iifname", ports(a), "oifname", ports(b), "drop"],
        [*nft, "add", "rule", *chain, "iifname", ports(b), "oifname", ports(a), "drop"],
    ]


def heal_commands(switch: str) -> list[list[str]]:
    """The command that removes a split (deletes the switch's split table; fails if there was none)."""
    return [["ip", "netns", "exec", switch, "nft", "delete", "table", "bridge", SPLIT_TABLE]]


# -- the machine ----------------------------------------------------------------------------------


def _run(cmd: list[str], *, check: bool = True) -> subprocess.CompletedProcess[str]:
    r = subprocess.run(cmd, capture_output=True, text=True, check=False, timeout=30)
    if check and r.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({r.returncode}): {r.stderr.strip()}")
    return r


def _netns_list() -> list[str]:
    out = _run(["ip", "netns", "list"]).stdout
    return [line.split()[0] for line in out.splitlines() if line.strip()]


def _root_routes() -> list[ipaddress.IPv4Network]:
    nets = []
    for line in _run(["ip", "-4", "route", "show", "table", "all"]).stdout.splitlines():
        word = line.split()[0] if line.split() else ""
        if word in ("local", "broadcast", "unicast"):
            word = line.split()[1]
        with contextlib.suppress(ValueError):
            nets.append(ipaddress.IPv4Network(word, strict=False))
    return nets


def _probe_netem(namespace: str) -> bool:
    ok = _run(["tc", "-n", namespace, "qdisc", "add", "dev", "lo", "root", "netem", "delay", "1ms"], check=False)
    _run(["tc", "-n", namespace, "qdisc", "del", "dev", "lo", "root"], check=False)
    return ok.returncode == 0


def _probe_nft_bridge(namespace: str) -> str | None:
    """Why nftables cannot filter a bridge's forwarding in `namespace` (a fresh one), or None."""
    for cmd in split_commands(namespace, ([Host(0, namespace, "")], [Host(1, namespace, "")]))[:2]:
        r = _run(cmd, check=False)
        if r.returncode != 0:
            return f"nftables cannot filter bridged frames here: {r.stderr.strip()}"
    return None


def skip_reason() -> str | None:
    """Why namespace tests cannot run here (not root, no `ip`/`tc`/`nft`, `ip netns` refused, no
    way to drop packets, no nftables bridge filtering), or None."""
    if os.geteuid() != 0:
        return "network namespaces need root"
    for tool, package in (("ip", "iproute2"), ("tc", "iproute2"), ("nft", "nftables")):
        if shutil.which(tool) is None:
            return f"`{tool}` ({package}) is not installed"
    probe = f"{PREFIX}probe{os.getpid()}"
    made = _run(["ip", "netns", "add", probe], check=False)
    if made.returncode != 0:
        return f"`ip netns add` is not available: {made.stderr.strip()}"
    try:
        if not _probe_netem(probe) and shutil.which("iptables-legacy") is None:
            return "neither `tc netem` (kernel module) nor iptables-legacy for link loss"
        return _probe_nft_bridge(probe)
    finally:
        _run(["ip", "netns", "del", probe], check=False)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _delete_namespace(name: str) -> None:
    """Kill every process in namespace `name` (only sandbox namespaces are passed), then delete it."""
    for pid in _run(["ip", "netns", "pids", name], check=False).stdout.split():
        with contextlib.suppress(ProcessLookupError, ValueError):
            os.kill(int(pid), signal.SIGKILL)
    _run(["ip", "netns", "del", name], check=False)


def _enter_netns(name: str) -> None:
    """Move the calling thread into namespace `name` (network namespaces are per thread)."""
    fd = os.open(f"/run/netns/{name}", os.O_RDONLY)
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.setns(fd, _CLONE_NEWNET) != 0:
            err = ctypes.get_errno()
            raise OSError(err, f"setns into {name}: {os.strerror(err)}")
    finally:
        os.close(fd)


class NamespaceRPC(CometRPC):
    """A CometRPC whose requests are made from a thread inside the node's host namespace."""

    def __init__(self, url: str, pool: ThreadPoolExecutor, *, timeout: float = 10.0) -> None:
        super().__init__(url, timeout=timeout)
        self._pool = pool

    def call(self, method: str, **params: Any) -> Any:
        return self._pool.submit(CometRPC.call, self, method, **params).result()


@dataclass
class Sandbox:
    """N hosts on one switch, made by `create` and always removed by `destroy`."""

    subnet: ipaddress.IPv4Network
    switch: str
    hosts: list[Host]
    netem: bool = False  # the kernel has sch_netem (else iptables + tbf stand in)
    _pools: dict[str, ThreadPoolExecutor] = field(default_factory=dict)

    @staticmethod
    def create(n: int) -> Sandbox:
        """Make the switch and n hosts (first deleting sandboxes whose creating process died)."""
        for name in stale_namespaces(_netns_list(), _pid_alive):
            _delete_namespace(name)
        subnet = pick_subnet(os.getpid(), taken_octets(_netns_list()), _root_routes())
        switch, names = sandbox_names(subnet.network_address.packed[2], os.getpid(), n)
        box = Sandbox(subnet, switch, hosts_of(subnet, names))
        try:
            for cmd in setup_commands(switch, box.hosts, subnet.prefixlen):
                _run(cmd)
            box.netem = _probe_netem(switch)
        except BaseException:
            box.destroy()
            raise
        return box

    def pool(self, netns: str) -> ThreadPoolExecutor:
        """Worker threads living in namespace `netns` (made on first use)."""
        if netns not in self._pools:
            self._pools[netns] = ThreadPoolExecutor(8, f"ns-{netns}", initializer=_enter_netns, initargs=(netns,))
        return self._pools[netns]

    def port_open(self, host: Host, address: str, port: int, *, timeout: float = 0.2) -> bool:
        """Whether a TCP connection from `host` to address:port is accepted within `timeout` seconds."""

        def probe() -> bool:
            with socket.socket() as s:
                s.settimeout(timeout)
                return s.connect_ex((address, port)) == 0

        return self.pool(host.netns).submit(probe).result()

    # -- faults -----------------------------------------------------------------------------------

    def cut(self, host: Host, cut: bool = True) -> None:
        """Take `host`'s switch port down (cut) or up again."""
        _run(["ip", "-n", self.switch, "link", "set", host.port, "down" if cut else "up"])

    def impair(self, host: Host, imp: Impairment) -> None:
        self.clear(host)
        for cmd in impair_commands(self.switch, host, imp, netem=self.netem):
            _run(cmd)

    def clear(self, host: Host) -> None:
        for cmd in clear_commands(self.switch, host):
            _run(cmd, check=False)

    def split(self, a: list[Host], b: list[Host]) -> None:
        """Partition the switch: no frame crosses between hosts `a` and hosts `b` until `heal`."""
        for cmd in split_commands(self.switch, (a, b)):
            _run(cmd)

    def heal(self) -> None:
        """Remove a split (no-op without one)."""
        for cmd in heal_commands(self.switch):
            _run(cmd, check=False)

    # -- teardown ---------------------------------------------------------------------------------

    def destroy(self) -> None:
        """Kill whatever still runs in the sandbox's namespaces and delete them (their veths go with them)."""
        for pool in self._pools.values():
            pool.shutdown(wait=False, cancel_futures=True)
        self._pools.clear()
        existing = set(_netns_list())
        for name in [h.netns for h in self.hosts] + [self.switch]:
            if name in existing:
                _delete_namespace(name)

    def leftovers(self) -> list[str]:
        """The sandbox's namespaces that still exist (empty after `destroy`)."""
        names = set(_netns_list())
        return [n for n in [h.netns for h in self.hosts] + [self.switch] if n in names]


class HostNet(Localnet):
    """A `Localnet` whose node i runs on sandbox host `placement[i]` (default: host i)."""

    def __init__(self, home: Path, sandbox: Sandbox, **kwargs: Any) -> None:
        super().__init__(home, **kwargs)
        self.sandbox = sandbox
        self.placement: dict[int, int] = {}

    def on(self, i: int) -> Host:
        return self.sandbox.hosts[self.placement.get(i, i)]

    def host(self, i: int) -> str:
        return self.on(i).address

    def command(self, i: int, argv: list[str]) -> list[str]:
        return ["ip", "netns", "exec", self.on(i).netns, *argv]

    def listening(self, i: int, port: int) -> bool:
        return self.sandbox.port_open(self.on(i), "127.0.0.1", port)

    def rpc(self, i: int, timeout: float = 10.0) -> CometRPC:
        url = f"http://{self.host(i)}:{self.ports(i).rpc}"
        return NamespaceRPC(url, self.sandbox.pool(self.on(i).netns), timeout=timeout)


def make_homes(
    home: Path,
    sandbox: Sandbox,
    *,
    n: int,
    params: dict[str, int],
    consortium: Consortium | None = None,
    **kwargs: Any,
) -> HostNet:
    """Node homes for n orgs, node i on sandbox host i at its address, from one genesis (the
    localnet's tooling: keys, CometBFT configs bound to the host's address, peers, app_state).

    The one place a node home is made; `gridctl node init` can take its place.
    """
    net = HostNet(home, sandbox, n=n, **kwargs)
    net.init(params=params, consortium=consortium)
    return net
