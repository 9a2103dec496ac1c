"""The utility-scale run (issue 16): a million meters' readings against the 4-validator localnet.

A million meters reading every 15 minutes send 1,000,000 / 900 ≈ 1,111 readings per second.
Gateways batch many meters into one tx each (as a head-end system or a data concentrator
does); here `gateways` members relay one reading of each of their `devices_per_gateway`
meters per tx, open loop at `target_rate` readings/s (batches at target ÷ devices per
gateway), for `duration` seconds after a warm-up. The devices stand in for the million: each
reports far more often than every 15 minutes, which costs the ledger the same per reading.

Reported: committed readings/s in each window of `window` seconds (and whether every window
reached the target: "sustained"), batch latency, the backlog at the end of the window and how
long it took to drain (a saturated chain falls behind the offer; the run waits while the backlog
keeps committing, so every batch it sent is accounted for), the mempools at the end, CPU
milliseconds per committed reading per node (app and CometBFT, from /proc), a check that
node 0 holds, for every device, the last sequence the run saw committed, and the state sync
snapshots node 0 wrote meanwhile (from its log: height, keys, ms on the worker thread). A run in which
nothing commits raises BenchBrokenError; a slow run is a figure, never a failure.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gridledger.devices.v1 import devices_pb2
from gridwire.contract.devices import Paths as Devices

from clients.ops.loadgen import Population, Submitter, account_nonce
from clients.ops.localnet import Localnet
from tests.bench.localnet_bench import (
    LEDGER_READING_SECONDS,
    BenchBrokenError,
    NetConfig,
    _pids,
    _presign,
    _setup_step,
    _start,
    private_value,
    profiled,
    profiling,
    summarize,
)
from tests.bench.procstat import ProcSampler
from tests.bench.readings import ReadingsLoad

__all__ = ["METERS_RATE", "UtilityConfig", "run_utility"]

Log = Callable[[str], None]
METERS_RATE = 1_000_000 / 900  # readings/s of a million meters at 15 minutes
SUSTAINED_SHARE = 0.97  # a window counts as meeting the target at this share of it


@dataclass(frozen=True)
class UtilityConfig:
    target_rate: float = METERS_RATE  # readings/s offered
    duration: float = 600.0  # measured seconds (after the warm-up)
    warmup: float = 10.0
    window: float = 60.0  # seconds per reported window
    gateways: int = 50
    devices_per_gateway: int = 100  # readings per batch tx
    drain_cap: float = 600.0  # at most this long to drain the backlog after the measured window
    drain_stall: float = 30.0  # ... ending once no batch committed for this long


def run_utility(cfg: UtilityConfig, net_cfg: NetConfig, home: Path, log: Log) -> dict[str, Any]:
    """The run on a fresh localnet in `home` (stopped at the end, also on failure)."""
    net = _start(home, "gridledger", net_cfg, log)
    try:
        return asyncio.run(_run(cfg, net_cfg, net, log))
    finally:
        net.stop()


async def _run(cfg: UtilityConfig, net_cfg: NetConfig, net: Localnet, log: Log) -> dict[str, Any]:
    rpc = net.rpc(0)
    sampler = ProcSampler(_pids(net))
    sampler.start()
    try:
        pop = Population(net.consortium(), net.chain_id, cfg.gateways, seed=23, nonces=lambda a: account_nonce(rpc, a))
        async with Submitter([net.ports(i).rpc for i in range(net.n)]) as sub:
            await sub.wait_blocks(1)
            wave = net_cfg.setup_wave
            await _setup_step(sub, "gateway enrolment", await _presign(pop.enrol_txs), log, wave=wave)
            await _setup_step(sub, "gateway funding", pop.funding_txs(), log, wave=wave)
            gateways = [s for s, _der in pop.members]
            per_tx = cfg.devices_per_gateway
            load = ReadingsLoad(net.chain_id, gateways, per_tx, 0, reading_seconds=LEDGER_READING_SECONDS)
            await _setup_step(sub, "sites and meters", load.setup_txs(), log, wave=wave)
            load.start = int(time.time()) + 1  # after the registrations committed
            batch_rate = cfg.target_rate / per_tx
            n = int(batch_rate * (cfg.warmup + cfg.duration) * 1.02) + len(gateways)
            t = time.monotonic()
            txs = await _presign(load.batches, n)
            log(
                f"  utility: {len(gateways) * per_tx:,} meters behind {len(gateways)} gateways; pre-signed "
                f"{n * per_tx:,} readings in {time.monotonic() - t:.0f}s; offering {cfg.target_rate:,.0f} readings/s "
                f"for {cfg.warmup:.0f}s + {cfg.duration:.0f}s ..."
            )
            prof = profiling(net, net_cfg, "utility", cfg.warmup + cfg.duration)
            res = await sub.run(
                txs,
                rate=batch_rate,
                warmup=cfg.warmup,
                duration=cfg.duration,
                inflight=None,
                inflight_seconds=None,
                drain_timeout=cfg.drain_cap,
                drain_stall=cfg.drain_stall,
            )
        summary = summarize(res, sampler)
        profiled(prof, "the utility readings", summary, log)
    finally:
        sampler.stop()

    w0, w1 = res.window
    windows: list[float] = []
    edge = w0
    while edge + cfg.window <= w1 + 1e-6:
        batches = sum(
            1 for s in res.sent if s.code == 0 and s.committed is not None and edge <= s.committed < edge + cfg.window
        )
        windows.append(round(batches * per_tx / cfg.window, 1))
        edge += cfg.window
    committed_batches = [0] * len(gateways)
    lane_gateway = {signer.lane: g for g, signer in enumerate(gateways)}
    for tx, sent in zip(txs, res.sent, strict=False):
        if sent.code == 0 and sent.committed is not None:
            committed_batches[lane_gateway[tx.lane]] += 1
    if not sum(committed_batches):
        raise BenchBrokenError(f"utility run: no batch committed ({summary['rpc_errors']})")
    mismatched = 0
    for g in range(len(gateways)):
        value = private_value(net, rpc, Devices.READING(load.devices[g][0].device_id))
        if (devices_pb2.ReadingState.FromString(value).seq if value else 0) != committed_batches[g]:
            mismatched += 1
    readings_s = summary["committed_ok_tps"] * per_tx
    cores = summary.get("cpu_cores", {})
    per_reading_node = {
        k: round(cores[k] * 1000 / readings_s / net.n, 3) for k in ("app", "cometbft") if k in cores and readings_s
    }
    mempool_end = res.mempool[-1][1] if res.mempool else []
    # batches accepted (or unanswered) but not committed when submission ended
    backlog = sum(1 for s in res.sent if s.ack in (None, 0) and (s.committed is None or s.committed > res.submit_ended))
    snapshots, skipped = _snapshots(net.log_path(0, "app"))
    out = {
        "target_readings_s": round(cfg.target_rate, 1),
        "meters": len(gateways) * per_tx,
        "gateways": len(gateways),
        "readings_per_batch": per_tx,
        "duration_s": cfg.duration,
        "readings_s": round(readings_s, 1),
        "windows_readings_s": windows,
        "sustained": bool(windows) and min(windows) >= SUSTAINED_SHARE * cfg.target_rate,
        "latency_ms": summary["latency_ms"],
        "backlog_batches_at_window_end": backlog,
        "drain_s": round(res.ended - res.submit_ended, 1),
        "mempool_at_end": mempool_end,
        "never_committed_batches": summary["never_committed"],
        "failed_batches": sum(summary["failed_in_block"].values()),
        "cpu_ms_per_reading_per_node": per_reading_node,
        "devices_whose_last_seq_on_node0_differs": mismatched,
        "exhausted_presigned": summary["exhausted_presigned"],
        "snapshots_node0": snapshots,
        "snapshots_skipped_node0": skipped,
    }
    log(
        f"    committed {readings_s:,.0f} readings/s against {cfg.target_rate:,.0f} offered "
        f"({'sustained' if out['sustained'] else 'NOT sustained'}; per {cfg.window:.0f}s: {windows}); "
        f"p50 {summary['latency_ms']['p50']} ms; CPU per reading per node {per_reading_node} ms; "
        f"{backlog:,} batches behind at the window's end, drained in {out['drain_s']:.0f}s "
        f"({out['never_committed_batches']} never committed)"
    )
    if snapshots or skipped:
        taken = ", ".join(f"height {x['height']}: {x['keys']:,} keys in {x['ms']:,.0f} ms" for x in snapshots)
        log(f"    node 0's state sync snapshots (worker thread): {taken or 'none'}; skipped {skipped}")
    return out


def _snapshots(app_log: Path) -> tuple[list[dict[str, Any]], int]:
    """The snapshots the app's JSON log says it wrote (height, keys, ms), and how many it skipped."""
    taken: list[dict[str, Any]] = []
    skipped = 0
    try:
        lines = app_log.read_text(errors="replace").splitlines()
    except OSError:
        return taken, skipped
    for line in lines:
        if "snapshot_" not in line:
            continue
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        if entry.get("event") == "snapshot_taken":
            taken.append({k: entry.get(k) for k in ("height", "keys", "ms")})
        elif entry.get("event") == "snapshot_skipped":
            skipped += 1
    return taken, skipped
