"""The energy half of the chaos load, and the energy checks made after every fault.

The load is the localnet benchmark's (tests.bench.energy_load.EnergyLoad): the four
prosumers each own a site with a certified, commissioned PV and a meter, and a standing buy
rule; the grid operator has published tariffs and fees. Under faults their workers sign,
besides transfers, gateway batches of device-signed readings (one reading of each device
every READING_SECONDS of block time, each starting where the last ended, the first after
registration), buy and sell orders for the next open interval, rule updates, and resends
of an already accepted reading (which must come back as `reading_duplicate`). The chaos
genesis shortens settlement intervals and certificate periods (GENESIS_PARAMS, like the
demo's accelerated genesis), so intervals clear and settle and certificates are issued
several times a minute.

Checks, on live nodes after every fault (`check_live`):
- readings: the chain's last accepted reading of every device (/reading/<device>) is the
  last one the accepted events of the blocks up to that height name, and no (device, seq)
  was accepted twice;
- certificates: per PV, the Wh issued for every finished period (/cert_issued/<pv>/<hour>)
  sum to the export the PV's accepted readings carry up to the end of the last finished
  period a reading ends at (cumulative registers: last − baseline).
At the end (`check_final`), on the final chain: every reading seen accepted is accepted
exactly once, and every committed resend carries its `reading_duplicate` event.
"""

from __future__ import annotations

import base64
import random
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from google.protobuf.message import Message
from gridledger.devices.v1 import devices_pb2
from gridledger.market.v1 import market_pb2

from abci_app.errors import Code
from abci_app.market.params import next_open_interval
from clients import devices as dc
from clients.ops.loadgen import Signer
from clients.pki import DeviceCA, Identity
from clients.read_request import sign_read_request
from clients.rpc import CometRPC, RPCError
from tests.bench.energy_load import EnergyLoad
from tests.chaos.chain import BlockRecord, parse_rfc3339_ns
from tests.chaos.load import TxRecord, account_nonce
from tests.support.devices import CERTIFIER

__all__ = ["GENESIS_PARAMS", "PROSUMERS", "EnergyDriver", "setup_energy"]

PERIOD = 20  # settlement interval = certificate period, seconds of block time
GATE = 4
GRACE = 12  # certificates.issuance_grace_seconds
READING_SECONDS = 5
GENESIS_PARAMS = {
    "devices.settlement_interval_seconds": PERIOD,
    "devices.min_reading_seconds": READING_SECONDS,
    "market.gate_closure_seconds": GATE,
    "market.settlement_grace_seconds": 8,
    "certificates.period_seconds": PERIOD,
    "certificates.issuance_grace_seconds": GRACE,
}
PROSUMERS = ("community-a/alice", "community-a/bob", "community-b/carol", "community-b/dave")
AUDITOR = "utility/ops"  # reads the devices' private reading state for the checks
DEVICES = 2  # per prosumer: a PV and a meter
# shares of a prosumer's txs that are not due readings (the rest are transfers)
ORDER, RULE, RESEND = 0.2, 0.05, 0.05


@dataclass(frozen=True)
class Accepted:
    height: int
    seq: int
    end: int
    export_wh: int


@dataclass
class EnergyStats:
    readings_signed: int = 0
    readings_accepted: int = 0
    readings_rejected: Counter[int] = field(default_factory=Counter)
    duplicates: int = 0
    cleared: int = 0
    settled: int = 0
    bundles: int = 0
    issued_wh: int = 0
    verified_wh: int = 0  # PV export checked against issued certificates (last check)
    resends_committed: int = 0
    resends_duplicate: int = 0
    lost: list[str] = field(default_factory=list)
    doubled: list[str] = field(default_factory=list)


def _attrs(event: tuple[str, tuple[tuple[str, str], ...]]) -> dict[str, str]:
    return dict(event[1])


