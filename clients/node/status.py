"""`gridctl node status`: is each of a node's processes up, and where is its chain."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from clients.node.config import NodeConfig
from clients.node.layout import NodeHome
from clients.rpc import CometRPC, RPCError

__all__ = ["node_status"]


def _pid_up(pidfile: Path) -> int | None:
    try:
        pid = int(pidfile.read_text())
        os.kill(pid, 0)
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, ValueError, IndexError):
        return None
    return None if state == "Z" else pid


def node_status(home: Path, config: NodeConfig) -> dict[str, Any]:
    """The supervisor's and each child's pid (None: not running), and from the node's RPC its height,
    app hash, whether it is catching up and how many peers it has (None when the RPC does not answer)."""
    layout = NodeHome(home)
    children = ["supervisor", "app", "cometbft"]
    children += ["bridge"] if config.bridge_enabled else []
    children += ["dashboard"] if config.dashboard_enabled else []
    status: dict[str, Any] = {"home": str(layout.root), "moniker": config.node_moniker, "rpc": config.rpc_url()}
    status.update({name: _pid_up(layout.pidfile(name)) for name in children})
    rpc = CometRPC(config.rpc_url(), timeout=3)
    try:
        info = rpc.status()
        peers = rpc.call("net_info")
    except (RPCError, OSError, KeyError, ValueError):
        status.update(height=None, app_hash=None, catching_up=None, peers=None, node_id=None)
        return status
    sync = info["sync_info"]
    status.update(
        height=int(sync["latest_block_height"]),
        app_hash=sync["latest_app_hash"],
        catching_up=bool(sync["catching_up"]),
        peers=int(peers["n_peers"]),
        node_id=info["node_info"]["id"],
    )
    return status
