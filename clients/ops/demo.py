"""`make demo`: the household story, end to end on a real 4-validator localnet, in minutes.

It starts its own localnet (under `.demo/`, on free ports, so a running `make localnet` is
left alone) with a bridge per node, the grid operator's OpenADR VTN, and two homes' device
gateways (`python -m devices.gateway`) with their simulated devices speaking real protocols:

- Alice (community-a): rooftop PV and a battery behind SunSpec over Modbus TCP, a household
  meter and an EV charger over OCPP. Her gateway posts the PV's and the household's forecasts
  (pvlib clear sky, the load profile) every interval; her standing sell rule offers the PV's
  forecast surplus (anything the neighbours do not take goes to the upstream grid at the
  feed-in price); her battery's own rules (SetBatteryRules) buy at or below one price and
  sell at or above another, within its state of charge and power, so it charges from the
  midday surplus and discharges into the evening peak. Her car is plugged in at 10:00 and
  the finished session claims her certificates of its hours ("charged with X % local solar").
- Carol (community-b), her neighbour on the same feeder: a household meter, a dryer and a heat
  pump. A standing rule buys her household's forecast need within a daily budget; a deferrable
  rule asks for the dryer's energy before 18:00 at a price limit.
- The grid operator closes the feeder's export at noon (SetFeederLimit): the clearing curtails
  Alice's surplus, the ledger instructs her site (`grid_instruction`), her gateway caps the
  inverter over Modbus and her next readings stay within the cap.

An accelerated day: one simulated hour per 20-second delivery interval (06:00 to 22:00 in
about five minutes). The devices' day runs 180× faster while readings, orders and settlement
run on the ledger's real block time with real-time energy (simulated energy ÷ 180), so every
rule of the ledger applies unchanged (the genesis shortens the intervals, gate closure and
grace periods). Energy is printed in the simulated household's kWh (the ledger's real-time
Wh × 180). What happens is printed as it happens, from the ledger's own events and queries;
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
from gridledger.forecasts.v1 import forecasts_pb2
from gridledger.grid.v1 import grid_pb2
from gridledger.market.v1 import market_pb2
from gridwire.contract.accounts import Paths as Accounts
from gridwire.contract.certificates import Paths as Certificates
from gridwire.contract.chain import Code
from gridwire.contract.devices import Paths as Devices
from gridwire.contract.forecasts import Paths as Forecasts
from gridwire.contract.market import Paths as Market
from gridwire.contract.paths import page_suffix

from clients import certificates as cc
from clients import devices as dc
from clients import market as mc
from clients import session_claim
from clients.client import GridClient, TxFailedError
from clients.lightclient import genesis_validator_set_hash
from clients.ops.consortium import TEST_DEVICE_CA, Consortium
from clients.ops.localnet import Localnet, free_base_port
from clients.proof import ProofError
from clients.read_request import sign_read_request
from clients.retirement_export import verify_retirement_export
from clients.rpc import CometRPC
from clients.servers.dashboard.launch import PORT_OFFSET, dashboard_url, start_dashboard
from devices.keys import DeviceKey
from devices.outbox import Outbox
from devices.vtn import DR_LEVEL, DrEventSpec, Vtn

__all__ = ["main"]

REPO = Path(__file__).resolve().parents[2]
INTERVAL = 20  # seconds of block time per delivery interval = one simulated hour
SPEED = 3600 / INTERVAL
FIRST_HOUR, LAST_HOUR = 6, 22
NOON = 12  # the hour whose interval the grid operator closes the feeder's export for
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
    "forecasts.lock_seconds": 4,  # a forecast is fixed at gate closure
    "forecasts.error_grace_seconds": 8,  # the forecast error is scored with settlement
}
# prices in minor units per kWh (a minor unit here is a hundredth of a cent: 2,500 = €0.25/kWh)
RETAIL, FEED_IN, SHORT, LONG = 3_200, 800, 4_000, 500
FEE_INTRA, FEE_INTER = 100, 300
ALICE_ASK, CAROL_LIMIT, DRYER_LIMIT = FEED_IN, 2_600, 2_350
CAROL_DAILY_BUDGET, CAROL_NEW_BUDGET = 15, 5_000
CHARGE_AT, DISCHARGE_AT, RESERVE_PCT = 2_100, 2_400, 20  # Alice's battery rules (on the ledger and at home)
BATTERY_KWH, EV_NEED_KWH = 13.5, 7
# The ledger's Wh are real-time energy (simulated ÷ SPEED): a battery of 13.5 kWh holds 75 of them
BATTERY_WH = round(BATTERY_KWH * 1000 / SPEED)


def kwh(wh: float) -> str:
    """Ledger Wh (real-time energy) as the simulated household's kWh."""
    return f"{wh * SPEED / 1000:.1f} kWh"


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

    def __init__(self, first_hour: int = FIRST_HOUR) -> None:
        self.t0 = 0.0
        self.first_hour = first_hour

    def sim(self, t: float | None = None) -> str:
        if not self.t0:
            return "setup"
        seconds = ((time.time() if t is None else t) - self.t0) * SPEED + self.first_hour * 3600
        return f"{int(seconds // 3600) % 24:02d}:{int(seconds % 3600 // 60):02d}"

    def say(self, text: str, *, at: float | None = None, height: int | None = None) -> None:
        where = f"h{height}" if height else ""
        print(f"[{self.sim(at):>5} {where:>6}] {text}", flush=True)  # noqa: T201


