"""The command lines of a node's processes: the gridledger app, CometBFT, the gRPC bridge and the
dashboard (shared by the localnet and `gridctl node start`)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

__all__ = ["app_args", "bridge_command", "comet_command", "dashboard_command"]


def app_args(*, abci: str, home: Path, metrics: str = "", log_format: str = "json") -> list[str]:
    """The app's arguments: listening for CometBFT on `abci` (tcp://HOST:PORT or unix:///PATH), its
    database in `home`, Prometheus metrics on HOST:PORT `metrics` ("" = off). Which program runs
    them (this version or an upgrade's) is upgrade_switch.app_command's choice."""
    args = ["--address", abci, "--home", str(home), "--log-format", log_format]
    return [*args, "--metrics", metrics] if metrics else args


def comet_command(cometbft: str, home: Path) -> list[str]:
    """`cometbft node` for the CometBFT home `home`."""
    return [cometbft, "node", "--home", str(home)]


def bridge_command(
    python: str,
    *,
    listen: str,
    rpc_url: str,
    genesis: Path,
    tls_cert: str = "",
    tls_key: str = "",
    member_auth: bool = False,
    log_format: str = "json",
) -> list[str]:
    """The gRPC bridge on HOST:PORT `listen` in front of the node's RPC, checking proofs from `genesis`."""
    cmd = [python, "-m", "clients.servers", "--listen", listen, "--node", rpc_url, "--log-format", log_format]
    cmd += ["--genesis", str(genesis)]
    if tls_cert:
        cmd += ["--tls-cert", tls_cert, "--tls-key", tls_key]
    if member_auth:
        cmd.append("--member-auth")
    return cmd


def dashboard_command(python: str, *, rpc_urls: Sequence[str], host: str, port: int, label: str = "") -> list[str]:
    """The web dashboard on HOST:PORT reading the nodes' RPCs in order."""
    cmd = [python, "-m", "clients.servers.dashboard", "--nodes", ",".join(rpc_urls), "--host", host]
    cmd += ["--port", str(port)]
    if label:
        cmd += ["--label", label]
    return cmd
