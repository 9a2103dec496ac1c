"""`make chaos`: a 4-validator localnet under steady signed load while faults hit it.

    python -m tests.chaos.run --minutes 15 [--pace quick|full] [--seed N] [--rate TX_PER_S] [--home DIR] [--keep]

One fault after another, at random times, from a shuffled rotation of: kill -9 of a
validator, kill -9 of the current proposer, kill -9 of an app alone, SIGSTOP/SIGCONT,
a network partition of one node, 2 of 4 validators down (must halt, then resume), a wiped
node re-syncing from genesis, an app crash at one of the crash points
(GRIDLEDGER_CRASH_AT), and a mempool flood (valid txs and junk at several times the
chain's rate; the apps' memory is sampled from /proc all along). After every fault every
node is checked (money invariant, its app hash against the chain); at the end every node's
chain is compared block by block, every tx seen committed must be in every chain, and the
blocks are replayed through fresh in-process apps under different PYTHONHASHSEED / LC_ALL /
TZ to the same app hashes.

What "acknowledged" means here: CometBFT's mempool is not durable, so a tx a node accepted
(CheckTx 0) may vanish if that node dies before gossiping it. A tx counts as acknowledged
once it is seen in a block; "lost" counts acknowledged txs missing from any node's final
chain (must be 0). Mempool-accepted txs that never committed are reported separately,
each with the reason. Exit status 0 only if nothing was lost, no app hash diverged and no
invariant broke.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field, fields, is_dataclass
from pathlib import Path
from typing import Any

from cryptography.x509.oid import NameOID

from abci_app.params import Params
from abci_app.registry import TABLES
from clients.ops.localnet import Localnet, free_base_port
from tests.chaos.chain import ChainFollower, app_info
from tests.chaos.checks import ChainCheck, app_hash_mismatch, final_chain_check, money_invariant
from tests.chaos.energy import GENESIS_PARAMS, EnergyDriver, EnergyStats, setup_energy
from tests.chaos.faults import CRASH_POINTS, FAULTS, FaultResult, FloodPlan, Timing, choose_nodes
from tests.chaos.flood import RssSampler
from tests.chaos.load import LoadGenerator, TxRecord, account_nonce, fund_members
from tests.chaos.net import ChaosNet

__all__ = ["ChaosConfig", "ChaosReport", "run_chaos"]

REPO = Path(__file__).resolve().parents[2]
ROTATION = (
    "kill_validator",
    "kill_proposer",
    "kill_app",
    "pause",
    "isolate",
    "two_down",
    "wipe",
    "crash",
    "flood",
)
# Members that only the flood signs for (the load's signers must not race its nonces).
FLOOD_SIGNERS = ("certissuer/admin", "gridop/control", "utility/ops")
REPLAY_ENVS: tuple[dict[str, str], ...] = (
    {"PYTHONHASHSEED": "0", "LC_ALL": "C", "TZ": "UTC"},
    {"PYTHONHASHSEED": "2718281828", "LC_ALL": "C.UTF-8", "TZ": "Asia/Kolkata"},
    {"PYTHONHASHSEED": "31415", "LC_ALL": "POSIX", "TZ": "America/St_Johns"},
)
REPLAY_CMD = (sys.executable, "-m", "tests.chaos.replay")
KILL_TARGET_S = 10.0  # design §7: a killed node is back and caught up within 10 s


@dataclass
class ChaosConfig:
    minutes: float = 15.0  # of faults; the first full rotation always completes
    seed: int = 1
    rate: float = 40.0  # offered load, signed txs per second
    window: int = 6  # txs in flight per signer
    home: Path | None = None
    keep: bool = False
    kinds: tuple[str, ...] = ROTATION  # the rotation (fixed order when `shuffle` is off)
    shuffle: bool = True
    timing: Timing = field(default_factory=Timing)
    gap_s: tuple[float, float] = (5.0, 20.0)
    replay_envs: tuple[dict[str, str], ...] = REPLAY_ENVS
    drain_s: float = 45.0
    max_faults: int | None = None  # stop after this many faults even before `minutes`


@dataclass
class CheckRow:
    """What the checks found on the live nodes at one point (after a fault)."""

    when: str
    money: str = "ok"
    readings: str = "-"
    certificates: str = "-"
    problems: list[str] = field(default_factory=list)


@dataclass
class ChaosReport:
    faults: list[FaultResult] = field(default_factory=list)
    submitted: int = 0
    resubmitted: int = 0
    mempool_accepted: int = 0
    committed: int = 0
    committed_failed: Counter[int] = field(default_factory=Counter)
    lost: list[str] = field(default_factory=list)
    not_committed: Counter[str] = field(default_factory=Counter)
    never_accepted: Counter[str] = field(default_factory=Counter)
    app_hash_mismatches: int = 0
    invariant_violations: list[str] = field(default_factory=list)
    forks: list[str] = field(default_factory=list)
    evidence: int = 0
    replays: list[dict[str, Any]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    final_height: int = 0
    seconds: float = 0.0
    app_rss_mib: dict[int, tuple[int, int, int]] = field(default_factory=dict)  # node → first, peak, last
    checks: list[CheckRow] = field(default_factory=list)
    energy: EnergyStats | None = None
    energy_problems: list[str] = field(default_factory=list)
    kinds: Counter[str] = field(default_factory=Counter)  # committed txs by kind

    @property
    def unrecovered(self) -> int:
        return sum(1 for f in self.faults if not f.recovered)

    @property
    def ok(self) -> bool:
        return (
            not self.lost
            and self.app_hash_mismatches == 0
            and not self.invariant_violations
            and not self.energy_problems
            and not self.forks
            and self.evidence == 0
            and self.unrecovered == 0
            and not any(f.problems for f in self.faults)
            and not self.problems
        )


# -- setup ------------------------------------------------------------------------------------


def run_chaos(cfg: ChaosConfig, say: Callable[[str], None] = print) -> ChaosReport:
    rnd = random.Random(cfg.seed)
    home = cfg.home or Path(tempfile.mkdtemp(prefix="gridledger-chaos-"))
    if (home / "localnet.json").exists():
        raise RuntimeError(f"{home} already holds a localnet; pick an empty --home")
    home.mkdir(parents=True, exist_ok=True)
    report = ChaosReport()
    started = time.monotonic()
    net = Localnet(home, base_port=free_base_port())
    net.init(params=GENESIS_PARAMS)
    say(f"chaos: localnet in {home} (base port {net.base_port}), seed {cfg.seed}, {cfg.minutes} min of faults")
    cnet = ChaosNet(net)
    follower: ChainFollower | None = None
    load: LoadGenerator | None = None
    rss = RssSampler(lambda: {i: p.pid for i, p in net.apps.items() if p.poll() is None}, interval=1.0)
    try:
        net.start()
        net.wait_height(2, timeout=90)
        consortium = net.consortium()
        members = dict(consortium.members)
        issuers = {ref for ref, m in members.items() if "issuer" in _roles(m)}
        funding = fund_members(cnet.rpcs[0], net.chain_id, members, "utility/treasury")
        accounts = [m.address for _r, m in sorted(members.items())]
        energy = setup_energy(cnet.rpcs[0], net.chain_id, members, consortium.device_ca(), cfg.seed)
        # money: every member's balance and the domains' escrow (module) accounts
        money_accounts = accounts + sorted(TABLES.module_accounts)
        cnet.flood_plan = FloodPlan(
            chain_id=net.chain_id,
            signers=tuple(members[r] for r in FLOOD_SIGNERS),
            recipient=members["community-b/dave"].address,
            replayable=(funding,),
            max_tx_bytes=Params().max_tx_bytes,
        )
        signers = {r: m for r, m in members.items() if r not in FLOOD_SIGNERS}
        rss.start()
        load = LoadGenerator(
            chain_id=net.chain_id,
            signers=signers,
            recipients=accounts,
            issuers=issuers,
            rpcs=cnet.rpcs,
            # The load is not told about faults: like any client it finds dead or frozen
            # nodes by their errors and timeouts, and resubmits elsewhere.
            available=lambda: range(net.n),
            start_nonces={ref: account_nonce(cnet.rpcs[0], m.address) for ref, m in signers.items()},
            rate=cfg.rate,
            window=cfg.window,
            seed=cfg.seed,
            energy=energy.make,
        )
        follower = ChainFollower(cnet.rpcs, load.on_committed, cnet.available, on_block=energy.on_block)
        follower.start()
        load.start()
        say(f"chaos: load started: {len(signers)} signers, {cfg.rate:g} tx/s offered")
        time.sleep(5)
        checks = _Checks(cnet, money_accounts, report, energy, follower)
        checks("before the first fault")

        deadline = time.monotonic() + cfg.minutes * 60
        rotation: list[str] = []
        crash_points = list(CRASH_POINTS)
        rnd.shuffle(crash_points)
        n_crash = 0
        done: set[str] = set()  # every kind runs at least once, even if that overruns `minutes`

        def more() -> bool:
            if cfg.max_faults is not None and len(report.faults) >= cfg.max_faults:
                return False
            return time.monotonic() < deadline or not done >= set(cfg.kinds)

        while more():
            time.sleep(rnd.uniform(*cfg.gap_s))
            if not more():
                break
            if not rotation:
                rotation = list(cfg.kinds)
                if cfg.shuffle:
                    rnd.shuffle(rotation)
            kind = rotation.pop(0)
            if kind == "crash":
                kind = f"crash:{crash_points[n_crash % len(crash_points)]}"
                n_crash += 1
            nodes = choose_nodes(kind, cnet, rnd)
            res = FaultResult(kind, nodes, round(time.monotonic() - started, 1))
            say(f"chaos: t={res.started:6.1f}s  {kind} on node(s) {list(nodes)} ...")
            try:
                FAULTS[kind](cnet, rnd, cfg.timing, res)
            except Exception as exc:  # a harness error must not leave nodes down
                res.problems.append(f"fault harness error: {exc!r}")
                for i in nodes:
                    if not net.pair_alive(i):
                        cnet.kill(i)
                        cnet.isolate(i, False)
                        cnet.start(i)
                cnet.mark(nodes, down=False)
            report.faults.append(res)
            done.add(kind.split(":")[0])
            rec = f"{res.recovery_s:.1f}s" if res.recovery_s is not None else "NOT RECOVERED"
            extra = "; ".join(res.details + res.problems)
            say(f"chaos:           recovered in {rec}  {extra}")
            checks(f"after #{len(report.faults)} {kind}")
            row = report.checks[-1]
            flag = f"  PROBLEM: {'; '.join(row.problems[:3])}" if row.problems else ""
            say(f"chaos:           checks: money {row.money}; readings {row.readings}; {row.certificates}{flag}")

        say("chaos: faults done; draining the load")
        load.stop_submitting()
        _drain(load, cfg.drain_s)
        load.stop()
        say("chaos: load stopped; waiting for every node to reach the tip")
        if cnet.wait_caught_up(list(range(net.n)), timeout=120) is None:
            report.problems.append(f"nodes did not converge at the end: {cnet.heights()}")
        tip = cnet.tip()
        if not follower.wait_height(tip, timeout=60):
            report.problems.append("the chain follower fell behind")
        checks("at the end")  # the follower still running: the energy checks compare with its blocks
        follower.stop()
        report.forks = list(follower.forks)

        heights = cnet.heights()
        final = min(h for h in heights.values() if h is not None) if all(heights.values()) else 0
        report.final_height = final
        say(f"chaos: comparing all {net.n} chains up to height {final}")
        check = final_chain_check(cnet.rpcs, final, reference=0)
        report.problems += check.problems
        report.app_hash_mismatches += check.app_hash_mismatches
        report.evidence = check.evidence
        _account_txs(report, load.snapshot(), follower, check, started)
        report.energy_problems += [f"final chain: {p}" for p in energy.check_final(check.blocks, load.snapshot())]
        report.energy = energy.stats
        say(f"chaos: replaying {final} blocks in {len(cfg.replay_envs)} fresh processes")
        _replay_all(report, net, check, cfg.replay_envs, home)
    finally:
        if load is not None:
            load.stop()
        if follower is not None:
            follower.stop()
        rss.stop()
        report.app_rss_mib = rss.summary_mib()
        cnet.stop_all()
        report.seconds = time.monotonic() - started
        _save(report, home)
        if not cfg.keep and cfg.home is None and report.ok:
            shutil.rmtree(home, ignore_errors=True)
    return report


def _roles(ident: Any) -> list[str]:
    return [a.value for a in ident.cert.subject.get_attributes_for_oid(NameOID.ORGANIZATIONAL_UNIT_NAME)]


@dataclass
class _Checks:
    """The checks on live nodes: on every available node the money invariant and its app
    hash; on one of them the readings and certificates against the followed blocks."""

    net: ChaosNet
    accounts: list[bytes]
    report: ChaosReport
    energy: EnergyDriver
    follower: ChainFollower

    def __call__(self, when: str) -> None:
        row = CheckRow(when)
        nodes = list(self.net.available())
        for i in nodes:
            problem = money_invariant(self.net.rpcs[i], self.accounts)
            if problem:
                self.report.invariant_violations.append(f"{when}: node{i}: {problem}")
                row.money = "FAIL"
            mismatch, problem = app_hash_mismatch(self.net.rpcs, i)
            if mismatch:
                self.report.app_hash_mismatches += 1
            if problem:
                self.report.problems.append(f"{when}: {problem}")
                row.problems.append(problem)
        if row.money == "ok":
            row.money = f"ok on {len(nodes)} nodes"
        if nodes:
            problems, row.readings, row.certificates = self.energy.check_live(
                self.net.rpcs[nodes[0]], lambda: self.follower.height
            )
            row.problems += problems
            self.report.energy_problems += [f"{when}: node{nodes[0]}: {p}" for p in problems]
        self.report.checks.append(row)


def _drain(load: LoadGenerator, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        pending = [r for r in load.snapshot() if r.committed_height is None and r.gave_up is None and r.accepted_by]
        if not pending:
            return
        time.sleep(0.5)


def _account_txs(
    report: ChaosReport, records: list[TxRecord], follower: ChainFollower, check: ChainCheck, started: float
) -> None:
    in_chain: dict[str, tuple[int, int]] = {}
    for h, block in check.blocks.items():
        for k, tx_hash in enumerate(block.tx_hashes()):
            in_chain[tx_hash] = (h, block.codes[k] if k < len(block.codes) else -1)
    # Everything the follower saw committed (on whichever node it read) must be in the final
    # chain, at the same height — and the final chains are identical on every node.
    for h, block in follower.blocks.items():
        for tx_hash in block.tx_hashes():
            if in_chain.get(tx_hash, (None,))[0] != h:
                report.lost.append(f"{tx_hash} seen at height {h}, not there in the final chain")
    by_signer: dict[str, list[TxRecord]] = {}
    for r in records:
        by_signer.setdefault(r.signer, []).append(r)
    top_committed = {s: max((r.nonce for r in rs if r.hash in in_chain), default=0) for s, rs in by_signer.items()}
    report.submitted = len(records)
    report.kinds = Counter(r.kind for r in records if r.hash in in_chain)
    report.resubmitted = sum(1 for r in records if len(r.sent_to) > 1)
    for r in records:
        if r.accepted_by:
            report.mempool_accepted += 1
        if r.hash in in_chain:
            report.committed += 1
            code = in_chain[r.hash][1]
            if code != 0:
                report.committed_failed[code] += 1
            continue
        if r.committed_height is not None:
            report.lost.append(f"{r.hash} ({r.signer} #{r.nonce}) seen at {r.committed_height}, not in the final chain")
            continue
        if not r.accepted_by:
            reason = ", ".join(f"CheckTx {c}" for c in sorted(r.check_codes)) or ", ".join(sorted(r.rpc_errors))
            report.never_accepted[reason or "never sent"] += 1
            continue
        accepted = (r.accepted_at or started) - started
        killed = any(
            f.started >= accepted and r.accepted_by <= set(f.nodes) and f.kind not in ("pause", "flood")
            for f in report.faults
        )
        if top_committed.get(r.signer, 0) > r.nonce:
            report.not_committed["a later nonce of the signer committed first (the node holding it died)"] += 1
        elif killed:
            report.not_committed["only the node(s) that then went down had it; resubmission pending"] += 1
        else:
            report.not_committed["still in a mempool when the run ended"] += 1


def _replay_all(
    report: ChaosReport, net: Localnet, check: ChainCheck, envs: tuple[dict[str, str], ...], home: Path
) -> None:
    blocks_path = home / "replay-blocks.jsonl"
    with blocks_path.open("w") as f:
        for h in sorted(check.blocks):
            b = check.blocks[h]
            f.write(json.dumps({"height": h, "time": b.time, "txs": [base64.b64encode(t).decode() for t in b.txs]}))
            f.write("\n")
    genesis = net.node_home(0) / "config" / "genesis.json"
    last_app = {}
    for i in range(net.n):
        try:
            last_app[i] = app_info(net.rpc(i))
        except Exception:  # the nodes may already be gone; the headers suffice
            continue
    for k, env in enumerate(envs):
        out = home / f"replay-{k}.json"
        proc = subprocess.run(
            [*REPLAY_CMD, "--genesis", str(genesis), "--blocks", str(blocks_path), "--out", str(out)],
            cwd=REPO,
            env={**os.environ, **env},
            capture_output=True,
            text=True,
            check=False,
        )
        entry: dict[str, Any] = {"env": env, "mismatches": [], "heights": 0}
        if proc.returncode != 0:
            entry["mismatches"].append(f"replay failed: {proc.stderr[-2000:]}")
            report.replays.append(entry)
            report.app_hash_mismatches += 1
            continue
        result = json.loads(out.read_text())
        hashes: dict[str, str] = result["app_hashes"]
        expected = {"init": check.blocks[1].app_hash if check.blocks else None}
        for h in check.blocks:
            if h + 1 in check.blocks:
                expected[str(h)] = check.blocks[h + 1].app_hash
        for i, (h, app_hash) in last_app.items():
            if h == check.height:
                expected.setdefault(str(h), app_hash)
                if expected[str(h)] != app_hash:
                    entry["mismatches"].append(f"node{i}'s app disagrees with the chain at {h}")
        for key, want in expected.items():
            if want is not None and hashes.get(key) != want.upper():
                entry["mismatches"].append(f"height {key}: replay {hashes.get(key, '-')[:16]}, chain {want[:16]}")
        entry["heights"] = len(hashes)
        report.app_hash_mismatches += len(entry["mismatches"])
        report.invariant_violations += [f"replay {k}: {v}" for v in result["invariant_violations"]]
        report.replays.append(entry)


# -- output -------------------------------------------------------------------------------------


def _jsonable(obj: Any) -> Any:
    """Plain JSON data (asdict would turn a Counter's items into tuple keys)."""
    if is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: _jsonable(getattr(obj, f.name)) for f in fields(obj)}
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_jsonable(v) for v in obj]
    return obj


