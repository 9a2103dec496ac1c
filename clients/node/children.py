"""The command lines of a node's processes: the gridledger app, CometBFT, the gRPC bridge and the
dashboard (shared by the localnet and `gridctl node start`), and the hook choosing the app's command."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

__all__ = [
    "UPGRADE_NEEDED_EXIT_CODE",
    "app_command",
    "bridge_command",
    "comet_command",
    "dashboard_command",
    "select_app_command",
]

# The app's exit status meaning "a governed upgrade is due at this height: run the new version".
# Owned by the governed-upgrades work (issue 18); the supervisor restarts the app at once, without
# backoff and without counting a failure, with the command `select_app_command` returns.
UPGRADE_NEEDED_EXIT_CODE = 10


def app_command(
    python: str, *, abci: str, home: Path, metrics: str = "", log_format: str = "json", extra: Sequence[str] = ()
) -> list[str]:
    """`python -m abci_app` listening for CometBFT on `abci` (tcp://HOST:PORT or unix:///PATH),
    its database in `home`, Prometheus metrics on HOST:PORT `metrics` ("" = off)."""
    cmd = [python, "-m", "abci_app", "--address", abci, "--home", str(home), "--log-format", log_format]
    if metrics:
        cmd += ["--metrics", metrics]
    return [*cmd, *extra]


def select_app_command(current: list[str], last_exit_code: int | None, node_home: Path) -> list[str]:
    """The app command the supervisor runs next. `current` is the configured one, `last_exit_code`
    the previous run's exit status (None at the first start), `node_home` the node's home (where an
    `upgrades/<name>/` layout would live). Hook for governed upgrades: today it always returns
    `current`; on UPGRADE_NEEDED_EXIT_CODE it should return the upgraded version's command."""
    del last_exit_code, node_home  # the upgrade layout is not defined yet
    return current


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
