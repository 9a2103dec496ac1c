"""An EV charging session claims the owner's certificates of the same hours, against a real 1-node chain.

Alice's PV device issues a bundle for a past hour from signed readings; a session over the second
half of the hour before and the first half of that hour (2000 Wh, 1000 Wh per hour by seconds)
retires 1000 Wh of that hour's bundle (the hour before has none): 50 % covered. The retirement is
on chain with the session's purpose and consumption period, and a second claim retires nothing.
Then a gateway configured with `claim_certificates = true` claims a session its central system
reports (300 Wh inside the hour: fully covered by the 500 Wh left).
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
from tests.integration.conftest import NetFactory

pytestmark = pytest.mark.integration

HOUR = 3600


def _chain_time(client: GridClient) -> int:
    stamp = client.rpc.call("status")["sync_info"]["latest_block_time"]
    return calendar.timegm(time.strptime(stamp[:19], "%Y-%m-%dT%H:%M:%S"))


def test_session_claims_certificates_of_its_hours(localnet_factory: NetFactory, tmp_path: Path) -> None:
    net = localnet_factory("session-claim", n=1)
    alice_id = net.consortium().member("community-a/alice")
    alice = GridClient(net.rpc(0), net.chain_id, alice_id.key)
    pv_key = Ed25519PrivateKey.generate()
    alice.submit([register_site("ev-home", "f1", "north")])
    alice.submit([
        register_device("ev-home.pv", "ev-home", "pv", device_public_key(pv_key), 5000, energy_source="solar"),
        register_device("ev-home.ev", "ev-home", "ev_charger", device_public_key(Ed25519PrivateKey.generate()), 11000),
    ])  # fmt: skip

    hour = _chain_time(alice) // HOUR * HOUR - HOUR
    readings = [
        Reading("ev-home.pv", seq, start, end, 0, export)
        for seq, (start, end, export) in enumerate(
            ((hour - 60, hour, 0), (hour, hour + 1800, 700), (hour + 1800, hour + HOUR, 1500)), start=1
        )
    ]
    alice.submit([submit_readings([sign_reading(pv_key, net.chain_id, r) for r in readings])])
    deadline = time.monotonic() + 30
    while not owner_bundles(alice, alice.address, hour, hour):
        assert time.monotonic() < deadline, "no bundle issued for the hour"
        time.sleep(0.3)
    (issued,) = owner_bundles(alice, alice.address, hour, hour)
    assert (issued.end_wh - issued.start_wh, issued.status) == (1500, pb.BUNDLE_STATUS_ACTIVE)

    session = FinishedSession("ev-home.ev/1/7", "ev-home.ev", alice.address, hour - 1800, hour + 1800, 2000)
    record = claim_session(alice, session)
    assert (record.wh, record.covered_wh, record.share_bp, record.new_retirements) == (2000, 1000, 5000, 1)
    (rid,) = record.retirement_ids
    retirement = pb.Retirement.FromString(alice.query_raw(f"/retirement/{rid}"))
    assert (retirement.wh, retirement.hour_start, retirement.device_id) == (1000, hour, "ev-home.pv")
    assert (retirement.consumption_start, retirement.consumption_end) == (hour, hour + 1800)
    assert (retirement.beneficiary, retirement.purpose) == (alice.address, purpose_of("ev-home.ev/1/7"))
    left = [b for b in owner_bundles(alice, alice.address, hour, hour) if b.status == pb.BUNDLE_STATUS_ACTIVE]
    assert sum(b.end_wh - b.start_wh for b in left) == 500

    again = claim_session(alice, session)
    assert (again.covered_wh, again.share_bp, again.retirement_ids, again.new_retirements) == (1000, 5000, (rid,), 0)
    left = [b for b in owner_bundles(alice, alice.address, hour, hour) if b.status == pb.BUNDLE_STATUS_ACTIVE]
    assert sum(b.end_wh - b.start_wh for b in left) == 500

    # the gateway's hook: a finished OCPP session of its charger claims with the owner's key
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
    ocpp = ChargingSession("CP1", 3, "TAG", hour + 1800, hour + 2400, 10_000, 10_300, 0)

    async def report() -> None:
        session_claimer(cfg)(ocpp)
        pending = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        await asyncio.wait_for(asyncio.gather(*pending), timeout=30)

    asyncio.run(report())
    gw_session = FinishedSession(
        f"ev-home.ev/{hour + 1800}/3", "ev-home.ev", alice.address, hour + 1800, hour + 2400, 300
    )
    claimed = claim_session(alice, gw_session)
    assert (claimed.covered_wh, claimed.share_bp, claimed.new_retirements) == (300, 10_000, 0)
    assert len(claimed.retirement_ids) == 1
    left = [b for b in owner_bundles(alice, alice.address, hour, hour) if b.status == pb.BUNDLE_STATUS_ACTIVE]
    assert sum(b.end_wh - b.start_wh for b in left) == 200
