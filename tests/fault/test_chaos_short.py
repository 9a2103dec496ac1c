"""The chaos run, short (for CI): a localnet under signed load through five different faults."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.chaos.faults import Timing
from tests.chaos.run import REPLAY_ENVS, ChaosConfig, render, run_chaos

pytestmark = pytest.mark.integration

KINDS = ("kill_proposer", "crash", "two_down", "wipe", "isolate")


def test_short_chaos_run_loses_nothing_and_agrees(tmp_path: Path) -> None:
    """Under load, the proposer killed, an app crashed at a crash point, 2 of 4 validators
    down (the chain halts, then resumes), a node wiped and re-synced from genesis, and a node
    cut off from its peers: every fault recovers, no tx seen committed is missing from any
    node's chain, no app hash differs (live, across nodes, and in replays under other
    PYTHONHASHSEED/LC_ALL/TZ), the money invariant holds on every node after every fault,
    no device reading is lost or accepted twice, certificates match the PVs' accepted export,
    and no double-sign evidence appears."""
    cfg = ChaosConfig(
        minutes=6.0,
        max_faults=len(KINDS),
        seed=5,
        rate=25.0,
        home=tmp_path / "chaos",
        kinds=KINDS,
        shuffle=False,
        timing=Timing(pause_s=5.0, isolate_s=(6.0, 8.0), halt_s=6.0, down_s=(0.5, 1.5)),
        gap_s=(1.0, 2.0),
        replay_envs=REPLAY_ENVS[:2],
        drain_s=30.0,
    )
    report = run_chaos(cfg, say=lambda s: print(s, flush=True))
    print(render(report))
    assert [f.kind.split(":")[0] for f in report.faults] == list(KINDS)
    for f in report.faults:
        assert f.recovered, f"{f.kind} on {f.nodes}: {f.problems}"
        assert f.problems == [], f"{f.kind}: {f.problems}"
    two_down = next(f for f in report.faults if f.kind == "two_down")
    assert two_down.chain_progressed is False  # it halted
    assert report.committed > 100
    assert report.lost == []
    assert report.app_hash_mismatches == 0
    assert report.invariant_violations == []
    assert report.forks == []
    assert report.evidence == 0
    assert len(report.replays) == 2
    assert all(r["mismatches"] == [] and r["heights"] == report.final_height + 1 for r in report.replays)
    assert report.problems == []
    assert report.energy is not None
    assert report.energy.readings_accepted > 0
    assert report.energy.lost == []
    assert report.energy.doubled == []
    assert report.energy_problems == []
    assert report.ok
