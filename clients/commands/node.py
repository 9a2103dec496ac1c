"""Node commands: `gridctl node init|start|status --home DIR` make, run and check the node home
of one org on its own host (clients/node/). Nothing is signed or sent to a chain."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from clients.cli_support import AddCommand, Context, action_group
from clients.cli_types import UsageError
from clients.node.config import ConfigError, load_config
from clients.node.init import NodeInitError, init_node, make_keys
from clients.node.status import node_status
from clients.node.supervisor import Supervisor

__all__ = ["register"]


def _list(text: str | None) -> list[str]:
    return [item.strip() for item in (text or "").replace("\n", ",").split(",") if item.strip()]


def _peers(args: argparse.Namespace) -> list[str]:
    peers = _list(args.peers)
    if args.peers_file is not None:
        try:
            lines = Path(args.peers_file).read_text().splitlines()
        except OSError as exc:
            raise UsageError(f"--peers-file {args.peers_file}: {exc.strerror or exc}") from exc
        peers += [line.strip() for line in lines if line.strip() and not line.lstrip().startswith("#")]
    return peers


def cmd_node_init(ctx: Context, args: argparse.Namespace) -> None:
    try:
        result = init_node(
            args.node_home,
            genesis=args.genesis,
            host=args.host,
            moniker=args.moniker or args.org or args.node_home.resolve().name,
            org=args.org or "",
            peers=_peers(args),
            base_port=args.base_port,
            p2p=args.p2p or "",
            rpc=args.rpc or "",
            abci=args.abci or "",
            bridge=args.bridge_listen or "",
            app_metrics=args.app_metrics or "",
            comet_metrics=args.comet_metrics or "",
            dashboard=args.dashboard or "",
            external=args.external or "",
            bridge_enabled=not args.no_bridge,
            dashboard_enabled=args.dashboard is not None,
            node_key=args.node_key,
            validator_key=args.validator_key,
            member_key=args.member_key,
            member_cert=args.member_cert_file,
            bridge_tls_cert=args.bridge_tls_cert,
            bridge_tls_key=args.bridge_tls_key,
            bridge_member_auth=args.bridge_member_auth,
            statesync_rpc=_list(args.statesync_rpc),
            trust_height=args.trust_height,
            trust_hash=args.trust_hash or "",
            timeout_commit=args.timeout_commit,
            cometbft=args.cometbft or "",
            force=args.force,
        )
    except (NodeInitError, ConfigError) as exc:
        raise UsageError(str(exc)) from exc
    c = result.config
    ctx.show(
        {
            "home": str(result.home),
            "chain_id": c.node_chain_id,
            "node_id": result.node_id,
            "peer_address": result.peer_address(),
            "validator_address": result.validator_address,
            "validator_pub_key": result.validator_pub_key.hex(),
            "genesis_validator": result.in_genesis_validators,
            "p2p": c.p2p_listen,
            "rpc": c.rpc_listen,
            "abci": c.abci_listen,
            "bridge": c.bridge_listen if c.bridge_enabled else "off",
            "metrics": f"app {c.app_metrics or 'off'}, cometbft {c.cometbft_prometheus or 'off'}",
            "dashboard": c.dashboard_listen if c.dashboard_enabled else "off",
            "state_sync": c.statesync_enable,
            "start": f"gridctl node start --home {result.home}",
        },
        title="node home",
    )


def cmd_node_keys(ctx: Context, args: argparse.Namespace) -> None:
    try:
        keys = make_keys(args.node_home, cometbft=args.cometbft or "")
    except NodeInitError as exc:
        raise UsageError(str(exc)) from exc
    name = args.name or args.node_home.resolve().name
    ctx.show(
        {
            "home": str(args.node_home.resolve()),
            "node_id": keys.node_id,
            "validator_address": keys.validator_address,
            "genesis_validator": keys.genesis_validator(name, args.power),
        },
        title="node keys (public parts: give them to the consortium for its genesis)",
    )


def cmd_node_start(ctx: Context, args: argparse.Namespace) -> None:
    try:
        config, sources = load_config(args.node_home)
    except ConfigError as exc:
        raise UsageError(str(exc)) from exc
    code = Supervisor(args.node_home, config, sources).run()
    if code:
        raise SystemExit(code)


def cmd_node_status(ctx: Context, args: argparse.Namespace) -> None:
    try:
        config, _sources = load_config(args.node_home)
    except ConfigError as exc:
        raise UsageError(str(exc)) from exc
    status = node_status(args.node_home, config)
    ctx.show(status, title="node")
    if status["height"] is None:
        sys.stderr.write(f"the node's RPC at {config.rpc_url()} does not answer\n")
        raise SystemExit(1)


def register(add: AddCommand) -> None:
    p: argparse.ArgumentParser
    node = action_group(add, "node", "one org's node on its own host: make its home, run it, check it")

    p = node("init", cmd_node_init, "make a node home from the consortium's genesis and peers (no genesis is made)")
    p.add_argument("--home", dest="node_home", type=Path, required=True, help="the node home to create")
    p.add_argument("--genesis", type=Path, required=True, help="the consortium's genesis.json (copied as is)")
    p.add_argument("--host", required=True, help="this host's IP address: p2p, rpc, bridge and metrics bind to it")
    p.add_argument("--peers", help="comma-separated NODE_ID@HOST:PORT of the other orgs' nodes")
    p.add_argument("--peers-file", type=Path, help="a file of NODE_ID@HOST:PORT, one a line (# comments)")
    p.add_argument("--moniker", help="the node's name (default: --org, or the home folder's name)")
    p.add_argument("--org", help="the org running this node (informational)")
    p.add_argument(
        "--base-port",
        type=int,
        default=26656,
        help="p2p port; rpc +1, abci +2, bridge +3, app metrics +4, CometBFT metrics +5, dashboard +8 (default 26656)",
    )
    for flag, what in (
        ("--p2p", "p2p listen IP:PORT"),
        ("--rpc", "RPC listen IP:PORT"),
        ("--abci", "app's ABCI listen IP:PORT (default 127.0.0.1)"),
        ("--bridge-listen", "gRPC bridge listen IP:PORT"),
        ("--app-metrics", "app's Prometheus IP:PORT"),
        ("--comet-metrics", "CometBFT's Prometheus IP:PORT"),
        ("--external", "p2p IP:PORT advertised to peers (behind NAT)"),
    ):
        p.add_argument(flag, metavar="IP:PORT", help=what + " (overrides --host/--base-port)")
    p.add_argument(
        "--dashboard",
        nargs="?",
        const="",
        metavar="IP:PORT",
        help="run the web dashboard too (default 127.0.0.1:base+8)",
    )
    p.add_argument("--no-bridge", action="store_true", help="do not run the gRPC bridge")
    p.add_argument("--node-key", type=Path, metavar="FILE", help="CometBFT node_key.json to use (default: a new one)")
    p.add_argument(
        "--validator-key",
        type=Path,
        metavar="FILE",
        help="priv_validator_key.json to use (the org's genesis validator key; default: a new one)",
    )
    p.add_argument(
        "--member-key", type=Path, metavar="FILE", help="the org member's Ed25519 key (PEM) to keep in the home"
    )
    p.add_argument("--member-cert", dest="member_cert_file", type=Path, metavar="FILE", help="its certificate (PEM)")
    p.add_argument("--bridge-tls-cert", type=Path, metavar="FILE", help="the bridge serves TLS with this chain")
    p.add_argument("--bridge-tls-key", type=Path, metavar="FILE", help="and this key")
    p.add_argument("--bridge-member-auth", action="store_true", help="the bridge requires a member certificate")
    p.add_argument("--statesync-rpc", metavar="HOST:PORT,HOST:PORT", help="join by state sync from these two RPCs")
    p.add_argument("--trust-height", type=int, default=0, help="state sync: a trusted header's height")
    p.add_argument("--trust-hash", help="state sync: that header's hash")
    p.add_argument("--timeout-commit", default="1s", help="CometBFT consensus.timeout_commit (default 1s)")
    p.add_argument("--cometbft", help="the CometBFT binary (default: cometbft on PATH, else bin/cometbft)")
    p.add_argument("--force", action="store_true", help="rewrite an existing home's configuration (keys and data stay)")

    p = node("keys", cmd_node_keys, "make the node's CometBFT keys before the genesis exists; print their public parts")
    p.add_argument(
        "--home", dest="node_home", type=Path, required=True, help="the node home (`node init` keeps the keys)"
    )
    p.add_argument("--name", help="the validator's name in the genesis (default: the home folder's name)")
    p.add_argument("--power", type=int, default=10, help="its voting power in the genesis entry (default 10)")
    p.add_argument("--cometbft", help="the CometBFT binary (default: cometbft on PATH, else bin/cometbft)")

    p = node("start", cmd_node_start, "run CometBFT, the app, the bridge (and dashboard) of a node home, supervised")
    p.add_argument("--home", dest="node_home", type=Path, required=True)

    p = node("status", cmd_node_status, "a node's processes, height, app hash and peers")
    p.add_argument("--home", dest="node_home", type=Path, required=True)
