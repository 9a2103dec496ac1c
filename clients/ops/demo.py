"""`make demo`: the household story, end to end on a real 4-validator localnet, in minutes.

It starts its own localnet (under `.demo/`, on free ports, so a running `make localnet` is
left alone) with a bridge per node, the grid operator's OpenADR VTN, and two homes' device
gateways (`python -m devices.gateway`) with their simulated devices speaking real protocols:

- Alice (community-a): rooftop PV and a battery behind SunSpec over Modbus TCP, a household
  meter. Her app offers the PV's forecast surplus on the market.
- Carol (community-b), her neighbour on the same feeder: a household meter, a dryer and a heat
  pump. A standing rule buys her household's energy within a daily budget; a deferrable rule
  asks for the dryer's energy before 18:00 at a price limit.

An accelerated day: one simulated hour per 20-second delivery interval (06:00 to 22:00 in
about five minutes). The devices' day runs 180× faster while readings, orders and settlement
run on the ledger's real block time with real-time energy (simulated energy ÷ 180), so every
rule of the ledger applies unchanged (the genesis shortens the intervals, gate closure and
grace periods). What happens is printed as it happens, from the ledger's own event stream;
the demo ends with each member's statement and Carol's hourly matching score, then stops
everything it started.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import calendar
import contextlib
import json
import math
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grpc
import websockets
from google.protobuf.message import Message
from gridledger.api.v1 import certificates_api_pb2, certificates_api_pb2_grpc, reads_pb2
from gridledger.certificates.v1 import certificates_pb2
from gridledger.devices.v1 import devices_pb2
from gridledger.grid.v1 import grid_pb2
from gridledger.market.v1 import market_pb2

from clients import certificates as cc
from clients import devices as dc
from clients import market as mc
from clients.client import GridClient, TxFailedError
from clients.lightclient import genesis_validator_set_hash
from clients.ops.consortium import TEST_DEVICE_CA, Consortium
from clients.ops.localnet import Localnet, free_base_port
from clients.proof import ProofError
from clients.retirement_export import verify_retirement_export
from clients.rpc import CometRPC
from devices.keys import DeviceKey
from devices.sim.pv import PvConfig, clear_sky_ac_w
from devices.vtn import DR_LEVEL, DrEventSpec, Vtn

__all__ = ["main"]

REPO = Path(__file__).resolve().parent.parent
INTERVAL = 20  # seconds of block time per delivery interval = one simulated hour
SPEED = 3600 / INTERVAL
FIRST_HOUR, LAST_HOUR = 6, 22
CERTIFIER = "certissuer/registry"  # commissions the generators
COMMISSIONING_YEARS = 10
SIM_DAY = calendar.timegm((2026, 6, 21, 0, 0, 0))  # midsummer: a sunny day for the PV
FEEDER = "feeder-north"
GENESIS_PARAMS = {
    "devices.settlement_interval_seconds": INTERVAL,
    "devices.min_reading_seconds": INTERVAL // 2,  # the gateways read every INTERVAL seconds of block time
    "market.gate_closure_seconds": 4,
    "market.settlement_grace_seconds": 8,
    "grid.dr_baseline_days": 1,
    "grid.dr_baseline_period_seconds": 2 * INTERVAL,  # the same device two simulated hours before
    "grid.dr_settlement_grace_seconds": 8,
    "certificates.period_seconds": INTERVAL,  # a certificate's production "hour" = one simulated hour
    "certificates.issuance_grace_seconds": 12,
}
# prices in minor units per kWh (a minor unit here is a hundredth of a cent: 2,500 = €0.25/kWh)
RETAIL, FEED_IN, SHORT, LONG = 3_200, 800, 4_000, 500
FEE_INTRA, FEE_INTER = 100, 300
ALICE_ASK, CAROL_LIMIT, DRYER_LIMIT = 2_000, 2_600, 2_350
CAROL_DAILY_BUDGET, CAROL_NEW_BUDGET = 120, 5_000


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Home:
    name: str
    org: str
    owner: str
    site: str
    devices: list[tuple[str, str, str, dict[str, Any]]]  # (id, ledger kind, gateway adapter line, extra)
    folder: Path = field(default_factory=Path)
    process: subprocess.Popen[bytes] | None = None


class Story:
    """Prints what happens, stamped with the simulated time of day and the block height."""

    def __init__(self) -> None:
        self.t0 = 0.0

    def sim(self, t: float | None = None) -> str:
        if not self.t0:
            return "setup"
        seconds = ((time.time() if t is None else t) - self.t0) * SPEED + FIRST_HOUR * 3600
        return f"{int(seconds // 3600) % 24:02d}:{int(seconds % 3600 // 60):02d}"

    def say(self, text: str, *, at: float | None = None, height: int | None = None) -> None:
        where = f"h{height}" if height else ""
        print(f"[{self.sim(at):>5} {where:>6}] {text}", flush=True)  # noqa: T201


class Demo:
    def __init__(self, home: Path, hours: int) -> None:
        self.home = home
        self.hours = hours
        self.story = Story()
        self.net = Localnet(home / "net", n=4, base_port=free_base_port(4), timeout_commit="500ms")
        self.consortium: Consortium | None = None
        self.clients: dict[str, GridClient] = {}
        self.homes: list[Home] = []
        self.vtn: Vtn | None = None
        self.vtn_queue: asyncio.Queue[DrEventSpec] = asyncio.Queue()
        self.accepted_alerts: set[int] = set()
        self.readings = 0
        self.vtn_port = 0
        self.alerts_seen: dict[tuple[str, str], int] = {}

    # -- helpers ----------------------------------------------------------------------------

    def client(self, ref: str) -> GridClient:
        if ref not in self.clients:
            assert self.consortium is not None
            rpc = CometRPC(f"http://127.0.0.1:{self.net.ports(0).rpc}", timeout=30)
            self.clients[ref] = GridClient(rpc, self.net.chain_id, self.consortium.member(ref).key)
        return self.clients[ref]

    def tx(self, ref: str, *msgs: Message, what: str) -> None:
        try:
            result = self.client(ref).submit(list(msgs))
        except TxFailedError as exc:
            self.story.say(f"{ref}: {what} FAILED: {exc}")
            raise
        self.story.say(f"{ref}: {what}", height=result.height)

    def address(self, ref: str) -> bytes:
        assert self.consortium is not None
        return self.consortium.member(ref).address

    def query(self, path: str) -> bytes:
        r = self.client("gridop/control").rpc.abci_query(path)
        return base64.b64decode(r.get("value") or "") if int(r.get("code", 0)) == 0 else b""

    # -- setup -------------------------------------------------------------------------------

    def start_chain(self) -> None:
        if self.home.exists():
            shutil.rmtree(self.home)
        self.story.say(f"starting a 4-validator localnet in {self.home} (ports from {self.net.base_port})")
        self.net.init(params=GENESIS_PARAMS)
        self.net.start()
        self.net.wait_height(2, timeout=90)
        for i in range(self.net.n):
            self.net.start_bridge(i)
        self.consortium = self.net.consortium()
        self.story.say(f"chain {self.net.chain_id} is up; bridges on {[self.net.ports(i).bridge for i in range(4)]}")

    def grid_operator(self) -> None:
        supplier = self.address("utility/treasury")
        self.tx(
            "gridop/control",
            grid_pb2.SetTariffs(
                supplier=supplier,
                retail_per_kwh=RETAIL,
                feed_in_per_kwh=FEED_IN,
                imbalance_short_per_kwh=SHORT,
                imbalance_long_per_kwh=LONG,
            ),
            grid_pb2.SetGridFees(intra_feeder_per_kwh=FEE_INTRA, inter_feeder_per_kwh=FEE_INTER),
            grid_pb2.SetFeederLimit(feeder=FEEDER, import_wh=400, export_wh=400),
            what=f"grid operator publishes tariffs (retail {RETAIL}, feed-in {FEED_IN}, imbalance {SHORT}/{LONG} "
            f"per kWh), grid fees ({FEE_INTRA} inside a feeder, {FEE_INTER} across) and {FEEDER}'s limits",
        )

    def register_homes(self) -> None:
        sunspec = _free_port()
        self.homes = [
            Home(
                "alice-home",
                "community-a",
                "community-a/alice",
                "alice-home",
                [
                    ("alice-pv", "pv", f'adapter = "sunspec"\nrole = "inverter"\nport = {sunspec}\nunit = 1', {}),
                    (
                        "alice-battery",
                        "battery",
                        (
                            f'adapter = "sunspec"\nrole = "battery"\nport = {sunspec}\nunit = 2\n'
                            "charge_at_or_below = 2100\ndischarge_at_or_above = 2900\nreserve_pct = 20"
                        ),
                        {},
                    ),
                    ("alice-meter", "meter", 'adapter = "sim"\nkind = "load"', {}),
                ],
            ),
            Home(
                "carol-home",
                "community-b",
                "community-b/carol",
                "carol-home",
                [
                    ("carol-meter", "meter", 'adapter = "sim"\nkind = "load"', {}),
                    ("carol-dryer", "appliance", f'adapter = "sim"\nkind = "dryer"\nmax_price = {DRYER_LIMIT}', {}),
                    (
                        "carol-heatpump",
                        "heat_pump",
                        'adapter = "sim"\nkind = "thermostat"\ncheap_at_or_below = 2200',
                        {},
                    ),
                ],
            ),
        ]
        assert self.consortium is not None
        device_ca = self.consortium.device_ca(TEST_DEVICE_CA)  # admitted at genesis
        for h in self.homes:
            h.folder = self.home / h.name
            keys = h.folder / "state" / "keys"
            keys.mkdir(parents=True)
            gateway = self.address(f"{h.org}/gateway")
            msgs: list[Message] = [dc.register_site(h.site, FEEDER, "nl-north")]
            for device_id, kind, _adapter, _extra in h.devices:
                key = DeviceKey.generate()
                key.save(keys / f"{device_id}.pem")
                is_battery = kind == "battery"
                msgs.append(
                    dc.register_device(
                        device_id,
                        h.site,
                        kind,
                        dc.device_public_key(key.private),
                        5_000 if kind in ("pv", "battery") else 10_000,
                        energy_source="solar" if kind == "pv" else "",
                        technology="rooftop-pv" if kind == "pv" else "",
                        commissioning_date=calendar.timegm((2024, 5, 1, 0, 0, 0)),
                        country="NL",
                        grid_region="nl-north",
                        gateway=gateway,
                        capacity_wh=13_500 if is_battery else 0,
                        max_charge_w=5_000 if is_battery else 0,
                        max_discharge_w=5_000 if is_battery else 0,
                        efficiency_bp=9_000 if is_battery else 0,
                        device_cert=device_ca.issue_device_cert(
                            device_id,
                            kind,
                            dc.device_public_key(key.private),
                            5_000 if kind in ("pv", "battery") else 10_000,
                        ),
                    )
                )
            if h.name == "carol-home":  # her flexible loads take part in demand response
                msgs += [grid_pb2.JoinDrProgramme(device_id=d) for d in ("carol-dryer", "carol-heatpump")]
            if h.name == "alice-home":
                msgs.append(dc.battery_rules("alice-battery", 2_100, 2_900, reserve_bp=2_000, green_only=True))
            self.tx(h.owner, *msgs, what=f"registers {h.site} on {FEEDER} and {len(h.devices)} devices")
        # the certifier commissions the devices that deliver energy: only then do they earn
        # certificates and may be named by sell orders (the battery's rules sell too)
        since = calendar.timegm((2024, 5, 1, 0, 0, 0))
        self.tx(
            CERTIFIER,
            dc.commission_device("alice-pv", since, since + COMMISSIONING_YEARS * 365 * 86_400),
            dc.commission_device("alice-battery", since, since + COMMISSIONING_YEARS * 365 * 86_400),
            what=f"commissions alice-pv and alice-battery (certified by the {TEST_DEVICE_CA} CA) "
            f"for {COMMISSIONING_YEARS} years",
        )

    def standing_rules(self, t0: int) -> None:
        carol_site = "carol-home"
        deadline = t0 + (18 - FIRST_HOUR) * INTERVAL
        self.tx(
            "community-b/carol",
            mc.rule(
                "buy",
                limit_price=CAROL_LIMIT,
                site_id=carol_site,
                max_wh_per_interval=30,
                daily_budget=CAROL_DAILY_BUDGET,
            ),
            mc.rule(
                "deferrable",
                limit_price=DRYER_LIMIT,
                site_id=carol_site,
                energy_wh=14,
                deadline=deadline,
                max_wh_per_interval=14,
            ),
            what=f"standing rules: buy ≤ 30 Wh per interval at ≤ {CAROL_LIMIT}/kWh within a daily budget of "
            f"{CAROL_DAILY_BUDGET}; the dryer needs 14 Wh before 18:00 at ≤ {DRYER_LIMIT}/kWh",
        )

    def alice_offers(self, t0: int) -> None:
        """Alice's app offers her PV's forecast (clear sky × 0.6, in real-time Wh) for the sunny hours."""
        curve = clear_sky_ac_w(PvConfig(), SIM_DAY)
        msgs: list[Message] = []
        for hour in range(FIRST_HOUR, min(LAST_HOUR, FIRST_HOUR + self.hours)):
            mean_w = sum(curve[hour * 60 : hour * 60 + 60]) / 60
            wh = int(mean_w * 0.6 * INTERVAL / 3600)
            if wh >= 3:
                msgs.append(mc.sell("alice-pv", t0 + (hour - FIRST_HOUR) * INTERVAL, wh, ALICE_ASK))
        self.tx(
            "community-a/alice", *msgs, what=f"offers her PV forecast in {len(msgs)} intervals at ≥ {ALICE_ASK}/kWh"
        )

    def gateway_config(self, h: Home, launch_sim: float) -> Path:
        assert self.consortium is not None
        DeviceKey(self.consortium.member(f"{h.org}/gateway").key).save(h.folder / "gateway.key.pem")
        bridge = self.net.ports(0 if h.org == "community-a" else 1).bridge
        lines = [
            "[gateway]",
            f'chain_id = "{self.net.chain_id}"',
            'state_dir = "state"',
            f"interval_seconds = {INTERVAL}",
            "batch_size = 50",
            'sink = "grpc"',
            f'bridge = "127.0.0.1:{bridge}"',
            'gateway_key = "gateway.key.pem"',
            'ocpp_listen = "127.0.0.1:0"',
            f'vtn_url = "http://127.0.0.1:{self.vtn_port}/OpenADR2/Simple/2.0b"',
            f'ven_name = "{h.name}"',
            "",
            "[simulation]",
            f"seed = {7 if h.org == 'community-a' else 11}",
            f"speed = {SPEED}",
            f"start = {int(launch_sim)}",
            "real_time_ledger = true",
            "",
        ]
        for device_id, _kind, adapter, _extra in h.devices:
            lines += ["[[device]]", f'id = "{device_id}"', adapter, ""]
        path = h.folder / "gateway.toml"
        path.write_text("\n".join(lines))
        return path

    def start_gateways(self, t0: int) -> None:
        for h in self.homes:
            launch_sim = SIM_DAY + FIRST_HOUR * 3600 - (t0 - time.time()) * SPEED
            config = self.gateway_config(h, launch_sim)
            log = (h.folder / "gateway.log").open("ab")
            h.process = subprocess.Popen(
                [sys.executable, "-m", "devices.gateway", "--config", str(config)],
                cwd=h.folder,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
            self.story.say(
                f"{h.name}: gateway started ({', '.join(d[0] for d in h.devices)}); log {h.folder}/gateway.log"
            )

    # -- the ledger's event stream -----------------------------------------------------------------

    async def follow(self) -> None:
        """Print the story from the node's NewBlock events (block and tx events)."""
        url = f"ws://127.0.0.1:{self.net.ports(0).rpc}/websocket"
        async for ws in websockets.connect(url, max_size=64 * 2**20):
            try:
                q = {"jsonrpc": "2.0", "id": 1, "method": "subscribe", "params": {"query": "tm.event='NewBlock'"}}
                await ws.send(json.dumps(q))
                async for raw in ws:
                    msg = json.loads(raw)
                    value = (msg.get("result") or {}).get("data", {}).get("value")
                    if value:
                        await self.on_block(value)
            except websockets.ConnectionClosed:
                continue

    async def on_block(self, value: dict[str, Any]) -> None:
        height = int(value["block"]["header"]["height"])
        result = value.get("result_finalize_block") or {}
        events = list(result.get("events") or [])
        for tx in result.get("tx_results") or []:
            events.extend(tx.get("events") or [])
        for e in events:
            attrs = {a["key"]: a["value"] for a in e.get("attributes") or []}
            await self.on_event(e["type"], attrs, height)

    async def on_event(self, kind: str, a: dict[str, str], height: int) -> None:
        say = self.story.say
        if kind == "reading_accepted":
            self.readings += 1
        elif kind == "reading_rejected":
            say(f"reading of {a.get('device')} seq {a.get('seq')} rejected: {a.get('reason')}", height=height)
        elif kind == "interval_cleared":
            interval = int(a["interval"])
            say(
                f"market cleared the interval at {self.story.sim(interval)}: {a['total_wh']} Wh traded, "
                f"pool price {a['pool_price']}/kWh ({a['orders']} orders)",
                height=height,
            )
            price = int(a["pool_price"]) or self._local_price(interval)
            if price:
                await self.vtn_queue.put(
                    DrEventSpec(f"price-{interval}", interval, INTERVAL, price, "ELECTRICITY_PRICE")
                )
        elif kind == "alert":
            key = (a["rule_id"], a["reason"])
            self.alerts_seen[key] = self.alerts_seen.get(key, 0) + 1
            if self.alerts_seen[key] > 1 and a["reason"] != "budget_spent":
                return
            say(
                f"ALERT for {self._who(a['owner'])}: {a['reason']} (interval at {self.story.sim(int(a['interval']))}, "
                f"best price {a['best_price']}/kWh)",
                height=height,
            )
            alert_id = int(a["alert_id"])
            if a["reason"] == "budget_spent" and alert_id not in self.accepted_alerts:
                self.accepted_alerts.add(alert_id)
                await asyncio.to_thread(
                    self.tx,
                    "community-b/carol",
                    mc.accept_terms(alert_id, CAROL_NEW_BUDGET),
                    what=f"accepts new terms for alert {alert_id}: daily budget {CAROL_NEW_BUDGET}",
                )
        elif kind == "interval_settled":
            say(
                f"settled the interval at {self.story.sim(int(a['interval']))} from the meters: {a['members']} "
                f"statements, {a['paid']} paid; {a.get('certificates_wh', 0)} Wh of certificates moved with "
                "the energy (delivery versus payment)",
                height=height,
            )
        elif kind == "bundle_issued":
            say(
                f"certificate bundle #{a.get('bundle')}: {a.get('wh')} Wh of {a.get('device')} "
                f"({'storage, ' if a.get('storage') else ''}produced {self.story.sim(int(a.get('hour', 0)))}) "
                f"to {self._who(a.get('owner', ''))}",
                height=height,
            )
        elif kind == "bundle_transferred":
            say(
                f"certificates move: {a.get('wh', '?')} Wh from {self._who(a.get('sender', ''))} "
                f"to {self._who(a.get('to', ''))}",
                height=height,
            )
        elif kind == "bundle_retired":
            say(f"certificates retired: {a.get('wh', '?')} Wh for {self._who(a.get('beneficiary', ''))}", height=height)
        elif kind == "dr_event":
            say(
                f"demand-response event {a['event_id']} on {a['feeder']}: {self.story.sim(int(a['start']))}–"
                f"{self.story.sim(int(a['end']))}, reduce {a['requested_reduction_wh']} Wh, "
                f"{a['reward_per_kwh']}/kWh reduced",
                height=height,
            )
            await self.vtn_queue.put(
                DrEventSpec(a["event_id"], int(a["start"]), int(a["end"]) - int(a["start"]), DR_LEVEL, "simple")
            )
        elif kind == "dr_rewarded":
            say(
                f"demand response measured for {a['device']}: baseline {a['baseline_wh']} Wh, actual "
                f"{a['actual_wh']} Wh → reward {a['reward']}",
                height=height,
            )
        elif kind == "hook_failed":
            say(f"a block hook failed: {a}", height=height)

    def _local_price(self, interval: int) -> int:
        raw = self.query(f"/clearing/{interval}")
        if not raw:
            return 0
        result = market_pb2.ClearingResult.FromString(raw)
        return max((f.local_price for f in result.feeders if f.local_cleared), default=0)

    def _who(self, address_hex: str) -> str:
        assert self.consortium is not None
        for ref, ident in self.consortium.members.items():
            if ident.address.hex() == address_hex:
                return ref.split("/")[1]
        return address_hex[:8]

    async def vtn_source(self) -> AsyncIterator[DrEventSpec]:
        while True:
            yield await self.vtn_queue.get()

    # -- the day -----------------------------------------------------------------------------------

    async def day(self, t0: int) -> None:
        end_hour = min(LAST_HOUR, FIRST_HOUR + self.hours)
        dr_hour = min(end_hour - 2, 18)
        for hour in range(FIRST_HOUR, end_hour):
            start = t0 + (hour - FIRST_HOUR) * INTERVAL
            await asyncio.sleep(max(0.0, start - time.time()))
            if hour > FIRST_HOUR:
                await asyncio.to_thread(self.hour_report, start - INTERVAL)
            if hour == dr_hour - 1:  # after the baseline hour (two hours before) was reported
                await asyncio.to_thread(self.publish_dr, t0 + (dr_hour - FIRST_HOUR) * INTERVAL)
        await asyncio.sleep(max(0.0, t0 + (end_hour - FIRST_HOUR) * INTERVAL + 3 - time.time()))
        await asyncio.to_thread(self.hour_report, t0 + (end_hour - FIRST_HOUR - 1) * INTERVAL)

    def publish_dr(self, start: int) -> None:
        self.tx(
            "gridop/control",
            grid_pb2.PublishDrEvent(
                event_id="evening-peak",
                feeder=FEEDER,
                start=start,
                end=start + INTERVAL,
                requested_reduction_wh=20,
                reward_per_kwh=20_000,
            ),
            what="grid operator publishes a demand-response event for the evening peak",
        )
        self.tx(
            "community-b/carol",
            grid_pb2.EnrolDr(event_id="evening-peak", device_id="carol-dryer"),
            grid_pb2.EnrolDr(event_id="evening-peak", device_id="carol-heatpump"),
            what="enrols her dryer and heat pump in the event",
        )

    def hour_report(self, interval: int) -> None:
        """What the meters said about an interval that has just ended."""
        time.sleep(3)  # the gateways report at the interval's end

        def energy(device: str) -> tuple[int, int]:
            raw = self.query(f"/energy/{device}/{interval}")
            e = devices_pb2.IntervalEnergy.FromString(raw) if raw else devices_pb2.IntervalEnergy()
            return int(e.import_wh), int(e.export_wh)

        pv = energy("alice-pv")[1]
        soc = ""
        raw = self.query("/battery/alice-battery")
        if raw:
            view = devices_pb2.BatteryView.FromString(raw)
            soc = f", battery {view.soc_mwh // 1000} Wh"
        dryer = energy("carol-dryer")[0]
        self.story.say(
            f"meters for {self.story.sim(interval)}: Alice's PV exported {pv} Wh{soc}; Carol used "
            f"{energy('carol-meter')[0]} Wh, dryer {dryer} Wh{' (running)' if dryer else ' (deferred or idle)'}, "
            f"heat pump {energy('carol-heatpump')[0]} Wh  [{self.readings} readings accepted so far]",
            at=interval + INTERVAL,
        )

    # -- the end -----------------------------------------------------------------------------------

    def retire_and_report(self, t0: int, end: int) -> None:
        carol = self.address("community-b/carol")
        raw = self.query(f"/bundles/owner/{carol.hex()}?limit=100")
        bundles = certificates_pb2.BundleList.FromString(raw).bundles if raw else []
        retired = 0
        msgs: list[Message] = []
        for b in bundles:
            if b.status == certificates_pb2.BUNDLE_STATUS_ACTIVE:
                wh = b.end_wh - b.start_wh
                period = (b.hour_start, b.hour_start + INTERVAL)
                msgs.append(cc.retire(b.bundle_id, wh, carol, period, "household consumption"))
                retired += wh
        if msgs:
            self.tx("community-b/carol", *msgs[:60], what=f"retires {retired} Wh of certificates for her home")
        repeated = {k: n for k, n in self.alerts_seen.items() if n > 1}
        for (rule, reason), n in sorted(repeated.items()):
            self.story.say(f"(rule {rule} raised {reason} in {n} intervals in all; shown once above)")
        self.story.say("statements (minor units; Wh):")
        for ref in ("community-a/alice", "community-b/carol", "utility/treasury", "gridop/control"):
            totals: dict[str, int] = {}
            for interval in range(t0, end, INTERVAL):
                raw = self.query(f"/statement/{self.address(ref).hex()}/{interval}")
                if raw:
                    st = market_pb2.Statement.FromString(raw)
                    for f, v in st.ListFields():
                        if isinstance(v, int):
                            totals[f.name] = totals.get(f.name, 0) + v
            balance = int.from_bytes(self.query(f"/balance/{self.address(ref).hex()}"), "big")
            parts = ", ".join(f"{k} {v}" for k, v in sorted(totals.items()) if k != "interval_start" and v)
            self.story.say(f"  {ref}: balance {balance}; {parts or 'no market activity'}")
        self.story.say(f"Carol retired {retired} Wh of certificates; her hourly matching (consumption vs claims):")
        for hour in range(t0, end, INTERVAL):
            raw = self.query(f"/matching/{carol.hex()}/{hour}")
            if raw:
                m = certificates_pb2.Matching.FromString(raw)
                self.story.say(
                    f"  {self.story.sim(hour)}: consumed {m.consumption_wh} Wh, claimed {m.claimed_wh} Wh → "
                    f"{m.covered_bp / 100:.1f} % covered by local solar",
                    at=hour,
                )
        self.audit_a_retirement(carol)
        raw = self.query(f"/score/{carol.hex()}/{t0}/{end}")
        if raw:
            score = certificates_pb2.Score.FromString(raw)
            self.story.say(f"Carol's 24/7 score over the day: {score.score_bp / 100:.1f} %")

    def audit_a_retirement(self, carol: bytes) -> None:
        """An auditor exports one of Carol's retirements through a bridge (the record, its
        Merkle proof and the signed header) and checks it offline against the genesis
        validator set, trusting no node."""
        answer = self.client("gridop/control").rpc.abci_query(f"/bundles/owner/{carol.hex()}?limit=100")
        raw = base64.b64decode(answer.get("value") or "") if int(answer.get("code", 0)) == 0 else b""
        bundles = certificates_pb2.BundleList.FromString(raw).bundles if raw else []
        retired = [b.retirement_id for b in bundles if b.retirement_id]
        if not retired:
            return
        # the auditor asks another node's bridge: it must have committed the block we read from
        self.net.wait_height(int(answer.get("height", 0)), [2], timeout=60)
        channel = grpc.insecure_channel(f"127.0.0.1:{self.net.ports(2).bridge}")
        try:
            stub = certificates_api_pb2_grpc.CertificatesApiStub(channel)  # type: ignore[no-untyped-call]
            export = stub.ExportRetirement(reads_pb2.ByNumber(id=retired[0]), timeout=30)
        finally:
            channel.close()
        offline = certificates_api_pb2.RetirementExport.FromString(export.SerializeToString())
        genesis = json.loads((self.net.node_home(0) / "config" / "genesis.json").read_text())
        trusted = genesis_validator_set_hash(genesis)
        try:
            record = verify_retirement_export(offline, trusted)
            verdict = f"verifies offline ({record.wh} Wh for {self._who(record.beneficiary.hex())})"
        except ProofError as exc:
            verdict = f"does NOT verify: {exc}"
        self.story.say(
            f"auditor: retirement #{retired[0]} exported with its Merkle proof and the header signed by "
            f"the validators (block {offline.height + 1}): {verdict}"
        )

    # -- run -----------------------------------------------------------------------------------------

    async def run(self) -> int:
        self.start_chain()
        self.vtn_port = _free_port()
        self.vtn = Vtn("127.0.0.1", self.vtn_port, self.vtn_source)
        await self.vtn.start()
        self.story.say(f"grid operator's OpenADR VTN on 127.0.0.1:{self.vtn_port}")
        follower = asyncio.create_task(self.follow())
        try:
            await asyncio.to_thread(self.grid_operator)
            await asyncio.to_thread(self.register_homes)
            registered = time.time()  # every device's registration block time is at or before now
            t0 = (int(time.time()) + 25) // INTERVAL * INTERVAL + INTERVAL
            await asyncio.to_thread(self.standing_rules, t0)
            await asyncio.to_thread(self.alice_offers, t0)
            # a reading may not start before its device's registration, and a gateway's first
            # reading covers the interval it starts in: start them once an interval has begun
            # after the registrations (still before t0)
            first = math.ceil(registered / INTERVAL) * INTERVAL
            await asyncio.sleep(max(0.0, first - time.time()))
            self.start_gateways(t0)
            self.story.t0 = t0
            self.story.say(f"the simulated day starts at block time {t0} (one simulated hour per {INTERVAL} s)")
            await self.day(t0)
            end = t0 + (min(LAST_HOUR, FIRST_HOUR + self.hours) - FIRST_HOUR) * INTERVAL
            await asyncio.sleep(max(0.0, end + 40 - time.time()))  # settlement grace, late readings, issuance
            await asyncio.to_thread(self.retire_and_report, t0, end)
            top = max(h for h in (self.net.height(i) for i in range(4)) if h is not None)
            hashes = self.net.app_hashes(top - 1)
            agree = len(set(hashes.values())) == 1
            self.story.say(f"all 4 validators agree on the app hash at height {top - 1}: {agree}")
            return 0 if agree else 1
        finally:
            follower.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await follower
            if self.vtn is not None:
                with contextlib.suppress(Exception):
                    await self.vtn.stop()
            self.stop()

    def stop(self) -> None:
        for h in self.homes:
            if h.process is not None and h.process.poll() is None:
                h.process.send_signal(signal.SIGTERM)
                try:
                    h.process.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    h.process.kill()
        self.net.stop()
        self.story.say("stopped everything the demo started")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m clients.ops.demo", description=__doc__.split("\n")[0])
    parser.add_argument("--home", type=Path, default=REPO / ".demo", help="where the demo keeps its chain and homes")
    parser.add_argument("--hours", type=int, default=LAST_HOUR - FIRST_HOUR, help="simulated hours from 06:00")
    args = parser.parse_args(argv)
    demo = Demo(args.home, max(4, args.hours))
    return asyncio.run(demo.run())


if __name__ == "__main__":
    sys.exit(main())
