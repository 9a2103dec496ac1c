"""A full disk or a corrupted state database: a clear error and a refusal, never a wrong answer.

Disk full: the SQLite commit raising "database or disk is full" makes the app exit (code 70)
without answering Commit; the database keeps the previous block, and after a restart the
node replays that block to the same app hash. Corruption: `python -m abci_app` checks the
whole stored state against its Merkle commitment at start and exits 3 with a
`refusing_to_start` log line on any difference; wiping the app state then lets CometBFT
replay every block into a fresh app.
"""

from __future__ import annotations

import asyncio
import json
import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from google.protobuf.timestamp_pb2 import Timestamp

from abci_app.framing import decode_uvarint, encode_uvarint
from abci_app.pb import abci
from abci_app.server import AbciProtocol, _dispatch_table
from abci_app.store.backend import CorruptStateError
from abci_app.store.sqlite import SQLiteBackend
from abci_app.store.state import CommittedState
from clients.ops.consortium import Consortium
from clients.ops.localnet import Localnet, free_base_port
from clients.tx import sign_tx
from tests.chaos.chain import app_info
from tests.fault.conftest import DISKFULL_SITE, REPO, NetFactory
from tests.support.driver import AppDriver
from tests.unit.helpers import signed, transfer

DISK_FULL = "database or disk is full"
APP_CMD = (sys.executable, "-m", "abci_app")


# -- helpers ------------------------------------------------------------------------------------


class _ExitCalledError(Exception):
    def __init__(self, code: int) -> None:
        super().__init__(code)
        self.code = code


class _RecordingTransport(asyncio.Transport):
    def __init__(self) -> None:
        super().__init__()
        self.out = bytearray()
        self.closed = False

    def write(self, data: bytes | bytearray | memoryview) -> None:
        self.out += data

    def close(self) -> None:
        self.closed = True

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return ("127.0.0.1", 1) if name == "peername" else default


