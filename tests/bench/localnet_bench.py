"""The 4-validator localnet runs: saturation throughput and latency at half of it, for gridledger
and for CometBFT's built-in kvstore with the same load shape and the same node settings."""

from __future__ import annotations

import asyncio
import base64
import itertools
import json
import math
import os
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gridledger.devices.v1 import devices_pb2
from gridledger.governance.v1 import governance_pb2
from gridledger.market.v1 import market_pb2

from abci_app.market.params import next_open_interval
from clients.ops.loadgen import (
    LoadTx,
    Mix,
    PhaseResult,
    Population,
    Signer,
    Submitter,
    account_nonce,
    kvstore_txs,
    param_value,
)
from clients.ops.localnet import Localnet, free_base_port, set_toml
from clients.read_request import sign_read_request
from clients.rpc import CometRPC
from tests.bench.energy_load import EnergyLoad
from tests.bench.node_profile import NodeProfiler
from tests.bench.node_profile import render as render_profile
from tests.bench.procstat import ProcSampler
from tests.bench.readings import ReadingsLoad

__all__ = ["BenchBrokenError", "NetConfig", "cometbft_settings", "private_value", "run_kvstore", "run_ours"]

# A device reads only from its registration on (READING_BEFORE_REGISTRATION), and the devices of
# the readings and energy phases are registered during the run: their readings start then and
# run ahead of block time (pre-signed, hundreds per device), so the localnet's genesis lets a
# reading end up to an hour past block time and last as little as LEDGER_READING_SECONDS (each
# reading still writes one settlement interval and one hour flow, as a minute's reading does).
LEDGER_READING_SECONDS = 2
GENESIS_PARAMS = {
    # the mixed load's orders all target one interval: members may hold more than the default cap
    "market.max_open_orders_per_interval": 100_000,
    "devices.future_allowance_seconds": 3_600,
    "devices.min_reading_seconds": LEDGER_READING_SECONDS,
}

Log = Callable[[str], None]


class BenchBrokenError(RuntimeError):
    """The benchmark itself failed (setup txs rejected, chain stalled): not a slow result."""


@dataclass(frozen=True)
class NetConfig:
    members: int
    warmup: float  # seconds of load before the saturation window opens
    duration: float  # the saturation measurement window
    latency_warmup: float
    latency_duration: float
    inflight: int  # at saturation: at least this many txs outstanding ...
    inflight_seconds: float  # ... or this many seconds of the recent commit rate, if more
    max_tps: float  # pre-signed txs cover this rate for warmup + duration
    mix: Mix
    drain_timeout: float = 60.0
    # CometBFT config.toml overrides for both localnets ("section.key" → TOML value), for
    # experiments: e.g. {"tx_index.indexer": '"null"'}; empty: the localnet's own settings
    comet: tuple[tuple[str, str], ...] = ()
    # device-signed readings phase (after the mixed load): members relaying, devices each
    readings_members: int = 40
    readings_per_member: int = 50
    readings_duration: float = 15.0
    readings_max_rate: int = 6_000  # readings/s the phase's pre-signed batches cover
    # mixed energy phase (after the readings phase): members (after the readings phase's),
    # devices each (one PV, the rest meters), measurement window
    energy_members: int = 40
    energy_devices: int = 10
    energy_duration: float = 15.0
    energy_max_tps: int = 1_200  # tx/s the energy phase's pre-signed txs cover
    # setup txs in flight at once: at most half a signer's mempool share (max_pending_txs_per_signer);
    # smoke mode sets it small so its tiny setup still goes through several waves
    setup_wave: int = 500
    # `--profile`: node 0 is profiled (py-spy on its app, CometBFT's pprof) during the measured
    # phases, the raw profiles and their summaries written here (tests/bench/node_profile.py)
    profile_dir: Path | None = None


