"""The worst legal block (issue 19): day-long readings up to the block's work budget.

An attacker owns `devices` fresh 1 GW PV devices, gives each a five-minute first reading
(starting after its registration), waits
a day and then sends, for every device, one reading that spans the whole day (the longest a
reading may record), starting off any interval boundary: each writes the most settlement
intervals and production hours a reading can. The txs are packed up to the per-tx work limit;
CheckTx admits them, PrepareProposal takes them up to `max_block_work` (abci_app/work.py)
and the end-block hook issues up to `certificates.max_issuance_per_block` of the device-hours
they made ready. FinalizeBlock + Commit of that block is the worst legal block's time; the
same at the extreme parameters governance may set (the shortest settlement interval and
certificate period, the largest budgets and issuance cap).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from google.protobuf.message import Message
from google.protobuf.timestamp_pb2 import Timestamp
from gridwire.reading import Reading

from abci_app.codec import decode_tx
from abci_app.devices.messages import SubmitReadings
from abci_app.params import DOMAIN_PARAMS, PARAM_BOUNDS, Params, load_params
from abci_app.pb import abci
from abci_app.work import BlockMeter
from clients import devices as dc
from clients.ops.consortium import Consortium
from clients.pki import Identity
from tests.bench.energy import timed_hooks
from tests.bench.readings import all_accepted
from tests.support.devices import CERTIFIER, certify, commission_msgs
from tests.support.driver import AppDriver
from tests.unit.helpers import signed

__all__ = ["EXTREME_PARAMS", "AttackDevices", "worst_block_costs"]

Log = Callable[[str], None]
DAY = 86_400
NAMEPLATE_W = 1_000_000_000
FIRST_SECONDS = 300
ATTACKER = "community-a/alice"
# the most work governance can allow: the shortest settlement interval and certificate period
# it may vote, the largest budgets and issuance cap
EXTREME_PARAMS = {
    "devices.settlement_interval_seconds": DOMAIN_PARAMS["devices.settlement_interval_seconds"].low,
    "certificates.period_seconds": DOMAIN_PARAMS["certificates.period_seconds"].low,
    "certificates.max_issuance_per_block": DOMAIN_PARAMS["certificates.max_issuance_per_block"].high,
    "max_tx_work": PARAM_BOUNDS["max_tx_work"][1],
    "max_block_work": PARAM_BOUNDS["max_block_work"][1],
}


class AttackDevices:
    """`n` fresh 1 GW PV devices of the attacker, each with a five-minute first reading; with
    `certified`, registered with device certificates from the test device CA and commissioned
    by the certifier, so their day of readings is issued (the issuance hook's work counts)."""

    def __init__(
        self, driver: AppDriver, owner: Identity, n: int, prefix: str = "atk", *, certified: bool = False
    ) -> None:
        self.driver = driver
        self.owner = owner
        self.keys = [
            (f"{prefix}-{i}", Ed25519PrivateKey.from_private_bytes(i.to_bytes(4, "big") + b"M" * 28)) for i in range(n)
        ]
        site = f"{prefix}-site"
        for chunk in range(0, n, 60):
            msgs: list[Message] = [dc.register_site(site, "feeder-1", "nl")] if chunk == 0 else []
            registrations = [
                dc.register_device(d, site, "pv", dc.device_public_key(k), NAMEPLATE_W, energy_source="solar")
                for d, k in self.keys[chunk : chunk + 60]
            ]
            msgs += [certify(driver.consortium, m) for m in registrations] if certified else registrations
            result = driver.block([signed(driver, owner, *msgs)])
            if result.codes != (0,):
                raise RuntimeError(f"device setup failed: {result.tx_results[0].log}")
            if certified:
                certifier = driver.consortium.member(CERTIFIER)
                ids = [d for d, _k in self.keys[chunk : chunk + 60]]
                result = driver.block([signed(driver, certifier, *commission_msgs(*ids))])
                if result.codes != (0,):
                    raise RuntimeError(f"commissioning failed: {result.tx_results[0].log}")
        # five minutes from just after registration, ending off every interval boundary
        self.first_end = driver.time + 7 + FIRST_SECONDS
        first = [
            dc.sign_reading(k, driver.chain_id, Reading(d, 1, self.first_end - FIRST_SECONDS, self.first_end, 0, 0))
            for d, k in self.keys
        ]
        txs = [signed(driver, owner, dc.submit_readings(first[c : c + 100])) for c in range(0, n, 100)]
        driver.block([], seconds=60)
        all_accepted(driver.block(txs), n, "first readings")
        driver.block([], seconds=self.first_end + DAY - driver.time)  # a day later

    def day_readings(self) -> list[Any]:
        """One reading per device over the whole day since its first reading."""
        start, end = self.first_end, self.first_end + DAY
        return [
            dc.sign_reading(k, self.driver.chain_id, Reading(d, 2, start, end, 0, 24_000_000)) for d, k in self.keys
        ]

    def txs(self, per_tx: int) -> list[bytes]:
        """The day-long readings, `per_tx` readings per SubmitReadings tx."""
        readings = self.day_readings()
        return [
            signed(self.driver, self.owner, dc.submit_readings(readings[c : c + per_tx]))
            for c in range(0, len(readings), per_tx)
        ]


def worst_block(driver: AppDriver, txs: list[bytes]) -> dict[str, Any]:
    """Run one block of `txs` as an honest node does (CheckTx, PrepareProposal,
    ProcessProposal) and time FinalizeBlock and Commit."""
    app = driver.app
    admitted = [raw for raw in txs if app.check_tx(abci.RequestCheckTx(tx=raw, type=abci.NEW)).code == 0]
    driver.height += 1
    driver.time += 1
    ts = Timestamp(seconds=driver.time)
    prep = abci.RequestPrepareProposal(txs=admitted, max_tx_bytes=22_020_096, height=driver.height)
    prep.time.CopyFrom(ts)
    block_txs = list(app.prepare_proposal(prep).txs)
    proc = abci.RequestProcessProposal(txs=block_txs, height=driver.height)
    proc.time.CopyFrom(ts)
    if app.process_proposal(proc).status != abci.ResponseProcessProposal.ACCEPT:
        raise RuntimeError("the honest proposal was rejected")
    meter = BlockMeter(app.state)
    for raw in block_txs:
        meter.add(decode_tx(raw))
    fin = abci.RequestFinalizeBlock(txs=block_txs, height=driver.height)
    fin.time.CopyFrom(ts)
    c0 = time.process_time()
    t0 = time.perf_counter()
    with timed_hooks() as hooks:
        resp = app.finalize_block(fin)
    t1 = time.perf_counter()
    writes = len(app._block.writes) if app._block is not None else 0
    app.commit(abci.RequestCommit())
    t2 = time.perf_counter()
    c2 = time.process_time()
    readings = sum(
        len(m.readings) for raw in block_txs for m in decode_tx(raw).messages if isinstance(m, SubmitReadings)
    )
    all_accepted(resp, readings, "the worst block's readings")
    issued = sum(1 for e in resp.events if e.type == "bundle_issued")
    return {
        "txs_sent": len(txs),
        "txs_admitted": len(admitted),
        "txs_in_block": len(block_txs),
        "failed": sum(1 for r in resp.tx_results if r.code),
        "readings": readings,
        "work": meter.total,
        "writes": writes,
        "bundles_issued": issued,
        "finalize_ms": round((t1 - t0) * 1000, 1),
        "commit_ms": round((t2 - t1) * 1000, 1),
        "block_ms": round((t2 - t0) * 1000, 1),
        "block_cpu_ms": round((c2 - c0) * 1000, 1),  # this process's CPU time: less sensitive to other load
        "issuance_hook_ms": round(hooks.total("certificates.end_block") * 1000, 1),
    }


def _case(consortium: Consortium, params: dict[str, int] | None, devices: int, log: Log, name: str) -> dict[str, Any]:
    driver = AppDriver(consortium, params=params)
    driver.block([])
    limits: Params = load_params(driver.app.state)
    owner = consortium.member(ATTACKER)
    attack = AttackDevices(driver, owner, devices, certified=True)
    meter = BlockMeter(driver.app.state)
    one = meter.add(decode_tx(attack.txs(1)[0]))  # the work of one day-long reading (and its tx)
    per_tx = max(1, min(500, limits.max_tx_work // one))
    out = worst_block(driver, attack.txs(per_tx))
    out |= {
        "params": name,
        "max_tx_work": limits.max_tx_work,
        "max_block_work": limits.max_block_work,
        "work_per_day_reading": one,
        "readings_per_tx": per_tx,
        "cpu_us_per_work_unit": round(out["block_cpu_ms"] * 1000 / max(1, out["work"]), 2),
    }
    log(
        f"  worst legal block ({name} parameters): {out['readings']} day-long readings in {out['txs_in_block']} txs, "
        f"work {out['work']:,} of {out['max_block_work']:,}, {out['writes']:,} writes, "
        f"{out['bundles_issued']} bundles issued ({out['issuance_hook_ms']} ms): FinalizeBlock {out['finalize_ms']} ms "
        f"+ Commit {out['commit_ms']} ms ({out['block_cpu_ms']} ms CPU)"
    )
    return out


def worst_block_costs(consortium: Consortium, devices: int, log: Log, *, extreme: bool) -> dict[str, Any]:
    """The worst legal block at the default parameters, and (`extreme`) at the extreme ones."""
    out = {"default": _case(consortium, None, devices, log, "default")}
    if extreme:
        out["extreme"] = _case(consortium, EXTREME_PARAMS, devices, log, "extreme")
    return out
