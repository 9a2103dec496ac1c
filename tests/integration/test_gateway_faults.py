"""The device gateway against a real 4-validator localnet through a bridge: the bridge stops,
then one node, then the gateway process itself is killed, all in the middle of an accelerated
simulated span (SPAN = 60 readings); after the restart every reading the gateway signed is
committed exactly once.

A device reads only from its registration on, so the simulated span starts after the
registrations and runs ahead of the chain's clock (SPEED times faster than the wall): the chain's
genesis allows readings to end up to an hour past block time, and its 10 s settlement intervals
and minimum readings let the span be 60 readings of 10 s (600 s simulated in a wall minute), so
the simulation stays within that hour for the whole test (at most 9 × the wall time ahead).

The gateway's own log is its outbox (every reading it signed, one row per device and seq);
the chain's count comes from the node's tx index (`reading_accepted` events per device) and
the devices domain's `/reading/<id>` last sequence.
"""

from __future__ import annotations

import base64
import itertools
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import grpc
import pytest
from gridledger.api.v1 import reads_pb2, reads_pb2_grpc, tx_pb2, tx_pb2_grpc
from gridledger.devices.v1 import devices_pb2
from gridwire.contract.devices import Paths as DevicesPaths

from clients import devices as dc
from clients.ops.localnet import Localnet
from clients.pki import Identity
from clients.read_request import sign_read_request
from clients.rpc import CometRPC
from clients.tx import sign_tx
from devices.keys import DeviceKey
from tests.integration.conftest import NetFactory

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
SPEED = 10.0  # the simulated span (600 s) in a wall minute
INTERVAL = 10  # one reading per device per 10 simulated seconds (a wall second)
SPAN = 60 * INTERVAL
PARAMS = {
    "devices.settlement_interval_seconds": INTERVAL,  # genesis may go down to 10 s
    "devices.min_reading_seconds": INTERVAL,
    "devices.future_allowance_seconds": 3_600,  # the simulation runs ahead of block time
}
DEVICES = {"home-f.load": "load", "home-f.wind": "wind"}


def _submit(
    stub: tx_pb2_grpc.TxApiStub, accounts: reads_pb2_grpc.AccountsApiStub, chain: str, who: Identity, *msgs: object
) -> None:
    nonce = accounts.GetAccount(reads_pb2.ByAddress(address=who.address)).nonce + 1
    stub.SubmitTx(tx_pb2.SubmitTxRequest(signed_tx=sign_tx(who.key, chain, nonce, list(msgs)), wait_commit=True))  # type: ignore[arg-type]


def _config(path: Path, net: Localnet, start: int) -> None:
    lines = [
        "[gateway]",
        f'chain_id = "{net.chain_id}"',
        'state_dir = "state"',
        f"interval_seconds = {INTERVAL}",
        "batch_size = 50",
        'sink = "grpc"',
        f'bridge = "127.0.0.1:{net.ports(0).bridge}"',
        'gateway_key = "gateway.key.pem"',
        "",
        "[simulation]",
        "seed = 11",
        f"speed = {SPEED}",
        f"start = {start}",
        "",
    ]
    for device_id, kind in DEVICES.items():
        lines += ["[[device]]", f'id = "{device_id}"', 'adapter = "sim"', f'kind = "{kind}"', ""]
    path.write_text("\n".join(lines))


def _gateway(config: Path, log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "devices.gateway", "--config", str(config)],
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=REPO,
        )


def _outbox(path: Path) -> list[tuple[str, int, int, str, int]]:
    """(device, seq, end, state, start) of every reading the gateway signed."""
    if not path.exists():
        return []
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=10) as db:
        return list(db.execute('SELECT device_id, seq, "end", state, start FROM readings ORDER BY device_id, seq'))


