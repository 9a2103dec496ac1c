"""Record every app's ABCI block calls during a test run, to replay them on other code.

    GRIDLEDGER_APP_HASH_LOG=/tmp/calls.jsonl pytest -p tests.support.app_hash_recording -m "not integration" tests/unit
    python -m tests.support.app_hash_recording /tmp/calls.jsonl

The plugin appends one JSON line per InitChain, FinalizeBlock and Commit any GridLedgerApp
answers (the test, the app, the request's bytes, the app hash it returned); state sync and
apps opened on a committed store are marked. The command replays each recorded chain on a
fresh in-memory app of the code it runs on and reports every app hash that differs: same
blocks in, same app hash out, across two versions of the code (the keys and certificates a
test makes are random, so recording and replaying the very same requests is what compares).
"""

from __future__ import annotations

import itertools
import json
import os
import sys
from collections import defaultdict
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TextIO

import pytest
from google.protobuf.message import Message

from abci_app.app import GridLedgerApp
from abci_app.logging_setup import configure_logging
from abci_app.pb import abci
from abci_app.store.backend import MemoryBackend

__all__ = ["replay_log"]

_LOG = os.environ.get("GRIDLEDGER_APP_HASH_LOG")
_ids = itertools.count(1)
_state: dict[str, Any] = {"test": "", "out": None}
_RECORDED = ("init_chain", "finalize_block", "commit", "offer_snapshot")


def _write(app: GridLedgerApp, method: str, req: Any, result: str) -> None:
    out: TextIO | None = _state["out"]
    if out is None:
        return
    app_id = app.__dict__.get("_recording_id")
    if app_id is None:
        app_id = app.__dict__["_recording_id"] = next(_ids)
        if method != "init_chain" or app.state.height > 0:
            method = "opened_committed"  # not a chain from genesis: the replay skips it
    line = {"test": _state["test"], "app": app_id, "m": method, "req": req.SerializeToString().hex(), "r": result}
    out.write(json.dumps(line) + "\n")


def _wrap(name: str) -> None:
    original: Callable[[GridLedgerApp, Any], Any] = getattr(GridLedgerApp, name)

    def recorded(self: GridLedgerApp, req: Any) -> Any:
        try:
            resp = original(self, req)
        except Exception as exc:
            _write(self, name, req, f"error:{type(exc).__name__}")
            raise
        _write(self, name, req, getattr(resp, "app_hash", b"").hex())
        return resp

    setattr(GridLedgerApp, name, recorded)


def pytest_configure(config: pytest.Config) -> None:
    """Start recording when GRIDLEDGER_APP_HASH_LOG names the file to append to."""
    if _LOG and _state["out"] is None:
        _state["out"] = Path(_LOG).open("a", encoding="utf-8")  # noqa: SIM115 - open for the session
        for name in _RECORDED:
            _wrap(name)


def pytest_runtest_setup(item: pytest.Item) -> None:
    """Name the running test in what it records."""
    _state["test"] = item.nodeid


def pytest_unconfigure(config: pytest.Config) -> None:
    """Close the log."""
    if _state["out"] is not None:
        _state["out"].close()
        _state["out"] = None


def _chains(path: Path) -> Iterator[tuple[str, list[dict[str, str]]]]:
    apps: dict[int, list[dict[str, str]]] = defaultdict(list)
    tests: dict[int, str] = {}
    with path.open(encoding="utf-8") as f:
        for line in f:
            call = json.loads(line)
            apps[call["app"]].append(call)
            tests[call["app"]] = call["test"]
    for app_id in sorted(apps):
        yield tests[app_id], apps[app_id]


_REQUESTS: dict[str, type[Message]] = {
    "init_chain": abci.RequestInitChain,
    "finalize_block": abci.RequestFinalizeBlock,
    "commit": abci.RequestCommit,
}


def replay_log(path: Path) -> dict[str, Any]:
    """Replay every recorded chain from genesis on this code: how many chains, blocks and app
    hashes compared, the chains skipped (not from genesis, state sync), and every difference."""
    report: dict[str, Any] = {"chains": 0, "skipped": 0, "hashes": 0, "differ": []}
    for test, calls in _chains(path):
        if calls[0]["m"] != "init_chain" or any(c["m"] not in _REQUESTS for c in calls):
            report["skipped"] += 1
            continue
        report["chains"] += 1
        app = GridLedgerApp(MemoryBackend())
        for call in calls:
            req = _REQUESTS[call["m"]].FromString(bytes.fromhex(call["req"]))
            try:
                got = getattr(app, call["m"])(req)
                result = getattr(got, "app_hash", b"").hex()
            except Exception as exc:  # compared with what the recording raised
                result = f"error:{type(exc).__name__}"
            if call["m"] != "commit":
                report["hashes"] += 1
            if result != call["r"]:
                report["differ"].append({"test": test, "call": call["m"], "recorded": call["r"], "replayed": result})
                break
    return report


if __name__ == "__main__":
    configure_logging(level="warning")
    summary = replay_log(Path(sys.argv[1]))
    print(json.dumps(summary, indent=1))
    sys.exit(1 if summary["differ"] else 0)