def _start(home: Path, app: str, cfg: NetConfig, log: Log) -> Localnet:
    net = Localnet(home, base_port=free_base_port(), app=app)
    net.init(params=GENESIS_PARAMS)
    for i in range(net.n):
        path = net.node_home(i) / "config" / "config.toml"
        text = path.read_text()
        for name, value in cfg.comet:
            section, _, key = name.rpartition(".")
            text = set_toml(text, section, key, value)
        if i == 0 and cfg.profile_dir is not None:
            text = set_toml(text, "rpc", "pprof_laddr", f'"{pprof_address(net)}"')
        path.write_text(text)
    log(f"  starting a 4-validator localnet ({app}) in {home} on ports {net.base_port}+")
    net.start()
    try:
        net.wait_height(2, timeout=90)
    except TimeoutError:
        net.stop()
        raise
    return net


def pprof_address(net: Localnet) -> str:
    """Node 0's pprof listener when profiling: base port + 6, outside every node's own six ports
    (free_base_port spaces localnets so that no other one uses it)."""
    return f"127.0.0.1:{net.base_port + 6}"


def profiling(net: Localnet, cfg: NetConfig, name: str, seconds: float) -> NodeProfiler | None:
    """A started profiler of node 0 for a phase of `seconds`, or None when not profiling."""
    if cfg.profile_dir is None:
        return None
    app = net.apps.get(0)  # kvstore runs inside CometBFT: no app process
    prof = NodeProfiler(app.pid if app else None, pprof_address(net), cfg.profile_dir, name, seconds)
    prof.start()
    return prof


def profiled(prof: NodeProfiler | None, name: str, summary: dict[str, Any], log: Log) -> None:
    """Waits for `prof`, puts its summary into the phase's `summary` and logs it."""
    if prof is not None:
        summary["profile"] = prof.finish()
        for line in render_profile(name, summary["profile"]):
            log(line)


def cometbft_settings(net: Localnet) -> dict[str, Any]:
    """The node settings that shape throughput, read back from node0's config and genesis."""
    text = (net.node_home(0) / "config" / "config.toml").read_text()
    wanted = {
        "": ["proxy_app"],
        "mempool": ["type", "size", "cache_size", "recheck", "max_txs_bytes", "broadcast"],
        "consensus": ["timeout_propose", "timeout_commit", "create_empty_blocks"],
        "tx_index": ["indexer"],
        "p2p": ["flush_throttle_timeout", "send_rate", "recv_rate"],
    }
    out: dict[str, Any] = {}
    section = ""
    for line in text.split("\n"):
        header = re.match(r"^\[([^\]]+)\]\s*$", line)
        if header:
            section = header.group(1)
            continue
        m = re.match(r"^([a-z_]+)\s*=\s*(.+)$", line)
        if m and m.group(1) in wanted.get(section, []):
            out[f"{section + '.' if section else ''}{m.group(1)}"] = m.group(2).strip().strip('"')
    genesis = json.loads((net.node_home(0) / "config" / "genesis.json").read_text())
    block = genesis.get("consensus_params", {}).get("block", {})
    out["block.max_bytes"] = block.get("max_bytes")
    out["block.max_gas"] = block.get("max_gas")
    return out


def _pids(net: Localnet) -> dict[str, int]:
    pids = {f"cometbft{i}": p.pid for i, p in net.nodes.items()}
    pids.update({f"app{i}": p.pid for i, p in net.apps.items()})
    return pids


AUDITOR = "utility/ops"  # the consortium's auditor: reads households' data for the bench's checks


def private_value(net: Localnet, rpc: CometRPC, path: str) -> bytes:
    """The value at a private path (households' data: nodes answer QUERY_PRIVATE on the plain
    path), read with a request the consortium's auditor signs; b"" when absent."""
    signed, data = sign_read_request(net.consortium().member(AUDITOR).key, net.chain_id, path)
    return base64.b64decode(rpc.abci_query(signed, data).get("value") or "")


def _pct(xs: Sequence[float], q: float) -> float:
    """Nearest-rank percentile; +inf entries (never committed) count as the slowest."""
    if not xs:
        return math.nan
    s = sorted(xs)
    return s[min(len(s) - 1, max(0, math.ceil(q * len(s)) - 1))]


