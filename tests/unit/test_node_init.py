"""`gridctl node init`: a node home for one org from the consortium's genesis and peers, its
node.toml, the GRIDLEDGER_* environment over it, and the refusals of wrong input."""

from __future__ import annotations

import json
import shutil
import subprocess
import tomllib
from dataclasses import replace
from pathlib import Path

import pytest

from clients.node.cometconfig import node_id
from clients.node.config import ConfigError, NodeConfig, effective_lines, load_config, write_config
from clients.node.init import NodeInitError, init_node
from clients.ops.localnet import Localnet
from tests.support.gridctl import REPO, run_gridctl

COMETBFT = shutil.which("cometbft") or str(REPO / "bin" / "cometbft")
PEERS = [f"{'a' * 40}@10.0.0.2:26656", f"{'b' * 40}@node-c.example.org:26656"]

pytestmark = pytest.mark.skipif(not Path(COMETBFT).is_file(), reason="needs the CometBFT binary (make setup)")


@pytest.fixture(scope="module")
def consortium(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A two-validator localnet's folders (never started): its genesis and the validators' keys."""
    home = tmp_path_factory.mktemp("consortium")
    Localnet(home, n=2, cometbft=Path(COMETBFT)).init()
    return home


def _genesis(consortium: Path) -> Path:
    return consortium / "node0" / "config" / "genesis.json"


def _gridctl(*args: str) -> subprocess.CompletedProcess[str]:
    return run_gridctl(*args, binaries=Path(COMETBFT).parent)


def _config_toml(home: Path) -> dict[str, object]:
    return tomllib.loads((home / "cometbft" / "config" / "config.toml").read_text())


def test_init_writes_keys_config_and_the_given_genesis(tmp_path: Path, consortium: Path) -> None:
    """The home holds the imported validator and node keys, the genesis byte for byte, CometBFT's
    config on the host IP with the peers and Prometheus on, the app folder and node.toml."""
    home = tmp_path / "utility"
    result = init_node(
        home,
        genesis=_genesis(consortium),
        host="10.0.0.1",
        moniker="utility-node",
        org="utility",
        peers=PEERS,
        base_port=30000,
        node_key=consortium / "node1" / "config" / "node_key.json",
        validator_key=consortium / "node1" / "config" / "priv_validator_key.json",
        cometbft=COMETBFT,
    )
    config_dir = home / "cometbft" / "config"
    assert (config_dir / "genesis.json").read_bytes() == _genesis(consortium).read_bytes()
    assert (config_dir / "priv_validator_key.json").read_bytes() == (
        consortium / "node1" / "config" / "priv_validator_key.json"
    ).read_bytes()
    assert (config_dir / "priv_validator_key.json").stat().st_mode & 0o077 == 0
    assert json.loads((home / "cometbft" / "data" / "priv_validator_state.json").read_text())["height"] == "0"
    assert result.node_id == node_id(consortium / "node1")
    assert result.in_genesis_validators
    assert result.peer_address() == f"{result.node_id}@10.0.0.1:30000"
    assert (home / "app").is_dir()
    comet = _config_toml(home)
    assert comet["moniker"] == "utility-node"
    assert comet["proxy_app"] == "tcp://127.0.0.1:30002"
    assert comet["p2p"]["laddr"] == "tcp://10.0.0.1:30000"  # type: ignore[index]
    assert comet["p2p"]["persistent_peers"] == ",".join(PEERS)  # type: ignore[index]
    assert comet["rpc"]["laddr"] == "tcp://10.0.0.1:30001"  # type: ignore[index]
    assert comet["instrumentation"]["prometheus"] is True  # type: ignore[index]
    assert comet["instrumentation"]["prometheus_listen_addr"] == "10.0.0.1:30005"  # type: ignore[index]
    assert comet["statesync"]["enable"] is False  # type: ignore[index]
    config, sources = load_config(home, environ={})
    assert config == result.config
    assert (config.bridge_listen, config.app_metrics, config.node_org) == (
        "10.0.0.1:30003",
        "10.0.0.1:30004",
        "utility",
    )
    assert set(sources.values()) <= {"node.toml", "default"}


def test_explicit_addresses_and_state_sync_are_honoured(tmp_path: Path, consortium: Path) -> None:
    """Addresses given one by one win over --host/--base-port, and state sync is configured when
    two RPC servers and a trusted hash are given."""
    home = tmp_path / "gridop"
    result = init_node(
        home,
        genesis=_genesis(consortium),
        host="10.0.0.9",
        moniker="gridop",
        p2p="0.0.0.0:31000",
        external="203.0.113.7:31000",
        rpc="127.0.0.1:31001",
        abci="127.0.0.1:31002",
        bridge="10.0.0.9:31003",
        statesync_rpc=["10.0.0.1:26657", "10.0.0.2:26657"],
        trust_height=400,
        trust_hash="AB" * 32,
        dashboard_enabled=True,
        cometbft=COMETBFT,
    )
    comet = _config_toml(home)
    assert comet["p2p"]["laddr"] == "tcp://0.0.0.0:31000"  # type: ignore[index]
    assert comet["p2p"]["external_address"] == "203.0.113.7:31000"  # type: ignore[index]
    assert comet["rpc"]["laddr"] == "tcp://127.0.0.1:31001"  # type: ignore[index]
    assert comet["statesync"] == comet["statesync"] | {  # type: ignore[operator]
        "enable": True,
        "rpc_servers": "10.0.0.1:26657,10.0.0.2:26657",
        "trust_height": 400,
        "trust_hash": "AB" * 32,
    }
    assert not result.in_genesis_validators  # new keys: a full node until governance adds it
    assert result.peer_address().endswith("@203.0.113.7:31000")
    assert result.config.dashboard_enabled
    assert result.config.dashboard_listen == "127.0.0.1:26664"


def test_member_and_bridge_key_material_is_kept_owner_only(tmp_path: Path, consortium: Path) -> None:
    """The org's member key and certificate and the bridge's TLS files are copied into HOME/keys,
    readable by the owner only, and node.toml points the bridge at them."""
    members = consortium / "consortium" / "utility" / "members"
    key, cert = sorted(members.glob("admin*key*"))[0], sorted(members.glob("admin*cert*"))[0]
    home = tmp_path / "utility"
    result = init_node(
        home,
        genesis=_genesis(consortium),
        host="10.0.0.1",
        moniker="utility",
        member_key=key,
        member_cert=cert,
        bridge_tls_cert=cert,
        bridge_tls_key=key,
        cometbft=COMETBFT,
    )
    assert (home / "keys" / "member.key.pem").read_bytes() == key.read_bytes()
    assert (home / "keys" / "member.key.pem").stat().st_mode & 0o077 == 0
    assert (home / "keys").stat().st_mode & 0o077 == 0
    assert result.config.bridge_tls_key == str(home / "keys" / "bridge-tls.key.pem")


def test_wrong_input_is_refused_and_nothing_is_left(tmp_path: Path, consortium: Path) -> None:
    """A genesis without a gridledger app_state, a host that is not an IP, a malformed peer or a
    half-given key pair is refused before anything is written."""
    bare = tmp_path / "bare.json"
    bare.write_text(json.dumps({"chain_id": "x", "validators": [{"address": "AA"}], "app_state": {}}))
    home = tmp_path / "h"
    cases: list[tuple[dict[str, object], type[Exception], str]] = [
        ({"genesis": bare}, NodeInitError, "no gridledger app_state"),
        ({"host": "localhost"}, ConfigError, "not IP:PORT"),
        ({"peers": ["10.0.0.2:26656"]}, ConfigError, "NODE_ID@HOST:PORT"),
        ({"member_key": tmp_path / "bare.json"}, NodeInitError, "go together"),
    ]
    for change, error, says in cases:
        args: dict[str, object] = {"genesis": _genesis(consortium), "host": "10.0.0.1", "moniker": "m"} | change
        with pytest.raises(error, match=says):
            init_node(home, cometbft=COMETBFT, **args)  # type: ignore[arg-type]
        assert not home.exists()


def test_an_existing_home_is_refused_without_force(tmp_path: Path, consortium: Path) -> None:
    """A second init of the same home is refused; with force it rewrites the config and keeps the keys."""
    home = tmp_path / "n"
    first = init_node(home, genesis=_genesis(consortium), host="10.0.0.1", moniker="n", cometbft=COMETBFT)
    with pytest.raises(NodeInitError, match="already holds a node"):
        init_node(home, genesis=_genesis(consortium), host="10.0.0.1", moniker="n", cometbft=COMETBFT)
    again = init_node(home, genesis=_genesis(consortium), host="10.0.0.2", moniker="n", cometbft=COMETBFT, force=True)
    assert again.node_id == first.node_id
    assert again.config.p2p_listen == "10.0.0.2:26656"


def test_the_cli_refuses_a_missing_genesis_and_a_bad_address(tmp_path: Path, consortium: Path) -> None:
    """`gridctl node init` answers a missing genesis file or a host that is not an IP address with
    one line and exit 2, and creates no home."""
    home = tmp_path / "cli"
    missing = _gridctl(
        "node", "init", "--home", str(home), "--genesis", str(tmp_path / "nope.json"), "--host", "10.0.0.1"
    )
    assert missing.returncode == 2, missing.stderr
    assert "does not exist" in missing.stderr
    assert "Traceback" not in missing.stderr
    bad = _gridctl("node", "init", "--home", str(home), "--genesis", str(_genesis(consortium)), "--host", "my-host")
    assert bad.returncode == 2, bad.stderr
    assert "not IP:PORT" in bad.stderr
    assert not home.exists()
    ok = _gridctl(
        "--json", "node", "init", "--home", str(home), "--genesis", str(_genesis(consortium)), "--host", "10.0.0.1",
        "--peers", ",".join(PEERS),
    )  # fmt: skip
    assert ok.returncode == 0, ok.stderr
    assert json.loads(ok.stdout)["p2p"] == "10.0.0.1:26656"


def test_start_and_status_refuse_a_home_without_node_toml(tmp_path: Path) -> None:
    """`gridctl node start|status` on a folder that is no node home say so and exit 2."""
    for action in ("start", "status"):
        done = _gridctl("node", action, "--home", str(tmp_path))
        assert done.returncode == 2, done.stderr
        assert "gridctl node init" in done.stderr


def _config() -> NodeConfig:
    return NodeConfig(
        node_moniker="m", p2p_listen="10.0.0.1:26656", rpc_listen="10.0.0.1:26657", abci_listen="127.0.0.1:26658",
        bridge_listen="10.0.0.1:26659",
    )  # fmt: skip


def test_node_toml_reads_back_equal_and_the_environment_overrides_it(tmp_path: Path) -> None:
    """node.toml round-trips, and GRIDLEDGER_<SECTION>_<KEY> variables override its values (lists
    comma-separated, booleans as 0/1), each marked as coming from the environment."""
    config = replace(_config(), p2p_peers=tuple(PEERS), statesync_trust_height=7)
    write_config(tmp_path, config)
    assert load_config(tmp_path, environ={})[0] == config
    environ = {
        "GRIDLEDGER_P2P_LISTEN": "192.168.7.1:40000",
        "GRIDLEDGER_P2P_PEERS": PEERS[0],
        "GRIDLEDGER_BRIDGE_ENABLED": "0",
        "GRIDLEDGER_SUPERVISOR_MAX_RESTARTS": "9",
    }
    effective, sources = load_config(tmp_path, environ=environ)
    assert effective.p2p_listen == "192.168.7.1:40000"
    assert effective.p2p_peers == (PEERS[0],)
    assert effective.bridge_enabled is False
    assert effective.supervisor_max_restarts == 9
    assert effective.rpc_listen == config.rpc_listen
    assert sources["p2p_listen"] == "env"
    assert sources["rpc_listen"] == "node.toml"


@pytest.mark.parametrize(
    ("environ", "says"),
    [
        ({"GRIDLEDGER_RPC_LISTEN": "localhost:26657"}, "rpc.listen"),
        ({"GRIDLEDGER_BRIDGE_ENABLED": "maybe"}, "not a boolean"),
        ({"GRIDLEDGER_SUPERVISOR_MAX_RESTARTS": "many"}, "not a number"),
        ({"GRIDLEDGER_P2P_PEERS": "nohex@10.0.0.1:1"}, "NODE_ID@HOST:PORT"),
    ],
)
def test_a_wrong_environment_value_is_refused(tmp_path: Path, environ: dict[str, str], says: str) -> None:
    """An override that is not a usable value is a ConfigError naming the setting."""
    write_config(tmp_path, _config())
    with pytest.raises(ConfigError, match=says):
        load_config(tmp_path, environ=environ)


def test_an_unknown_setting_in_node_toml_is_refused(tmp_path: Path) -> None:
    """A misspelt key in node.toml is an error, not silently ignored."""
    path = write_config(tmp_path, _config())
    path.write_text(path.read_text().replace("[rpc]\n", '[rpc]\nlisten_addr = "10.0.0.1:1"\n'))
    with pytest.raises(ConfigError, match=r"unknown setting rpc\.listen_addr"):
        load_config(tmp_path, environ={})


def test_the_printed_configuration_hides_secrets(tmp_path: Path) -> None:
    """The configuration printed at start shows every setting and its source, but of key files
    only whether one is set."""
    config = replace(_config(), bridge_tls_cert="/etc/gl/tls.pem", bridge_tls_key="/etc/gl/very-secret.key")
    lines = effective_lines(config, {"p2p_listen": "env"})
    text = "\n".join(lines)
    assert "very-secret" not in text
    assert "bridge.tls_key = <set>" in text
    assert 'p2p.listen = "10.0.0.1:26656"  (env)' in text
    assert len(lines) == len(NodeConfig.__dataclass_fields__)


def test_keys_before_the_genesis_are_kept_by_init(tmp_path: Path, consortium: Path) -> None:
    """`gridctl node keys` makes an org's keys without any genesis and prints only public parts;
    a genesis naming its validator entry makes the later `node init` of that home a genesis validator."""
    home = tmp_path / "newco"
    done = _gridctl("--json", "node", "keys", "--home", str(home), "--name", "newco")
    assert done.returncode == 0, done.stderr
    shown = json.loads(done.stdout)
    private = json.loads((home / "cometbft" / "config" / "priv_validator_key.json").read_text())["priv_key"]["value"]
    assert private not in done.stdout
    assert not (home / "cometbft" / "config" / "genesis.json").exists()
    assert not (home / "node.toml").exists()
    genesis = json.loads(_genesis(consortium).read_text())
    genesis["validators"].append(shown["genesis_validator"])
    founding = tmp_path / "genesis.json"
    founding.write_text(json.dumps(genesis))
    result = init_node(home, genesis=founding, host="10.0.0.7", moniker="newco", cometbft=COMETBFT)
    assert result.node_id == shown["node_id"]
    assert result.validator_address == shown["validator_address"]
    assert result.in_genesis_validators
