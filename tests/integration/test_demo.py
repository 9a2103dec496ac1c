"""`make demo` tells the household story end to end (a shortened day, on its own localnet)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration
REPO = Path(__file__).resolve().parents[2]


def test_demo_runs_the_story_and_stops_everything(tmp_path: Path) -> None:
    """Five simulated hours: PV sells, the neighbour's rule buys and hits its budget, new terms
    are accepted, demand response is measured, certificates are issued, move with the energy
    and are retired, settlement runs; the validators agree and every process is stopped."""
    home = tmp_path / "demo"
    done = subprocess.run(
        [sys.executable, "-m", "clients.ops.demo", "--hours", "6", "--home", str(home)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=420,
        check=False,
    )
    out = done.stdout
    assert done.returncode == 0, out[-4000:] + done.stderr[-2000:]
    for line in (
        "grid operator publishes tariffs",
        "market cleared the interval",
        "certificate bundle #",
        "settled the interval",
        "ALERT for carol: budget_spent",
        "accepts new terms",
        "demand response measured for carol-heatpump",
        "retires",
        "hourly matching",
        "verifies offline",
        "agree on the app hash",
        "stopped everything the demo started",
    ):
        assert line in out, f"{line!r} missing from the story:\n{out[-3000:]}"
    leftover = subprocess.run(["pgrep", "-f", str(home)], capture_output=True, text=True, check=False)
    assert not leftover.stdout.strip(), f"processes left running: {leftover.stdout}"
