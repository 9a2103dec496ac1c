"""An EV charging session claims the owner's certificates of the same hours, against a real 1-node chain.

A gateway configured with `claim_certificates = true` stores a session its central system reports
(300 Wh inside a past hour) and claims it before the hour's certificates exist: the ledger answers
"0 Wh so far" and the claim stays pending in the outbox, across a gateway restart. Then Alice's PV
device issues a bundle of 1500 Wh for the hour from signed readings, and the restarted gateway's
retry retires 300 Wh exactly once: done, 100 %, and a further run or claim retires nothing.
A session over the second half of the hour before and the first half of that hour (2000 Wh, 1000 Wh
per hour by seconds) retires 1000 Wh of that hour's bundle (the hour before has none): 50 % covered.
The retirement is on chain with the session's purpose and consumption period, and a second claim
retires nothing, though the retired bundles left live state in their retirement's block (the
chain archives them at once): the claim counts the owner's retirements, not retired bundles.

A device reads only from its registration on, so the chain runs on an accelerated clock (genesis
params): a certificate "hour" of HOUR = 30 s, and every time of the story scaled from an hour to
it (a half hour is HOUR // 2, 40 minutes 2 * HOUR // 3), with 5 s minimum readings.
"""

from __future__ import annotations

import asyncio
import calendar
import time
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from gridledger.certificates.v1 import certificates_pb2 as pb
from gridwire.reading import Reading

from clients.client import GridClient
from clients.devices import device_public_key, register_device, register_site, sign_reading, submit_readings
from clients.session_claim import FinishedSession, claim_session, owner_bundles, purpose_of
from devices.config import DeviceConfig, GatewayConfig
from devices.gateway import session_claimer
from devices.ocpp_central import ChargingSession
from devices.outbox import Outbox
from tests.integration.conftest import NetFactory
from tests.support.devices import CERTIFIER, certify, commission_msgs

pytestmark = pytest.mark.integration

HOUR = 30  # the chain's certificate period (PARAMS)
HALF, FORTY_MIN = HOUR // 2, 2 * HOUR // 3
PV_W = 1_000_000  # 1500 Wh in one period is within it (3600 × 1499 < PV_W × 30)
PARAMS = {
    "devices.settlement_interval_seconds": 10,
    "certificates.period_seconds": HOUR,  # genesis may go below 900 s
    "devices.min_reading_seconds": 5,
    # retired bundles leave live state in their retirement's block: a repeated claim must find what
    # it retired from the owner's retirements alone (they stay for the retention)
    "certificates.retired_bundle_retention_seconds": 0,
}


def _chain_time(client: GridClient) -> int:
    stamp = client.rpc.call("status")["sync_info"]["latest_block_time"]
    return calendar.timegm(time.strptime(stamp[:19], "%Y-%m-%dT%H:%M:%S"))