def _save(report: ChaosReport, home: Path) -> None:
    data = _jsonable(report)
    data["ok"] = report.ok
    with contextlib.suppress(OSError):
        (home / "chaos-report.json").write_text(json.dumps(data, indent=2, default=str))


def render(report: ChaosReport) -> str:
    lines = ["", "faults", "------"]
    lines.append(f"{'#':>3} {'t (s)':>7}  {'fault':<32} {'nodes':<7} {'held':>6} {'recovery':>9}  notes")
    for k, f in enumerate(report.faults, 1):
        rec = f"{f.recovery_s:.1f}s" if f.recovery_s is not None else "NONE"
        if f.kind.startswith(("kill", "crash")) and f.recovery_s is not None and f.recovery_s > KILL_TARGET_S:
            rec += "!"
        notes = "; ".join(f.details + [f"PROBLEM: {p}" for p in f.problems])
        nodes = ",".join(map(str, f.nodes))
        lines.append(f"{k:>3} {f.started:>7.1f}  {f.kind:<32} {nodes:<7} {f.held_s:>5.1f}s {rec:>9}  {notes}")
    lines += ["", "checks after each fault", "-----------------------"]
    lines.append(f"{'when':<30} {'money conserved':<16} {'readings':<32} certificates (finished periods)")
    for c in report.checks:
        flag = "  PROBLEM: " + "; ".join(c.problems[:3]) if c.problems else ""
        lines.append(f"{c.when[:30]:<30} {c.money:<16} {c.readings:<32} {c.certificates}{flag}")
    kinds = Counter(f.kind for f in report.faults)
    recoveries = [f.recovery_s for f in report.faults if f.recovery_s is not None]
    lines += ["", "summary", "-------"]
    rows: list[tuple[str, str]] = [
        ("faults injected", f"{len(report.faults)} ({', '.join(f'{k} ×{n}' for k, n in sorted(kinds.items()))})"),
        ("faults not recovered", str(report.unrecovered)),
        ("recovery time (s) max / mean", _stats(recoveries)),
        ("txs submitted (signed)", f"{report.submitted} ({report.resubmitted} resubmitted, same bytes)"),
        ("txs accepted into a mempool", str(report.mempool_accepted)),
        ("txs acknowledged (seen committed)", f"{report.committed} ({_codes(report.committed_failed)})"),
        ("LOST (acknowledged, not in every chain)", str(len(report.lost))),
        ("accepted, never committed", _reasons(report.not_committed)),
        ("never accepted", _reasons(report.never_accepted)),
        ("APP-HASH MISMATCHES", str(report.app_hash_mismatches)),
        ("INVARIANT VIOLATIONS", str(len(report.invariant_violations))),
        ("committed txs by kind", ", ".join(f"{k} {n}" for k, n in sorted(report.kinds.items())) or "-"),
        *_energy_rows(report),
        ("forks / double-sign evidence", f"{len(report.forks)} / {report.evidence}"),
        ("final height (all nodes)", str(report.final_height)),
        ("app RSS MiB first/peak/last", _rss(report.app_rss_mib)),
        ("replays (PYTHONHASHSEED, LC_ALL, TZ)", _replays(report.replays)),
        ("run time", f"{report.seconds:.0f}s"),
        ("verdict", "PASS" if report.ok else "FAIL"),
    ]
    width = max(len(k) for k, _ in rows)
    lines += [f"{k:<{width}}  {v}" for k, v in rows]
    for title, items in (
        ("lost", report.lost),
        ("invariant violations", report.invariant_violations),
        ("energy problems", report.energy_problems),
        ("forks", report.forks),
        ("problems", report.problems),
    ):
        if items:
            lines += ["", f"{title}:"] + [f"  {x}" for x in items[:50]]
    return "\n".join(lines)


