"""gridctl meets every mistyped, out-of-range or unknown input with one line and exit 2.

Hypothesis builds argument lists for every gridctl command from its own parser: values of the
right shape, negative and huge numbers, words where numbers belong, unknown ORG/NAMEs, missing
and non-PEM files. gridctl runs in-process against the real app (an in-process "node" that
answers CometBFT's RPC calls from an AppDriver), so valid input really is signed and executed.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import hashlib
import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from abci_app.pb import abci
from clients import cli_support, cli_types
from clients.gridctl import build_parser, main
from clients.ops.consortium import Consortium
from clients.rpc import CometRPC, RPCError
from tests.support.driver import AppDriver

NUMERIC = {
    cli_types.count,
    cli_types.positive_count,
    cli_types.amount,
    cli_types.money,
    cli_types.watt_hours,
    cli_types.power_w,
    cli_types.price,
    cli_types.basis_points,
    cli_types.unix_seconds,
}
BAD_NUMBERS = ["-5", str(2**64), "99999999999999999999999", "abc", "1.5", ""]
ADDRESSES = ["community-a/bob", "community-a/nobody", "nowhere/x", "ab" * 20, "zz", "community-b/carol"]
ADDRESS_DESTS = {"address", "member", "to", "new_owner", "supplier", "owner", "beneficiary", "gateway"}
FILE_DESTS = {"cert", "ca_cert", "key_file", "new_key", "device_key", "key", "csr", "ca_dir"}
SKIPPED_FLAGS = {"watch", "help", "prove"}  # --watch follows a stream; --prove needs commits


class InProcessNode(CometRPC):
    """The CometBFT RPC calls gridctl makes, answered by the real app through an AppDriver."""

    def __init__(self, driver: AppDriver) -> None:
        super().__init__("http://127.0.0.1:1")
        self.driver = driver
        self.broadcasts: list[bytes] = []
        self.results: dict[str, dict[str, Any]] = {}

    def call(self, method: str, **params: Any) -> Any:
        d = self.driver
        if method == "status":
            return {
                "node_info": {"network": d.chain_id, "moniker": "in-process"},
                "sync_info": {
                    "latest_block_height": str(d.height),
                    "latest_block_time": "2026-01-01T00:00:00Z",
                    "latest_app_hash": "",
                    "catching_up": False,
                },
            }
        if method == "abci_query":
            r = d.query(params["path"], data=bytes.fromhex(params.get("data") or ""))
            return {
                "response": {"code": r.code, "log": r.log, "value": base64.b64encode(r.value).decode(), "height": "0"}
            }
        if method in {"broadcast_tx_commit", "broadcast_tx_sync"}:
            raw = base64.b64decode(params["tx"])
            self.broadcasts.append(raw)
            tx_hash = hashlib.sha256(raw).hexdigest().upper()
            block = d.block([raw])
            check = {"code": block.check_codes[0], "log": ""}
            result: dict[str, Any] = {"code": 0, "log": "", "events": []}
            if block.tx_results:
                res = block.tx_results[0]
                result = {"code": res.code, "log": res.log, "events": [_event(e) for e in res.events]}
            self.results[tx_hash] = result
            return {"check_tx": check, "tx_result": result, "hash": tx_hash, "height": str(block.height), **check}
        if method == "tx":
            found = self.results.get(base64.b64decode(params["hash"]).hex().upper())
            if found is None:
                raise RPCError("tx not found")
            return {"tx_result": found}
        raise RPCError(f"{method}: not served by the in-process node")


def _event(e: abci.Event) -> dict[str, Any]:
    return {"type": e.type, "attributes": [{"key": a.key, "value": a.value} for a in e.attributes]}


def _leaves(parser: argparse.ArgumentParser, path: list[str]) -> Iterator[tuple[list[str], argparse.ArgumentParser]]:
    subs = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    if not subs:
        yield path, parser
        return
    for name, sub in subs[0].choices.items():
        yield from _leaves(sub, [*path, name])


COMMANDS = list(_leaves(build_parser(), []))


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory, consortium: Consortium) -> Path:
    root = tmp_path_factory.mktemp("gridctl-home")
    consortium.save(root / "consortium")
    (root / "not-pem.txt").write_text("this is not a PEM file\n")
    return root


def _value(draw: st.DrawFn, action: argparse.Action, home: Path, tmp: Path) -> tuple[str, bool]:
    """(a value for `action`, whether it is wrong by shape for a numeric converter)."""
    if action.choices is not None:
        return draw(st.sampled_from([*map(str, action.choices), "no-such-choice"])), False
    if action.type in NUMERIC:
        if draw(st.booleans()):
            return draw(st.sampled_from(BAD_NUMBERS)), True
        high = 10_000 if action.type is cli_types.basis_points else 2**40
        low = 1 if action.type in {cli_types.positive_count, cli_types.amount} else 0
        return str(draw(st.integers(low, high))), False
    if action.dest in ADDRESS_DESTS:
        return draw(st.sampled_from(ADDRESSES)), False
    if action.dest in FILE_DESTS:
        key = home / "consortium" / "community-a" / "members" / "bob.key.pem"
        return str(draw(st.sampled_from([key, home / "missing.pem", home / "not-pem.txt", home]))), False
    if action.dest == "out":
        return str(tmp / f"out-{draw(st.integers(0, 10**9))}.pem"), False
    if action.dest == "timeout":
        return "0.1", False
    if action.dest == "node_home":  # `gridctl node ...` writes node homes: only ever under tmp
        return str(tmp / f"node-{draw(st.integers(0, 10**9))}"), False
    return draw(st.sampled_from(["pv-1", "site-1", "F1", "x" * 300, "bad id!", "", "next"])), False


@st.composite
def invocations(draw: st.DrawFn, home: Path, tmp: Path) -> tuple[list[str], bool]:
    """An argument list for one command, and whether a numeric value in it is wrong by shape."""
    path, parser = draw(st.sampled_from(COMMANDS))
    argv = ["--json", "--home", str(home), "--as", draw(st.sampled_from(["community-a/bob", "utility/treasury"]))]
    argv += path
    bad = False
    for action in parser._actions:
        if action.dest in SKIPPED_FLAGS or action.dest == "fn":
            continue
        if not action.option_strings:  # positional
            value, wrong = _value(draw, action, home, tmp)
            argv.append(value)
            bad |= wrong
        elif action.nargs == 0:  # a flag
            if draw(st.booleans()):
                argv.append(action.option_strings[0])
        elif action.required or draw(st.booleans()):
            value, wrong = _value(draw, action, home, tmp)
            argv += [action.option_strings[0], value]
            bad |= wrong
    return argv, bad


def test_every_command_answers_bad_input_with_one_line_and_exit_2(
    home: Path, consortium: Consortium, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Whatever the arguments: exit 0, 1 (the node answered not found) or 2, never a
    traceback, and a value wrong by shape is refused with exit 2 before anything is sent."""
    node = InProcessNode(AppDriver(consortium))
    monkeypatch.setattr(cli_support, "CometRPC", lambda url: node)

    @settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(invocations(home, tmp_path))
    def run(case: tuple[list[str], bool]) -> None:
        argv, bad = case
        sent = len(node.broadcasts)
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                code = main(argv)
            except SystemExit as exc:  # argparse's own refusal (or --help)
                code = exc.code if isinstance(exc.code, int) else 2
        assert "Traceback" not in err.getvalue(), (argv, err.getvalue())
        assert code in {0, 1, 2}, (argv, code, err.getvalue())
        if code:
            assert err.getvalue().strip(), (argv, "an error says what was wrong")
        if bad:
            assert code == 2, (argv, code, err.getvalue())
            assert len(node.broadcasts) == sent, (argv, "nothing is sent for input wrong by shape")

    run()


