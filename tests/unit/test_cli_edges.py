"""The servers' and tools' command lines answer wrong input with one line, never a traceback:
`python -m abci_app`, `python -m abci_app.export` and `python -m clients.servers`."""

from __future__ import annotations

import contextlib
import io
import json
import socket
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from abci_app.__main__ import main as app_main
from abci_app.export import main as export_main
from clients.servers.server import main as bridge_main


def _run(main: Callable[[list[str]], int], argv: list[str]) -> tuple[int, str]:
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        try:
            code = main(argv)
        except SystemExit as exc:  # argparse's refusal
            code = exc.code if isinstance(exc.code, int) else 2
    return code, err.getvalue()


@pytest.mark.parametrize(
    ("argv", "says"),
    [
        (["--address", "tcp://127.0.0.1:99999"], "port 0..65535"),
        (["--address", "localhost"], "tcp://HOST:PORT"),
        (["--address", "unix://"], "no socket path"),
    ],
)
def test_the_app_refuses_a_bad_listen_address(tmp_path: Path, argv: list[str], says: str) -> None:
    """A malformed --address is argparse's one-line error and exit 2."""
    code, err = _run(app_main, [*argv, "--home", str(tmp_path)])
    assert code == 2
    assert says in err
    assert "Traceback" not in err


def test_the_app_says_when_its_port_is_taken(tmp_path: Path) -> None:
    """An address another process holds: `python -m abci_app` logs refusing_to_start naming it
    and exits 2 (run as its own process: it configures logging for the whole process)."""
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        held.listen()
        port = held.getsockname()[1]
        done = subprocess.run(
            [sys.executable, "-m", "abci_app", "--address", f"tcp://127.0.0.1:{port}", "--home", str(tmp_path)],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    assert done.returncode == 2, done.stderr
    assert f"cannot listen on tcp://127.0.0.1:{port}" in done.stderr
    assert "Traceback" not in done.stderr


def test_the_export_tool_refuses_a_wrong_genesis(tmp_path: Path) -> None:
    """No state database, a genesis that is not JSON, or JSON of the wrong shape: one line, exit 2."""
    genesis = tmp_path / "genesis.json"
    genesis.write_text("{}")
    code, err = _run(export_main, ["--home", str(tmp_path), "--genesis", str(genesis)])
    assert (code, "no state database" in err) == (2, True)
    (tmp_path / "state.sqlite").write_bytes(b"")
    for text in ("not json", json.dumps({"chain_id": 5}), json.dumps([1, 2])):
        genesis.write_text(text)
        code, err = _run(export_main, ["--home", str(tmp_path), "--genesis", str(genesis)])
        assert code == 2, text
        assert err.startswith("cannot export"), err
        assert err.count("\n") == 1, err
        assert "Traceback" not in err


@pytest.mark.parametrize(
    ("argv", "says"),
    [
        (["--listen", "nowhere"], "HOST:PORT"),
        (["--listen", "127.0.0.1:0"], "port 1..65535"),
        (["--node", "127.0.0.1:26657"], "http:// or https://"),
        (["--tls-cert", "missing.pem", "--tls-key", "missing.pem"], "no such file"),
        (["--genesis", "missing.json"], "no such file"),
        (["--max-subscribers", "-1"], "out of range"),
    ],
)
def test_the_bridge_refuses_a_wrong_command_line(argv: list[str], says: str) -> None:
    """A wrong listen address, node URL, missing file or count: one line, exit 2."""
    code, err = _run(bridge_main, argv)
    assert code == 2
    assert says in err
    assert "Traceback" not in err