class EnergyDriver:
    """Makes the prosumers' energy txs for the load (`make`), follows what the chain accepted
    (`on_block`) and checks it (`check_live`, `check_final`). Thread-safe."""

    def __init__(self, load: EnergyLoad, refs: tuple[str, ...], reader: PrivateReader | None = None) -> None:
        self.load = load
        # households' data (a device's reading state) is private on the nodes: read as an auditor
        self.read = reader or _plain_query
        self.member = {ref: m for m, ref in enumerate(refs)}
        self.device_member = {d.device_id: m for m, ds in enumerate(load.devices) for d in ds}
        self.pvs = [ds[0].device_id for ds in load.devices]
        self.lock = threading.Lock()
        self.sent: dict[tuple[str, int], devices_pb2.SignedReading] = {}
        self.accepted: dict[str, list[Accepted]] = {d: [] for d in self.device_member}
        self.stats = EnergyStats()
        self._issued: dict[str, dict[int, int]] = {pv: {} for pv in self.pvs}  # verified, final
        self._verified_to: dict[str, int] = dict.fromkeys(self.pvs, 0)

    # -- the load ---------------------------------------------------------------------------

    def make(self, name: str, rnd: random.Random) -> tuple[str, list[Message]] | None:
        """The next energy tx of prosumer `name` (kind, messages), or None for a transfer."""
        m = self.member.get(name)
        if m is None:
            return None
        now = int(time.time())
        with self.lock:
            if self.load.next_reading_end(m) <= now - 1:
                msgs = self.load.messages("readings", m, 0)
                for r in msgs[0].readings:  # type: ignore[attr-defined]
                    self.sent[(r.device_id, r.seq)] = r
                    self.stats.readings_signed += 1
                return "readings", msgs
            x = rnd.random()
            if x < ORDER:
                return "order", self.load.messages("order", m, next_open_interval(now + 2, PERIOD, GATE))
            if x < ORDER + RULE and self.load.rule_ids[m]:
                return "rule", self.load.messages("rule", m, 0)
            if x < ORDER + RULE + RESEND:
                resend = self._pick_accepted(m, rnd)
                if resend is not None:
                    return "resend", [dc.submit_readings([resend])]
        return None

    def _pick_accepted(self, m: int, rnd: random.Random) -> devices_pb2.SignedReading | None:
        """An accepted reading of one of `m`'s devices, among its last 50 (an identical resend
        within the device's recent window is a duplicate, never a replay)."""
        device = self.load.devices[m][rnd.randrange(len(self.load.devices[m]))].device_id
        recent = self.accepted[device][-50:]
        if not recent:
            return None
        return self.sent.get((device, rnd.choice(recent).seq))

    # -- following the chain ------------------------------------------------------------------

    def on_block(self, rec: BlockRecord) -> None:
        """Record the block's reading events, clearing, settlement and issuance."""
        with self.lock:
            for tx_events in rec.tx_events:
                for event in tx_events:
                    kind = event[0]
                    if kind == "reading_accepted":
                        a = _attrs(event)
                        device, seq = a["device"], int(a["seq"])
                        if device not in self.accepted:
                            continue
                        history = self.accepted[device]
                        if any(x.seq == seq for x in history[-200:]):
                            self.stats.doubled.append(f"{device} seq {seq} accepted again at height {rec.height}")
                        history.append(Accepted(rec.height, seq, int(a["end"]), int(a["export_wh"])))
                        self.stats.readings_accepted += 1
                    elif kind == "reading_rejected":
                        self.stats.readings_rejected[int(_attrs(event).get("code", "-1"))] += 1
                    elif kind == "reading_duplicate":
                        self.stats.duplicates += 1
            for event in rec.block_events:
                if event[0] == "interval_cleared":
                    self.stats.cleared += 1
                elif event[0] == "interval_settled":
                    self.stats.settled += 1
                elif event[0] == "bundle_issued":
                    self.stats.bundles += 1
                    self.stats.issued_wh += int(_attrs(event).get("wh", "0"))

    # -- checks -------------------------------------------------------------------------------

    def check_live(self, rpc: CometRPC, followed: Callable[[], int]) -> tuple[list[str], str, str]:
        """Readings and certificates on one node against the followed blocks (`followed()` is
        the follower's height). Returns (problems, readings summary, certificates summary)."""
        problems: list[str] = []
        try:
            readings = self._check_readings(rpc, followed, problems)
            certs = self._check_certificates(rpc, followed, problems)
        except RPCError as exc:
            return [], f"not checked ({exc})", "not checked"
        return problems, readings, certs

    def _check_readings(self, rpc: CometRPC, followed: Callable[[], int], problems: list[str]) -> str:
        n = 0
        for device in sorted(self.device_member):
            r = self.read(rpc, f"/reading/{device}")
            code, height = int(r.get("code", 0)), int(r.get("height", 0))
            state = None
            if code == 0:
                state = devices_pb2.ReadingState.FromString(base64.b64decode(r.get("value") or ""))
            elif code != Code.QUERY_NOT_FOUND:
                problems.append(f"/reading/{device} answered code {code}")
                continue
            if not _wait(lambda: followed() >= height, 20.0):  # noqa: B023 - called at once
                problems.append(f"the follower did not reach height {height} to check the readings")
                break
            with self.lock:
                history = [a for a in self.accepted[device] if a.height <= height]
            last = history[-1] if history else None
            chain = None if state is None else (state.seq, state.end, state.export_wh)
            seen = None if last is None else (last.seq, last.end, last.export_wh)
            if chain != seen:
                problems.append(f"{device} at height {height}: chain's last reading {chain}, the blocks say {seen}")
            n += len(history)
        with self.lock:
            doubled = len(self.stats.doubled)
        if doubled:
            problems.append(f"{doubled} readings accepted twice")
        lost = sum(1 for p in problems if "last reading" in p)
        return f"{n} accepted: lost {lost}, doubled {doubled}"

    def _check_certificates(self, rpc: CometRPC, followed: Callable[[], int], problems: list[str]) -> str:
        status = rpc.status()["sync_info"]
        block_time = parse_rfc3339_ns(status["latest_block_time"]) // 1_000_000_000
        total = 0
        for pv in self.pvs:
            with self.lock:
                history = list(self.accepted[pv])
            if len(history) < 2:
                continue
            baseline = history[0]
            ends = [a for a in history[1:] if a.end % PERIOD == 0 and a.end + GRACE + 4 <= block_time]
            if not ends:
                continue
            cut = ends[-1]
            first_hour = baseline.end // PERIOD * PERIOD
            issued = 0
            fresh: dict[int, int] = {}
            for hour in range(first_hour, cut.end, PERIOD):
                if hour < self._verified_to[pv]:
                    issued += self._issued[pv].get(hour, 0)
                    continue
                wh = _u64_query(rpc, f"/cert_issued/{pv}/{hour}")
                fresh[hour] = wh
                issued += wh
            accepted = cut.export_wh - baseline.export_wh
            if issued != accepted:
                problems.append(
                    f"{pv}: {issued} Wh issued for the periods before {cut.end}, its readings exported {accepted} Wh"
                )
                continue
            self._issued[pv].update(fresh)
            self._verified_to[pv] = cut.end
            total += accepted
        self.stats.verified_wh = total
        bad = sum(1 for p in problems if "Wh issued" in p)
        return f"issued = exported {total} Wh" if not bad else f"{bad} PVs differ; issued = exported {total} Wh"

    def check_final(self, blocks: dict[int, BlockRecord], records: list[TxRecord]) -> list[str]:
        """On the final chain: every reading seen accepted is accepted exactly once, and every
        committed resend was answered `reading_duplicate`."""
        problems: list[str] = []
        count: Counter[tuple[str, int]] = Counter()
        by_hash: dict[str, tuple[int, tuple[tuple[str, tuple[tuple[str, str], ...]], ...]]] = {}
        for h in sorted(blocks):
            block = blocks[h]
            for k, tx_hash in enumerate(block.tx_hashes()):
                events = block.tx_events[k] if k < len(block.tx_events) else ()
                by_hash[tx_hash] = (block.codes[k] if k < len(block.codes) else -1, events)
                for event in events:
                    if event[0] == "reading_accepted":
                        a = _attrs(event)
                        count[(a["device"], int(a["seq"]))] += 1
        with self.lock:
            seen = [(d, a.seq) for d, history in self.accepted.items() for a in history]
        lost = [f"{d} seq {s}" for d, s in seen if count[(d, s)] == 0]
        doubled = [f"{d} seq {s} ×{n}" for (d, s), n in sorted(count.items()) if n > 1]
        self.stats.lost += lost
        self.stats.doubled += [x for x in doubled if x not in self.stats.doubled]
        problems += [f"reading lost: {x}" for x in lost[:20]] + [f"reading doubled: {x}" for x in doubled[:20]]
        for r in records:
            if r.kind != "resend" or r.hash not in by_hash:
                continue
            code, events = by_hash[r.hash]
            if code != 0:
                continue
            self.stats.resends_committed += 1
            kinds = [e[0] for e in events if e[0].startswith("reading_")]
            if kinds == ["reading_duplicate"]:
                self.stats.resends_duplicate += 1
            else:
                problems.append(f"resend {r.hash[:16]} ({r.signer} #{r.nonce}) answered {kinds}, not reading_duplicate")
        return problems


