"""A 4-validator chain is stopped, exported by every validator and restarted from the export.

Alice registers a site and a PV device, its signed readings complete an hour (certificates are
issued) and she pays Bob. Every validator is stopped and runs `python -m abci_app.export`;
validators that stopped at the same height write byte-identical files. All four reset their
CometBFT data, drop their app state and start from one export: the chain continues at the next
height with the same balances, nonces, devices, reading sequence numbers and certificates, and
nothing signed for the old chain is accepted again (an old reading is a duplicate, an old tx's
nonce is used), while new readings and txs go on where they stopped.

A device reads only from its registration on, so the chain runs on an accelerated clock
(genesis params): a 10 s certificate "hour" and settlement interval, 5 s minimum readings.
"""

from __future__ import annotations

import base64
import calendar
import json
import subprocess
import sys
import time
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from gridledger.accounts.v1 import accounts_pb2
from gridledger.certificates.v1 import certificates_pb2 as pb
from gridwire.reading import Reading

from clients import accounts
from clients.client import GridClient
from clients.devices import device_public_key, register_device, register_site, sign_reading, submit_readings
from clients.rpc import BroadcastResult
from clients.session_claim import owner_bundles
from clients.tx import sign_tx
from tests.integration.conftest import NetFactory
from tests.integration.support import COMETBFT, wait_until
from tests.support.devices import CERTIFIER, certify, commission_msgs

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
HOUR = 10  # the chain's certificate period (PARAMS)
HALF = HOUR // 2
PV_W = 1_000_000  # 1500 Wh in 10 s is within it (3600 × 1499 < PV_W × 10)
PARAMS = {
    "devices.settlement_interval_seconds": HOUR,
    "certificates.period_seconds": HOUR,  # genesis may go below 900 s
    "devices.min_reading_seconds": HALF,
}


def _chain_time(client: GridClient) -> int:
    stamp = client.rpc.call("status")["sync_info"]["latest_block_time"]
    return calendar.timegm(time.strptime(stamp[:19], "%Y-%m-%dT%H:%M:%S"))


def _events(client: GridClient, result: BroadcastResult, kind: str) -> list[dict[str, str]]:
    """The attributes of the committed tx's events of one kind (from the node's tx index)."""
    found = client.rpc.wait_tx(result.hash)
    events = found["tx_result"].get("events", [])
    return [{a["key"]: a["value"] for a in e["attributes"]} for e in events if e["type"] == kind]