def summarize(res: PhaseResult, sampler: ProcSampler | None) -> dict[str, Any]:
    w0, w1 = res.window
    span = min(w1, res.submit_ended) - w0
    blocks = [b for b in res.blocks if w0 <= b.arrived <= w1]
    committed = sum(b.ours for b in blocks)
    ok = sum(1 for s in res.sent if s.committed is not None and w0 <= s.committed <= w1 and s.code == 0)
    in_window = [s for s in res.sent if w0 <= s.submitted <= w1]
    lat = [(s.committed - s.submitted) if s.committed is not None else math.inf for s in in_window]
    never = sum(1 for s in res.sent if s.committed is None)
    failed_codes: dict[int, int] = {}
    for s in res.sent:
        if s.committed is not None and s.code != 0:
            failed_codes[s.code] = failed_codes.get(s.code, 0) + 1
    intervals = [b.arrived - a.arrived for a, b in itertools.pairwise(blocks)]
    mem = [sizes for t, sizes in res.mempool if w0 <= t <= w1]
    out: dict[str, Any] = {
        "window_s": round(span, 1),
        "sent": len(res.sent),
        "offered_tps": round(len(in_window) / span, 1) if span > 0 else 0.0,
        "committed_tps": round(committed / span, 1) if span > 0 else 0.0,
        "committed_ok_tps": round(ok / span, 1) if span > 0 else 0.0,
        "latency_ms": {
            "p50": round(_pct(lat, 0.50) * 1000, 1),
            "p95": round(_pct(lat, 0.95) * 1000, 1),
            "p99": round(_pct(lat, 0.99) * 1000, 1),
            "max": round(_pct(lat, 1.0) * 1000, 1),
        },
        "never_committed": never,
        "failed_in_block": failed_codes,
        "rpc_errors": res.errors,
        "blocks": len(blocks),
        "block_interval_s": round(sum(intervals) / len(intervals), 3) if intervals else None,
        "txs_per_block": round(committed / len(blocks), 1) if blocks else 0.0,
        "mempool": {
            "mean": [round(sum(col) / len(col)) for col in zip(*mem, strict=True)] if mem else [],
            "max": [max(col) for col in zip(*mem, strict=True)] if mem else [],
            "samples": [[round(t - res.started, 1), sizes] for t, sizes in res.mempool],
        },
        "client_cpu_cores": round(res.client_cpu_s / max(1e-9, res.ended - res.started), 3),
        "exhausted_presigned": res.exhausted,
    }
    if sampler is not None:
        cores = _group_cpu(sampler.cpu_between(w0, w1))
        out["cpu_cores"] = cores
        tps = out["committed_tps"]
        if tps and cores:
            # CPU time per committed tx, all nodes together: unlike tx/s it barely depends on
            # what else runs on the machine, so runs on a busy machine stay comparable.
            per_tx = {k: round(v * 1000 / tps, 3) for k, v in cores.items() if k in ("app", "cometbft")}
            per_tx["client"] = round(out["client_cpu_cores"] * 1000 / tps, 3)
            out["cpu_ms_per_tx"] = per_tx
            total = sum(per_tx.values())
            out["cpu_bound_tps_estimate"] = round((os.cpu_count() or 1) * 1000 / total, 1) if total else None
    return out


def _group_cpu(per_proc: dict[str, float]) -> dict[str, float]:
    if not per_proc:
        return {}
    groups: dict[str, float] = {}
    for name, cores in per_proc.items():
        key = re.sub(r"\d+$", "", name)
        groups[key] = round(groups.get(key, 0.0) + cores, 3)
    return {**groups, "per_process": per_proc}  # type: ignore[dict-item]


async def _phase(
    sub: Submitter,
    txs: Sequence[LoadTx],
    *,
    rate: float | None,
    warmup: float,
    duration: float,
    cfg: NetConfig,
) -> PhaseResult:
    return await sub.run(
        txs,
        rate=rate,
        warmup=warmup,
        duration=duration,
        inflight=cfg.inflight if rate is None else None,
        inflight_seconds=cfg.inflight_seconds if rate is None else None,
        drain_timeout=cfg.drain_timeout,
    )