PrivateReader = Callable[[CometRPC, str], dict[str, Any]]


def _plain_query(rpc: CometRPC, path: str) -> dict[str, Any]:
    return rpc.abci_query(path)


def auditor_reader(chain_id: str, auditor: Identity) -> PrivateReader:
    """Private paths read as `auditor` (a member holding the auditor role): a read request it
    signs for each query (`/signed/<path>`, clients.read_request), answered like the plain path."""

    def read(rpc: CometRPC, path: str) -> dict[str, Any]:
        signed, data = sign_read_request(auditor.key, chain_id, path)
        return rpc.abci_query(signed, data)

    return read


def _u64_query(rpc: CometRPC, path: str) -> int:
    r = rpc.abci_query(path)
    code = int(r.get("code", 0))
    if code == Code.QUERY_NOT_FOUND:
        return 0
    if code != 0:
        raise RPCError(f"{path} answered code {code}")
    return int.from_bytes(base64.b64decode(r.get("value") or ""), "big")


def _wait(cond: Callable[[], bool], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return True
        time.sleep(0.2)
    return cond()


def setup_energy(
    rpc: CometRPC,
    chain_id: str,
    members: dict[str, Identity],
    device_ca: DeviceCA,
    seed: int,
    *,
    prosumers: tuple[str, ...] = PROSUMERS,
) -> EnergyDriver:
    """Tariffs and fees, the `prosumers`' sites, certified PVs, meters and buy rules, then the
    certifier's commissioning (each tx waited for); readings start at the first reading
    boundary after the commissioning block."""

    def signer(ref: str, lane: int) -> Signer:
        ident = members[ref]
        return Signer.from_identity(ident, lane=lane, nonce=account_nonce(rpc, ident.address))

    load = EnergyLoad(
        chain_id,
        [signer(ref, k) for k, ref in enumerate(prosumers)],
        signer("gridop/control", 100),
        DEVICES,
        0,
        seed,
        supplier=members["utility/treasury"].address,
        device_ca=device_ca,
        certifier=signer(CERTIFIER, 101),
        reading_seconds=READING_SECONDS,
    )
    read = auditor_reader(chain_id, members[AUDITOR])
    height = 0
    for tx in [*load.setup_txs(), *load.commission_txs()]:
        r = rpc.broadcast_commit(tx.raw)
        if r.code != 0:
            raise RuntimeError(f"energy setup ({tx.kind}) failed: {r.code} {r.log}")
        height = r.height or height
    header = rpc.call("header", height=str(height))["header"]
    committed = parse_rfc3339_ns(header["time"]) // 1_000_000_000
    load.readings_start = (committed // READING_SECONDS + 1) * READING_SECONDS
    for m, s in enumerate(load.members):
        value = base64.b64decode(read(rpc, f"/rules/{s.address.hex()}").get("value") or "")
        rules = market_pb2.RuleList.FromString(value).rules
        load.rule_ids[m] = rules[0].rule_id if rules else 0
    return EnergyDriver(load, prosumers, read)