def _wait(what: str, predicate: object, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():  # type: ignore[operator]
            return
        time.sleep(0.5)
    raise AssertionError(f"timed out waiting for {what}")


def _accepted_seqs(rpc: CometRPC, device_id: str) -> list[int]:
    """Every accepted seq of the device in the node's tx index (repeats kept)."""
    seqs: list[int] = []
    page = 1
    while True:
        r = rpc.call("tx_search", query=f"reading_accepted.device='{device_id}'", page=str(page), per_page="100")
        for tx in r["txs"]:
            for e in tx["tx_result"]["events"]:
                attrs = {a["key"]: a["value"] for a in e["attributes"]}
                if e["type"] == "reading_accepted" and attrs.get("device") == device_id:
                    seqs.append(int(attrs["seq"]))
        if page * 100 >= int(r["total_count"]):
            return seqs
        page += 1


def test_every_reading_committed_exactly_once_through_outages(localnet_factory: NetFactory, tmp_path: Path) -> None:
    net = localnet_factory("gwfaults", n=4, params=PARAMS)
    for i in range(4):
        net.start_bridge(i)
    c = net.consortium()
    alice, gateway = c.member("community-a/alice"), c.member("community-a/gateway")
    home = tmp_path / "home"
    (home / "state" / "keys").mkdir(parents=True)
    DeviceKey(gateway.key).save(home / "gateway.key.pem")
    keys = {d: DeviceKey.generate() for d in DEVICES}
    for device_id, key in keys.items():
        key.save(home / "state" / "keys" / f"{device_id}.pem")

    channel = grpc.insecure_channel(f"127.0.0.1:{net.ports(1).bridge}")
    grpc.channel_ready_future(channel).result(timeout=30)
    tx_stub = tx_pb2_grpc.TxApiStub(channel)  # type: ignore[no-untyped-call]
    accounts = reads_pb2_grpc.AccountsApiStub(channel)  # type: ignore[no-untyped-call]
    _submit(tx_stub, accounts, net.chain_id, alice, dc.register_site("site-f", "feeder-1", "nl"))
    for device_id, kind in DEVICES.items():
        ledger_kind = "meter" if kind == "load" else "wind"
        public_key = keys[device_id].public_bytes
        msg = dc.register_device(
            device_id, "site-f", ledger_kind, public_key, 50_000, gateway=gateway.address,
            device_cert=c.device_ca().issue_device_cert(device_id, ledger_kind, public_key, 50_000),
        )  # fmt: skip
        _submit(tx_stub, accounts, net.chain_id, alice, msg)

    # the simulated span starts after the registrations (and ends ahead of the chain's clock)
    start = (int(time.time()) // INTERVAL + 1) * INTERVAL
    span_end = start + SPAN
    config = home / "home.toml"
    _config(config, net, start)
    outbox = home / "state" / "outbox.sqlite"
    log = tmp_path / "gateway.log"
    proc = _gateway(config, log)
    t0 = time.monotonic()

    def sim_end() -> int:
        return max((row[2] for row in _outbox(outbox)), default=0)

    try:
        _wait("first readings", lambda: sim_end() >= start + 5 * INTERVAL, 60)
        # 1. the bridge stops for a while (the gateway keeps signing into its outbox)
        net.stop_bridge(0)
        time.sleep(6)
        assert any(row[3] == "pending" for row in _outbox(outbox))
        net.start_bridge(0)
        # 2. node 0, behind the gateway's bridge, stops (the chain goes on with 3 of 4)
        time.sleep(4)
        net.stop_pair(0)
        time.sleep(6)
        net.start_pair(0)
        # 3. the gateway process is killed in the middle of the span and restarted
        time.sleep(4)
        assert sim_end() < span_end, "the faults must fall inside the simulated span"
        proc.kill()
        proc.wait()
        signed_before_kill = len(_outbox(outbox))
        proc = _gateway(config, log)
        _wait(
            "the rest of the span, all committed",
            lambda: (
                (rows := _outbox(outbox))
                and min(max(r[2] for r in rows if r[0] == d) for d in DEVICES) >= span_end
                and all(r[3] == "committed" for r in rows)
            ),
            240,
        )
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        channel.close()

    rows = _outbox(outbox)
    assert len(rows) > signed_before_kill
    assert time.monotonic() - t0 > 30
    rpc = net.rpc(1)
    for device_id in DEVICES:
        mine = [r for r in rows if r[0] == device_id]
        logged = [r[1] for r in mine]
        assert logged == list(range(1, len(logged) + 1))
        # nothing is lost: each reading starts where the one before ended, through the whole span
        # (the minutes the gateway was dead are covered by the first reading after its restart)
        assert all(prev[2] == cur[4] for prev, cur in itertools.pairwise(mine))
        assert mine[0][4] <= start + INTERVAL
        assert mine[-1][2] >= span_end
        assert all((r[2] - r[4]) % INTERVAL == 0 and r[2] > r[4] for r in mine)
        assert len(logged) >= 30  # one per interval of the span, except while the gateway was down
        on_chain = _accepted_seqs(rpc, device_id)
        repeats = [s for s, n in Counter(on_chain).items() if n > 1]
        assert repeats == []
        assert sorted(on_chain) == logged
        # the device's reading state is private (nodes are private by default): Alice, its owner,
        # reads it on the node with a read request she signs
        path, data = sign_read_request(alice.key, net.chain_id, DevicesPaths.READING(device_id))
        state = devices_pb2.ReadingState.FromString(base64.b64decode(rpc.abci_query(path, data)["value"]))
        assert state.seq == logged[-1]
