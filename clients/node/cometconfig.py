"""CometBFT's files in a node home: editing config.toml, reading the node and validator keys,
and the settings every gridledger node runs with (shared by the localnet and `gridctl node`)."""

from __future__ import annotations

import base64
import hashlib
import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "NodePorts",
    "apply_settings",
    "node_id",
    "node_settings",
    "ports_from_base",
    "set_toml",
    "statesync_settings",
    "validator_key",
]

Setting = tuple[str, str, str]  # (section, key, TOML value as written), section "" = top level


@dataclass(frozen=True)
class NodePorts:
    p2p: int
    rpc: int
    abci: int
    bridge: int
    metrics: int  # the app's Prometheus endpoint
    comet_metrics: int  # CometBFT's Prometheus endpoint
    dashboard: int


def ports_from_base(base: int) -> NodePorts:
    """A node's ports from its p2p port: rpc +1, abci +2, bridge +3, app metrics +4, CometBFT metrics +5,
    dashboard +8 (the localnet's node i uses base 26656 + 100i)."""
    return NodePorts(
        p2p=base,
        rpc=base + 1,
        abci=base + 2,
        bridge=base + 3,
        metrics=base + 4,
        comet_metrics=base + 5,
        dashboard=base + 8,
    )


def set_toml(text: str, section: str, key: str, value: str) -> str:
    """Replace `key = ...` inside `[section]` ("" = top level) of a CometBFT config.toml; KeyError if absent."""
    lines = text.split("\n")
    current = ""
    for i, line in enumerate(lines):
        header = re.match(r"^\[([^\]]+)\]\s*$", line)
        if header:
            current = header.group(1)
            continue
        if current == section and re.match(rf"^{re.escape(key)}\s*=", line):
            lines[i] = f"{key} = {value}"
            return "\n".join(lines)
    raise KeyError(f"{section}.{key} not found in config.toml")


def apply_settings(path: Path, settings: Iterable[Setting]) -> None:
    """Rewrite the config.toml at `path` with every (section, key, value) replaced."""
    text = path.read_text()
    for section, key, value in settings:
        text = set_toml(text, section, key, value)
    path.write_text(text)


def node_id(node_home: Path) -> str:
    """The CometBFT node id (40 hex digits) of the node key in `node_home`/config/node_key.json."""
    key = json.loads((node_home / "config" / "node_key.json").read_text())
    raw = base64.b64decode(key["priv_key"]["value"])
    return hashlib.sha256(raw[32:]).digest()[:20].hex()


def validator_key(node_home: Path) -> tuple[str, bytes]:
    """The validator address (upper-case hex, as CometBFT prints it) and 32-byte Ed25519 public key
    of `node_home`/config/priv_validator_key.json."""
    key = json.loads((node_home / "config" / "priv_validator_key.json").read_text())
    return str(key["address"]).upper(), base64.b64decode(key["pub_key"]["value"])


def _q(text: str) -> str:
    return json.dumps(text)  # a TOML basic string


def node_settings(
    *,
    moniker: str,
    proxy_app: str,
    p2p_laddr: str,
    rpc_laddr: str,
    peers: Sequence[str],
    prometheus_addr: str,
    timeout_commit: str,
    external_address: str = "",
) -> list[Setting]:
    """The config.toml settings of a gridledger node. Addresses are HOST:PORT (proxy_app a URL or
    "kvstore"); peers are ID@HOST:PORT. Block sync v0 lets a node behind (or fresh from state sync)
    catch up; duplicate IPs and private addresses are allowed so several nodes may share a host or
    a private network; peer exchange is off (the consortium's peers are listed)."""
    return [
        ("", "proxy_app", _q(proxy_app)),
        ("", "moniker", _q(moniker)),
        ("", "log_level", _q("main:info,state:info,statesync:info,consensus:error,p2p:error,*:error")),
        ("blocksync", "version", _q("v0")),
        ("rpc", "laddr", _q(f"tcp://{rpc_laddr}")),
        ("rpc", "max_open_connections", "1000"),
        ("rpc", "timeout_broadcast_tx_commit", _q("30s")),
        ("p2p", "laddr", _q(f"tcp://{p2p_laddr}")),
        ("p2p", "external_address", _q(external_address)),
        ("p2p", "persistent_peers", _q(",".join(peers))),
        ("p2p", "allow_duplicate_ip", "true"),
        ("p2p", "addr_book_strict", "false"),
        ("p2p", "pex", "false"),
        ("p2p", "send_rate", "52428800"),
        ("p2p", "recv_rate", "52428800"),
        ("mempool", "size", "50000"),
        ("mempool", "cache_size", "100000"),
        ("consensus", "timeout_propose", _q("1s")),
        ("consensus", "timeout_commit", _q(timeout_commit)),
        ("tx_index", "indexer", _q("kv")),
        ("instrumentation", "prometheus", "true"),
        ("instrumentation", "prometheus_listen_addr", _q(prometheus_addr)),
    ]


def statesync_settings(
    *, enable: bool, rpc_servers: Sequence[str], trust_height: int, trust_hash: str, trust_period: str = "168h0m0s"
) -> list[Setting]:
    """The [statesync] settings: restore from peers' snapshots, light-client verified from a trusted
    header (two RPC servers HOST:PORT, the header's height and hash) when the node starts empty."""
    return [
        ("statesync", "enable", "true" if enable else "false"),
        ("statesync", "rpc_servers", _q(",".join(rpc_servers))),
        ("statesync", "trust_height", str(trust_height)),
        ("statesync", "trust_hash", _q(trust_hash)),
        ("statesync", "trust_period", _q(trust_period)),
        ("statesync", "discovery_time", _q("5s")),
    ]