def _energy_rows(report: ChaosReport) -> list[tuple[str, str]]:
    e = report.energy
    if e is None:
        return [("energy", "not run")]
    rejected = ", ".join(f"code {c} ×{n}" for c, n in sorted(e.readings_rejected.items())) or "none"
    return [
        ("readings signed / accepted", f"{e.readings_signed} / {e.readings_accepted} (rejected: {rejected})"),
        ("READINGS LOST / DOUBLED", f"{len(e.lost)} / {len(e.doubled)}"),
        ("resent readings → duplicate", f"{e.resends_committed} committed, {e.resends_duplicate} reading_duplicate"),
        ("intervals cleared / settled", f"{e.cleared} / {e.settled}"),
        (
            "certificates issued",
            f"{e.bundles} bundles, {e.issued_wh} Wh; last check: issued = exported {e.verified_wh} Wh",
        ),
        ("ENERGY CHECK PROBLEMS", str(len(report.energy_problems))),
    ]


def _rss(rss: dict[int, tuple[int, int, int]]) -> str:
    return "  ".join(f"node{i} {a}/{b}/{c}" for i, (a, b, c) in sorted(rss.items())) or "-"


def _stats(values: list[float]) -> str:
    if not values:
        return "-"
    return f"{max(values):.1f} / {sum(values) / len(values):.1f}"


