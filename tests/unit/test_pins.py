"""Consensus libraries: pinned in one place, checked at start, and the app refuses other versions."""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from pathlib import Path

from abci_app import pins

REPO = Path(__file__).resolve().parents[2]


def _pyproject_pins() -> dict[str, str]:
    deps = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["dependencies"]
    out = {}
    for dep in deps:
        m = re.fullmatch(r"([A-Za-z0-9_.-]+)==([0-9][^,;\s]*)", dep.strip())
        if m:
            out[m.group(1).lower()] = m.group(2)
    return out


def _lock_pins() -> dict[str, str]:
    lines = (REPO / "requirements.lock").read_text().splitlines()
    pairs = (line.split("==") for line in lines if line and not line.startswith("#"))
    return {name.lower(): version for name, version in pairs}


def test_pins_match_pyproject_and_lock() -> None:
    """pins.py, pyproject.toml and requirements.lock name the same exact versions."""
    expected = {name.lower(): version for name, version in pins.PINS.items()}
    assert {k: v for k, v in _pyproject_pins().items() if k in expected} == expected
    lock = _lock_pins()
    assert {k: lock.get(k) for k in expected} == expected
    assert all(re.fullmatch(r"[0-9][0-9A-Za-z.+-]*", v) for v in lock.values()), "every lock line is an exact pin"


def test_installed_versions_are_the_pins() -> None:
    assert pins.mismatches(pins.installed()) == []


def test_mismatch_is_reported_per_library() -> None:
    versions = dict(pins.installed())
    versions["cryptography"] = "43.0.0"
    versions["PyNaCl"] = None
    wrong = pins.mismatches(versions)
    assert wrong == ["PyNaCl missing installed, 1.6.2 pinned", "cryptography 43.0.0 installed, 50.0.2 pinned"]


def test_app_refuses_to_start_with_another_version(tmp_path: Path) -> None:
    """With protobuf reported at another version, the app logs why and exits non-zero before
    opening any state (run in a child process, as a validator would)."""
    script = (
        "import sys\n"
        "from abci_app import pins\n"
        "real = pins.installed()\n"
        "pins.installed = lambda: {**real, 'protobuf': '5.29.0'}\n"
        "from abci_app.__main__ import main\n"
        "sys.exit(main(sys.argv[1:]))\n"
    )
    home = tmp_path / "app"
    done = subprocess.run(
        [sys.executable, "-c", script, "--home", str(home), "--address", "tcp://127.0.0.1:1", "--log-format", "json"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 3
    assert "refusing_to_start" in done.stderr
    assert "protobuf 5.29.0 installed, 7.36.2 pinned" in done.stderr
    assert not (home / "state.sqlite").exists()


def test_app_logs_versions_at_start(tmp_path: Path) -> None:
    """A real start (with the pinned versions) logs them; the process is stopped by the test."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "abci_app", "--home", str(tmp_path), "--address", "tcp://127.0.0.1:0"],
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stderr is not None
        first = proc.stderr.readline()
        assert "consensus_libraries" in first
        assert all(f"{name}=" in first and version in first for name, version in pins.PINS.items())
    finally:
        proc.terminate()
        proc.wait(timeout=10)
