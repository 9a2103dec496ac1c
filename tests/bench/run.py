"""`python -m tests.bench.run --mode quick|full`: every figure of design.md §6, with its target.

full (`make bench`): in-process app costs (CheckTx, RECHECK, FinalizeBlock with signatures
already verified and in replay, Commit; readings; market clearing and settlement inside the
end-block hook, certificate issuance and state per PV device-day; trie update cost at
10k/100k/1M/10M keys, about 100 s, 90 of them building the 10 M-key trie), then the 4-validator
localnet with gridledger (saturation over 60 s, latency at half that rate, device readings, a
mixed energy load) and the same load shape against CometBFT's built-in kvstore on the same node
settings.
The worst legal block (issue 19): day-long readings up to the block's work budget, FinalizeBlock
+ Commit, at the default and (full mode) the extreme parameters governance may set.
quick (`make bench-quick`, < 3 min): the same parts, briefly. smoke (`make bench-smoke`, CI, about
2 min): every part and path of full at tiny sizes. No mode fails on a number:
the exit status is non-zero only when the benchmark itself breaks.

Results: a table on the terminal and `.bench/results/bench-<mode>-<time>.json` (machine,
versions, settings and every figure) so two runs can be compared.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import os
import platform
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from importlib.metadata import version
from pathlib import Path
from typing import Any

from abci_app.logging_setup import configure_logging
from clients.ops.consortium import demo_consortium
from clients.ops.loadgen import LoadTx, Mix
from tests.bench.clearing import FEEDER_COUNTS, clearing_costs
from tests.bench.dr_state import dr_state_costs
from tests.bench.energy import certificate_costs, market_costs, mixed_load_costs
from tests.bench.inprocess import InProcessConfig, run_inprocess, trie_costs
from tests.bench.localnet_bench import NetConfig, run_kvstore, run_ours
from tests.bench.readings import inprocess_reading_costs, signature_limit, state_bytes_per_device_day
from tests.bench.rules_pass import rules_pass_costs
from tests.bench.sites import site_settlement_costs
from tests.bench.utility import METERS_RATE, UtilityConfig, run_utility
from tests.bench.worst_block import worst_block_costs

REPO = Path(__file__).resolve().parents[2]
BENCH_DIR = REPO / ".bench"


@dataclass(frozen=True)
class Mode:
    inprocess: InProcessConfig
    net: NetConfig


MODES = {
    # smoke (CI, `make bench-smoke`): every part and every path of the full mode at tiny sizes,
    # including its setup in several waves per signer and the kvstore comparison; its figures
    # mean nothing, it only proves the harness still works end to end.
    "smoke": Mode(
        InProcessConfig(members=40, block_txs=200, blocks=1, trie_sizes=(2_000, 4_000), trie_block=200, mix=Mix()),
        NetConfig(
            members=120,
            warmup=1,
            duration=4,
            latency_warmup=1,
            latency_duration=3,
            inflight=400,
            inflight_seconds=2.5,
            max_tps=300,
            mix=Mix(),
            drain_timeout=20,
            setup_wave=25,
            readings_members=4,
            readings_per_member=5,
            readings_duration=3,
            readings_max_rate=400,
            energy_members=4,
            energy_devices=3,
            energy_duration=3,
            energy_max_tps=500,
        ),
    ),
    "quick": Mode(
        InProcessConfig(members=300, block_txs=2000, blocks=2, trie_sizes=(10_000, 30_000), trie_block=2000, mix=Mix()),
        NetConfig(
            members=200,
            warmup=3,
            duration=15,
            latency_warmup=2,
            latency_duration=10,
            inflight=2000,
            inflight_seconds=2.5,
            max_tps=1500,
            mix=Mix(),
            drain_timeout=20,
            readings_duration=10,
            energy_duration=10,
        ),
    ),
    "full": Mode(
        InProcessConfig(
            members=2000,
            block_txs=10_000,
            blocks=3,
            trie_sizes=(10_000, 100_000, 1_000_000, 10_000_000),
            trie_block=10_000,
            mix=Mix(),
        ),
        NetConfig(
            members=2000,
            warmup=10,
            duration=60,
            latency_warmup=5,
            latency_duration=45,
            inflight=3000,
            inflight_seconds=2.5,
            max_tps=2500,
            mix=Mix(),
            readings_duration=30,
            energy_duration=30,
        ),
    ),
}

PARTS = ("inprocess", "readings", "energy", "clearing", "worstblock", "trie", "localnet", "kvstore", "utility")

# the utility-scale run (a million meters' readings, tests/bench/utility.py) per mode: smoke only
# proves its path works; `make bench-utility` is the full mode's part alone (10 minutes)
UTILITY = {
    "smoke": UtilityConfig(target_rate=100, duration=6, warmup=2, window=3, gateways=4, devices_per_gateway=10),
    "quick": UtilityConfig(duration=30, warmup=5, window=10, gateways=20),
    "full": UtilityConfig(),
}
# (readings in-process, readings per tx, devices for the state-growth day) per mode
READINGS = {"smoke": (100, 20, 3), "quick": (1_000, 100, 50), "full": (5_000, 100, 200)}
# (orders in the cleared interval, timed runs of each hook, PV devices for the certificates day,
# txs of the in-process mixed energy load)
ENERGY = {"smoke": (300, 1, 3, 60), "quick": (10_000, 3, 50, 1_000), "full": (10_000, 5, 200, 1_000)}
# metered sites settled outside the market, and the per-block cap (None: the governed default)
SITES = {"smoke": (300, 100), "quick": (6_000, None), "full": (20_000, None)}  # the scoring cap is the same
# settled demand-response enrolments pruned, and the per-block cap (None: the governed default)
DR_STATE = {"smoke": (300, 100), "quick": (5_000, None), "full": (20_000, None)}
# (attacker's devices, also at the extreme parameters) per mode
WORST_BLOCK = {"smoke": (10, True), "quick": (300, False), "full": (400, True)}


def log(text: str) -> None:
    print(text, flush=True)


def _cmd(args: list[str]) -> str:
    try:
        return subprocess.run(args, capture_output=True, text=True, check=True, cwd=REPO).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def machine() -> dict[str, Any]:
    cpu_model = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu_model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    cometbft = str(REPO / "bin" / "cometbft") if (REPO / "bin" / "cometbft").exists() else "cometbft"
    return {
        "cores": os.cpu_count(),
        "cpu": cpu_model,
        "platform": platform.platform(),
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
        "versions": {
            "python": platform.python_version(),
            "cometbft": _cmd([cometbft, "version"]),
            "git_commit": _cmd(["git", "rev-parse", "HEAD"]),
            "git_dirty": bool(_cmd(["git", "status", "--porcelain", "--untracked-files=no"])),
            "protobuf": version("protobuf"),
            "pynacl": version("pynacl"),
            "websockets": version("websockets"),
        },
    }


# -- the table ----------------------------------------------------------------------------------


def _fmt(x: Any, unit: str = "") -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "-"
    if isinstance(x, float) and math.isinf(x):
        return "never"
    if isinstance(x, int) and not isinstance(x, bool):
        return f"{x:,}{unit}"
    if isinstance(x, float):
        if abs(x) >= 100:
            return f"{x:,.0f}{unit}"
        return f"{x:,.1f}{unit}" if abs(x) >= 10 else f"{x:.2f}{unit}"
    return f"{x}{unit}"


def rows(results: dict[str, Any]) -> list[tuple[str, str, str, str]]:
    """(what, measured, target, verdict) for every figure."""
    out: list[tuple[str, str, str, str]] = []

    def add(what: str, value: Any, target: str = "", ok: bool | None = None, unit: str = "") -> None:
        verdict = "" if ok is None else ("met" if ok else "NOT MET")
        out.append((what, _fmt(value, unit), target, verdict))

    ours = results.get("localnet")
    kv = results.get("kvstore")
    if ours:
        sat, lat = ours["saturation"], ours["latency"]
        tps = sat["committed_ok_tps"]
        add("committed tx/s, 4 validators, mixed signed txs (saturation)", tps, ">= 1,500", tps >= 1500)
        if sat["exhausted_presigned"]:
            add("  (the pre-signed txs ran out: that rate is a lower bound)", "")
        failed = sum(sat["failed_in_block"].values()) + sum(lat["failed_in_block"].values())
        add(
            "  txs failed in blocks / never committed (should be 0)",
            f"{failed} / {sat['never_committed'] + lat['never_committed']}",
        )
        add("  open-loop rate of the latency run (half of that)", ours["latency_rate"], "", None, " tx/s")
        add(
            "  submit→commit latency p50 at that rate",
            lat["latency_ms"]["p50"],
            "<= 600 ms",
            lat["latency_ms"]["p50"] <= 600,
            " ms",
        )
        add("  latency p95", lat["latency_ms"]["p95"], "", None, " ms")
        add("  latency p99", lat["latency_ms"]["p99"], "<= 1,500 ms", lat["latency_ms"]["p99"] <= 1500, " ms")
        add("  committed during the latency run (tx/s)", lat["committed_ok_tps"])
        add("  mempool size, mean per node at saturation", _mean(sat["mempool"]["mean"]))
        add("  mempool size, max per node at saturation", max(sat["mempool"]["max"] or [0]))
        for name, mem in ours["memory_mb"].items():
            if name.startswith("app"):
                add(f"  RSS of {name} (max)", mem["max_mb"], "", None, " MB")
        cpu = sat.get("cpu_cores", {})
        add(
            "  CPU cores at saturation: apps / cometbft / whole machine",
            f"{cpu.get('app', 0):.2f} / {cpu.get('cometbft', 0):.2f} / {cpu.get('machine', 0):.2f}",
        )
        per_tx = sat.get("cpu_ms_per_tx", {})
        add(
            "  CPU ms per committed tx: 4 apps / 4 cometbft / client",
            f"{per_tx.get('app', 0):.2f} / {per_tx.get('cometbft', 0):.2f} / {per_tx.get('client', 0):.2f}",
        )
        add(f"  tx/s if CPU-bound on {os.cpu_count()} idle cores (from CPU per tx)", sat.get("cpu_bound_tps_estimate"))
        add("  load client CPU (cores)", sat["client_cpu_cores"])
    if kv:
        ktps = kv["saturation"]["committed_ok_tps"]
        add("kvstore committed tx/s (same shape, same settings)", ktps)
        if kv["saturation"]["exhausted_presigned"]:
            add("  (kvstore ran out of txs: that rate is a lower bound)", "")
        kper = kv["saturation"].get("cpu_ms_per_tx", {})
        add(
            "  kvstore CPU ms per committed tx: 4 cometbft / client",
            f"{kper.get('cometbft', 0):.2f} / {kper.get('client', 0):.2f}",
        )
        add(
            f"  kvstore tx/s if CPU-bound on {os.cpu_count()} idle cores",
            kv["saturation"].get("cpu_bound_tps_estimate"),
        )
        add(
            "  kvstore latency p50 / p99 at the same open-loop rate",
            f"{_fmt(kv['latency']['latency_ms']['p50'])} / {_fmt(kv['latency']['latency_ms']['p99'])} ms",
        )
        if ours and ktps:
            ratio = ours["saturation"]["committed_ok_tps"] / ktps
            add("ours / kvstore throughput ratio", round(ratio, 3), ">= 0.6", ratio >= 0.6)
            ours_p50, kv_p50 = ours["latency"]["latency_ms"]["p50"], kv["latency"]["latency_ms"]["p50"]
            if not math.isnan(ours_p50) and not math.isnan(kv_p50) and kv_p50 > 0:  # both measured
                lat_ratio = ours_p50 / kv_p50
                what = "ours / kvstore latency p50 at the same open-loop rate"
                add(what, round(lat_ratio, 2), "<= 1.2", lat_ratio <= 1.2)
            ours_est = ours["saturation"].get("cpu_bound_tps_estimate")
            kv_est = kv["saturation"].get("cpu_bound_tps_estimate")
            if ours_est and kv_est:
                add("  the same ratio from CPU per tx (less sensitive to other load)", round(ours_est / kv_est, 3))
    ip = results.get("inprocess")
    if ip:
        add(
            f"FinalizeBlock, signatures verified in CheckTx ({ip['block_txs']:,}-tx blocks)",
            ip["finalize_verified_tps"],
            ">= 20,000 tx/s",
            ip["finalize_verified_tps"] >= 20_000,
            " tx/s",
        )
        add(
            "FinalizeBlock, all signatures verified (replay)",
            ip["finalize_replay_tps"],
            ">= 6,000 tx/s",
            ip["finalize_replay_tps"] >= 6000,
            " tx/s",
        )
        add("CheckTx (new txs)", ip["checktx_tps"], "", None, " tx/s")
        add("RECHECK", ip["recheck_tps"], "cheap (no sig check)", None, " tx/s")
        add(f"Commit per {ip['block_txs']:,}-tx block (SQLite + trie nodes)", ip["commit_ms"], "", None, " ms")
    for row in results.get("trie", []):
        add(
            f"app hash update, {row['block_writes']:,} writes at {row['keys']:,} keys",
            row["apply_root_ms"],
            "",
            None,
            f" ms ({row['us_per_write']} µs/write, {row['node_hashes_per_write']} node hashes/write)",
        )
    rd = results.get("readings")
    limit = rd["signature"]["limit_readings_s"] if rd else None
    if rd:
        sig = rd["signature"]
        add("Ed25519 verifies per second, one core (the app's verifier)", sig["verifies_per_core_s"])
        add(
            f"signature limit: {sig['cores']} cores × that ÷ {sig['validators']} validators",
            limit,
            "",
            None,
            " readings/s",
        )
        ip = rd["inprocess"]
        add(
            f"CheckTx per reading ({ip['readings_per_tx']} readings per tx)",
            ip["checktx_us_per_reading"],
            "",
            None,
            " µs",
        )
        add(
            f"ProcessProposal + FinalizeBlock + Commit per reading (verified in CheckTx; {ip['backend']})",
            ip["block_us_per_reading"],
            "",
            None,
            " µs",
        )
        add(
            "  of which FinalizeBlock / Commit",
            f"{ip['finalize_us_per_reading']} / {ip['commit_us_per_reading']} µs",
            "",
            None,
        )
        add("state bytes per device-day (96 readings; devices domain)", rd["state"]["bytes_per_device_day"], "bounded")
    net_readings = (ours or {}).get("readings")
    if net_readings:
        rs = net_readings["readings_s"]
        target = f">= {limit // 2:,} (half the limit)" if limit else ">= half the signature limit"
        add("device-signed readings committed/s, 4 validators", rs, target, (rs >= limit / 2) if limit else None)
        add(
            "  failed batches / devices whose last seq on node 0 differs (should be 0 / 0)",
            f"{net_readings['failed_batches']} / {net_readings['devices_whose_last_seq_on_node0_differs']}",
        )
    _energy_rows(results, add)
    _clearing_rows(results, add)
    _utility_rows(results, add)
    _worst_block_rows(results, add)
    return out


def _utility_rows(results: dict[str, Any], add: Callable[..., None]) -> None:
    u = results.get("utility")
    if not u:
        return
    target = u["target_readings_s"]
    add(
        f"utility scale: readings/s committed, {u['meters']:,} meters behind {u['gateways']} gateways, "
        f"{u['duration_s']:.0f}s open loop",
        u["readings_s"],
        f">= {target:,.0f} sustained",
        u["sustained"],
    )
    add("  per window (readings/s)", ", ".join(f"{w:,.0f}" for w in u["windows_readings_s"]))
    add("  batch latency p50 / p99", f"{_fmt(u['latency_ms']['p50'])} / {_fmt(u['latency_ms']['p99'])} ms")
    per = u["cpu_ms_per_reading_per_node"]
    add(
        "  CPU ms per reading per node: app / cometbft",
        f"{per.get('app', 0):.3f} / {per.get('cometbft', 0):.3f}",
    )
    if "drain_s" in u:
        add(
            "  backlog at the window's end: batches, seconds to drain",
            f"{u['backlog_batches_at_window_end']:,}, {u['drain_s']:.0f} s",
        )
    add(
        "  failed batches / never committed / meters whose last seq on node 0 differs",
        f"{u['failed_batches']} / {u['never_committed_batches']} / {u['devices_whose_last_seq_on_node0_differs']}",
    )
    snaps = u.get("snapshots_node0") or []
    if snaps or u.get("snapshots_skipped_node0"):
        add(
            "  state sync snapshots on node 0 (on a worker thread): taken, largest, slowest; skipped",
            f"{len(snaps)}, {max((x['keys'] or 0 for x in snaps), default=0):,} keys, "
            f"{max((x['ms'] or 0 for x in snaps), default=0):,.0f} ms; {u.get('snapshots_skipped_node0', 0)}",
        )


def _clearing_rows(results: dict[str, Any], add: Callable[..., None]) -> None:
    """Clearing across feeders with binding limits (issue 22)."""
    cl = results.get("clearing") or {}
    for feeders in FEEDER_COUNTS:
        r = cl.get(str(feeders))
        if not r:
            continue
        add(f"clearing {cl['orders']:,} orders on {feeders} feeders, {r['limits_bound']} limits binding: matching step",
            r["match_ms"], "<= 20 ms", r["match_ms"] <= 20, f" ms (best {r['match_best_ms']} ms)")  # fmt: skip
        add("  the whole gate-closure step (in-memory store)", r["close_ms"], "", None, " ms")


def _worst_block_rows(results: dict[str, Any], add: Callable[..., None]) -> None:
    """The worst legal block (issue 19): what governance bounds, and its time."""
    for name, w in (results.get("worst_block") or {}).items():
        add(
            f"worst legal block, {name} parameters: FinalizeBlock + Commit "
            f"({w['readings']} day-long readings, {w['bundles_issued']} bundles issued)",
            w["block_ms"],
            f"work <= max_block_work {w['max_block_work']:,}",
            w["work"] <= w["max_block_work"] and w["failed"] == 0,
            f" ms (work {w['work']:,}, {w['writes']:,} writes, {w['block_cpu_ms']} ms CPU)",
        )
        add("  FinalizeBlock / Commit / the issuance hook", f"{w['finalize_ms']} / {w['commit_ms']} / "
            f"{w['issuance_hook_ms']} ms")  # fmt: skip
        add("  CPU µs per work unit", w["cpu_us_per_work_unit"])


def _energy_rows(results: dict[str, Any], add: Callable[..., None]) -> None:
    """The market's and the certificates' rows (issues 10 and 11)."""
    en = results.get("energy")
    if en:
        m, c = en["market"], en["certificates"]
        n = m["orders"]
        add(f"market clearing, {n:,} orders: matching step in the end-block hook", m["clearing_match_ms"], "<= 20 ms",
            m["clearing_match_ms"] <= 20, " ms")  # fmt: skip
        # issue 16: the whole step, first run included (the worse of the median and the first run)
        close_worst = max(m["clearing_close_ms"], m["clearing_close_first_ms"])
        add("  the whole gate-closure step (book, clearing, fills, orders, refunds)", m["clearing_close_ms"],
            "<= 20 ms", close_worst <= 20, f" ms (first run {m['clearing_close_first_ms']} ms)")  # fmt: skip
        add("  the market's whole end-block hook that block", m["clearing_hook_ms"], "", None, " ms")
        add("  gate-closure step, first run (orders read from SQLite, not the cache)",
            m["clearing_close_first_ms"], "", None, " ms")  # fmt: skip
        mem = en.get("market_memory")
        if mem:
            add("  matching / gate-closure step on an in-memory store",
                f"{_fmt(mem['clearing_match_ms'])} / {_fmt(mem['clearing_close_ms'])} ms")  # fmt: skip
        settle_worst = max(m["settle_ms"], m["settle_first_ms"])
        add(f"settling {m['settle_fills']:,} fills (settlement in the end-block hook)", m["settle_ms"], "<= 20 ms",
            settle_worst <= 20, f" ms ({m['settle_us_per_fill']} µs/fill)")  # fmt: skip
        add("  first run (SQLite) / on an in-memory store", f"{_fmt(m['settle_first_ms'])} / "
            f"{_fmt(mem['settle_ms']) if mem else '-'} ms")  # fmt: skip
        add("certificate issuance per PV reading (15-min readings)", c["issuance_us_per_reading"], "", None, " µs")
        add("  per issued device-hour", c["issuance_us_per_device_hour"], "", None, " µs")
        add("certificate state bytes per PV device-day (0x50-0x5F)", c["cert_bytes_per_device_day"], "bounded")
        add("  devices-domain bytes of that device-day", c["device_bytes_per_device_day"])
        add("  a million PV devices for a year, nothing pruned (both domains)", c["million_devices_year_tb"], "", None,
            " TB")  # fmt: skip
        if "bytes_after_window" in c:
            after = c["bytes_after_window"]
            days = (c["cert_retention_days"], c["device_retention_days"])
            windows = f"certificates {days[0]} days after retirement, devices {days[1]}"
            add(f"state per PV device-day after its retention windows ({windows} days)", after, "<= 1,000",
                after <= 1000)  # fmt: skip
            add("  of it certificates / devices", f"{_fmt(c['cert_bytes_after_window'])} / "
                f"{_fmt(c['device_bytes_after_window'])}")  # fmt: skip
            add("  devices state per PV device (constant, not per day)", c["device_bytes_per_device"])
            if "device_bytes_per_live_day" in c:
                add("  devices state per PV device-day while live (the window's recurring part)",
                    c["device_bytes_per_live_day"])  # fmt: skip
            add("  a retired device-day's certificates (24 device-hours), bundles live",
                c["cert_bytes_per_retired_day"])  # fmt: skip
            if "cert_bytes_per_retired_day_compacted" in c:
                add(f"  the same once its bundles left ({c['retired_bundle_days']} days after retirement)",
                    c["cert_bytes_per_retired_day_compacted"])  # fmt: skip
                add(f"  then once the devices' watermark passed it ({c['device_retention_days']} days), until the "
                    "retention", c["cert_bytes_per_retired_day_retirements"])  # fmt: skip
            tb = c["million_devices_year_tb_pruned"]
            pv_hours = c.get("pv_producing_hours_per_day")
            hours = f" ({pv_hours} producing hours a day)" if pv_hours else ""
            add(f"  a million PV devices{hours} for a year, steady state with pruning", tb, "<= 0.5 TB", tb <= 0.5,
                " TB")  # fmt: skip
            if "million_devices_year_tb_every_hour" in c:
                add("  the same, generators issued every hour of the day", c["million_devices_year_tb_every_hour"], "",
                    None, " TB")  # fmt: skip
            add("  the same, certificates kept a day after retirement", c["million_devices_year_tb_one_day_retention"],
                "", None, " TB")  # fmt: skip
            if "cert_retention_days_within_goal" in c:
                add("  the longest certificate retention within 0.5 TB", c["cert_retention_days_within_goal"], "",
                    None, " days")  # fmt: skip
        if "prune_devices_per_block" in c:
            # steady state holds only if pruning removes at least what a million devices create
            for what, rate, cap in (
                ("devices records", c["prune_devices_rows_per_s_million"], c["prune_devices_per_block"]),
                ("certificates rows", c["prune_certificates_rows_per_s_million"], c["prune_certificates_per_block"]),
            ):
                add(f"  pruning keeps up at a million devices: {what} due per second / pruned per block at most",
                    f"{_fmt(rate)} / {_fmt(cap)}", "cap >= due at a block/s", cap >= rate)  # fmt: skip
            full = f"{_fmt(c['prune_devices_full_batch_ms'])} / {_fmt(c['prune_certificates_full_batch_ms'])} ms"
            add("  pruning hooks' CPU per device record / certificate row, before the trie (a full batch)",
                f"{_fmt(c['prune_devices_us_per_record'])} / {_fmt(c['prune_certificates_us_per_row'])} µs "
                f"({full})")  # fmt: skip
        sites = en.get("sites")
        if sites:
            worst = f"{sites['blocks']} / {_fmt(sites['worst_block_ms'])} ms"
            add(f"settling {sites['sites']:,} metered sites outside the market: blocks (at most "
                f"{sites['per_block']:,} a block) / worst block", worst, "bounded per block")  # fmt: skip
            add("  CPU per site; a million sites: blocks / in one block as before",
                f"{_fmt(sites['us_per_site'])} µs; {sites['million_sites_blocks']:,} / "
                f"{_fmt(sites['million_sites_one_block_s'])} s")  # fmt: skip
            add(f"  their forecasts scored: blocks (at most {sites['score_per_block']:,} a block) / worst block; "
                "CPU per device", f"{sites['score_blocks']} / {_fmt(sites['score_worst_block_ms'])} ms; "
                f"{_fmt(sites['score_us_per_device'])} µs", "bounded per block")  # fmt: skip
            if "market_bytes_per_site_interval" in sites:
                add("  their market state per site-interval (a statement and its index entry) / left after the "
                    "retention", f"{_fmt(sites['market_bytes_per_site_interval'])} B / "
                    f"{_fmt(sites['market_bytes_left'])} B for the interval")  # fmt: skip
                add(f"  a million metered sites: market state at the {sites['market_retention_days']:g}-day retention"
                    " / kept for ever, a year", f"{_fmt(sites['million_sites_market_tb'])} / "
                    f"{_fmt(sites['million_sites_market_tb_year_unpruned'])} TB")  # fmt: skip
                add(f"  market pruning: blocks (at most {sites['market_prune_per_block']:,} rows) / worst block; "
                    "CPU per site; rows due per second at a million sites", f"{sites['market_prune_blocks']} / "
                    f"{_fmt(sites['market_prune_worst_block_ms'])} ms; {_fmt(sites['market_prune_us_per_site'])} µs;"
                    f" {_fmt(sites['million_sites_market_rows_per_s'])}",
                    f"the default cap ({sites['market_prune_default_per_block']:,}) >= due at a block/s",
                    sites["market_prune_default_per_block"] >= sites["million_sites_market_rows_per_s"])  # fmt: skip
        dr = en.get("dr")
        if dr:
            add(f"demand response: state per settled enrolment / left per event after the {dr['retention_days']:g}-day "
                "retention", f"{_fmt(dr['bytes_per_enrolment'])} B / {_fmt(dr['bytes_left_per_event'])} B")  # fmt: skip
            add("  a million devices in an event a day: enrolments at the retention / kept for ever, a year",
                f"{_fmt(dr['million_devices_gb'])} / {_fmt(dr['million_devices_gb_year_unpruned'])} GB")  # fmt: skip
            add(f"  DR pruning of {dr['enrolments']:,} enrolments: blocks (at most {dr['per_block']:,} steps) / worst "
                "block; CPU per enrolment", f"{dr['blocks']} / {_fmt(dr['worst_block_ms'])} ms; "
                f"{_fmt(dr['us_per_enrolment'])} µs", "bounded per block")  # fmt: skip
        rules = en.get("rules")
        if rules:
            worst = f"{rules['blocks']} / {_fmt(rules['worst_block_ms'])} ms"
            add(f"rules' pass: {rules['rules']} buy rules placing their orders, blocks (at most "
                f"{rules['per_block']} a block) / worst block", worst, "bounded per block")  # fmt: skip
            add(f"  CPU per rule; a block at the default {rules['default_per_block']:,}; a million rules: blocks / "
                "in one block as before", f"{_fmt(rules['us_per_rule'])} µs; {_fmt(rules['default_block_ms'])} ms; "
                f"{rules['million_rules_blocks']:,} / {_fmt(rules['million_rules_one_block_s'])} s")  # fmt: skip
        inproc = en.get("mixed")
        if inproc:
            kinds = ", ".join(f"{k} {v:,}" for k, v in inproc["checktx_us"].items())
            add(f"mixed energy load in process: CheckTx µs per tx ({kinds})", "")
            add("  FinalizeBlock + Commit per tx of that load", inproc["block_us_per_tx"], "", None, " µs")
    else:
        add("market clearing, 10,000 orders", "not run (the energy part was left out)", "<= 20 ms")
    ours = results.get("localnet") or {}
    mixed = ours.get("energy")
    if mixed:
        add("committed tx/s, 4 validators, mixed energy load", mixed["committed_ok_tps"])
        shares = ", ".join(f"{k} {v:.0%}" for k, v in sorted(mixed["shares"].items()))
        add("  committed shares: " + shares, "")
        add("  txs failed in blocks (should be 0)", sum(mixed["failed_in_block"].values()))
        readings_s = mixed["committed_ok_tps"] * mixed["shares"].get("readings", 0) * mixed["devices_per_batch"]
        add("  of which device readings per second (batches × readings each)", round(readings_s))
        per_tx = mixed.get("cpu_ms_per_tx", {})
        if per_tx:
            add("  CPU ms per committed tx: 4 apps / 4 cometbft",
                f"{per_tx.get('app', 0):.2f} / {per_tx.get('cometbft', 0):.2f}")  # fmt: skip
        if mixed["exhausted_presigned"]:
            add("  (the pre-signed energy txs ran out: that rate is a lower bound)", "")


def _mean(xs: list[float]) -> float | None:
    return sum(xs) / len(xs) if xs else None


def table(results: dict[str, Any]) -> str:
    body = rows(results)
    widths = [max(len(r[i]) for r in [("what", "measured", "target", ""), *body]) for i in range(4)]
    lines = []
    header = ("what", "measured", "target (design.md §6)", "")
    widths[2] = max(widths[2], len(header[2]))
    lines.append("  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)))
    lines.append("  ".join("-" * w for w in widths))
    for r in body:
        lines.append(f"{r[0].ljust(widths[0])}  {r[1].rjust(widths[1])}  {r[2].ljust(widths[2])}  {r[3]}")
    return "\n".join(lines)


def settings_text(results: dict[str, Any]) -> str:
    s = (results.get("localnet") or results.get("kvstore") or {}).get("settings")
    if not s:
        return ""
    keys = [
        "consensus.timeout_commit",
        "consensus.timeout_propose",
        "mempool.size",
        "mempool.cache_size",
        "mempool.recheck",
        "tx_index.indexer",
        "block.max_bytes",
        "p2p.flush_throttle_timeout",
    ]
    return "CometBFT settings (both runs): " + ", ".join(f"{k}={s.get(k)}" for k in keys)


# -- main -----------------------------------------------------------------------------------------


def _on_sigterm(_sig: int, _frame: Any) -> None:
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.bench.run", description=__doc__.split("\n")[0])
    parser.add_argument("--mode", choices=sorted(MODES), default="quick")
    parser.add_argument("--only", nargs="+", choices=PARTS, help="run only these parts")
    parser.add_argument(
        "--profile",
        action="store_true",
        help="write cProfile reports of the in-process paths, and profile node 0 of the localnets "
        "(py-spy on its app, CometBFT's pprof) during their measured phases",
    )
    parser.add_argument("--keep", action="store_true", help="keep the localnet folders (logs) under .bench/work-*")
    parser.add_argument(
        "--comet",
        action="append",
        default=[],
        metavar="SECTION.KEY=VALUE",
        help="override a CometBFT config.toml setting on both localnets (experiments), e.g. "
        "tx_index.indexer='\"null\"' or consensus.timeout_commit='\"200ms\"'",
    )
    parser.add_argument("--inflight-seconds", type=float, help="saturation backlog, in seconds of commit rate")
    args = parser.parse_args(argv)
    signal.signal(signal.SIGTERM, _on_sigterm)
    configure_logging("console", "warning")
    mode = MODES[args.mode]
    overrides = tuple(tuple(item.split("=", 1)) for item in args.comet)
    if any(len(o) != 2 for o in overrides):
        parser.error("--comet takes SECTION.KEY=VALUE")
    net_changes: dict[str, Any] = {"comet": overrides} if overrides else {}
    if args.inflight_seconds is not None:
        net_changes["inflight_seconds"] = args.inflight_seconds
    if net_changes:
        mode = Mode(mode.inprocess, replace(mode.net, **net_changes))
    parts = set(args.only or PARTS)
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    work = BENCH_DIR / f"work-{stamp}"
    results_dir = BENCH_DIR / "results"
    results_dir.mkdir(parents=True, exist_ok=True)
    profile_dir = results_dir / f"profile-{stamp}" if args.profile else None
    if profile_dir is not None:
        profile_dir.mkdir(parents=True)
        mode = Mode(mode.inprocess, replace(mode.net, profile_dir=profile_dir))
    started = time.monotonic()
    results: dict[str, Any] = {
        "mode": args.mode,
        "started_utc": stamp,
        "machine": machine(),
        "config": {"inprocess": _config(mode.inprocess), "net": _config(mode.net)},
    }
    log(
        f"gridledger bench ({args.mode}) on {results['machine']['cores']} cores, "
        f"load average {results['machine']['load_average_at_start']}"
    )
    status = 0
    try:
        if "inprocess" in parts:
            log("in-process app costs (no CometBFT; tx/s per CPU-second of one core):")
            cfg = mode.inprocess
            if profile_dir is not None:
                cfg = InProcessConfig(**{**cfg.__dict__, "profile_dir": profile_dir})
            results["inprocess"] = run_inprocess(cfg, work / "inprocess", log)
        if "readings" in parts:
            log("device-signed readings (signature limit, per-reading costs, state growth):")
            devices, per_tx, day_devices = READINGS[args.mode]
            consortium = demo_consortium()
            (work / "readings").mkdir(parents=True, exist_ok=True)
            results["readings"] = {
                "signature": signature_limit(),
                "inprocess": inprocess_reading_costs(consortium, devices, per_tx, log, work / "readings"),
                "state": state_bytes_per_device_day(consortium, day_devices, log),
            }
        if "energy" in parts:
            log("energy market and certificates (in-process, inside the end-block hooks):")
            orders, rounds, pv_devices, mixed_txs = ENERGY[args.mode]
            consortium = demo_consortium()
            (work / "energy").mkdir(parents=True, exist_ok=True)
            results["energy"] = {
                "market": market_costs(consortium, orders, log, rounds=rounds, folder=work / "energy"),
                "market_memory": market_costs(consortium, orders, log, rounds=rounds),
                "certificates": certificate_costs(consortium, pv_devices, log),
                "mixed": mixed_load_costs(consortium, mixed_txs, log),
                "sites": site_settlement_costs(
                    SITES[args.mode][0], log, per_block=SITES[args.mode][1], score_per_block=SITES[args.mode][1]
                ),
                "rules": rules_pass_costs(consortium, log),
                "dr": dr_state_costs(DR_STATE[args.mode][0], log, per_block=DR_STATE[args.mode][1]),
            }
        if "clearing" in parts:
            log("clearing across feeders with binding limits (in-process, issue 22):")
            results["clearing"] = clearing_costs(log, rounds=5 if args.mode == "full" else 3)
        if "worstblock" in parts:
            log("the worst legal block (day-long readings up to the work budget):")
            devices, extreme = WORST_BLOCK[args.mode]
            results["worst_block"] = worst_block_costs(demo_consortium(), devices, log, extreme=extreme)
        if "trie" in parts:
            log("app hash (trie) update cost versus state size:")
            results["trie"] = trie_costs(mode.inprocess.trie_sizes, mode.inprocess.trie_block, log)
        rate = None
        shape = None
        if "localnet" in parts:
            log("gridledger on a 4-validator localnet:")
            results["localnet"], shape, rate = run_ours(mode.net, work / "gridledger", log)
        if "kvstore" in parts:
            log("CometBFT kvstore on the same localnet settings:")
            if shape is None:
                shape = _default_shape(mode.net)
            results["kvstore"] = run_kvstore(mode.net, work / "kvstore", shape, rate or 500.0, log)
        if "utility" in parts:
            log(f"utility scale: a million meters' readings ({METERS_RATE:,.0f}/s) on a fresh localnet:")
            results["utility"] = run_utility(UTILITY[args.mode], mode.net, work / "utility", log)
    except KeyboardInterrupt:
        log("interrupted: every process the bench started has been stopped")
        status = 130
    except Exception as exc:  # report what broke, keep what was measured
        log(f"BENCHMARK BROKEN: {type(exc).__name__}: {exc}")
        results["error"] = f"{type(exc).__name__}: {exc}"
        status = 1
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    results["elapsed_s"] = round(time.monotonic() - started, 1)
    results["machine"]["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    path = results_dir / f"bench-{args.mode}-{stamp}.json"
    path.write_text(json.dumps(_clean(results), indent=2, allow_nan=False) + "\n")
    log("")
    log(table(results))
    if settings_text(results):
        log(settings_text(results))
    log(f"\nresults: {path.relative_to(REPO)}  ({results['elapsed_s']:.0f}s)")
    if profile_dir is not None:
        log(f"profiles: {profile_dir.relative_to(REPO)}")
    return status


def _config(cfg: Any) -> dict[str, Any]:
    d = asdict(cfg)
    d.pop("profile_dir", None)
    return d


def _clean(x: Any) -> Any:
    """Plain JSON: infinite latencies (never committed) become "inf", NaN becomes null."""
    if isinstance(x, float):
        return "inf" if math.isinf(x) else (None if math.isnan(x) else x)
    if isinstance(x, dict):
        return {str(k): _clean(v) for k, v in x.items()}
    if isinstance(x, list | tuple):
        return [_clean(v) for v in x]
    if isinstance(x, Path):
        return str(x)
    return x


def _default_shape(cfg: NetConfig) -> list[LoadTx]:
    """The kvstore run alone (--only kvstore): a shape of typical transfer-sized txs."""
    return [LoadTx(b"x" * 150, b"", i % 64, "shape") for i in range(int(cfg.max_tps * (cfg.warmup + cfg.duration)))]


if __name__ == "__main__":
    sys.exit(main())