class Demo:
    def __init__(self, home: Path, hours: int, start_hour: int = FIRST_HOUR) -> None:
        self.home = home
        self.hours = hours
        self.first_hour = start_hour
        self.story = Story(start_hour)
        self.net = Localnet(home / "net", n=4, base_port=free_base_port(4), timeout_commit="500ms")
        self.consortium: Consortium | None = None
        self.clients: dict[str, GridClient] = {}
        self.homes: list[Home] = []
        self.vtn: Vtn | None = None
        self.dashboard: subprocess.Popen[bytes] | None = None
        self.vtn_queue: asyncio.Queue[DrEventSpec] = asyncio.Queue()
        self.accepted_alerts: set[int] = set()
        self.readings = 0
        self.vtn_port = 0
        self.alerts_seen: dict[tuple[str, str], int] = {}
        self.soc_wh: int | None = None  # Alice's battery at the last report
        self.caps: dict[int, int] = {}  # interval → Alice's site's export cap (W), from grid_instruction
        self.forecasts_seen: set[str] = set()
        self.battery_orders: dict[int, list[int]] = {}  # interval → ids of alice-battery's orders
        self.next_order = 1  # the next order id not read yet (ids count up from 1)

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

    def query(self, path: str, reader: str = "gridop/control") -> bytes:
        """The value at `path` (b"" when absent or refused), read as member `reader`. The nodes keep
        households' data private, so a private path is asked again as a read request signed by the
        reader's key: a member reads its own; the grid operator's control member is also the demo's
        auditor, which reads the rest (devices' energy, batteries, fills, forecast errors)."""
        client = self.client(reader)
        r = client.rpc.abci_query(path)
        if int(r.get("code", 0)) == Code.QUERY_PRIVATE and client.key is not None:
            signed, data = sign_read_request(client.key, client.chain_id, path)
            r = client.rpc.abci_query(signed, data)
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
        rpcs = [f"http://127.0.0.1:{self.net.ports(i).rpc}" for i in range(self.net.n)]
        log = self.net.home / "logs" / "dashboard.log"
        log.parent.mkdir(parents=True, exist_ok=True)
        self.dashboard = start_dashboard(rpcs, self.net.base_port + PORT_OFFSET, log, label=str(self.home))
        self.story.say(f"watch the day in a browser: {dashboard_url(self.net.base_port)}")

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
                    (
                        "alice-pv",
                        "pv",
                        (
                            f'adapter = "sunspec"\nrole = "inverter"\nport = {sunspec}\nunit = 1\n'
                            'forecast = "pv"\nnameplate_w = 5000'
                        ),
                        {},
                    ),
                    (
                        "alice-battery",
                        "battery",
                        (
                            f'adapter = "sunspec"\nrole = "battery"\nport = {sunspec}\nunit = 2\n'
                            f"charge_at_or_below = {CHARGE_AT}\ndischarge_at_or_above = {DISCHARGE_AT}\n"
                            f"reserve_pct = {RESERVE_PCT}\ninitial_soc_pct = 60"
                        ),
                        {},
                    ),
                    (
                        "alice-meter",
                        "meter",
                        'adapter = "sim"\nkind = "load"\nforecast = "load"\nnameplate_w = 10000',
                        {},
                    ),
                    (
                        "alice-ev",
                        "ev_charger",
                        (
                            'adapter = "ocpp"\ncharge_point_id = "alice-ev"\n'
                            f"max_price = {CHARGE_AT}\narrive_hour = 10.0\ndepart_hour = 15.0\n"
                            f"need_wh = {EV_NEED_KWH * 1000}"
                        ),
                        {},
                    ),
                ],
            ),
            Home(
                "carol-home",
                "community-b",
                "community-b/carol",
                "carol-home",
                [
                    (
                        "carol-meter",
                        "meter",
                        'adapter = "sim"\nkind = "load"\nforecast = "load"\nnameplate_w = 10000',
                        {},
                    ),
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
                        capacity_wh=BATTERY_WH if is_battery else 0,
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
        deadline = t0 + (18 - self.first_hour) * INTERVAL
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

    def alice_rules(self) -> None:
        """Alice's standing rules: her PV's forecast surplus is offered (less a 10 % margin) at the
        feed-in price, so what the neighbours do not take goes upstream; her battery charges at
        or below one price and discharges at or above another, keeping a reserve."""
        self.tx(
            "community-a/alice",
            mc.rule("sell", device_id="alice-pv", limit_price=ALICE_ASK, margin_bp=1_000),
            dc.battery_rules("alice-battery", CHARGE_AT, DISCHARGE_AT, reserve_bp=RESERVE_PCT * 100),
            what=f"standing rules: sell alice-pv's forecast surplus (less 10 %) at ≥ {ALICE_ASK}/kWh; "
            f"alice-battery ({BATTERY_KWH} kWh) charges at ≤ {CHARGE_AT}/kWh, discharges at ≥ {DISCHARGE_AT}/kWh, "
            f"keeps {RESERVE_PCT} % in reserve",
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
            'signals = "both"',  # prices and DR events from the VTN and the bridge, the grid's instructions
            f'owner = "{self.address(h.owner).hex()}"',
            f'feeder = "{FEEDER}"',
            f'site = "{h.site}"',
            "forecast_intervals = 3",
            f"forecast_lock_seconds = {GENESIS_PARAMS['forecasts.lock_seconds']}",
        ]
        if h.name == "alice-home":  # her finished EV sessions claim her certificates of their hours
            DeviceKey(self.consortium.member(h.owner).key).save(h.folder / "owner.key.pem")
            lines += [
                "claim_certificates = true",
                'owner_key = "owner.key.pem"',
                f'node_rpc = "http://127.0.0.1:{self.net.ports(0).rpc}"',
            ]
        lines += [
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
            launch_sim = SIM_DAY + self.first_hour * 3600 - (t0 - time.time()) * SPEED
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
                f"market cleared the interval at {self.story.sim(interval)}: {kwh(int(a['total_wh']))} traded, "
                f"pool price {a['pool_price']}/kWh ({a['orders']} orders){self._feeder_text(interval)}",
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
        elif kind == "grid_instruction":
            interval, cap = int(a["interval"]), a["export_cap_w"]
            if a["site"] == "alice-home" and cap != "unlimited":
                self.caps[interval] = int(cap)
            say(
                f"GRID INSTRUCTION for {a['site']} over {self.story.sim(interval)}–"
                f"{self.story.sim(int(a['interval_end']))}: export cap {cap} W, import cap {a['import_cap_w']} W "
                f"({a['reason']}); the home's gateway holds its inverter to it over Modbus",
                height=height,
            )
        elif kind == "forecast_posted":
            if a["device"] not in self.forecasts_seen:
                self.forecasts_seen.add(a["device"])
                say(
                    f"{a['device']}'s gateway posts its forecast every interval, first for "
                    f"{self.story.sim(int(a['first_interval']))}: {kwh(int(a['export_wh']))} export, "
                    f"{kwh(int(a['import_wh']))} import over the next {a['intervals']} hours",
                    height=height,
                )
        elif kind == "interval_settled":
            say(
                f"settled the interval at {self.story.sim(int(a['interval']))} from the meters: {a['members']} "
                f"statements, {a['paid']} paid; {kwh(int(a.get('certificates_wh', 0)))} of certificates moved "
                "with the energy (delivery versus payment)",
                height=height,
            )
        elif kind == "bundle_issued":
            say(
                f"certificate bundle #{a.get('bundle')}: {kwh(int(a.get('wh', 0)))} of {a.get('device')} "
                f"({'storage, ' if a.get('storage') else ''}produced {self.story.sim(int(a.get('hour', 0)))}) "
                f"to {self._who(a.get('owner', ''))}",
                height=height,
            )
        elif kind == "bundle_transferred":
            say(
                f"certificates move: {kwh(int(a.get('wh', 0)))} from {self._who(a.get('sender', ''))} "
                f"to {self._who(a.get('to', ''))}",
                height=height,
            )
        elif kind == "bundle_retired":
            purpose = a.get("purpose", "")
            say(
                f"certificates retired: {kwh(int(a.get('wh', 0)))} for {self._who(a.get('beneficiary', ''))}"
                + (f" ({purpose})" if purpose else ""),
                height=height,
            )
        elif kind == "dr_event":
            say(
                f"demand-response event {a['event_id']} on {a['feeder']}: {self.story.sim(int(a['start']))}–"
                f"{self.story.sim(int(a['end']))}, reduce {kwh(int(a['requested_reduction_wh']))}, "
                f"{a['reward_per_kwh']}/kWh reduced",
                height=height,
            )
            await self.vtn_queue.put(
                DrEventSpec(a["event_id"], int(a["start"]), int(a["end"]) - int(a["start"]), DR_LEVEL, "simple")
            )
        elif kind == "dr_rewarded":
            say(
                f"demand response measured for {a['device']}: baseline {kwh(int(a['baseline_wh']))}, actual "
                f"{kwh(int(a['actual_wh']))} → reward {a['reward']}",
                height=height,
            )
        elif kind == "hook_failed":
            say(f"a block hook failed: {a}", height=height)

    def _feeder_text(self, interval: int) -> str:
        """The feeder's part of a clearing (ledger query): its local trade, flows to and from the
        upstream grid and other feeders, and what its limit curtailed."""
        raw = self.query(Market.CLEARING(interval))
        if not raw:
            return ""
        for f in market_pb2.ClearingResult.FromString(raw).feeders:
            if f.feeder != FEEDER:
                continue
            text = f"; {FEEDER}: {kwh(f.local_wh)} at {f.local_price}/kWh inside, {kwh(f.pool_export_wh)} out"
            if f.curtailed_wh:
                text += f", {kwh(f.curtailed_wh)} CURTAILED by its export limit of {kwh(f.export_limit_wh)}"
            return text
        return ""

    def _local_price(self, interval: int) -> int:
        raw = self.query(Market.CLEARING(interval))
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

    def end_hour(self) -> int:
        return min(LAST_HOUR, self.first_hour + self.hours)

    async def day(self, t0: int) -> None:
        end_hour = self.end_hour()
        dr_hour = min(end_hour - 2, 18)
        for hour in range(self.first_hour, end_hour):
            start = t0 + (hour - self.first_hour) * INTERVAL
            await asyncio.sleep(max(0.0, start - time.time()))
            if hour > self.first_hour:
                await asyncio.to_thread(self.hour_report, start - INTERVAL)
            if hour == NOON - 1:  # before the noon interval's gate closes
                await asyncio.to_thread(self.close_feeder_export, start + INTERVAL)
            if hour == NOON:  # the noon interval has cleared (at its gate closure): limits as before
                await asyncio.to_thread(self.reopen_feeder_export)
            if hour == dr_hour - 1:  # after the baseline hour (two hours before) was reported
                await asyncio.to_thread(self.publish_dr, t0 + (dr_hour - self.first_hour) * INTERVAL)
        await asyncio.sleep(max(0.0, t0 + (end_hour - self.first_hour) * INTERVAL + 3 - time.time()))
        await asyncio.to_thread(self.hour_report, t0 + (end_hour - self.first_hour - 1) * INTERVAL)

    def close_feeder_export(self, noon: int) -> None:
        self.tx(
            "gridop/control",
            grid_pb2.SetFeederLimit(feeder=FEEDER, export_wh=0, import_unlimited=True),
            what=f"grid operator closes {FEEDER}'s export to the upstream grid for the interval at "
            f"{self.story.sim(noon)} (SetFeederLimit: export 0 Wh, import unlimited)",
        )

    def reopen_feeder_export(self) -> None:
        self.tx(
            "gridop/control",
            grid_pb2.SetFeederLimit(feeder=FEEDER, import_wh=400, export_wh=400),
            what=f"grid operator restores {FEEDER}'s limits ({kwh(400)} each way per hour)",
        )

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

    def _battery_orders(self, interval: int) -> list[Any]:
        """alice-battery's orders for `interval` as the ledger keeps them (/order/<id>: placed by
        its rules, with what they filled), reading the orders placed since the last call."""
        while raw := self.query(Market.ORDER(self.next_order)):
            o = market_pb2.Order.FromString(raw)
            if o.device_id == "alice-battery":
                self.battery_orders.setdefault(o.interval_start, []).append(o.order_id)
            self.next_order += 1
        return [market_pb2.Order.FromString(self.query(Market.ORDER(i))) for i in self.battery_orders.get(interval, [])]

    def hour_report(self, interval: int) -> None:
        """What the meters said about an interval that has just ended (the ledger's interval
        energy, the battery's state of charge and its rules' orders in the interval's book)."""
        time.sleep(3)  # the gateways report at the interval's end

        def energy(device: str) -> tuple[int, int]:
            raw = self.query(Devices.ENERGY(device, interval))
            e = devices_pb2.IntervalEnergy.FromString(raw) if raw else devices_pb2.IntervalEnergy()
            return int(e.import_wh), int(e.export_wh)

        at = interval + INTERVAL
        pv = energy("alice-pv")[1]
        dryer = energy("carol-dryer")[0]
        ev = energy("alice-ev")[0]
        self.story.say(
            f"meters for {self.story.sim(interval)}: Alice's PV exported {kwh(pv)}, her home used "
            f"{kwh(energy('alice-meter')[0])}{f', her car charged {kwh(ev)}' if ev else ''}; Carol used "
            f"{kwh(energy('carol-meter')[0])}, dryer {kwh(dryer)}{' (running)' if dryer else ' (deferred or idle)'}, "
            f"heat pump {kwh(energy('carol-heatpump')[0])}  [{self.readings} readings accepted so far]",
            at=at,
        )
        cap_w = self.caps.get(interval)
        if cap_w is not None:
            cap_wh = cap_w * INTERVAL / 3600
            verdict = "within" if pv <= math.ceil(cap_wh) else "ABOVE"
            self.story.say(
                f"curtailed: Alice's PV exported {kwh(pv)} at {self.story.sim(interval)} under an export cap of "
                f"{cap_w} W ({kwh(cap_wh)} in the hour): {verdict} the grid's instruction",
                at=at,
            )
        raw = self.query(Devices.BATTERY("alice-battery"))
        if raw:
            soc = devices_pb2.BatteryView.FromString(raw).soc_mwh // 1000
            charged, discharged = energy("alice-battery")
            trades = []
            for o in self._battery_orders(interval):
                buy = o.side == market_pb2.SIDE_BUY
                trades.append(
                    f"{'bought' if buy else 'sold'} {kwh(o.filled_wh)} of {kwh(o.energy_wh)} offered at "
                    f"{'≤' if buy else '≥'} {o.limit_price}/kWh"
                )
            before = "?" if self.soc_wh is None else kwh(self.soc_wh)
            self.story.say(
                f"battery at {self.story.sim(interval)}: state of charge {before} → {kwh(soc)} "
                f"(charged {kwh(charged)}, discharged {kwh(discharged)}); its rules "
                f"{'; '.join(trades) if trades else 'placed nothing'}",
                at=at,
            )
            self.soc_wh = soc

    # -- the end -----------------------------------------------------------------------------------

    def retire_and_report(self, t0: int, end: int) -> None:
        carol = self.address("community-b/carol")
        raw = self.query(Certificates.BUNDLES("owner", carol) + page_suffix(100))
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
            self.tx("community-b/carol", *msgs[:60], what=f"retires {kwh(retired)} of certificates for her home")
        repeated = {k: n for k, n in self.alerts_seen.items() if n > 1}
        for (rule, reason), n in sorted(repeated.items()):
            self.story.say(f"(rule {rule} raised {reason} in {n} intervals in all; shown once above)")
        self.check_statements(t0, end)
        self.story.say("statements (money in minor units; energy in kWh):")
        for ref in ("community-a/alice", "community-b/carol", "utility/treasury", "gridop/control"):
            totals: dict[str, int] = {}
            for interval in range(t0, end, INTERVAL):
                raw = self.query(Market.STATEMENT(self.address(ref), interval), reader=ref)  # its own statement
                if raw:
                    st = market_pb2.Statement.FromString(raw)
                    for f, v in st.ListFields():
                        if isinstance(v, int):
                            totals[f.name] = totals.get(f.name, 0) + v
            balance = int.from_bytes(self.query(Accounts.BALANCE(self.address(ref))), "big")
            parts = ", ".join(
                f"{k.removesuffix('_wh')} {kwh(v)}" if k.endswith("_wh") else f"{k} {v}"
                for k, v in sorted(totals.items())
                if k != "interval_start" and v
            )
            self.story.say(f"  {ref}: balance {balance}; {parts or 'no market activity'}")
        self.forecast_report()
        self.story.say(f"Carol retired {kwh(retired)} of certificates; her hourly matching (consumption vs claims):")
        for hour in range(t0, end, INTERVAL):
            raw = self.query(Certificates.MATCHING(carol, hour), reader="community-b/carol")  # with her own key
            if raw:
                m = certificates_pb2.Matching.FromString(raw)
                self.story.say(
                    f"  {self.story.sim(hour)}: consumed {kwh(m.consumption_wh)}, claimed {kwh(m.claimed_wh)} → "
                    f"{m.covered_bp / 100:.1f} % covered by local solar",
                    at=hour,
                )
        self.ev_claim_report()
        self.audit_a_retirement(carol)
        raw = self.query(Certificates.SCORE(carol, t0, end), reader="community-b/carol")
        if raw:
            score = certificates_pb2.Score.FromString(raw)
            self.story.say(f"Carol's 24/7 score over the day: {score.score_bp / 100:.1f} %")

    def ev_claim_report(self) -> None:
        """Alice's EV sessions as her gateway recorded their certificate claims, beside what the
        ledger holds under each claim's purpose. A claim stays pending until the ledger's clock
        passes its hours' issuance grace (devices/session_claims.py), which the shortened day
        does not reach: the share shown is what was covered so far, 0 % when the market had
        already sold every certificate of the session's hours."""
        home = next(h for h in self.homes if h.name == "alice-home")
        path = home.folder / "state" / "outbox.sqlite"
        if not path.exists():
            return
        with Outbox(path) as outbox:
            claims = outbox.claims()
        alice = self.address("community-a/alice")
        for c in claims:
            purpose = session_claim.purpose_of(c.claim.session_id)
            on_ledger = 0
            for rid in c.retirement_ids:
                raw = self.query(Certificates.RETIREMENT(rid))
                r = certificates_pb2.Retirement.FromString(raw) if raw else certificates_pb2.Retirement()
                if r.purpose == purpose and r.beneficiary == alice:
                    on_ledger += r.wh
            self.story.say(
                f"EV session {c.claim.session_id}: charged {kwh(c.claim.wh)}, claim {c.state} after {c.attempts} "
                f"attempt(s): {kwh(c.covered_wh)} covered by Alice's certificates of its hours "
                f"({c.share_bp / 100:.1f} % local solar); the ledger holds {kwh(on_ledger)} retired under "
                f"'{purpose}' in {len(c.retirement_ids)} retirement(s)"
            )

    def _fills(self, owner: bytes) -> list[Any]:
        out: list[Any] = []
        after = ""
        while True:
            raw = self.query(Market.FILLS(owner) + page_suffix(500, after))
            if not raw:
                return out
            page = market_pb2.FillList.FromString(raw)
            out += list(page.fills)
            if not page.next:
                return out
            after = page.next

    def check_statements(self, t0: int, end: int) -> None:
        """Every member's statement of every interval recomputed from the ledger's own fills and
        the published tariffs: the Wh bought and sold exactly, what was paid (energy at the
        clearing price + the grid fee, rounded up per order) and received (rounded down per
        order), and retail and feed-in at the tariffs (rounded per site)."""
        checked, wrong = 0, []
        for ref in ("community-a/alice", "community-b/carol"):
            owner = self.address(ref)
            fills = self._fills(owner)
            for interval in range(t0, end, INTERVAL):
                raw = self.query(Market.STATEMENT(owner, interval))
                if not raw:
                    continue
                st = market_pb2.Statement.FromString(raw)
                mine = [f for f in fills if f.interval_start == interval]
                buys = [f for f in mine if f.side == market_pb2.SIDE_BUY]
                sells = [f for f in mine if f.side == market_pb2.SIDE_SELL]
                orders = len({f.order_id for f in mine}) + 2  # rounding: one unit per order and site
                paid = sum(f.energy_wh * (f.price + f.fee_per_kwh) for f in buys) / 1000
                received = sum(f.energy_wh * f.price for f in sells) / 1000
                checks = {
                    "bought_wh": (st.bought_wh, sum(f.energy_wh for f in buys), 0),
                    "sold_wh": (st.sold_wh, sum(f.energy_wh for f in sells), 0),
                    "paid": (st.paid, paid, orders),
                    "received": (st.received, received, orders),
                    "retail_paid": (st.retail_paid, st.retail_wh * RETAIL / 1000, 2),
                    "feed_in_received": (st.feed_in_received + st.unreceived, st.feed_in_wh * FEED_IN / 1000, 2),
                }
                for name, (stated, recomputed, slack) in checks.items():
                    if name == "feed_in_received" and st.unreceived:
                        continue  # some of the feed-in was not paid (imbalance too): not recomputable alone
                    if abs(stated - recomputed) > slack:
                        wrong.append(f"{ref} {self.story.sim(interval)} {name}: {stated} ≠ {recomputed:.1f}")
                checked += 1
        self.story.say(
            f"statements recompute from the ledger's fills and tariffs: {checked} statements"
            + (", all consistent" if not wrong else f", {len(wrong)} MISMATCHES: {'; '.join(wrong[:5])}")
        )

    def forecast_report(self) -> None:
        """Each forecast device's error over the day, as the ledger scored it."""
        for device in ("alice-pv", "alice-meter", "carol-meter"):
            raw = self.query(Forecasts.FORECAST_ERRORS(device))
            errors = forecasts_pb2.ForecastErrorList.FromString(raw).errors if raw else []
            if not errors:
                continue
            e = errors[-1]
            forecast, metered = e.forecast_export_wh + e.forecast_import_wh, e.metered_export_wh + e.metered_import_wh
            self.story.say(
                f"{device}'s forecasts today: {kwh(forecast)} forecast, {kwh(metered)} metered, error "
                f"{kwh(e.error_wh)} over {e.intervals_posted} posted and {e.intervals_fallback} fallback hours"
            )

    def audit_a_retirement(self, carol: bytes) -> None:
        """An auditor exports one of Carol's retirements through a bridge (the record, its
        Merkle proof and the signed header) and checks it offline against the genesis
        validator set, trusting no node."""
        answer = self.client("gridop/control").rpc.abci_query(Certificates.BUNDLES("owner", carol) + page_suffix(100))
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
            await asyncio.to_thread(self.alice_rules)
            # a reading may not start before its device's registration, and a gateway's first
            # reading covers the interval it starts in: start them once an interval has begun
            # after the registrations (still before t0)
            first = math.ceil(registered / INTERVAL) * INTERVAL
            await asyncio.sleep(max(0.0, first - time.time()))
            self.start_gateways(t0)
            self.story.t0 = t0
            self.story.say(
                f"the simulated day starts at block time {t0} (one simulated hour per {INTERVAL} s); energy is "
                f"shown in the household's kWh: the ledger records real-time Wh (simulated energy ÷ {SPEED:.0f}), "
                f"so 1 Wh there is {SPEED / 1000:.2f} kWh here"
            )
            await self.day(t0)
            end = t0 + (self.end_hour() - self.first_hour) * INTERVAL
            await asyncio.sleep(max(0.0, end + 25 - time.time()))  # settlement grace, late readings, issuance
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
        children = [h.process for h in self.homes] + [self.dashboard]
        for process in children:
            if process is not None and process.poll() is None:
                process.send_signal(signal.SIGTERM)
                try:
                    process.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    process.kill()
        self.net.stop()
        self.story.say("stopped everything the demo started")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m clients.ops.demo", description=__doc__.split("\n")[0])
    parser.add_argument("--home", type=Path, default=REPO / ".demo", help="where the demo keeps its chain and homes")
    parser.add_argument("--hours", type=int, default=LAST_HOUR - FIRST_HOUR, help="simulated hours of the day")
    parser.add_argument(
        "--start-hour", type=int, default=FIRST_HOUR, help=f"the simulated day's first hour (default {FIRST_HOUR})"
    )
    args = parser.parse_args(argv)
    if not FIRST_HOUR <= args.start_hour < LAST_HOUR - 4:
        parser.error(f"--start-hour must be in {FIRST_HOUR}..{LAST_HOUR - 5}")
    demo = Demo(args.home, max(4, args.hours), args.start_hour)
    return asyncio.run(demo.run())


if __name__ == "__main__":
    sys.exit(main())
