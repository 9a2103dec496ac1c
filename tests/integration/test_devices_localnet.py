"""50 simulated devices report a simulated day through two community gateways on a real
4-validator localnet: every accepted reading is found on every node, the interval energy
follows the simulated day, and all app hashes agree.

A device reads only from its registration on (READING_BEFORE_REGISTRATION), so the day is
reported on an accelerated clock: each simulated quarter-hour is one LEDGER_STEP-second
reading starting after the registrations (the chain's settlement interval is LEDGER_STEP
and its future allowance an hour, so the whole day fits), and the nameplates are scaled by
the acceleration so a quarter-hour's energy is within them."""

from __future__ import annotations

import base64
import time
from dataclasses import dataclass

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from google.protobuf.message import Message
from gridledger.devices.v1 import devices_pb2
from gridwire.contract.chain import Code
from gridwire.reading import Reading

from clients import devices as dc
from clients.client import GridClient, QueryFailedError
from clients.pki import Identity
from clients.rpc import CometRPC
from devices.sim.base import MeteredDevice
from devices.sim.load import HouseholdLoad, LoadConfig
from devices.sim.pv import PvConfig, PvPlant
from tests.integration.conftest import NetFactory
from tests.integration.support import Wallet, assert_same_app_hashes, max_height

pytestmark = pytest.mark.integration

DAY = 86_400
STEP = 900
INTERVALS_PER_TX = 4  # a gateway batch carries an hour of its devices' readings
LEDGER_STEP = 10  # ledger seconds per simulated quarter-hour
ACCEL = STEP // LEDGER_STEP
NAMEPLATE_W = 10_000 * ACCEL  # a 10 kW device on the accelerated clock
PARAMS = {
    "devices.settlement_interval_seconds": LEDGER_STEP,  # genesis may go down to 10 s
    "devices.min_reading_seconds": LEDGER_STEP,
    "devices.future_allowance_seconds": 3_600,  # 97 readings of 10 s end 970 s after the first's start
}


@dataclass
class SimDevice:
    device_id: str
    owner: str
    kind: str
    key: Ed25519PrivateKey
    model: MeteredDevice
    seq: int = 0


def _homes(day_start: int) -> dict[str, list[SimDevice]]:
    """25 devices per community: PV and household meters of two prosumers each."""
    out: dict[str, list[SimDevice]] = {"community-a": [], "community-b": []}
    owners = {"community-a": ["alice", "bob"], "community-b": ["carol", "dave"]}
    for org, names in owners.items():
        for i in range(25):
            owner = names[i % 2]
            seed = (0 if org == "community-a" else 100) + i
            key = Ed25519PrivateKey.from_private_bytes(bytes([seed + 1]) * 32)
            if i % 2 == 0:
                model: MeteredDevice = PvPlant(PvConfig(cloudiness=0.2 + 0.02 * (i % 5)), seed, day_start - STEP)
                kind = "pv"
            else:
                model = HouseholdLoad(LoadConfig(), seed, day_start - STEP)
                kind = "meter"
            out[org].append(SimDevice(f"{org[-1]}-{kind}-{i}", f"{org}/{owner}", kind, key, model))
    return out


def _commit(rpc: CometRPC, raw: bytes) -> None:
    """Broadcast and wait for the commit; every reading of a batch must be accepted."""
    r = rpc.call("broadcast_tx_commit", tx=base64.b64encode(raw).decode())
    assert int(r["check_tx"]["code"]) == 0, r["check_tx"].get("log")
    assert int(r["tx_result"]["code"]) == 0, r["tx_result"].get("log")
    rejected = [
        {a["key"]: a["value"] for a in e["attributes"]}
        for e in r["tx_result"]["events"]
        if e["type"] == "reading_rejected"
    ]
    assert not rejected, rejected[:3]


def _reading_events(rpc: CometRPC, device_id: str) -> int:
    """Accepted readings of a device found through this node's tx index."""
    found = 0
    page = 1
    while True:
        r = rpc.call("tx_search", query=f"reading_accepted.device='{device_id}'", page=str(page), per_page="100")
        for tx in r["txs"]:
            for e in tx["tx_result"]["events"]:
                attrs = {a["key"]: a["value"] for a in e["attributes"]}
                if e["type"] == "reading_accepted" and attrs.get("device") == device_id:
                    found += 1
        if page * 100 >= int(r["total_count"]):
            return found
        page += 1