def test_session_claims_certificates_of_its_hours(localnet_factory: NetFactory, tmp_path: Path) -> None:
    net = localnet_factory("session-claim", n=1, params=PARAMS)
    alice_id = net.consortium().member("community-a/alice")
    alice = GridClient(net.rpc(0), net.chain_id, alice_id.key)
    pv_key = Ed25519PrivateKey.generate()
    alice.submit([register_site("ev-home", "f1", "north")])
    pv = register_device("ev-home.pv", "ev-home", "pv", device_public_key(pv_key), PV_W, energy_source="solar")
    alice.submit([
        certify(net.consortium(), pv),
        register_device("ev-home.ev", "ev-home", "ev_charger", device_public_key(Ed25519PrivateKey.generate()), 11000),
    ])  # fmt: skip
    GridClient(net.rpc(0), net.chain_id, net.consortium().member(CERTIFIER).key).submit(commission_msgs("ev-home.pv"))

    # the first period that starts at least a baseline reading after the registration
    hour = -(-(_chain_time(alice) + HALF) // HOUR) * HOUR

    # the gateway stores a finished OCPP session of its charger and claims it before the hour's
    # certificates are issued: 0 Wh so far, pending (the hour's issuance is not over)
    key_file = tmp_path / "owner.key.pem"
    key_file.write_bytes(
        alice_id.key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    cfg = GatewayConfig(
        chain_id=net.chain_id,
        state_dir=tmp_path / "gw",
        devices=(DeviceConfig("ev-home.ev", "ocpp", charge_point_id="CP1"),),
        claim_certificates=True,
        owner_key=key_file,
        node_rpc=f"http://127.0.0.1:{net.ports(0).rpc}",
    )
    outbox_file = tmp_path / "outbox.sqlite"
    gw_id = f"ev-home.ev/{hour + HALF}/3"
    with Outbox(outbox_file) as outbox:
        claims, on_session = session_claimer(cfg, outbox)
        on_session(ChargingSession("CP1", 3, "TAG", hour + HALF, hour + FORTY_MIN, 10_000, 10_300, 0))
        first = asyncio.run(claims.run_due())
        assert (first.attempted, first.done, first.pending) == (1, 0, 1)
        pending = outbox.get_claim(gw_id)
        assert pending is not None
        assert (pending.state, pending.covered_wh, pending.attempts) == ("pending", 0, 1), pending.last_error
        assert pending.last_error.startswith("not final: 0 of 300 Wh")
    # the gateway stops here; the claim waits in its outbox file

    readings = [
        Reading("ev-home.pv", seq, start, end, 0, export)
        for seq, (start, end, export) in enumerate(
            ((hour - HALF, hour, 0), (hour, hour + HALF, 700), (hour + HALF, hour + HOUR, 1500)), start=1
        )
    ]
    alice.submit([submit_readings([sign_reading(pv_key, net.chain_id, r) for r in readings])])
    deadline = time.monotonic() + 90  # the period ends up to 45 s ahead
    while not owner_bundles(alice, alice.address, hour, hour):
        assert time.monotonic() < deadline, "no bundle issued for the hour"
        time.sleep(0.3)
    (issued,) = owner_bundles(alice, alice.address, hour, hour)
    assert (issued.end_wh - issued.start_wh, issued.status) == (1500, pb.BUNDLE_STATUS_ACTIVE)

    # the restarted gateway retries once the claim is due: 300 Wh retired, exactly once
    later = time.time() + 3600  # past any backoff
    with Outbox(outbox_file) as outbox:
        claims, _ = session_claimer(cfg, outbox, clock=lambda: later)
        assert asyncio.run(claims.run_due()).done == 1
        assert asyncio.run(claims.run_due()).attempted == 0
        done = outbox.get_claim(gw_id)
        assert done is not None
        assert (done.state, done.attempts, done.covered_wh, done.share_bp) == ("done", 2, 300, 10_000)
    (gw_rid,) = done.retirement_ids
    assert pb.Retirement.FromString(alice.query_raw(f"/retirement/{gw_rid}")).wh == 300
    gw_session = FinishedSession(gw_id, "ev-home.ev", alice.address, hour + HALF, hour + FORTY_MIN, 300)
    claimed = claim_session(alice, gw_session)
    assert (claimed.covered_wh, claimed.share_bp, claimed.new_retirements) == (300, 10_000, 0)
    assert claimed.retirement_ids == (gw_rid,)
    assert not [b for b in owner_bundles(alice, alice.address, hour, hour) if b.status == pb.BUNDLE_STATUS_RETIRED]
    left = [b for b in owner_bundles(alice, alice.address, hour, hour) if b.status == pb.BUNDLE_STATUS_ACTIVE]
    assert sum(b.end_wh - b.start_wh for b in left) == 1200

    session = FinishedSession("ev-home.ev/1/7", "ev-home.ev", alice.address, hour - HALF, hour + HALF, 2000)
    record = claim_session(alice, session)
    assert (record.wh, record.covered_wh, record.share_bp, record.new_retirements) == (2000, 1000, 5000, 1)
    (rid,) = record.retirement_ids
    retirement = pb.Retirement.FromString(alice.query_raw(f"/retirement/{rid}"))
    assert (retirement.wh, retirement.hour_start, retirement.device_id) == (1000, hour, "ev-home.pv")
    assert (retirement.consumption_start, retirement.consumption_end) == (hour, hour + HALF)
    assert (retirement.beneficiary, retirement.purpose) == (alice.address, purpose_of("ev-home.ev/1/7"))
    left = [b for b in owner_bundles(alice, alice.address, hour, hour) if b.status == pb.BUNDLE_STATUS_ACTIVE]
    assert sum(b.end_wh - b.start_wh for b in left) == 200

    again = claim_session(alice, session)
    assert (again.covered_wh, again.share_bp, again.retirement_ids, again.new_retirements) == (1000, 5000, (rid,), 0)
    left = [b for b in owner_bundles(alice, alice.address, hour, hour) if b.status == pb.BUNDLE_STATUS_ACTIVE]
    assert sum(b.end_wh - b.start_wh for b in left) == 200
