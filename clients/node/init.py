"""`gridctl node init`: a node home for one org on its own host, from the consortium's genesis and
its peers. The home holds CometBFT's keys and config, the app's database folder, the bridge's
settings, the org's member key material when given, and node.toml (see clients/node/config.py)."""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from clients.node.cometconfig import apply_settings, node_id, node_settings, ports_from_base, statesync_settings
from clients.node.cometconfig import validator_key as read_validator_key
from clients.node.config import CONFIG_FILE, NodeConfig, check_listen, write_config
from clients.node.layout import NodeHome

__all__ = ["InitResult", "NodeInitError", "NodeKeys", "comet_config_settings", "init_node", "make_keys", "read_genesis"]

REPO = Path(__file__).resolve().parents[2]


class NodeInitError(ValueError):
    """A node home that cannot be made from what was given (nothing usable was written)."""


@dataclass(frozen=True)
class InitResult:
    home: Path
    config: NodeConfig
    node_id: str
    validator_address: str
    validator_pub_key: bytes
    in_genesis_validators: bool  # False: a full node until governance makes it a validator

    def peer_address(self) -> str:
        """How the other orgs list this node as a peer: ID@HOST:PORT."""
        return f"{self.node_id}@{self.config.p2p_external or self.config.p2p_listen}"


def read_genesis(path: Path) -> dict[str, Any]:
    """The genesis document at `path`, checked to be a gridledger consortium genesis (a chain id,
    validators, an app_state); NodeInitError otherwise."""
    try:
        genesis = json.loads(path.read_text())
    except FileNotFoundError as exc:
        raise NodeInitError(f"genesis file {path} does not exist") from exc
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise NodeInitError(f"genesis file {path} is not readable JSON: {exc}") from exc
    if not isinstance(genesis, dict) or not genesis.get("chain_id"):
        raise NodeInitError(f"genesis file {path} has no chain_id")
    if not isinstance(genesis.get("app_state"), dict) or not genesis["app_state"].get("orgs"):
        raise NodeInitError(f"genesis file {path} has no gridledger app_state (orgs)")
    if not genesis.get("validators"):
        raise NodeInitError(f"genesis file {path} lists no validators")
    return genesis


def comet_config_settings(config: NodeConfig) -> list[tuple[str, str, str]]:
    """The config.toml settings that follow node.toml (written at init, rewritten at every start so
    an environment override reaches CometBFT too)."""
    settings = node_settings(
        moniker=config.node_moniker,
        proxy_app=f"tcp://{config.abci_listen}",
        p2p_laddr=config.p2p_listen,
        rpc_laddr=config.rpc_listen,
        peers=config.p2p_peers,
        prometheus_addr=config.cometbft_prometheus,
        timeout_commit=config.cometbft_timeout_commit,
        external_address=config.p2p_external,
    )
    if not config.cometbft_prometheus:
        settings = [s for s in settings if s[1] != "prometheus_listen_addr"]
        settings = [("instrumentation", "prometheus", "false") if s[1] == "prometheus" else s for s in settings]
    return settings + statesync_settings(
        enable=config.statesync_enable,
        rpc_servers=config.statesync_rpc_servers,
        trust_height=config.statesync_trust_height,
        trust_hash=config.statesync_trust_hash,
        trust_period=config.statesync_trust_period,
    )


def _copy_secret(src: Path, dst: Path) -> str:
    if not src.is_file():
        raise NodeInitError(f"{src} is not a file")
    dst.parent.mkdir(parents=True, exist_ok=True)
    os.chmod(dst.parent, 0o700)
    shutil.copyfile(src, dst)
    os.chmod(dst, 0o600)
    return str(dst)


def _fresh_sign_state(root: NodeHome, state: dict[str, Any]) -> None:
    """Write the validator's signing state unless one exists (a home that signed nothing yet)."""
    path = root.cometbft / "data" / "priv_validator_state.json"
    if path.exists():
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    os.chmod(path.parent, 0o700)
    path.write_text(json.dumps(state, indent=2))
    os.chmod(path, 0o600)


def _cometbft_binary(given: str) -> str:
    binary = given or shutil.which("cometbft") or str(REPO / "bin" / "cometbft")
    if not Path(binary).is_file():
        raise NodeInitError(f"no CometBFT binary at {binary} (put cometbft on PATH or give --cometbft)")
    return binary


