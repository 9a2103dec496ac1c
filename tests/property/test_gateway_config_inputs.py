"""The gateway's configuration loader answers any file with a config or one clear line.

Hypothesis mutates a valid gateway.toml (a wrong port, a string for a number, an unknown key or
adapter, a missing key file, a section of the wrong shape) and checks that the loader either
builds a config or raises ConfigError naming where the problem is, never another exception,
and that `python -m devices.gateway` turns it into one line on stderr and exit 2.
"""

from __future__ import annotations

import contextlib
import copy
import io
import tomllib
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from devices.config import ConfigError, GatewayConfig, load_config
from devices.gateway import main as gateway_main

VALID = """
[gateway]
chain_id = "gridledger-localnet"
state_dir = "state"
interval_seconds = 900
sink = "grpc"
bridge = "127.0.0.1:26659"
gateway_key = "gateway.key.pem"

[simulation]
seed = 7
speed = 60.0

[[device]]
id = "home-a.pv"
adapter = "sunspec"
role = "inverter"
port = 15020

[[device]]
id = "home-a.ev"
adapter = "ocpp"
charge_point_id = "cp-1"
"""

VALUES: list[Any] = [0, -1, 70_000, 15020, "abc", "", "127.0.0.1", "host:99999", True, 1.5, [], {}, "nope.pem"]
KEYS = ["port", "interval_seconds", "batch_size", "sink", "bridge", "adapter", "id", "speed", "prot", "gateway_key"]


def _dump(data: dict[str, Any]) -> str:
    """A minimal TOML writer for the shapes this test builds."""

    def value(v: Any) -> str:
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, (int, float)):
            return repr(v)
        if isinstance(v, str):
            return '"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"'
        if isinstance(v, list):
            return "[" + ", ".join(value(x) for x in v) + "]"
        if isinstance(v, dict):
            return "{" + ", ".join(f"{k} = {value(x)}" for k, x in v.items()) + "}"
        raise TypeError(v)

    out: list[str] = []
    for section, body in data.items():
        if isinstance(body, list) and all(isinstance(b, dict) for b in body):
            for item in body:
                out.append(f"[[{section}]]")
                out += [f"{k} = {value(v)}" for k, v in item.items()]
        elif isinstance(body, dict):
            out.append(f"[{section}]")
            out += [f"{k} = {value(v)}" for k, v in body.items()]
        else:
            out.insert(0, f"{section} = {value(body)}")
    return "\n".join(out) + "\n"


@st.composite
def mutated(draw: st.DrawFn) -> dict[str, Any]:
    data: dict[str, Any] = tomllib.loads(VALID)
    for _ in range(draw(st.integers(1, 3))):
        where = draw(st.sampled_from(["gateway", "simulation", "device0", "device1", "top"]))
        key, val = draw(st.sampled_from(KEYS)), copy.deepcopy(draw(st.sampled_from(VALUES)))
        if where == "top":
            data[draw(st.sampled_from(["extra", "gateway", "device"]))] = val
            continue
        table = data.get("device") if where.startswith("device") else data.get(where)
        if isinstance(table, list) and table and isinstance(table[int(where[-1]) % len(table)], dict):
            table = table[int(where[-1]) % len(table)]
        if isinstance(table, dict):
            if draw(st.booleans()) and table:
                table.pop(draw(st.sampled_from(sorted(table))))
            else:
                table[key] = val
    return data


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    (tmp_path / "gateway.key.pem").write_text("-----BEGIN PRIVATE KEY-----\n")
    return tmp_path


def test_the_valid_file_loads(folder: Path) -> None:
    """The unmutated file is a config with its two devices."""
    path = folder / "gateway.toml"
    path.write_text(VALID)
    cfg = load_config(path)
    assert isinstance(cfg, GatewayConfig)
    assert [d.id for d in cfg.devices] == ["home-a.pv", "home-a.ev"]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(mutated())
def test_any_file_is_a_config_or_one_clear_line(folder: Path, data: dict[str, Any]) -> None:
    """A mutated file loads, or fails with ConfigError: one line that names the file."""
    path = folder / "gateway.toml"
    path.write_text(_dump(data))
    try:
        cfg = load_config(path)
    except ConfigError as exc:
        message = str(exc)
        assert "\n" not in message
        assert str(path) in message
        return
    assert isinstance(cfg, GatewayConfig)
    for device in cfg.devices:
        assert device.port == 0 or 1 <= device.port <= 65_535


@pytest.mark.parametrize(
    ("change", "says"),
    [
        (("[[device]]\nid", "[[device]]\nprot = 1\nid"), "unknown key 'prot'"),
        (("port = 15020", "port = 99999"), "TCP port 1..65535"),
        (("port = 15020", 'port = "abc"'), "must be a whole number"),
        (('gateway_key = "gateway.key.pem"', 'gateway_key = "missing.pem"'), "no such file"),
        (('adapter = "sunspec"', 'adapter = "zigbee"'), "unknown adapter 'zigbee'"),
        (('chain_id = "gridledger-localnet"\n', ""), "missing key 'chain_id'"),
        (("[simulation]", "[simulation\n"), "not valid TOML"),
    ],
)
def test_the_gateway_prints_one_line_and_exits_2(folder: Path, change: tuple[str, str], says: str) -> None:
    """`python -m devices.gateway --config FILE` with a wrong port, a missing key file, an
    unknown protocol or key: one line on stderr naming the problem, exit 2, no traceback."""
    path = folder / "gateway.toml"
    path.write_text(VALID.replace(*change, 1))
    err = io.StringIO()
    with contextlib.redirect_stderr(err), pytest.raises(SystemExit) as exited:
        gateway_main(["--config", str(path)])
    assert exited.value.code == 2
    assert says in err.getvalue()
    assert len(err.getvalue().strip().splitlines()) == 1