async def _presign(sign: Callable[..., list[LoadTx]], *args: Any) -> list[LoadTx]:
    """Sign a batch of txs in a worker thread: the full run signs ~175,000 txs (~10 s), and an
    event loop blocked that long answers none of the nodes' websocket pings, so CometBFT drops
    the connections (the NewBlock subscription with them: nothing would count as committed)."""
    return await asyncio.to_thread(sign, *args)


async def _setup_step(sub: Submitter, name: str, txs: Sequence[LoadTx], log: Log, *, wave: int) -> None:
    """Commit every setup tx, in waves that stay within one signer's mempool share (setup txs
    mostly come from one issuer or proposer; the full run's 1,315 proposals did not fit)."""
    t = time.monotonic()
    bad = []
    errors: dict[str, int] = {}
    waves = 0
    for first in range(0, len(txs), wave):
        waves += 1
        res = await sub.run(txs[first : first + wave], rate=None, duration=600, inflight=5000, drain_timeout=120)
        bad += [s for s in res.sent if s.code != 0]
        for text, n in res.errors.items():
            errors[text] = errors.get(text, 0) + n
    if bad:
        codes = sorted({s.code for s in bad})
        raise BenchBrokenError(f"setup step {name}: {len(bad)}/{len(txs)} txs failed (codes {codes}; {errors})")
    log(f"  setup: {len(txs)} {name} txs committed in {waves} waves in {time.monotonic() - t:.1f}s")


def run_ours(cfg: NetConfig, home: Path, log: Log) -> tuple[dict[str, Any], list[LoadTx], float]:
    """gridledger on the localnet; returns the figures, the workload (its shape is reused for
    kvstore) and the rate the latency phase ran at."""
    net = _start(home, "gridledger", cfg, log)
    try:
        return asyncio.run(_run_ours(cfg, net, log))
    finally:
        net.stop()