class _FullDisk:
    """Wraps an sqlite3 connection: COMMIT fails as on a full disk, where SQLite has already
    rolled the transaction back when it reports the error (seen on a real full tmpfs)."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn

    def execute(self, sql: str, *args: Any) -> sqlite3.Cursor:
        if sql.strip().upper() == "COMMIT":
            self._conn.execute("ROLLBACK")
            raise sqlite3.OperationalError(DISK_FULL)
        return self._conn.execute(sql, *args)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._conn, name)


def _frame(req: abci.Request) -> bytes:
    raw = req.SerializeToString()
    return encode_uvarint(len(raw)) + raw


def _responses(buf: bytes) -> list[abci.Response]:
    out = []
    pos = 0
    while pos < len(buf):
        decoded = decode_uvarint(buf, pos)
        assert decoded is not None
        length, start = decoded
        out.append(abci.Response.FromString(buf[start : start + length]))
        pos = start + length
    return out


def _finalize_request(driver: AppDriver, txs: list[bytes]) -> abci.RequestFinalizeBlock:
    req = abci.RequestFinalizeBlock(height=driver.height + 1, txs=txs)
    req.time.CopyFrom(Timestamp(seconds=driver.time + 1))
    return req


def _sqlite_driver(consortium: Consortium, path: Path, blocks: int = 3) -> AppDriver:
    d = AppDriver(consortium, backend=SQLiteBackend(path))
    alice, bob = consortium.member("community-a/alice"), consortium.member("community-a/bob")
    for k in range(blocks):
        d.block([signed(d, alice, transfer(bob, 10 + k)), signed(d, bob, transfer(alice, 1))])
    return d


# -- disk full, in process ------------------------------------------------------------------------


def test_disk_full_on_commit_exits_without_answering(
    consortium: Consortium, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """When the SQLite commit fails with "database or disk is full" the server exits with code
    70 and sends no Commit response; the database still holds the previous block, consistent
    with its commitment, and replaying the block after a restart gives the same app hash."""
    path = tmp_path / "state.sqlite"
    d = _sqlite_driver(consortium, path)
    last_height, last_hash = d.app.state.height, d.app.state.app_hash
    alice, bob = consortium.member("community-a/alice"), consortium.member("community-a/bob")
    req = _finalize_request(d, [signed(d, alice, transfer(bob, 99))])

    backend = d.app.state.backend
    assert isinstance(backend, SQLiteBackend)
    backend._db = _FullDisk(backend._db)  # type: ignore[assignment]

    def fake_exit(code: int) -> None:
        raise _ExitCalledError(code)

    monkeypatch.setattr(os, "_exit", fake_exit)  # the server exits through os._exit
    proto = AbciProtocol(d.app, _dispatch_table(d.app))
    transport = _RecordingTransport()
    proto.connection_made(transport)
    proto.data_received(_frame(abci.Request(finalize_block=req)))
    (fin,) = _responses(bytes(transport.out))
    staged_hash = fin.finalize_block.app_hash
    assert staged_hash != last_hash
    written = len(transport.out)
    with pytest.raises(_ExitCalledError) as exited:
        proto.data_received(_frame(abci.Request(commit=abci.RequestCommit())))
    assert exited.value.code == 70
    assert len(transport.out) == written  # nothing answered for the Commit
    monkeypatch.undo()
    backend._db = backend._db._conn  # type: ignore[attr-defined]
    backend.close()

    # "Restart": the database is at the previous block and matches its commitment.
    reopened = SQLiteBackend(path)
    try:
        state = CommittedState(reopened)
        assert (state.height, state.app_hash) == (last_height, last_hash)
        assert state.verify() > 0
        restarted = AppDriver(consortium, backend=reopened, init=False)
        assert restarted.app.info(abci.RequestInfo()).last_block_height == last_height
        replayed = restarted.app.finalize_block(req)
        restarted.app.commit(abci.RequestCommit())
        assert replayed.app_hash == staged_hash
        assert restarted.app.state.height == last_height + 1
    finally:
        reopened.close()


def test_disk_full_error_is_reported_as_such(consortium: Consortium, tmp_path: Path) -> None:
    """The error a full disk raises from Commit is "database or disk is full" itself, not a
    follow-up "cannot rollback" (SQLite has rolled back already), and nothing was written."""
    path = tmp_path / "state.sqlite"
    d = _sqlite_driver(consortium, path, blocks=1)
    backend = d.app.state.backend
    assert isinstance(backend, SQLiteBackend)
    height, app_hash = d.app.state.height, d.app.state.app_hash
    real = backend._db
    backend._db = _FullDisk(real)  # type: ignore[assignment]
    alice, bob = consortium.member("community-a/alice"), consortium.member("community-a/bob")
    d.app.finalize_block(_finalize_request(d, [signed(d, alice, transfer(bob, 5))]))
    with pytest.raises(sqlite3.OperationalError) as failed:
        d.app.commit(abci.RequestCommit())
    assert str(failed.value) == DISK_FULL
    backend._db = real
    backend.close()
    reopened = SQLiteBackend(path)
    try:
        state = CommittedState(reopened)
        assert (state.height, state.app_hash) == (height, app_hash)
        assert state.verify() > 0
    finally:
        reopened.close()


# -- corrupted state: the startup check ------------------------------------------------------------


def _tamper(path: Path, sql: str, *params: Any) -> None:
    db = sqlite3.connect(path)
    with db:
        db.execute(sql, params)
    db.close()


def _committed_db(consortium: Consortium, path: Path) -> None:
    d = _sqlite_driver(consortium, path)
    d.backend.close()


def _verify(path: Path) -> int:
    backend = SQLiteBackend(path)
    try:
        return CommittedState(backend).verify()
    finally:
        backend.close()


def _a_balance_key(path: Path) -> bytes:
    db = sqlite3.connect(path)
    try:
        (key,) = db.execute("SELECT k FROM kv WHERE substr(k, 1, 1) = x'07' LIMIT 1").fetchone()
    finally:
        db.close()
    return bytes(key)


def _an_interior_node(path: Path) -> bytes:
    db = sqlite3.connect(path)
    try:
        (p,) = db.execute("SELECT p FROM nodes WHERE length(p) = 1 LIMIT 1").fetchone()
    finally:
        db.close()
    return bytes(p)


def test_verify_accepts_a_healthy_state(consortium: Consortium, tmp_path: Path) -> None:
    """An untouched database passes the full check, which counts every stored key."""
    path = tmp_path / "state.sqlite"
    _committed_db(consortium, path)
    db = sqlite3.connect(path)
    (count,) = db.execute("SELECT count(*) FROM kv").fetchone()
    db.close()
    assert _verify(path) == count > 0


@pytest.mark.parametrize(
    "damage",
    [
        "value-changed",
        "key-deleted",
        "key-added",
        "interior-node-deleted",
        "interior-node-truncated",
        "interior-node-rewritten",
    ],
)
def test_verify_refuses_a_state_that_differs_from_its_commitment(
    consortium: Consortium, tmp_path: Path, damage: str
) -> None:
    """Damage that leaves the stored root and app hash intact (so opening succeeds) is still
    found by the startup check: a value, a key or a trie node below the root."""
    path = tmp_path / "state.sqlite"
    _committed_db(consortium, path)
    key = _a_balance_key(path)
    node = _an_interior_node(path)
    if damage == "value-changed":
        _tamper(path, "UPDATE kv SET v=? WHERE k=?", (10**12).to_bytes(8, "big"), key)
    elif damage == "key-deleted":
        _tamper(path, "DELETE FROM kv WHERE k=?", key)
    elif damage == "key-added":
        _tamper(path, "INSERT INTO kv VALUES (?, ?)", key[:1] + b"\x42" * 20, (5).to_bytes(8, "big"))
    elif damage == "interior-node-deleted":
        _tamper(path, "DELETE FROM nodes WHERE p=?", node)
    elif damage == "interior-node-truncated":
        _tamper(path, "UPDATE nodes SET n=substr(n, 1, 20) WHERE p=?", node)
    else:
        _tamper(path, "UPDATE nodes SET n=? WHERE p=?", b"\x00" * 16, node)
    backend = SQLiteBackend(path)
    try:
        state = CommittedState(backend)  # the root and app hash still agree: opening succeeds
        with pytest.raises(CorruptStateError):
            state.verify()
    finally:
        backend.close()


# -- the real process ----------------------------------------------------------------------------


def _run_app(home: Path, port: int, *, wait_listen: float = 20.0) -> tuple[int | None, list[dict[str, Any]]]:
    """Start `python -m abci_app`; returns (exit code or None if it kept running, log lines)."""
    log = home / "app.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [*APP_CMD, "--address", f"tcp://127.0.0.1:{port}", "--home", str(home), "--log-format", "json"],
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=REPO,
        )
        try:
            code = proc.wait(timeout=wait_listen)
        except subprocess.TimeoutExpired:
            code = None
        finally:
            if proc.poll() is None:
                proc.terminate()
                proc.wait(timeout=10)
    lines = []
    for line in log.read_text().splitlines():
        try:
            lines.append(json.loads(line))
        except ValueError:
            continue
    return code, lines


@pytest.mark.integration
@pytest.mark.parametrize("damage", ["pages-overwritten", "value-changed", "meta-app-hash-changed"])
def test_app_process_refuses_to_start_on_a_corrupt_database(
    consortium: Consortium, tmp_path: Path, damage: str
) -> None:
    """`python -m abci_app` on a damaged database exits 3 and logs `refusing_to_start` with the reason."""
    path = tmp_path / "state.sqlite"
    _committed_db(consortium, path)
    if damage == "pages-overwritten":
        size = path.stat().st_size
        with path.open("r+b") as f:
            f.seek(size // 2 // 4096 * 4096)
            f.write(b"\xa5" * 4096 * 2)
    elif damage == "value-changed":
        _tamper(path, "UPDATE kv SET v=? WHERE k=?", (7).to_bytes(8, "big"), _a_balance_key(path))
    else:
        _tamper(path, "UPDATE meta SET v=? WHERE k='app_hash'", b"\x01" * 32)
    code, lines = _run_app(tmp_path, free_base_port(1) + 2)
    assert code == 3
    refusals = [e for e in lines if e.get("event") == "refusing_to_start"]
    assert len(refusals) == 1
    assert refusals[0]["reason"]
    assert not any(e.get("event") == "abci_listening" for e in lines)


@pytest.mark.integration
def test_app_process_starts_on_a_healthy_database(consortium: Consortium, tmp_path: Path) -> None:
    """The control case: the same database undamaged passes the check and the app serves."""
    _committed_db(consortium, tmp_path / "state.sqlite")
    code, lines = _run_app(tmp_path, free_base_port(1) + 2, wait_listen=8.0)
    assert code is None  # still running when stopped
    events = [e.get("event") for e in lines]
    assert "state_verified" in events
    assert "abci_listening" in events
    assert "refusing_to_start" not in events


# -- on a localnet ---------------------------------------------------------------------------------


def _others_tip(net: Localnet, i: int) -> int:
    return max(net.height(j) or 0 for j in range(net.n) if j != i)


def _assert_node_agrees(net: Localnet, i: int) -> None:
    """Node i is level with the others and its app's own app hash is the chain's."""
    target = _others_tip(net, i) + 2
    net.wait_height(target, timeout=90)
    height, own = app_info(net.rpc(i))
    assert height >= target - 1
    deadline = time.monotonic() + 30
    while net.height(0) is None or net.height(0) <= height:  # type: ignore[operator]
        assert time.monotonic() < deadline
        time.sleep(0.2)
    assert net.rpc(0).app_hash_at(height + 1).hex().upper() == own
    hashes = net.app_hashes(target)
    assert len(set(hashes.values())) == 1, hashes


def _send_some(net: Localnet, n: int = 5) -> None:
    c = net.consortium()
    carol, dave = c.member("community-b/carol"), c.member("community-b/dave")
    start = int(time.time() * 1000)  # nonces only need to increase
    for k in range(n):
        raw = sign_tx(carol.key, net.chain_id, start + k, [transfer(dave, 1)])
        assert net.rpc(0).broadcast_sync(raw).code == 0


@pytest.mark.integration
def test_disk_full_node_stops_then_replays_to_the_same_app_hash(make_net: NetFactory) -> None:
    """A validator whose disk fills up during Commit stops (app exit 70, CometBFT follows)
    instead of answering; its database holds the last good block; restarted with disk space
    it replays the missing block(s) and agrees with the chain."""
    net = make_net("diskfull")
    i = 3
    net.stop_pair(i, kill=True)
    env = {"PYTHONPATH": str(DISKFULL_SITE), "GRIDLEDGER_TEST_DISK_FULL_AFTER": "3"}
    net.start_pair(i, env)
    _send_some(net)
    app = net.apps[i]
    assert app.wait(timeout=90) == 70
    node = net.nodes[i]
    try:
        node.wait(timeout=30)
    except subprocess.TimeoutExpired:
        pytest.fail("CometBFT kept running after its app exited")
    log = net.log_path(i, "app").read_text()
    assert DISK_FULL in log
    assert "abci_request_failed" in log
    db = SQLiteBackend(net.app_home(i) / "state.sqlite")
    try:
        state = CommittedState(db)
        assert state.height > 0
        assert state.verify() > 0
        stuck_at = state.height
    finally:
        db.close()
    assert _others_tip(net, i) > stuck_at  # the rest of the chain went on
    net.stop_pair(i)
    net.start_pair(i)
    _assert_node_agrees(net, i)


@pytest.mark.integration
def test_corrupt_node_refuses_then_resyncs_from_cometbft_blocks(make_net: NetFactory) -> None:
    """A validator whose state database was altered refuses to start (exit 3, nothing served);
    once the operator deletes the app state, CometBFT replays every stored block into a fresh
    app and the node agrees with the chain again."""
    net = make_net("corrupt")
    i = 2
    _send_some(net)
    net.wait_height(_others_tip(net, i) + 2, timeout=60)
    net.stop_pair(i)
    path = net.app_home(i) / "state.sqlite"
    _tamper(path, "UPDATE kv SET v=? WHERE k=?", (10**15).to_bytes(8, "big"), _a_balance_key(path))
    with pytest.raises(RuntimeError, match="exited with 3"):
        net.start_app(i)
    assert "refusing_to_start" in net.log_path(i, "app").read_text()
    for f in net.app_home(i).iterdir():
        f.unlink()
    net.start_pair(i)
    _assert_node_agrees(net, i)
    assert os.path.exists(path)