def test_a_chain_restarted_from_its_export_carries_on(localnet_factory: NetFactory, tmp_path: Path) -> None:
    net = localnet_factory("export", n=4, params=PARAMS)
    c = net.consortium()
    alice_id, bob_id = c.member("community-a/alice"), c.member("community-b/carol")
    alice = GridClient(net.rpc(0), net.chain_id, alice_id.key)
    pv_key = Ed25519PrivateKey.generate()
    alice.submit([register_site("x-home", "f1", "north")])
    pv = register_device("x-home.pv", "x-home", "pv", device_public_key(pv_key), PV_W, energy_source="solar")
    alice.submit([certify(c, pv)])
    GridClient(net.rpc(0), net.chain_id, c.member(CERTIFIER).key).submit(commission_msgs("x-home.pv"))
    # the first period that starts at least a baseline reading after the registration
    hour = -(-(_chain_time(alice) + HALF) // HOUR) * HOUR
    spans = ((hour - HALF, hour, 0), (hour, hour + HALF, 700), (hour + HALF, hour + HOUR, 1500))
    readings = [Reading("x-home.pv", seq, s, e, 0, wh) for seq, (s, e, wh) in enumerate(spans, start=1)]
    signed = [sign_reading(pv_key, net.chain_id, r) for r in readings]
    alice.submit([submit_readings(signed)])
    wait_until(lambda: owner_bundles(alice, alice.address, hour, hour), timeout=30, what="the hour's certificates")
    old_nonce = alice.nonce()
    old_transfer = sign_tx(
        alice_id.key, net.chain_id, old_nonce, [accounts_pb2.Transfer(to=bob_id.address, amount=1234)]
    )
    assert alice.rpc.broadcast_commit(old_transfer).code == 0

    paths = [
        f"/balance/{alice.address.hex()}",
        f"/balance/{bob_id.address.hex()}",
        f"/account/{alice.address.hex()}",
        "/device/x-home.pv",
        "/reading/x-home.pv",
        f"/bundles/owner/{alice.address.hex()}",
        "/supply",
    ]
    before = {p: alice.query_raw(p) for p in paths}
    assert all(before.values())

    for i in range(4):
        net.stop_pair(i)
    exports: dict[int, tuple[int, bytes]] = {}
    for i in range(4):
        out = tmp_path / f"genesis-{i}.json"
        done = subprocess.run(
            [sys.executable, "-m", "abci_app.export", "--home", str(net.app_home(i)),
             "--genesis", str(net.node_home(i) / "config" / "genesis.json"), "--out", str(out)],
            cwd=REPO, capture_output=True, text=True, timeout=120, check=False,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        exported = json.loads(out.read_text())
        exports[i] = (int(exported["initial_height"]), out.read_bytes())
    by_height: dict[int, set[bytes]] = {}
    for height, text in exports.values():
        by_height.setdefault(height, set()).add(text)
    assert all(len(texts) == 1 for texts in by_height.values()), "validators at one height exported different states"
    start_height = max(by_height)
    (chosen,) = by_height[start_height]
    genesis = json.loads(chosen)
    assert genesis["chain_id"] == net.chain_id
    validators = {base64.b64decode(v["pub_key"]["value"]) for v in genesis["validators"]}
    assert validators == {net.validator_pub_key(i) for i in range(4)}

    for i in range(4):
        subprocess.run(
            [str(COMETBFT), "unsafe-reset-all", "--home", str(net.node_home(i))], check=True, capture_output=True
        )
        for name in ("state.sqlite", "state.sqlite-wal", "state.sqlite-shm"):
            (net.app_home(i) / name).unlink(missing_ok=True)
        (net.node_home(i) / "config" / "genesis.json").write_bytes(chosen)
    net.start()
    net.wait_height(start_height + 2, timeout=90)

    after = GridClient(net.rpc(2), net.chain_id, alice_id.key)
    assert {p: after.query_raw(p) for p in paths} == before
    (bundle,) = [b for b in owner_bundles(after, alice.address, hour, hour) if b.status == pb.BUNDLE_STATUS_ACTIVE]
    assert bundle.end_wh - bundle.start_wh == 1500

    # nothing signed for the old chain counts again
    replayed = after.submit([submit_readings(signed[2:])])
    assert _events(after, replayed, "reading_accepted") == []
    assert [e["seq"] for e in _events(after, replayed, "reading_duplicate")] == ["3"]
    assert after.rpc.broadcast_sync(old_transfer).code != 0
    # and the chain goes on where it stopped
    # the reading ends HALF seconds into the next hour (never in the future: wait for it)
    wait_until(lambda: _chain_time(after) >= hour + HOUR + HALF, timeout=90, what="HALF seconds into the hour")
    nxt = Reading("x-home.pv", 4, hour + HOUR, hour + HOUR + HALF, 0, 1510)
    accepted = after.submit([submit_readings([sign_reading(pv_key, net.chain_id, nxt)])])
    assert [e["seq"] for e in _events(after, accepted, "reading_accepted")] == ["4"]
    assert after.account(alice.address).nonce == old_nonce + 2
    bob_before = int.from_bytes(before[f"/balance/{bob_id.address.hex()}"], "big")
    after.submit([accounts.transfer(bob_id.address, 66)])
    assert int.from_bytes(after.query_raw(f"/balance/{bob_id.address.hex()}"), "big") == bob_before + 66
