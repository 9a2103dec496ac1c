"""The faults the chaos run injects. Each one breaks something, repairs it, and measures.

Recovery time is measured from the moment the fault is lifted (processes restarted,
resumed, reconnected) until every affected node is level with the highest node again.
Nodes under a fault are marked down so the load avoids them (its own errors still
handle a node that dies unannounced).
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from abci_app.faults import CRASH_EXIT_CODE
from clients.pki import Identity
from clients.rpc import RPCError
from tests.chaos.flood import build_flood, send_flood
from tests.chaos.load import account_nonce
from tests.chaos.net import ChaosNet

__all__ = ["CRASH_POINTS", "FAULTS", "FaultResult", "FloodPlan", "Timing"]

CRASH_POINTS = ("after_finalize_block", "commit_before_write", "commit_mid_write", "commit_after_write")
RECOVERY_TIMEOUT = 180.0
STATE_SYNC_ABOVE = 400  # blocks: a wiped node re-syncs by state sync above this height, by replay below
# A wiped validator restarts only once the others have committed this many heights past
# the last height it signed (see `wipe`).
WIPE_SAFETY_MARGIN = 3


@dataclass(frozen=True)
class Timing:
    """How long faults are held (the quick run uses the short end)."""

    pause_s: float = 10.0
    isolate_s: tuple[float, float] = (10.0, 60.0)
    halt_s: float = 10.0
    down_s: tuple[float, float] = (0.5, 4.0)  # kill → restart delay
    flood_s: float = 12.0
    flood_rate: float = 2_500.0  # offered txs a second: several times what the localnet commits


@dataclass(frozen=True)
class FloodPlan:
    """What a flood needs: its own signers (never the load's, whose nonces it would race)."""

    chain_id: str
    signers: tuple[Identity, ...]
    recipient: bytes
    replayable: tuple[bytes, ...]
    max_tx_bytes: int


@dataclass
class FaultResult:
    kind: str
    nodes: tuple[int, ...]
    started: float  # seconds since the run began
    held_s: float = 0.0
    recovery_s: float | None = None
    chain_progressed: bool | None = None  # did the others keep committing during the fault?
    details: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def recovered(self) -> bool:
        return self.recovery_s is not None


Fault = Callable[[ChaosNet, random.Random, Timing, FaultResult], None]


def _others(net: ChaosNet, nodes: tuple[int, ...]) -> list[int]:
    return [i for i in range(net.n) if i not in nodes]


def _restart_and_measure(net: ChaosNet, res: FaultResult, nodes: tuple[int, ...], above: int) -> None:
    lifted = time.monotonic()
    for i in nodes:
        try:
            net.start(i)
        except RuntimeError as exc:
            res.problems.append(f"restart of node{i} failed: {exc}")
    waited = net.wait_caught_up(list(nodes), timeout=RECOVERY_TIMEOUT, above=above)
    net.mark(nodes, down=False)
    if waited is None:
        res.problems.append(f"node(s) {list(nodes)} did not catch up within {RECOVERY_TIMEOUT:.0f}s")
        return
    res.recovery_s = time.monotonic() - lifted


def _kill_restart(net: ChaosNet, rnd: random.Random, timing: Timing, res: FaultResult) -> None:
    (i,) = res.nodes
    before = net.tip()
    net.mark([i], down=True)
    t0 = time.monotonic()
    net.kill(i)
    time.sleep(rnd.uniform(*timing.down_s))
    res.chain_progressed = net.wait_tip_above(before, timeout=15, nodes=_others(net, res.nodes)) is not None
    res.held_s = time.monotonic() - t0
    _restart_and_measure(net, res, res.nodes, above=0)


def kill_validator(net: ChaosNet, rnd: random.Random, timing: Timing, res: FaultResult) -> None:
    """kill -9 a validator's CometBFT and app, restart both."""
    _kill_restart(net, rnd, timing, res)


def kill_proposer(net: ChaosNet, rnd: random.Random, timing: Timing, res: FaultResult) -> None:
    """kill -9 the current round's proposer (node and app), restart both."""
    _kill_restart(net, rnd, timing, res)


def kill_app(net: ChaosNet, rnd: random.Random, timing: Timing, res: FaultResult) -> None:
    """kill -9 only the app: CometBFT loses its ABCI connection and stops; both are restarted."""
    (i,) = res.nodes
    before = net.tip()
    net.mark([i], down=True)
    t0 = time.monotonic()
    exited = net.kill_app_only(i)
    res.details.append("cometbft exited by itself" if exited else "cometbft kept running: killed")
    net.kill(i)
    res.chain_progressed = net.wait_tip_above(before, timeout=15, nodes=_others(net, res.nodes)) is not None
    res.held_s = time.monotonic() - t0
    _restart_and_measure(net, res, res.nodes, above=0)


def pause(net: ChaosNet, rnd: random.Random, timing: Timing, res: FaultResult) -> None:
    """SIGSTOP node and app for a while, then SIGCONT."""
    (i,) = res.nodes
    before = net.tip()
    net.mark([i], down=True)
    t0 = time.monotonic()
    net.pause(i)
    try:
        time.sleep(timing.pause_s)
        res.chain_progressed = net.tip(_others(net, res.nodes)) > before
    finally:
        net.resume(i)
    res.held_s = time.monotonic() - t0
    lifted = time.monotonic()
    waited = net.wait_caught_up([i], timeout=RECOVERY_TIMEOUT)
    net.mark([i], down=False)
    if waited is None:
        res.problems.append(f"node{i} did not catch up after SIGCONT")
    else:
        res.recovery_s = time.monotonic() - lifted


def isolate(net: ChaosNet, rnd: random.Random, timing: Timing, res: FaultResult) -> None:
    """Restart a node with no peers (and a p2p port nobody dials) for a while, then reconnect."""
    (i,) = res.nodes
    net.mark([i], down=True)
    net.kill(i)
    net.isolate(i, True)
    try:
        net.start(i)
    except RuntimeError as exc:
        res.problems.append(f"isolated start of node{i} failed: {exc}")
    t0 = time.monotonic()
    time.sleep(1.0)
    own_start = net.height(i) or 0
    before = net.tip(_others(net, res.nodes))
    time.sleep(rnd.uniform(*timing.isolate_s))
    own_end = net.height(i) or 0
    res.chain_progressed = net.tip(_others(net, res.nodes)) > before
    if own_end > own_start + 1:
        res.problems.append(f"isolated node{i} advanced {own_start}→{own_end}: isolation did not hold")
    res.details.append(f"isolated node stayed at {own_end}, others reached {net.tip(_others(net, res.nodes))}")
    net.kill(i)
    net.isolate(i, False)
    res.held_s = time.monotonic() - t0
    _restart_and_measure(net, res, res.nodes, above=0)


def two_down(net: ChaosNet, rnd: random.Random, timing: Timing, res: FaultResult) -> None:
    """Stop 2 of 4 validators: the chain must halt (no new height), resume when one returns."""
    a, b = res.nodes
    rest = _others(net, res.nodes)
    net.mark(res.nodes, down=True)
    t0 = time.monotonic()
    net.kill(a)
    net.kill(b)
    time.sleep(3.0)  # a block whose votes were already out may still land
    h1 = net.tip(rest)
    time.sleep(timing.halt_s)
    h2 = net.tip(rest)
    res.chain_progressed = h2 > h1
    if h2 > h1:
        res.problems.append(f"chain advanced {h1}→{h2} with only 2 of 4 validators up")
    res.details.append(f"halted at {h2} for {timing.halt_s:.0f}s")
    res.held_s = time.monotonic() - t0
    lifted = time.monotonic()
    try:
        net.start(a)
    except RuntimeError as exc:
        res.problems.append(f"restart of node{a} failed: {exc}")
    resumed = net.wait_tip_above(h2, timeout=RECOVERY_TIMEOUT)
    if resumed is None:
        res.problems.append("chain did not resume with 3 of 4 validators")
    else:
        res.details.append(f"resumed {resumed:.1f}s after node{a} restarted")
    try:
        net.start(b)
    except RuntimeError as exc:
        res.problems.append(f"restart of node{b} failed: {exc}")
    waited = net.wait_caught_up([a, b], timeout=RECOVERY_TIMEOUT)
    net.mark(res.nodes, down=False)
    if waited is None or resumed is None:
        res.problems.append("nodes did not catch up after the halt")
    else:
        res.recovery_s = time.monotonic() - lifted


def wipe(net: ChaosNet, rnd: random.Random, timing: Timing, res: FaultResult) -> None:
    """Delete a validator's chain data and app state (keys and config stay), reset its
    signing state to height 0, and let it re-sync: by replaying every block from genesis
    while the chain is short (the quick runs), by state sync from two running nodes' snapshots
    once it is taller than STATE_SYNC_ABOVE (as an operator would; a replay's time grows with the
    chain, past the recovery timeout in a long run on a loaded machine).

    Why this cannot double-sign: the pair is stopped before the wipe, so its last signed
    height H is final; it is restarted only after the other three (75% of the power, enough
    to commit) have committed H + WIPE_SAFETY_MARGIN. A restarted node block-syncs (which
    signs nothing) and joins consensus at the chain's current height, above H, so every
    vote it can sign is at a height it never signed before.
    """
    (i,) = res.nodes
    net.mark([i], down=True)
    t0 = time.monotonic()
    net.kill(i)
    signed = net.signed_height(i)
    net.wipe(i)
    res.details.append(f"last signed height {signed}")
    if net.wait_tip_above(signed + WIPE_SAFETY_MARGIN - 1, timeout=RECOVERY_TIMEOUT, nodes=_others(net, res.nodes)):
        res.chain_progressed = True
    else:
        res.chain_progressed = False
        res.problems.append("the others did not pass the wiped node's signed height; restarting anyway is unsafe")
        net.mark([i], down=False)
        return
    res.held_s = time.monotonic() - t0
    tip = net.tip(_others(net, res.nodes))
    servers = [j for j in net.available() if j != i and net.height(j) is not None]
    if net.net.snapshot_interval() and tip > STATE_SYNC_ABOVE and len(servers) >= 2:
        trusted = net.net.configure_statesync(i, servers)
        _restart_and_measure(net, res, res.nodes, above=0)
        res.details.append(f"state sync (trusted height {trusted}), at {net.height(i)} with the chain at {tip}+")
        return
    _restart_and_measure(net, res, res.nodes, above=0)
    res.details.append(f"re-synced {net.height(i)} blocks from genesis")


def crash_point(net: ChaosNet, rnd: random.Random, timing: Timing, res: FaultResult) -> None:
    """Restart a pair with GRIDLEDGER_CRASH_AT=<point>, wait for the app's exit code 77,
    restart without it: the node must replay to the same app hash."""
    (i,) = res.nodes
    point = res.kind.split(":", 1)[1]
    net.mark([i], down=True)
    t0 = time.monotonic()
    net.kill(i)
    try:
        net.start(i, env={"GRIDLEDGER_CRASH_AT": point})
    except RuntimeError as exc:
        res.problems.append(f"start with the crash point failed: {exc}")
    code = net.wait_app_exit(i, timeout=90)
    if code == CRASH_EXIT_CODE:
        res.details.append(f"app crashed at {point} (exit {code})")
    else:
        res.problems.append(f"app did not crash at {point} (exit code {code})")
    net.kill(i)
    res.held_s = time.monotonic() - t0
    _restart_and_measure(net, res, res.nodes, above=0)


MEMPOOL_DRAINED = 300  # txs: what the steady load alone keeps in a mempool, with margin


def flood(net: ChaosNet, rnd: random.Random, timing: Timing, res: FaultResult) -> None:
    """A mempool flood on every node: valid transfers from the flood's own signers plus junk of
    every kind (random bytes, garbage protobuf, bad signatures, wrong chain, replays, oversized,
    re-encoded envelopes) at `timing.flood_rate`. Recovery: until the mempools are drained.
    No process may die."""
    plan = net.flood_plan
    if plan is None:
        res.problems.append("no flood plan: the run did not reserve flood signers")
        return
    up = net.available()
    rpc = net.rpcs[up[0]]
    total = int(timing.flood_rate * timing.flood_s)
    start_nonces = {m.public_key: account_nonce(rpc, m.address) for m in plan.signers}
    txs = build_flood(
        chain_id=plan.chain_id,
        signers=list(plan.signers),
        recipient=plan.recipient,
        start_nonces=start_nonces,
        valid=total * 2 // 5,
        junk=total - total * 2 // 5,
        replayable=list(plan.replayable),
        max_tx_bytes=plan.max_tx_bytes,
        seed=rnd.randrange(1 << 30),
    )
    before = net.tip()
    stats = send_flood([net.rpcs[i].url for i in up], txs, rate=timing.flood_rate)
    res.held_s = stats.seconds
    refused = sum(stats.rpc_errors.values())
    res.details.append(
        f"offered {stats.total} txs at {stats.total / max(stats.seconds, 0.001):.0f}/s ({refused} refused)"
    )
    res.chain_progressed = net.tip() > before
    lifted = time.monotonic()
    while time.monotonic() - lifted < RECOVERY_TIMEOUT:
        sizes: list[int | None] = []
        for i in up:
            try:
                sizes.append(net.rpcs[i].num_unconfirmed_txs())
            except RPCError:
                sizes.append(None)
        if all(s is not None and s < MEMPOOL_DRAINED for s in sizes):
            res.recovery_s = time.monotonic() - lifted
            break
        time.sleep(0.5)
    else:
        res.problems.append(f"mempools not drained within {RECOVERY_TIMEOUT:.0f}s")
    valid = sum(1 for kind, _raw in txs if kind == "valid")
    try:
        landed = sum(account_nonce(rpc, m.address) - start_nonces[m.public_key] for m in plan.signers)
        res.details.append(f"{landed} of its {valid} valid txs committed")
    except RPCError:
        pass
    dead = [i for i in range(net.n) if not net.net.pair_alive(i)]
    if dead:
        res.problems.append(f"processes of node(s) {dead} died during the flood")


FAULTS: dict[str, Fault] = {
    "flood": flood,
    "kill_validator": kill_validator,
    "kill_proposer": kill_proposer,
    "kill_app": kill_app,
    "pause": pause,
    "isolate": isolate,
    "two_down": two_down,
    "wipe": wipe,
    **{f"crash:{p}": crash_point for p in CRASH_POINTS},
}


def choose_nodes(kind: str, net: ChaosNet, rnd: random.Random) -> tuple[int, ...]:
    if kind == "flood":
        return tuple(range(net.n))
    if kind == "two_down":
        return tuple(sorted(rnd.sample(range(net.n), 2)))
    if kind == "kill_proposer":
        proposer = net.proposer()
        if proposer is not None:
            return (proposer,)
    if kind == "wipe":
        # node 0 keeps the whole chain: a state-synced node holds blocks only from its snapshot,
        # and the final checks and replays need one node with every block
        return (1 + rnd.randrange(net.n - 1),)
    return (rnd.randrange(net.n),)
