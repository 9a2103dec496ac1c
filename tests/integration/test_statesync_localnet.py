"""State sync on a real 4-validator localnet: a wiped validator rejoins from a snapshot its
peers serve (not by replaying from height 1), reaches the tip and agrees on the app hash; its
join time is printed beside that of a replay join of the same chain."""

from __future__ import annotations

import base64
import json
import time

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from google.protobuf.message import Message
from gridwire.reading import Reading

from clients import devices as dc
from clients.ops.localnet import SNAPSHOT_INTERVAL, Localnet
from clients.rpc import CometRPC
from tests.integration.conftest import NetFactory
from tests.integration.support import LoadGenerator, Wallet, assert_app_agrees, max_height, wait_until

pytestmark = pytest.mark.integration

INTERVAL = 40  # blocks between snapshots
TARGET = 3 * INTERVAL + 10  # the chain's height before the joins
PARAMS = {
    SNAPSHOT_INTERVAL: INTERVAL,
    "devices.settlement_interval_seconds": 10,
    "devices.min_reading_seconds": 10,
    "devices.future_allowance_seconds": 3_600,
}
NODE = 3


def _commit(rpc: CometRPC, raw: bytes) -> None:
    r = rpc.call("broadcast_tx_commit", tx=base64.b64encode(raw).decode())
    assert int(r["check_tx"]["code"]) == 0, r["check_tx"].get("log")
    assert int(r["tx_result"]["code"]) == 0, r["tx_result"].get("log")


def _energy_state(net: Localnet, wallet: Wallet) -> None:
    """alice registers a site, a certified PV and a meter behind community-a's gateway, which
    relays a minute of their signed readings."""
    c = net.consortium()
    rpc = net.rpc(0)
    alice, gateway = c.member("community-a/alice"), c.member("community-a/gateway")
    keys = {d: Ed25519PrivateKey.from_private_bytes(bytes([i + 7]) * 32) for i, d in enumerate(("ss-pv", "ss-meter"))}
    msgs: list[Message] = [dc.register_site("alice-home", "feeder-a", "nl")]
    for device, key in keys.items():
        kind = "pv" if device == "ss-pv" else "meter"
        pub = dc.device_public_key(key)
        msgs.append(
            dc.register_device(
                device,
                "alice-home",
                kind,
                pub,
                10_000,
                energy_source="solar" if kind == "pv" else "",
                gateway=gateway.address,
                device_cert=c.device_ca().issue_device_cert(device, kind, pub, 10_000),
            )
        )
    _commit(rpc, wallet.sign(alice, *msgs))
    base = (int(time.time()) // 10 + 2) * 10
    readings = [
        dc.sign_reading(key, net.chain_id, Reading(device, k + 1, base + 10 * k, base + 10 * (k + 1), 3 * k, 5 * k))
        for device, key in keys.items()
        for k in range(6)
    ]
    _commit(rpc, wallet.sign(gateway, dc.submit_readings(readings)))


def _app_log(net: Localnet, offset: int, node: int = NODE) -> list[dict[str, object]]:
    lines = net.log_path(node, "app").read_bytes()[offset:].decode(errors="replace").splitlines()
    out = []
    for line in lines:
        try:
            out.append(json.loads(line))
        except ValueError:
            continue
    return out


def _join(net: Localnet, started: float) -> tuple[float, int]:
    """Wait until node NODE is at the others' tip; (seconds since `started`, its height)."""
    others = [j for j in range(net.n) if j != NODE]

    def at_tip() -> int | None:
        h = net.height(NODE)
        return h if h is not None and h >= max_height(net, others) - 1 and h > 0 else None

    height = wait_until(at_tip, timeout=240, what=f"node{NODE} to reach the tip")
    return time.monotonic() - started, height


def test_a_wiped_validator_rejoins_by_state_sync_faster_than_by_replay(localnet_factory: NetFactory) -> None:
    net = localnet_factory("statesync", n=4, params=PARAMS)
    wallet = Wallet(net.chain_id)
    _energy_state(net, wallet)
    c = net.consortium()
    with LoadGenerator(net, wallet, c.member("community-b/carol"), c.member("community-b/dave").address, node=0):
        net.wait_height(TARGET, [0], timeout=240)

        # replay: wiped, no state sync; block sync replays every block from height 1
        net.stop_pair(NODE)
        net.wipe(NODE)
        started = time.monotonic()
        replay_from = max_height(net, [0])
        net.start_pair(NODE)
        replay_s, replay_height = _join(net, started)

        # state sync: wiped again and restored from a snapshot
        offset = net.log_path(NODE, "app").stat().st_size
        sync_from = max_height(net, [0])
        started = time.monotonic()
        trust = net.resync(NODE)
        sync_s, sync_height = _join(net, started)
    # the replay-joined process may still log a block or two after `offset` was read, before
    # resync stops it: judge only the lines of the process started by the resync
    logged = _app_log(net, offset)
    starts = [k for k, e in enumerate(logged) if e.get("event") == "starting"]
    assert starts, [e.get("event") for e in logged][-30:]
    events = logged[starts[-1] :]
    restored = [e for e in events if e.get("event") == "state_restored"]
    assert len(restored) == 1, [e.get("event") for e in events][-30:]
    snap_height = int(str(restored[0]["height"]))
    assert snap_height % INTERVAL == 0
    assert snap_height >= TARGET - INTERVAL
    blocks = [int(str(e["height"])) for e in events if e.get("event") == "block"]
    assert blocks
    assert blocks[0] == snap_height + 1  # no block below the snapshot was executed
    assert_app_agrees(net, NODE, reference=0)
    status = net.rpc(NODE).status()
    assert int(status["sync_info"]["earliest_block_height"]) > 1
    taken = [e for e in _app_log(net, 0, node=0) if e.get("event") == "snapshot_taken"]
    assert taken
    figures = [(e["height"], e["keys"], e["bytes"], e["ms"]) for e in taken]
    print(
        f"\nsnapshots on node0 (height, keys, bytes, ms): {figures}"
        f"\njoin of a wiped validator at height ~{replay_from}: replay {replay_s:.1f} s "
        f"(reached {replay_height}); at height ~{sync_from}: state sync {sync_s:.1f} s "
        f"(snapshot {snap_height}, trusted height {trust}, reached {sync_height})"
    )
