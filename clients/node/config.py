"""A node's configuration: `node.toml` in its home, overridden by GRIDLEDGER_<SECTION>_<KEY>
environment variables (e.g. GRIDLEDGER_P2P_LISTEN=10.0.0.5:26656, GRIDLEDGER_BRIDGE_ENABLED=0,
GRIDLEDGER_P2P_PEERS=id@host:port,id@host:port), and its printout with secrets hidden."""

from __future__ import annotations

import dataclasses
import ipaddress
import json
import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

__all__ = [
    "CONFIG_FILE",
    "ConfigError",
    "NodeConfig",
    "check_listen",
    "check_peer",
    "effective_lines",
    "env_name",
    "load_config",
    "write_config",
]

CONFIG_FILE = "node.toml"
ENV_PREFIX = "GRIDLEDGER_"
_SECRET_WORDS = ("key", "secret", "token", "password")


class ConfigError(ValueError):
    """A node configuration that cannot be used (the message says which setting and why)."""


def _f(section: str, default: Any = dataclasses.MISSING) -> Any:
    if default is dataclasses.MISSING:
        return dataclasses.field(metadata={"section": section})
    if isinstance(default, tuple | list):
        value = tuple(default)
        return dataclasses.field(default_factory=lambda: value, metadata={"section": section})
    return dataclasses.field(default=default, metadata={"section": section})


@dataclass(frozen=True, kw_only=True)
class NodeConfig:
    """Everything `gridctl node start` needs besides the files in the home. A field `p2p_listen`
    is key `listen` of section [p2p] in node.toml and GRIDLEDGER_P2P_LISTEN in the environment."""

    node_moniker: str = _f("node")
    node_org: str = _f("node", "")
    node_chain_id: str = _f("node", "")
    node_cometbft: str = _f("node", "cometbft")  # the CometBFT binary
    node_python: str = _f("node", "python3")  # the interpreter running the app, bridge and dashboard
    p2p_listen: str = _f("p2p")  # HOST:PORT
    p2p_external: str = _f("p2p", "")  # HOST:PORT advertised to peers ("" = none)
    p2p_peers: tuple[str, ...] = _f("p2p", ())  # ID@HOST:PORT
    rpc_listen: str = _f("rpc")
    abci_listen: str = _f("abci")
    app_metrics: str = _f("app", "")  # "" = off
    cometbft_prometheus: str = _f("cometbft", "")
    cometbft_timeout_commit: str = _f("cometbft", "1s")
    bridge_enabled: bool = _f("bridge", True)
    bridge_listen: str = _f("bridge", "")
    bridge_tls_cert: str = _f("bridge", "")
    bridge_tls_key: str = _f("bridge", "")
    bridge_member_auth: bool = _f("bridge", False)
    dashboard_enabled: bool = _f("dashboard", False)
    dashboard_listen: str = _f("dashboard", "")
    statesync_enable: bool = _f("statesync", False)
    statesync_rpc_servers: tuple[str, ...] = _f("statesync", ())
    statesync_trust_height: int = _f("statesync", 0)
    statesync_trust_hash: str = _f("statesync", "")
    statesync_trust_period: str = _f("statesync", "168h0m0s")
    supervisor_max_restarts: int = _f("supervisor", 5)  # consecutive quick failures before giving up
    supervisor_healthy_after_s: float = _f("supervisor", 60.0)  # a run this long resets the count
    supervisor_backoff_initial_s: float = _f("supervisor", 1.0)
    supervisor_backoff_max_s: float = _f("supervisor", 30.0)
    supervisor_stop_timeout_s: float = _f("supervisor", 15.0)

    def rpc_url(self) -> str:
        """The node's RPC as a local client reaches it (an any-address listen is read on 127.0.0.1)."""
        return f"http://{_reachable(self.rpc_listen)}"

    def validate(self) -> None:
        """Raise ConfigError naming the first setting that is not usable."""
        if not self.node_moniker:
            raise ConfigError("node.moniker is empty")
        for name in ("p2p_listen", "rpc_listen", "abci_listen"):
            check_listen(getattr(self, name), _dotted(name))
        for name in ("p2p_external", "app_metrics", "cometbft_prometheus", "bridge_listen", "dashboard_listen"):
            if getattr(self, name):
                check_listen(getattr(self, name), _dotted(name))
        if self.bridge_enabled and not self.bridge_listen:
            raise ConfigError("bridge.enabled needs bridge.listen")
        if self.dashboard_enabled and not self.dashboard_listen:
            raise ConfigError("dashboard.enabled needs dashboard.listen")
        if bool(self.bridge_tls_cert) != bool(self.bridge_tls_key):
            raise ConfigError("bridge.tls_cert and bridge.tls_key go together")
        for peer in self.p2p_peers:
            check_peer(peer)
        if self.statesync_enable and (len(self.statesync_rpc_servers) < 2 or not self.statesync_trust_hash):
            raise ConfigError("statesync.enable needs two statesync.rpc_servers and a statesync.trust_hash")
        if self.supervisor_max_restarts < 0:
            raise ConfigError("supervisor.max_restarts is negative")


def _dotted(name: str) -> str:
    section, _, key = name.partition("_")
    return f"{section}.{key}"


def env_name(field_name: str) -> str:
    """The environment variable overriding a field: GRIDLEDGER_<SECTION>_<KEY>."""
    return ENV_PREFIX + field_name.upper()


def _reachable(listen: str) -> str:
    host, _, port = listen.rpartition(":")
    if host in ("0.0.0.0", "[::]", ""):  # noqa: S104 - a listen address, not a bind
        host = "127.0.0.1"
    return f"{host}:{port}"