def _codes(failed: Counter[int]) -> str:
    if not failed:
        return "all with code 0"
    return "failed in the block: " + ", ".join(f"code {c} ×{n}" for c, n in sorted(failed.items()))


def _reasons(reasons: Counter[str]) -> str:
    if not reasons:
        return "0"
    return f"{sum(reasons.values())}: " + "; ".join(f"{r} ×{n}" for r, n in reasons.most_common())


def _replays(replays: list[dict[str, Any]]) -> str:
    parts = []
    for r in replays:
        env = r["env"]
        status = "match" if not r["mismatches"] else f"{len(r['mismatches'])} mismatches"
        parts.append(f"({env['PYTHONHASHSEED']}, {env['LC_ALL']}, {env['TZ']}): {r['heights']} hashes {status}")
    return "; ".join(parts) or "not run"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.chaos.run", description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--minutes",
        type=float,
        default=15.0,
        help="how long to keep injecting faults (the first full rotation always completes)",
    )
    parser.add_argument("--seed", type=int, default=int(time.time()) % 100_000)
    parser.add_argument("--rate", type=float, default=40.0, help="offered load, signed txs per second")
    parser.add_argument("--home", type=Path, default=None, help="localnet folder (default: a new temp folder)")
    parser.add_argument("--keep", action="store_true", help="keep the localnet folder (logs) after a passing run")
    parser.add_argument("--faults", default=",".join(ROTATION), help=f"comma-separated rotation from {ROTATION}")
    parser.add_argument(
        "--pace",
        choices=("quick", "full"),
        default=None,
        help="fault holds and gaps: quick (short holds, 2-5 s gaps; the default up to 3 minutes) "
        "or full (holds up to 60 s, 5-20 s gaps); a long run at the quick pace injects the most faults",
    )
    args = parser.parse_args(argv)
    kinds = tuple(k for k in args.faults.split(",") if k)
    unknown = [k for k in kinds if k not in ROTATION]
    if unknown:
        parser.error(f"unknown fault kinds {unknown}")
    quick = args.pace == "quick" if args.pace else args.minutes <= 3
    timing = Timing(isolate_s=(10.0, 15.0), flood_s=8.0) if quick else Timing()
    cfg = ChaosConfig(
        minutes=args.minutes,
        seed=args.seed,
        rate=args.rate,
        home=args.home.resolve() if args.home else None,
        keep=args.keep,
        kinds=kinds,
        timing=timing,
        gap_s=(2.0, 5.0) if quick else (5.0, 20.0),
    )
    report = run_chaos(cfg, say=lambda s: print(s, flush=True))
    print(render(report), flush=True)
    if not report.ok:
        print("\nchaos: FAILED (logs kept in the localnet folder)", file=sys.stderr)
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())