@dataclass(frozen=True)
class NodeKeys:
    node_id: str
    validator_address: str
    validator_pub_key: bytes

    def genesis_validator(self, name: str, power: int) -> dict[str, Any]:
        """The entry for genesis.json's `validators` list naming this node's validator key."""
        return {
            "address": self.validator_address,
            "pub_key": {"type": "tendermint/PubKeyEd25519", "value": base64.b64encode(self.validator_pub_key).decode()},
            "power": str(power),
            "name": name,
        }


def make_keys(home: Path, *, cometbft: str = "") -> NodeKeys:
    """Make the node's CometBFT keys in `home` (kept if they exist) before any genesis: what an org
    hands the consortium for the founding genesis is `NodeKeys.genesis_validator` (public keys only).
    A later `init_node` on the same home keeps these keys. Nothing else is written (no genesis)."""
    root = NodeHome(home)
    binary = _cometbft_binary(cometbft)
    config_dir = root.cometbft / "config"
    config_dir.mkdir(parents=True, exist_ok=True)
    os.chmod(config_dir, 0o700)
    if not (config_dir / "node_key.json").exists():
        done = subprocess.run(
            [binary, "gen-node-key", "--home", str(root.cometbft)], capture_output=True, text=True, check=False
        )
        if done.returncode != 0:
            raise NodeInitError(f"cometbft gen-node-key failed: {done.stderr.strip()}")
        (config_dir / "config.toml").unlink(missing_ok=True)  # `node init` writes the real one
    key_file = config_dir / "priv_validator_key.json"
    if not key_file.exists():
        done = subprocess.run([binary, "gen-validator"], capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise NodeInitError(f"cometbft gen-validator failed: {done.stderr.strip()}")
        made = json.loads(done.stdout)  # holds the private key: written owner-only, never printed
        key_file.touch(mode=0o600)
        key_file.write_text(json.dumps(made["Key"], indent=2))
        _fresh_sign_state(root, made["LastSignState"])
    address, pub_key = read_validator_key(root.cometbft)
    return NodeKeys(node_id=node_id(root.cometbft), validator_address=address, validator_pub_key=pub_key)


def _write_cometbft(
    root: NodeHome, config: NodeConfig, genesis: Path, node_key: Path | None, validator_key: Path | None
) -> None:
    """CometBFT's home: the given keys (else new ones), the genesis as given, config.toml from `config`."""
    config_dir = root.cometbft / "config"
    config_dir.mkdir(parents=True, exist_ok=True)
    if node_key is not None:
        _copy_secret(node_key, config_dir / "node_key.json")
    if validator_key is not None:
        _copy_secret(validator_key, config_dir / "priv_validator_key.json")
    if (config_dir / "priv_validator_key.json").exists():
        _fresh_sign_state(root, {"height": "0", "round": 0, "step": 0})
    shutil.copyfile(genesis, root.genesis)
    # `cometbft init` keeps the keys and genesis found and adds what is missing (keys, config.toml, signing state)
    done = subprocess.run(
        [config.node_cometbft, "init", "--home", str(root.cometbft)], capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise NodeInitError(f"cometbft init failed: {done.stderr.strip() or done.stdout.strip()}")
    apply_settings(root.comet_config, comet_config_settings(config))


def init_node(
    home: Path,
    *,
    genesis: Path,
    host: str,
    moniker: str,
    peers: Sequence[str] = (),
    org: str = "",
    base_port: int = 26656,
    p2p: str = "",
    rpc: str = "",
    abci: str = "",
    bridge: str = "",
    app_metrics: str = "",
    comet_metrics: str = "",
    dashboard: str = "",
    external: str = "",
    bridge_enabled: bool = True,
    dashboard_enabled: bool = False,
    node_key: Path | None = None,
    validator_key: Path | None = None,
    member_key: Path | None = None,
    member_cert: Path | None = None,
    bridge_tls_cert: Path | None = None,
    bridge_tls_key: Path | None = None,
    bridge_member_auth: bool = False,
    statesync_rpc: Sequence[str] = (),
    trust_height: int = 0,
    trust_hash: str = "",
    timeout_commit: str = "1s",
    cometbft: str = "",
    python: str = sys.executable,
    force: bool = False,
) -> InitResult:
    """Make the node home `home` for one org and return what the other orgs need to know of it.

    Listen addresses are IP:PORT; each defaults to `host` (p2p, rpc, bridge, both metrics) or
    127.0.0.1 (abci, dashboard) at the localnet's offsets from `base_port` (p2p +0, rpc +1, abci +2,
    bridge +3, app metrics +4, CometBFT metrics +5, dashboard +8). `peers` are ID@HOST:PORT.
    `node_key` / `validator_key` import CometBFT key files (a validator named in the genesis);
    without them new keys are made (a full node, a validator only once governance adds it).
    State sync is switched on when `statesync_rpc` (two RPC HOST:PORT) and `trust_hash` are given.
    Guarantees: the genesis is the given file, byte for byte (no genesis is ever made here);
    nothing is written when an argument is wrong (NodeInitError or ConfigError, with the reason);
    an existing home is refused unless `force` (which keeps its keys and data)."""
    root = NodeHome(home)
    genesis_doc = read_genesis(genesis)
    if (root.root / CONFIG_FILE).exists() and not force:
        raise NodeInitError(f"{root.root} already holds a node ({CONFIG_FILE}); --force rewrites its configuration")
    check_listen(f"{host}:{base_port}", "--host/--base-port")
    ports = ports_from_base(base_port)
    config = NodeConfig(
        node_moniker=moniker,
        node_org=org,
        node_chain_id=str(genesis_doc["chain_id"]),
        node_cometbft=_cometbft_binary(cometbft),
        node_python=python,
        p2p_listen=p2p or f"{host}:{ports.p2p}",
        p2p_external=external,
        p2p_peers=tuple(peers),
        rpc_listen=rpc or f"{host}:{ports.rpc}",
        abci_listen=abci or f"127.0.0.1:{ports.abci}",
        app_metrics=app_metrics or f"{host}:{ports.metrics}",
        cometbft_prometheus=comet_metrics or f"{host}:{ports.comet_metrics}",
        cometbft_timeout_commit=timeout_commit,
        bridge_enabled=bridge_enabled,
        bridge_listen=bridge or f"{host}:{ports.bridge}",
        bridge_member_auth=bridge_member_auth,
        bridge_tls_cert=str(root.keys / "bridge-tls.cert.pem") if bridge_tls_cert else "",
        bridge_tls_key=str(root.keys / "bridge-tls.key.pem") if bridge_tls_key else "",
        dashboard_enabled=dashboard_enabled,
        dashboard_listen=dashboard or f"127.0.0.1:{ports.dashboard}",
        statesync_enable=bool(statesync_rpc and trust_hash),
        statesync_rpc_servers=tuple(statesync_rpc),
        statesync_trust_height=trust_height,
        statesync_trust_hash=trust_hash,
    )
    config.validate()
    if (member_key is None) != (member_cert is None):
        raise NodeInitError("--member-key and --member-cert go together")
    for given in (node_key, validator_key, member_key, member_cert, bridge_tls_cert, bridge_tls_key):
        if given is not None and not given.is_file():
            raise NodeInitError(f"{given} is not a file")

    fresh = not root.root.exists()
    try:
        _write_cometbft(root, config, genesis, node_key, validator_key)
    except BaseException:
        if fresh:
            shutil.rmtree(root.root, ignore_errors=True)
        raise
    for folder in (root.app, root.logs, root.run):
        folder.mkdir(parents=True, exist_ok=True)
    if member_key is not None and member_cert is not None:
        _copy_secret(member_key, root.keys / "member.key.pem")
        _copy_secret(member_cert, root.keys / "member.cert.pem")
    if bridge_tls_cert is not None and bridge_tls_key is not None:
        _copy_secret(bridge_tls_cert, root.keys / "bridge-tls.cert.pem")
        _copy_secret(bridge_tls_key, root.keys / "bridge-tls.key.pem")
    write_config(root.root, config)
    address, pub_key = read_validator_key(root.cometbft)
    in_genesis = any(str(v.get("address", "")).upper() == address for v in genesis_doc["validators"])
    return InitResult(
        home=root.root,
        config=config,
        node_id=node_id(root.cometbft),
        validator_address=address,
        validator_pub_key=pub_key,
        in_genesis_validators=in_genesis,
    )