def _audited(rpc: CometRPC, chain_id: str, auditor: Ed25519PrivateKey, path: str) -> bytes:
    """The value at the private `path` read with the auditor's signed request (b"" when there is none)."""
    try:
        return GridClient(rpc, chain_id, auditor).query_raw(path)
    except QueryFailedError as exc:
        if exc.code == Code.QUERY_NOT_FOUND:
            return b""
        raise


def test_fifty_devices_report_a_day_through_gateways(localnet_factory: NetFactory) -> None:
    net = localnet_factory("devices50", n=4, params=PARAMS)
    c = net.consortium()
    wallet = Wallet(net.chain_id)
    rpcs = [net.rpc(i) for i in range(4)]
    day_start = (int(time.time()) // DAY - 2) * DAY  # a whole simulated day in the past
    homes = _homes(day_start)
    gateways: dict[str, Identity] = {org: c.member(f"{org}/gateway") for org in homes}

    # Each prosumer registers its site and devices, naming its community's gateway.
    for org, devices in homes.items():
        for owner in sorted({d.owner for d in devices}):
            who = c.member(owner)
            site = owner.replace("/", "-")
            msgs: list[Message] = [dc.register_site(site, f"feeder-{org[-1]}", "nl")]
            msgs += [
                dc.register_device(
                    d.device_id,
                    site,
                    d.kind,
                    dc.device_public_key(d.key),
                    NAMEPLATE_W,
                    energy_source="solar" if d.kind == "pv" else "",
                    gateway=gateways[org].address,
                    device_cert=c.device_ca().issue_device_cert(
                        d.device_id, d.kind, dc.device_public_key(d.key), NAMEPLATE_W
                    ),
                )
                for d in devices
                if d.owner == owner
            ]
            _commit(rpcs[0], wallet.sign(who, *msgs))

    # ledger time of a simulated instant: the baseline reading's start (day_start - STEP)
    # maps to the first LEDGER_STEP boundary after the registrations
    base = (int(time.time()) // LEDGER_STEP + 1) * LEDGER_STEP

    def ledger(t_sim: int) -> int:
        return base + (t_sim - (day_start - STEP)) // ACCEL

    # The day: a baseline reading, then 96 quarter-hours, relayed an hour per batch.
    submitted = 0
    for hour in range(-1, 24):
        for org, devices in homes.items():
            readings = []
            for q in range(INTERVALS_PER_TX if hour >= 0 else 1):
                start = day_start + hour * 3600 + q * STEP if hour >= 0 else day_start - STEP
                for d in devices:
                    d.model.advance_to(start + STEP)
                    regs = d.model.registers()
                    d.seq += 1
                    r = Reading(d.device_id, d.seq, ledger(start), ledger(start + STEP), regs.import_wh, regs.export_wh)
                    readings.append(dc.sign_reading(d.key, net.chain_id, r))
            _commit(rpcs[hour % 4], wallet.sign(gateways[org], dc.submit_readings(readings)))
            submitted += len(readings)
    assert submitted == 50 * 97

    # Every node: each device's last sequence, and every accepted reading in its index. Readings are
    # private on the nodes: an auditor reads them with signed read requests.
    auditor = c.member("utility/ops").key
    for i, rpc in enumerate(rpcs):
        for devices in homes.values():
            for d in devices:
                raw = _audited(rpc, net.chain_id, auditor, f"/reading/{d.device_id}")
                assert devices_pb2.ReadingState.FromString(raw).seq == 97, (i, d.device_id)
        for d in (homes["community-a"][0], homes["community-b"][1]):
            assert _reading_events(rpc, d.device_id) == 97, (i, d.device_id)

    # The energy follows the day: a PV exports at noon and not at midnight.
    pv = homes["community-a"][0].device_id
    noon = _audited(rpcs[1], net.chain_id, auditor, f"/energy/{pv}/{ledger(day_start + 12 * 3600)}")
    assert devices_pb2.IntervalEnergy.FromString(noon).export_wh > 0
    midnight = _audited(rpcs[2], net.chain_id, auditor, f"/energy/{pv}/{ledger(day_start)}")
    assert devices_pb2.IntervalEnergy.FromString(midnight).export_wh == 0

    top = max_height(net, range(4))
    assert_same_app_hashes(net, range(4), top - 1)
