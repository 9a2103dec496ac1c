"""Device-signed readings in the benchmark: the signature limit, per-reading app costs,
state bytes per device-day, and a readings load for the localnet.

The signature limit (design.md §6) is what the validators' CPUs can verify at best:
cores × Ed25519 verifies per second per core ÷ validators (every validator verifies every
reading), measured here in the same run. Committed readings per second on the localnet are
set beside half of it (the target).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from google.protobuf.message import Message
from google.protobuf.timestamp_pb2 import Timestamp
from gridwire.contract.devices import READING_ACCEPTED
from gridwire.reading import Reading

from abci_app import crypto
from abci_app.pb import abci
from abci_app.store.sqlite import SQLiteBackend
from clients import devices as dc
from clients.ops.consortium import Consortium
from clients.ops.loadgen import LoadTx, Signer
from tests.support.driver import GENESIS_TIME, AppDriver, BlockResult
from tests.unit.helpers import signed

__all__ = [
    "ReadingsLoad",
    "all_accepted",
    "inprocess_reading_costs",
    "signature_limit",
    "state_bytes_per_device_day",
]

Log = Callable[[str], None]
READING_SECONDS = 60  # each bench reading covers one minute
DEVICES_PREFIXES = (0x20, 0x30)  # the devices domain's key range


def all_accepted(result: BlockResult | abci.ResponseFinalizeBlock, readings: int, what: str) -> None:
    """Raise unless every tx of the block succeeded and it accepted exactly `readings` readings: a
    reading the ledger refuses (say, one from before its device's registration) costs less than
    an accepted one, so a bench that measured refusals would report a figure that is not true."""
    failed = [r.log for r in result.tx_results if r.code]
    if failed:
        raise RuntimeError(f"{what}: {len(failed)} txs failed, e.g. {failed[0]}")
    outcomes: dict[str, int] = {}
    for r in result.tx_results:
        for e in r.events:
            if e.type.startswith("reading_"):
                key = e.type if e.type == READING_ACCEPTED else f"{e.type} ({_attr(e, 'code')}: {_attr(e, 'log')})"
                outcomes[key] = outcomes.get(key, 0) + 1
    if outcomes.get(READING_ACCEPTED, 0) != readings:
        raise RuntimeError(f"{what}: {readings} readings sent, outcomes {outcomes}")


def _attr(event: abci.Event, key: str) -> str:
    return next((a.value for a in event.attributes if a.key == key), "?")


def signature_limit(validators: int = 4, seconds: float = 1.0) -> dict[str, Any]:
    """Ed25519 verifies per second on one core with the app's own verifier, and the limit it
    sets: cores × that ÷ validators."""
    key = Ed25519PrivateKey.generate()
    public = dc.device_public_key(key)
    msgs = [os.urandom(120) for _ in range(500)]
    sigs = [key.sign(m) for m in msgs]
    n = 0
    started = time.process_time()  # CPU seconds: other load on the machine does not count
    while time.process_time() - started < seconds:
        for m, s in zip(msgs, sigs, strict=True):
            if not crypto.verify(public, s, m):
                raise RuntimeError("a valid signature did not verify")
        n += len(msgs)
    per_core = n / (time.process_time() - started)
    cores = os.cpu_count() or 1
    return {
        "verifies_per_core_s": round(per_core),
        "cores": cores,
        "validators": validators,
        "limit_readings_s": round(cores * per_core / validators),
    }


@dataclass
class _Device:
    device_id: str
    key: Ed25519PrivateKey
    seq: int = 0
    register: int = 0


class ReadingsLoad:
    """Members that each own one site with `per_member` meters, and the txs that register them
    and then relay one reading of every device per tx (a gateway batch): consecutive readings
    of `reading_seconds` each from `start` (at or after the devices' registration)."""

    def __init__(
        self,
        chain_id: str,
        members: Sequence[Signer],
        per_member: int,
        start: int,
        *,
        reading_seconds: int = READING_SECONDS,
    ) -> None:
        self.chain_id = chain_id
        self.members = list(members)
        self.start = start
        self.reading_seconds = reading_seconds
        self.devices = [
            [
                _Device(f"b{m}-d{d}", Ed25519PrivateKey.from_private_bytes(bytes([m % 251, d % 251, 7]) * 10 + b"rd"))
                for d in range(per_member)
            ]
            for m in range(len(self.members))
        ]
        self._rr = 0

    def setup_txs(self, per_tx: int = 50) -> list[LoadTx]:
        """Each member registers its site and its meters, `per_tx` messages a tx at most (the
        default max_msgs_per_tx is 64); a member's txs go in nonce order, so its site comes first."""
        out = []
        for i, signer in enumerate(self.members):
            msgs: list[Message] = [dc.register_site(f"bsite-{i}", f"feeder-{i % 4}", "bench")]
            msgs += [
                dc.register_device(d.device_id, f"bsite-{i}", "meter", dc.device_public_key(d.key), 10_000)
                for d in self.devices[i]
            ]
            out += [signer.sign(self.chain_id, msgs[k : k + per_tx], "register") for k in range(0, len(msgs), per_tx)]
        return out

    def batches(self, n: int) -> list[LoadTx]:
        """`n` txs, round robin over the members: one new reading of each of its devices."""
        out = []
        for _ in range(n):
            i = self._rr % len(self.members)
            self._rr += 1
            readings = []
            for d in self.devices[i]:
                start = self.start + d.seq * self.reading_seconds
                d.seq += 1
                d.register += 3
                r = Reading(d.device_id, d.seq, start, start + self.reading_seconds, d.register, 0)
                readings.append(dc.sign_reading(d.key, self.chain_id, r))
            out.append(self.members[i].sign(self.chain_id, [dc.submit_readings(readings)], "readings"))
        return out

    def last_seq(self, member: int, device: int) -> int:
        return self.devices[member][device].seq


def _registered(driver: AppDriver, owner: Any, devices: int, prefix: str) -> list[tuple[str, Ed25519PrivateKey]]:
    keys = [(f"{prefix}-{i}", Ed25519PrivateKey.generate()) for i in range(devices)]
    site = dc.register_site(f"{prefix}-site", "feeder-1", "bench")
    for chunk in range(0, devices, 60):
        msgs: list[Message] = [site] if chunk == 0 else []
        msgs += [
            dc.register_device(d, f"{prefix}-site", "meter", dc.device_public_key(k), 10_000)
            for d, k in keys[chunk : chunk + 60]
        ]
        result = driver.block([signed(driver, owner, *msgs)], check=False)
        if result.codes != (0,):
            raise RuntimeError(f"device setup failed: {result.tx_results[0].log}")
    return keys


def _reading_txs(
    driver: AppDriver, owner: Any, keys: list[tuple[str, Ed25519PrivateKey]], seq: int, start: int, *, per_tx: int
) -> list[bytes]:
    out = []
    for chunk in range(0, len(keys), per_tx):
        readings = [
            dc.sign_reading(k, driver.chain_id, Reading(d, seq, start, start + 900, 10 * seq, 0))
            for d, k in keys[chunk : chunk + per_tx]
        ]
        out.append(signed(driver, owner, dc.submit_readings(readings)))
    return out


def inprocess_reading_costs(
    consortium: Consortium, devices: int, per_tx: int, log: Log, folder: Path | None = None
) -> dict[str, Any]:
    """A validator's CPU per accepted reading on one core: CheckTx (the signatures), then for the
    block ProcessProposal, FinalizeBlock (after CheckTx verified the readings, as on a validator
    that saw them in its mempool) and Commit, on SQLite in `folder` (in memory without one).
    Each device's second reading is measured (its first sets the registers' baseline)."""
    driver = AppDriver(consortium, backend=None if folder is None else SQLiteBackend(folder / "readings.sqlite"))
    driver.block([])
    owner = consortium.member("community-a/alice")
    keys = _registered(driver, owner, devices, "ip")
    registered = driver.time  # readings start at or after their devices' registration
    driver.block([], seconds=900)
    all_accepted(
        driver.block(_reading_txs(driver, owner, keys, 1, registered, per_tx=per_tx), check=False), devices, "baselines"
    )
    driver.block([], seconds=900)
    txs = _reading_txs(driver, owner, keys, 2, registered + 900, per_tx=per_tx)
    app = driver.app
    clock = time.process_time  # CPU seconds of this process, as for the signature limit
    started = clock()
    for raw in txs:
        if app.check_tx(abci.RequestCheckTx(tx=raw, type=abci.NEW)).code != 0:
            raise RuntimeError("a bench readings tx failed CheckTx")
    check_s = clock() - started
    driver.height += 1
    driver.time += 60
    at = Timestamp(seconds=driver.time)
    started = clock()
    proc = abci.RequestProcessProposal(txs=txs, height=driver.height, time=at)
    if app.process_proposal(proc).status != abci.ResponseProcessProposal.ACCEPT:
        raise RuntimeError("the readings block was rejected")
    proposal_s = clock() - started
    started = clock()
    fin = app.finalize_block(abci.RequestFinalizeBlock(txs=txs, height=driver.height, time=at))
    finalize_s = clock() - started
    started = clock()
    app.commit(abci.RequestCommit())
    commit_s = clock() - started
    all_accepted(fin, devices, "measured readings")
    block_s = proposal_s + finalize_s + commit_s
    out = {
        "readings": devices,
        "readings_per_tx": per_tx,
        "backend": "memory" if folder is None else "sqlite",
        "checktx_us_per_reading": round(check_s / devices * 1e6, 1),
        "proposal_us_per_reading": round(proposal_s / devices * 1e6, 1),
        "finalize_us_per_reading": round(finalize_s / devices * 1e6, 1),
        "commit_us_per_reading": round(commit_s / devices * 1e6, 1),
        "block_us_per_reading": round(block_s / devices * 1e6, 1),
        "block_readings_s": round(devices / block_s),
    }
    log(
        f"  readings: CheckTx {out['checktx_us_per_reading']} µs/reading; block "
        f"{out['block_us_per_reading']} µs/reading = ProcessProposal {out['proposal_us_per_reading']} + "
        f"FinalizeBlock {out['finalize_us_per_reading']} + Commit {out['commit_us_per_reading']} ({out['backend']})"
    )
    return out


def state_bytes_per_device_day(consortium: Consortium, devices: int, log: Log) -> dict[str, Any]:
    """Bytes of devices-domain state (keys + values) one device adds in a day of 15-minute
    readings, measured on the committed state of `devices` meters after one simulated day."""
    driver = AppDriver(consortium)
    driver.block([])
    owner = consortium.member("community-a/alice")
    keys = _registered(driver, owner, devices, "sd")

    def size() -> int:
        lo, hi = DEVICES_PREFIXES
        return sum(len(k) + len(v) for k, v in driver.app.state.iter_range(bytes([lo]), bytes([hi])))

    t0 = (GENESIS_TIME // 86_400 + 2) * 86_400  # a day boundary after genesis
    driver.block([], seconds=t0 - driver.time)
    before = size()
    for seq in range(1, 97):
        start = t0 + (seq - 1) * 900
        driver.block([], seconds=start + 900 - driver.time)
        txs = _reading_txs(driver, owner, keys, seq, start, per_tx=100)
        all_accepted(driver.block(txs, check=False), devices, "state-growth readings")
    per_device_day = (size() - before) / devices
    log(f"  state: {per_device_day:,.0f} bytes per device-day (devices domain keys + values, 96 readings)")
    return {"devices": devices, "bytes_per_device_day": round(per_device_day)}