@pytest.mark.parametrize(
    ("argv", "says"),
    [
        (["--as", "community-a/bob", "transfer", "community-a/alice", "-5"], "out of range"),
        (["--as", "community-a/bob", "transfer", "community-a/alice", "99999999999999999999999"], "out of range"),
        (["--as", "community-a/bob", "transfer", "community-a/nobody", "5"], "no member 'community-a/nobody'"),
        (["--as", "nowhere/bob", "transfer", "community-a/alice", "5"], "no org 'nowhere'"),
        (["--key", "missing.pem", "burn", "5"], "cannot read the key file"),
        (["--as", "community-a/bob", "order", "place", "buy", "soon", "5", "10", "--site", "s"], "or `next`"),
        (["--as", "community-a/bob", "cert", "list", "--hour", "2026-12-06T12:00"], "no UTC offset"),
    ],
)
def test_the_issue_s_examples_are_one_line_errors(
    home: Path, consortium: Consortium, monkeypatch: pytest.MonkeyPatch, argv: list[str], says: str
) -> None:
    """The mistakes a new user made (a negative or huge amount, an unknown member, a missing key
    file, a word for a time) print what was wrong and exit 2, with no traceback."""
    node = InProcessNode(AppDriver(consortium))
    monkeypatch.setattr(cli_support, "CometRPC", lambda url: node)
    monkeypatch.chdir(home)
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        try:
            code = main(["--home", str(home), *argv])
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 2
    assert code == 2
    assert says in err.getvalue()
    assert "Traceback" not in err.getvalue()
    assert node.broadcasts == []
