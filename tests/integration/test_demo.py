"""`make demo` tells a household's day end to end (a shortened day, on its own localnet)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration
REPO = Path(__file__).resolve().parents[2]

# "[17:00  h812] battery at 16:00: state of charge 9.2 kWh → 2.7 kWh (charged 0.0 kWh, discharged 6.5 kWh);
#  its rules sold 1.1 kWh of 6.7 kWh offered at ≥ 2400/kWh"
BATTERY = re.compile(
    r"battery at (\d\d):00: state of charge (\?|[\d.]+ kWh) → ([\d.]+) kWh "
    r"\(charged ([\d.]+) kWh, discharged ([\d.]+) kWh\); its rules (.*)$",
    re.MULTILINE,
)


def _kwh(text: str) -> float:
    return float(text.removesuffix(" kWh"))


def _filled(rules: str, side: str) -> float:
    """kWh the battery's rules `side` ("bought" / "sold") in the interval, from its report."""
    m = re.search(rf"{side} ([\d.]+) kWh of", rules)
    return float(m.group(1)) if m else 0.0


def test_demo_runs_the_household_day_and_stops_everything(tmp_path: Path) -> None:
    """09:00-19:00: forecasts posted by the gateways, PV sold by rule, Alice's battery charging from
    the midday surplus and discharging into the evening peak by its own rules, an EV session and
    its certificate claim, a feeder limit at noon curtailing Alice's inverter within the grid's
    instruction, settlement whose statements recompute, certificates, demand response; the
    validators agree and every process is stopped."""
    home = tmp_path / "demo"
    done = subprocess.run(
        [sys.executable, "-m", "clients.ops.demo", "--start-hour", "9", "--hours", "10", "--home", str(home)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    out = done.stdout
    assert done.returncode == 0, out[-4000:] + done.stderr[-2000:]
    for line in (
        "grid operator publishes tariffs",
        "energy is shown in the household's kWh",
        "posts its forecast every interval",
        "market cleared the interval",
        "certificate bundle #",
        "settled the interval",
        "ALERT for carol: budget_spent",
        "accepts new terms",
        "demand response measured for carol-heatpump",
        "GRID INSTRUCTION for alice-home over 12:00",
        "her car charged",
        "retires",
        "hourly matching",
        "verifies offline",
        "agree on the app hash",
        "stopped everything the demo started",
    ):
        assert line in out, f"{line!r} missing from the story:\n{out[-3000:]}"
    # the battery, hour by hour, from the ledger's readings and its rules' orders
    hours = {
        int(m.group(1)): (m.group(2), _kwh(m.group(3)), float(m.group(4)), float(m.group(5)), m.group(6))
        for m in BATTERY.finditer(out)
    }
    assert hours, out[-3000:]
    midday = [
        h
        for h, (before, after, charged, _d, rules) in hours.items()
        if 9 <= h <= 14 and charged > 0 and before != "?" and after > _kwh(before) and _filled(rules, "bought") > 0
    ]
    evening = [
        h
        for h, (before, after, _c, discharged, rules) in hours.items()
        if h >= 16 and discharged > 0 and before != "?" and after < _kwh(before) and _filled(rules, "sold") > 0
    ]
    assert midday, f"the battery never charged from the midday surplus by its rules: {hours}"
    assert evening, f"the battery never discharged into the evening peak by its rules: {hours}"
    # the feeder limit at noon reached Alice's inverter: her readings stayed within the cap
    curtailed = re.search(
        r"curtailed: Alice's PV exported .* at 12:00 under an export cap of (\d+) W.*: (\w+) the", out
    )
    assert curtailed, out[-3000:]
    assert curtailed.group(2) == "within", curtailed.group(0)
    assert "CURTAILED by its export limit" in out
    # the EV session's claim: her gateway recorded an answer, every retirement it names is on the
    # ledger under the session's purpose, and what it covered was committed (an event in a block).
    # The share itself depends on how much of her PV the market sold that hour (0 % is a valid answer).
    claim = re.search(
        r"EV session (\S+): charged ([\d.]+) kWh, claim (\w+) after (\d+) attempt\(s\): ([\d.]+) kWh covered .*"
        r"the ledger holds ([\d.]+) kWh retired",
        out,
    )
    assert claim, out[-3000:]
    assert float(claim.group(2)) > 0, claim.group(0)
    assert int(claim.group(4)) >= 1, claim.group(0)
    assert float(claim.group(6)) >= float(claim.group(5)), claim.group(0)
    if float(claim.group(5)) > 0:
        assert f"for alice (ev-charging {claim.group(1)})" in out, out[-3000:]
    statements = re.search(r"statements recompute from the ledger's fills and tariffs: (\d+) statements, (.*)", out)
    assert statements, out[-3000:]
    assert int(statements.group(1)) > 0
    assert statements.group(2) == "all consistent", statements.group(0)
    leftover = subprocess.run(["pgrep", "-f", str(home)], capture_output=True, text=True, check=False)
    assert not leftover.stdout.strip(), f"processes left running: {leftover.stdout}"