async def _run_ours(cfg: NetConfig, net: Localnet, log: Log) -> tuple[dict[str, Any], list[LoadTx], float]:
    sampler = ProcSampler(_pids(net))
    sampler.start()
    rpc = net.rpc(0)
    try:
        pop = Population(net.consortium(), net.chain_id, cfg.members, seed=11, nonces=lambda a: account_nonce(rpc, a))
        ports = [net.ports(i).rpc for i in range(net.n)]
        budget = int(cfg.max_tps * (cfg.warmup + cfg.duration))
        n_votes = int(budget * 1.5 * cfg.mix.vote) + 8
        param = "voting_period_seconds"
        async with Submitter(ports) as sub:
            await sub.wait_blocks(1)
            await _setup_step(sub, "enrolment", await _presign(pop.enrol_txs), log, wave=cfg.setup_wave)
            await _setup_step(sub, "funding (mint)", pop.funding_txs(), log, wave=cfg.setup_wave)
            await _setup_step(
                sub,
                "proposal",
                pop.proposal_txs(n_votes // 4 + 1, param, param_value(rpc, param)),
                log,
                wave=cfg.setup_wave,
            )
            value = base64.b64decode(rpc.abci_query("/proposals").get("value") or "")
            proposals = governance_pb2.ProposalList.FromString(value).proposals
            pop.open_votes(p.id for p in proposals if p.status == governance_pb2.PROPOSAL_STATUS_VOTING)
            t = time.monotonic()
            txs = await _presign(pop.workload, budget, cfg.mix)
            log(f"  pre-signed {len(txs)} txs in {time.monotonic() - t:.1f}s ({_kinds(txs)})")
            log(f"  saturation: {cfg.warmup:.0f}s warm-up + {cfg.duration:.0f}s window ...")
            prof = profiling(net, cfg, "transfers", cfg.warmup + cfg.duration)
            sat = await _phase(sub, txs, rate=None, warmup=cfg.warmup, duration=cfg.duration, cfg=cfg)
            sat_sum = summarize(sat, sampler)
            profiled(prof, "saturation (the transfers mix)", sat_sum, log)
            log(f"    committed {sat_sum['committed_ok_tps']} tx/s ok ({sat_sum['committed_tps']} tx/s in blocks)")
            if not sat_sum["committed_ok_tps"]:
                raise BenchBrokenError(f"nothing committed at saturation: {sat_sum['rpc_errors']}")
            rate = sat_sum["committed_ok_tps"] / 2
            rest = list(txs[len(sat.sent) :])
            need = int(rate * (cfg.latency_warmup + cfg.latency_duration) * 1.05) + 10
            if len(rest) < need:
                rest += await _presign(pop.workload, need - len(rest), cfg.mix)
            log(f"  latency: open loop at {rate:.0f} tx/s, {cfg.latency_warmup:.0f}s + {cfg.latency_duration:.0f}s ...")
            lat = await _phase(sub, rest, rate=rate, warmup=cfg.latency_warmup, duration=cfg.latency_duration, cfg=cfg)
            lat_sum = summarize(lat, sampler)
            log(f"    p50 {lat_sum['latency_ms']['p50']} ms, p99 {lat_sum['latency_ms']['p99']} ms")
            readings = await _readings_phase(sub, net, pop, cfg, sampler=sampler, log=log)
            energy = await _energy_phase(sub, net, pop, cfg, sampler=sampler, log=log)
        heights = {i: net.height(i) for i in range(net.n)}
        top = min(h for h in heights.values() if h is not None)
        hashes = net.app_hashes(top)
        if len(set(hashes.values())) != 1:
            raise BenchBrokenError(f"app hashes differ at height {top}: {hashes}")
        shape = list(txs[: len(sat.sent)]) + rest[: len(lat.sent)]
        return (
            {
                "saturation": sat_sum,
                "latency": lat_sum,
                "latency_rate": rate,
                "members": cfg.members,
                "mix": cfg.mix.as_dict(),
                "tx_kinds": _kinds(shape),
                "mean_tx_bytes": round(sum(len(t.raw) for t in shape) / max(1, len(shape)), 1),
                "memory_mb": sampler.rss_summary(),
                "settings": cometbft_settings(net),
                "final_height": top,
                "readings": readings,
                "energy": energy,
            },
            shape,
            rate,
        )
    finally:
        sampler.stop()


async def _readings_phase(
    sub: Submitter, net: Localnet, pop: Population, cfg: NetConfig, *, sampler: ProcSampler, log: Log
) -> dict[str, Any]:
    """Gateway batches of device-signed readings at saturation: committed readings per second,
    and a check on node 0 that every device's last accepted sequence is what was committed."""
    members = [s for s, _der in pop.members[: cfg.readings_members]]
    load = ReadingsLoad(net.chain_id, members, cfg.readings_per_member, 0, reading_seconds=LEDGER_READING_SECONDS)
    await _setup_step(sub, "site and device registration", load.setup_txs(), log, wave=cfg.setup_wave)
    load.start = int(time.time()) + 1  # after the registrations committed
    per_tx = cfg.readings_per_member
    # Enough batches for an upper bound of readings_max_rate readings/s over the phase.
    n = int(cfg.readings_max_rate * (3 + cfg.readings_duration) / per_tx)
    t = time.monotonic()
    txs = await _presign(load.batches, n)
    log(f"  readings: pre-signed {n * per_tx} readings in {n} batches in {time.monotonic() - t:.1f}s")
    # A small backlog (about a second of batches): a flooded mempool would put tens of
    # thousands of readings in one block, and the phase would measure that block's latency.
    res = await sub.run(
        txs,
        rate=None,
        warmup=3,
        duration=cfg.readings_duration,
        inflight=60,
        inflight_seconds=1.0,
        drain_timeout=cfg.drain_timeout,
    )
    summary = summarize(res, sampler)
    readings_s = summary["committed_ok_tps"] * per_tx
    log(f"    committed {readings_s:,.0f} readings/s ({summary['committed_ok_tps']} batches/s)")
    lane_member = {signer.lane: m for m, signer in enumerate(members)}
    expected = [0] * len(members)
    for tx, sent in zip(txs, res.sent, strict=False):
        if sent.code == 0 and sent.committed is not None:
            expected[lane_member[tx.lane]] += 1
    if not sum(expected):
        raise BenchBrokenError(f"readings phase: no batch committed ({summary['rpc_errors']})")
    rpc = net.rpc(0)
    mismatched = 0
    for m in range(len(members)):
        value = private_value(net, rpc, f"/reading/{load.devices[m][0].device_id}")
        if (devices_pb2.ReadingState.FromString(value).seq if value else 0) != expected[m]:
            mismatched += 1
    return {
        "readings_s": round(readings_s, 1),
        "batches_s": summary["committed_ok_tps"],
        "readings_per_batch": per_tx,
        "devices": len(members) * per_tx,
        "failed_batches": sum(summary["failed_in_block"].values()),
        "devices_whose_last_seq_on_node0_differs": mismatched,
        "exhausted_presigned": summary["exhausted_presigned"],
    }


async def _energy_phase(
    sub: Submitter, net: Localnet, pop: Population, cfg: NetConfig, *, sampler: ProcSampler, log: Log
) -> dict[str, Any]:
    """A mixed energy load at saturation (readings batches, orders for the next open interval,
    rule updates, transfers): committed tx/s and each kind's share of the committed txs."""
    first = cfg.readings_members
    members = [s for s, _der in pop.members[first : first + cfg.energy_members]]
    rpc = net.rpc(0)
    operator_id = net.consortium().member("gridop/control")
    operator = Signer.from_identity(operator_id, lane=10_000_000, nonce=account_nonce(rpc, operator_id.address))
    supplier = net.consortium().member("utility/treasury").address
    certifier_id = net.consortium().member("certissuer/registry")  # commissions the PVs
    certifier = Signer.from_identity(certifier_id, lane=10_000_001, nonce=account_nonce(rpc, certifier_id.address))
    load = EnergyLoad(
        net.chain_id,
        members,
        operator,
        cfg.energy_devices,
        0,  # set once the devices are registered
        supplier=supplier,
        device_ca=net.consortium().device_ca(),
        certifier=certifier,
        reading_seconds=LEDGER_READING_SECONDS,
    )
    await _drain_mempools(net, 120.0, log)  # the readings phase may leave a backlog behind
    await _setup_step(sub, "tariffs, sites, devices and rules", load.setup_txs(), log, wave=cfg.setup_wave)
    await _setup_step(sub, "the certifier commissions the PVs", load.commission_txs(), log, wave=cfg.setup_wave)
    load.readings_start = int(time.time()) + 1  # after the registrations committed
    for m, signer in enumerate(members):
        value = private_value(net, rpc, f"/rules/{signer.address.hex()}")
        rules = market_pb2.RuleList.FromString(value).rules
        load.rule_ids[m] = rules[0].rule_id if rules else 0
    # the orders' interval: its gate (5 min before it starts) closes after the phase and a margin
    interval = next_open_interval(int(time.time()) + int(cfg.energy_duration) + 90, 900, 300)
    n = int(cfg.energy_max_tps * (3 + cfg.energy_duration))  # enough for that rate (else "exhausted" says so)
    t = time.monotonic()
    txs = await _presign(load.workload, n, interval)
    log(f"  energy: pre-signed {n} txs in {time.monotonic() - t:.1f}s ({_kinds(txs)}), orders for {interval}")
    prof = profiling(net, cfg, "energy", 3 + cfg.energy_duration)
    res = await _phase(sub, txs, rate=None, warmup=3, duration=cfg.energy_duration, cfg=cfg)
    summary = summarize(res, sampler)
    profiled(prof, "the energy mix", summary, log)
    committed: dict[str, int] = {}
    for tx, sent in zip(txs, res.sent, strict=False):
        if sent.code == 0 and sent.committed is not None:
            committed[tx.kind] = committed.get(tx.kind, 0) + 1
    total = sum(committed.values())
    if not total:
        raise BenchBrokenError(f"energy phase: no tx committed ({summary['rpc_errors']})")
    out = {
        "committed_ok_tps": summary["committed_ok_tps"],
        "committed_tps": summary["committed_tps"],
        "shares": {k: round(v / total, 3) for k, v in sorted(committed.items())} if total else {},
        "committed_by_kind": committed,
        "failed_in_block": summary["failed_in_block"],
        "never_committed": summary["never_committed"],
        "members": len(members),
        "devices_per_batch": cfg.energy_devices,
        "interval": interval,
        "cpu_ms_per_tx": summary.get("cpu_ms_per_tx", {}),
        "window_s": summary["window_s"],
        "exhausted_presigned": summary["exhausted_presigned"],
    }
    log(f"    committed {out['committed_ok_tps']} tx/s ok ({_kinds_share(out['shares'])})")
    return out


async def _drain_mempools(net: Localnet, timeout: float, log: Log) -> None:
    """Wait (at most `timeout` s) until every node's mempool is empty, so a phase starts on an
    idle chain rather than behind the previous phase's backlog."""
    t = time.monotonic()
    rpcs = [net.rpc(i) for i in range(net.n)]
    while time.monotonic() - t < timeout:
        if all(r.num_unconfirmed_txs() == 0 for r in rpcs):
            break
        await asyncio.sleep(0.5)
    waited = time.monotonic() - t
    if waited >= 1:
        log(f"  waited {waited:.0f}s for the mempools to drain")


def _kinds_share(shares: dict[str, float]) -> str:
    return ", ".join(f"{k} {v:.0%}" for k, v in shares.items())


def run_kvstore(cfg: NetConfig, home: Path, shape: Sequence[LoadTx], rate: float, log: Log) -> dict[str, Any]:
    net = _start(home, "kvstore", cfg, log)
    try:
        return asyncio.run(_run_kvstore(cfg, net, shape, rate, log))
    finally:
        net.stop()


async def _run_kvstore(cfg: NetConfig, net: Localnet, shape: Sequence[LoadTx], rate: float, log: Log) -> dict[str, Any]:
    sampler = ProcSampler(_pids(net))
    sampler.start()
    try:
        ports = [net.ports(i).rpc for i in range(net.n)]
        # The same sizes and lanes, repeated as often as needed (kvstore may go much faster: up to
        # 4 × max_tps at saturation); the latency run gets its own txs (other keys), enough for
        # its whole open-loop schedule, so it never inherits an exhausted saturation list.
        reps = max(1, math.ceil(4 * cfg.max_tps * (cfg.warmup + cfg.duration) / max(1, len(shape))))
        txs = kvstore_txs(list(shape) * reps)
        need = int(rate * (cfg.latency_warmup + cfg.latency_duration) * 1.1) + 10
        lat_txs = kvstore_txs(list(shape) * max(1, math.ceil(need / max(1, len(shape)))), tag="l")[:need]
        async with Submitter(ports) as sub:
            await sub.wait_blocks(1)
            log(f"  saturation: {cfg.warmup:.0f}s warm-up + {cfg.duration:.0f}s window ...")
            prof = profiling(net, cfg, "kvstore", cfg.warmup + cfg.duration)
            sat = await _phase(sub, txs, rate=None, warmup=cfg.warmup, duration=cfg.duration, cfg=cfg)
            sat_sum = summarize(sat, sampler)
            profiled(prof, "kvstore at saturation", sat_sum, log)
            log(f"    committed {sat_sum['committed_ok_tps']} tx/s")
            if not sat_sum["committed_ok_tps"]:
                raise BenchBrokenError(f"kvstore: nothing committed at saturation: {sat_sum['rpc_errors']}")
            log(f"  latency: open loop at {rate:.0f} tx/s (the rate gridledger's latency ran at) ...")
            lat = await _phase(
                sub,
                lat_txs,
                rate=rate,
                warmup=cfg.latency_warmup,
                duration=cfg.latency_duration,
                cfg=cfg,
            )
            lat_sum = summarize(lat, sampler)
            log(f"    p50 {lat_sum['latency_ms']['p50']} ms, p99 {lat_sum['latency_ms']['p99']} ms")
        return {
            "saturation": sat_sum,
            "latency": lat_sum,
            "latency_rate": rate,
            "memory_mb": sampler.rss_summary(),
            "settings": cometbft_settings(net),
        }
    finally:
        sampler.stop()


def _kinds(txs: Sequence[LoadTx]) -> dict[str, int]:
    out: dict[str, int] = {}
    for t in txs:
        out[t.kind] = out.get(t.kind, 0) + 1
    return dict(sorted(out.items()))
