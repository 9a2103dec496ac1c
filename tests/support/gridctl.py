"""Run gridctl as a user would: its own process, from the repository, output captured."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

__all__ = ["REPO", "run_gridctl"]

REPO = Path(__file__).resolve().parents[2]


def run_gridctl(*args: str, binaries: Path | None = None, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """`python -m clients.gridctl ARGS` with this interpreter's import path, `binaries` (the folder
    of the CometBFT binary) first on PATH when given; never raises on a failing exit."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
    if binaries is not None:
        env["PATH"] = f"{binaries}{os.pathsep}{os.environ.get('PATH', '')}"
    return subprocess.run(
        [sys.executable, "-m", "clients.gridctl", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        env=env,
    )