def _split(listen: str) -> tuple[str, int]:
    host, sep, port = listen.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65_536:
        raise ValueError("not HOST:PORT with a port 1..65535")
    return host.strip("[]"), int(port)


def check_listen(text: str, what: str) -> str:
    """`text` if it is IP:PORT (an IPv4 or IPv6 literal, port 1..65535), else ConfigError naming `what`."""
    try:
        host, _port = _split(text)
        ipaddress.ip_address(host)
    except ValueError as exc:
        raise ConfigError(f"{what}: {text!r} is not IP:PORT (an IP address such as 10.0.0.5, a port 1..65535)") from exc
    return text


_HOSTNAME = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9.-]{0,251}[A-Za-z0-9])?$")


def check_peer(text: str) -> str:
    """`text` if it is a CometBFT peer ID@HOST:PORT (40 hex digits, an IP or DNS name), else ConfigError."""
    ident, sep, addr = text.partition("@")
    try:
        if not sep or not re.fullmatch(r"[0-9a-f]{40}", ident):
            raise ValueError("no node id")
        host, _port = _split(addr)
        if not _HOSTNAME.match(host):
            ipaddress.ip_address(host)
    except ValueError as exc:
        raise ConfigError(f"peer {text!r} is not NODE_ID@HOST:PORT (NODE_ID: 40 lower-case hex digits)") from exc
    return text


def _convert(value: Any, kind: Any, where: str) -> Any:
    kind = str(kind)
    if kind.startswith("tuple"):
        items = value.split(",") if isinstance(value, str) else value
        if not isinstance(items, list | tuple) or not all(isinstance(i, str) for i in items):
            raise ConfigError(f"{where}: a list of strings expected")
        return tuple(i.strip() for i in items if i.strip())
    if kind == "bool":
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("1", "true", "yes", "on", "0", "false", "no", "off"):
            return value.lower() in ("1", "true", "yes", "on")
        raise ConfigError(f"{where}: {value!r} is not a boolean (true/false, 1/0)")
    if kind in ("int", "float"):
        try:
            if isinstance(value, bool):
                raise ValueError
            return int(value) if kind == "int" else float(value)
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"{where}: {value!r} is not a number") from exc
    if not isinstance(value, str):
        raise ConfigError(f"{where}: a string expected")
    return value


def load_config(home: Path, environ: Mapping[str, str] | None = None) -> tuple[NodeConfig, dict[str, str]]:
    """The node's effective configuration (HOME/node.toml, then GRIDLEDGER_* from `environ`,
    default os.environ), validated, and where each value came from ("node.toml", "env", "default")."""
    environ = os.environ if environ is None else environ
    path = home / CONFIG_FILE
    try:
        data = tomllib.loads(path.read_text())
    except FileNotFoundError as exc:
        raise ConfigError(f"{path} does not exist: run `gridctl node init --home {home}` first") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: {exc}") from exc
    values: dict[str, Any] = {}
    sources: dict[str, str] = {}
    known = {f.name for f in fields(NodeConfig)}
    for section, table in data.items():
        if not isinstance(table, dict):
            raise ConfigError(f"{path}: {section!r} is not a [section]")
        for key in table:
            if f"{section}_{key}" not in known:
                raise ConfigError(f"{path}: unknown setting {section}.{key}")
    for f in fields(NodeConfig):
        section = f.metadata["section"]
        key = f.name.removeprefix(section + "_")
        if env_name(f.name) in environ:
            values[f.name] = _convert(environ[env_name(f.name)], f.type, env_name(f.name))
            sources[f.name] = "env"
        elif key in data.get(section, {}):
            values[f.name] = _convert(data[section][key], f.type, f"{section}.{key}")
            sources[f.name] = CONFIG_FILE
        else:
            sources[f.name] = "default"
    try:
        config = NodeConfig(**values)
    except TypeError as exc:
        raise ConfigError(f"{path}: a required setting is missing ({exc})") from exc
    config.validate()
    return config, sources


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, tuple):
        return "[" + ", ".join(json.dumps(v) for v in value) + "]"
    return json.dumps(value)  # a TOML basic string: JSON's escapes are TOML's


def write_config(home: Path, config: NodeConfig) -> Path:
    """Write HOME/node.toml holding every setting of `config` (read back equal by load_config)."""
    config.validate()
    lines = [
        "# gridledger node configuration, written by `gridctl node init`.",
        "# Any setting may be overridden by the environment: GRIDLEDGER_<SECTION>_<KEY>,",
        "# e.g. GRIDLEDGER_P2P_LISTEN=10.0.0.5:26656 or GRIDLEDGER_BRIDGE_ENABLED=0.",
    ]
    section = ""
    for f in fields(NodeConfig):
        if f.metadata["section"] != section:
            section = f.metadata["section"]
            lines += ["", f"[{section}]"]
        lines.append(f"{f.name.removeprefix(section + '_')} = {_toml_value(getattr(config, f.name))}")
    path = home / CONFIG_FILE
    path.write_text("\n".join(lines) + "\n")
    return path


def _is_secret(field_name: str) -> bool:
    return any(field_name.endswith(word) for word in _SECRET_WORDS)


def effective_lines(config: NodeConfig, sources: Mapping[str, str]) -> list[str]:
    """The configuration as printed at start: `section.key = value  (source)`; settings whose name
    ends in key/secret/token/password show only whether they are set."""
    out = []
    for f in fields(NodeConfig):
        value = getattr(config, f.name)
        shown = ("<set>" if value else "<unset>") if _is_secret(f.name) else _toml_value(value)
        out.append(f"{_dotted(f.name)} = {shown}  ({sources.get(f.name, 'default')})")
    return out
