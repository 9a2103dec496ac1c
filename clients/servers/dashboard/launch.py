"""Starting the dashboard beside a localnet's nodes (for `make localnet` and the demo): a child
process reading from every node's RPC, node0's first, on `port` (node0's p2p port + 8 by default)."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

__all__ = ["PORT_OFFSET", "dashboard_url", "start_dashboard"]

PORT_OFFSET = 8  # from node0's p2p port: 26664 for the localnet; no node port ends there
REPO = Path(__file__).resolve().parents[3]


def dashboard_url(base_port: int) -> str:
    """The dashboard's address for a net whose node0 p2p port is `base_port`."""
    return f"http://127.0.0.1:{base_port + PORT_OFFSET}/"


def start_dashboard(rpc_urls: Sequence[str], port: int, log_path: Path, *, label: str = "") -> subprocess.Popen[bytes]:
    """The dashboard as a child process (its output appended to `log_path`); stop it with terminate()."""
    cmd = [sys.executable, "-m", "clients.servers.dashboard", "--nodes", ",".join(rpc_urls), "--port", str(port)]
    if label:
        cmd += ["--label", label]
    with open(log_path, "ab") as log:
        return subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, cwd=REPO)
