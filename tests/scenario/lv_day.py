"""A whole day of a public SimBench LV grid run through the real app, as its users would run it.

The consortium is the demo's plus one org, "lv-rural1", with a prosumer member per site (a bus
with a load or a PV system) and a gateway member. Each site registers on its feeder (SimBench's
names), with a plain meter measuring its connection point; each PV system is registered with a
device certificate and commissioned by the certifier. The grid operator publishes tariffs, grid
fees and an export limit on one feeder. Nobody places an order by hand: each PV owner has a
standing SELL rule at 4 (below feed-in, so the upstream grid buys any surplus) and every site a
BUY rule at 25. The gateway posts forecasts one interval ahead (or none), relays every device's
signed quarter-hour registers, and applies grid instructions to the PV of the curtailed site.

Blocks run every 300 s at the day's real (2016) times, so every gate closure, clearing,
settlement, issuance and forecast-scoring hook runs when it would; the driver checks every
invariant (money conservation included) after each block.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass, field
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from google.protobuf.message import Message
from gridledger.accounts.v1 import accounts_pb2 as apb
from gridledger.forecasts.v1 import forecasts_pb2 as fpb
from gridledger.grid.v1 import grid_pb2
from gridledger.market.v1 import market_pb2 as mpb
from gridwire.reading import Reading

from abci_app.market.keeper import ESCROW_ADDRESS
from clients import devices as dc
from clients import forecasts as fc
from clients import market as mc
from clients.ops.consortium import Consortium, demo_consortium
from clients.pki import Identity, new_org_ca
from clients.tx import sign_tx
from tests.support.devices import commission_msgs
from tests.support.driver import AppDriver
from tests.support.simbench_day import INTERVAL_SECONDS, GridDay

__all__ = ["LIMITED_FEEDER", "LIMIT_WH", "ORG", "LvRun", "RunResult", "lv_consortium", "site_buses"]

ORG = "lv-rural1"
REGION = "DE"
LIMITED_FEEDER = "LV1.101-F2"
LIMIT_WH = 10_000  # 40 kW × 0.25 h
RETAIL, FEED_IN, SHORT, LONG, PENALTY = 30, 5, 40, 2, 50
INTRA, INTER = 1, 3
SELL_LIMIT, BUY_LIMIT = 4, 25
BUY_MAX_WH = 10_000  # the buy rule's declared amount per interval (kept when a site has no forecast)
BALANCE = 1_000_000
METER_NAMEPLATE_W = 100_000
HOUR = 3600
STEP = 300  # one block every 300 s: every gate closure (interval − 300) and settlement is a block
SUPPLIER, OPERATOR, CERTIFIER = "utility/treasury", "gridop/control", "certissuer/registry"
GATEWAY = f"{ORG}/gateway"
# SimBench's profiles are of 2016: every certificate (org CAs, members, device CA, devices) is
# dated from 2015 so the chain runs at the data's real times (the demo's default, 2020, is later)
CERTS_FROM = dt.datetime(2015, 1, 1, tzinfo=dt.UTC)


def site_buses(day: GridDay) -> list[int]:
    return day.sites()


def lv_consortium(buses: list[int]) -> Consortium:
    """The demo consortium plus the org lv-rural1: a prosumer `bus<n>` per site, a gateway."""
    c = demo_consortium(not_before=CERTS_FROM)
    ca = new_org_ca(ORG, name="LV rural 1 root CA", not_before=CERTS_FROM)
    c.cas[ORG] = ca
    c.names[ORG] = "LV rural grid 1 prosumers"
    c.capabilities[ORG] = ["gateway", "prosumer"]
    for bus in buses:
        ref = f"{ORG}/bus{bus}"
        c.members[ref] = ca.issue(f"bus{bus}.{ORG}", ["prosumer"], not_before=CERTS_FROM)
        c.balances[ref] = BALANCE
    c.members[GATEWAY] = ca.issue(f"gateway.{ORG}", ["gateway"], not_before=CERTS_FROM)
    return c


def _key(tag: str) -> Ed25519PrivateKey:
    seed = tag.encode().ljust(32, b".")[:32]
    return Ed25519PrivateKey.from_private_bytes(seed)


@dataclass
class Site:
    bus: int
    feeder: str
    member: Identity
    site_id: str
    meter_id: str
    pv_id: str | None
    pv_nameplate_w: int


@dataclass
class RunResult:
    """What a run measured: physical truth (what the devices metered) and the ledger's records."""

    intervals: list[int]  # interval starts, in order
    pv_metered: dict[str, list[int]]  # PV device → Wh per interval (after instructions)
    pv_true: dict[str, list[int]]  # PV device → Wh per interval the plant could produce
    meter_import: dict[str, list[int]]  # site → Wh per interval
    meter_export: dict[str, list[int]]
    load: dict[str, list[int]]  # site → gross load Wh per interval
    issued: dict[str, dict[int, int]]  # PV device → hour → certificates issued (Wh)
    statements: dict[str, list[mpb.Statement]]  # site member ref → per interval (empty Statement when none)
    upstream: list[mpb.UpstreamTrade | None]
    clearings: list[mpb.ClearingResult | None]
    instructions: list[list[mpb.GridInstruction]]
    forecast_errors: dict[str, dict[int, fpb.ForecastError]]  # device → UTC day → score
    alerts: list[tuple[str, int, int]]  # (reason, rule id, interval) of every alert event
    sell_rules: dict[int, str]  # sell rule id → its PV device
    orders: dict[str, list[mpb.Order]]  # site → its owner's orders (rules'), any interval
    sell_orders_by_rules: list[int]  # per day: sell orders the rules placed
    supply: tuple[tuple[int, int], tuple[int, int]]  # (minted, burned) at genesis and at the end
    accounts: tuple[int, int]  # Σ balances of every member + the escrow: genesis, end
    seconds: float = 0.0


@dataclass
class LvRun:
    """One run over consecutive `days`; `forecasts` is "noisy" (±10 % seeded), "exact" or "none"."""

    consortium: Consortium
    days: list[GridDay]
    forecasts: str = "noisy"
    seed: int = 15
    noise: float = 0.10
    obey: bool = True
    sites: list[Site] = field(default_factory=list)
    _seq: dict[str, int] = field(default_factory=dict)
    _registers: dict[str, tuple[int, int]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        first = self.days[0]
        pv_at = {p.bus: p for p in first.pvs}
        for bus in first.sites():
            pv = pv_at.get(bus)
            self.sites.append(
                Site(
                    bus=bus,
                    feeder=first.bus_feeder[bus],
                    member=self.consortium.member(f"{ORG}/bus{bus}"),
                    site_id=f"site-b{bus}",
                    meter_id=f"meter-b{bus}",
                    pv_id=None if pv is None else f"pv-b{bus}",
                    pv_nameplate_w=0 if pv is None else pv.nameplate_w,
                )
            )
        self.rng = random.Random(self.seed)
        self.start = first.day_start
        self.n = 96 * len(self.days)
        self.driver = AppDriver(self.consortium, genesis_time=self.start - 2 * HOUR)
        self.gateway = self.consortium.member(GATEWAY)

    # --- physics of the data ---------------------------------------------------------------

    def _day(self, k: int) -> tuple[GridDay, int]:
        return self.days[k // 96], k % 96

    def load_wh(self, site: Site, k: int) -> int:
        day, j = self._day(k)
        return sum(x.import_wh[j] for x in day.loads if x.bus == site.bus)

    def pv_wh(self, site: Site, k: int) -> int:
        day, j = self._day(k)
        return sum(p.export_wh[j] for p in day.pvs if p.bus == site.bus)

    def interval(self, k: int) -> int:
        return self.start + k * INTERVAL_SECONDS

    # --- txs --------------------------------------------------------------------------------

    def tx(self, who: Identity, *msgs: Message) -> bytes:
        d = self.driver
        return sign_tx(who.key, d.chain_id, d.next_nonce(who.public_key), list(msgs))

    def block(self, txs: list[bytes], at: int) -> Any:
        res = self.driver.block(txs, at=at)
        assert all(c == 0 for c in res.check_codes), res.check_codes
        assert all(r.code == 0 for r in res.tx_results), [r.log for r in res.tx_results if r.code]
        return res

    def setup(self) -> None:
        c = self.consortium
        t = self.driver.time
        self.block([self.tx(s.member, dc.register_site(s.site_id, s.feeder, REGION)) for s in self.sites], t + 1)
        regs: list[bytes] = []
        for s in self.sites:
            meter = dc.register_device(
                s.meter_id, s.site_id, "meter", dc.device_public_key(_key(s.meter_id)), METER_NAMEPLATE_W,
                country=REGION, gateway=self.gateway.address,
            )  # fmt: skip
            msgs: list[Message] = [meter]
            if s.pv_id is not None:
                pv = dc.register_device(
                    s.pv_id, s.site_id, "pv", dc.device_public_key(_key(s.pv_id)), s.pv_nameplate_w,
                    energy_source="solar", technology="rooftop", country=REGION, gateway=self.gateway.address,
                )  # fmt: skip
                pv.device_cert_der = c.device_ca().issue_device_cert(
                    s.pv_id, "pv", bytes(pv.public_key), s.pv_nameplate_w, not_before=CERTS_FROM
                )
                msgs.append(pv)
            regs.append(self.tx(s.member, *msgs))
        pvs = [s.pv_id for s in self.sites if s.pv_id is not None]
        regs.append(self.tx(c.member(CERTIFIER), *commission_msgs(*pvs)))
        self.block(regs, t + 2)
        operator = c.member(OPERATOR)
        grid = [
            grid_pb2.SetTariffs(
                supplier=c.member(SUPPLIER).address,
                retail_per_kwh=RETAIL,
                feed_in_per_kwh=FEED_IN,
                imbalance_short_per_kwh=SHORT,
                imbalance_long_per_kwh=LONG,
                export_penalty_per_kwh=PENALTY,
            ),
            grid_pb2.SetGridFees(intra_feeder_per_kwh=INTRA, inter_feeder_per_kwh=INTER),
            grid_pb2.SetFeederLimit(feeder=LIMITED_FEEDER, export_wh=LIMIT_WH, import_unlimited=True),
        ]
        rules: list[bytes] = [self.tx(operator, *grid)]
        for s in self.sites:
            msgs = [mc.rule("buy", limit_price=BUY_LIMIT, site_id=s.site_id, max_wh_per_interval=BUY_MAX_WH)]
            if s.pv_id is not None:
                msgs.append(mc.rule("sell", limit_price=SELL_LIMIT, device_id=s.pv_id))
            rules.append(self.tx(s.member, *msgs))
        self.block(rules, t + 3)

    def _noisy(self, wh: int) -> int:
        if self.forecasts == "exact" or wh == 0:
            return wh
        return max(0, round(wh * (1 + self.rng.uniform(-self.noise, self.noise))))

    def forecast_msgs(self, k: int) -> list[Message]:
        """The gateway's forecasts of interval k: each PV's export, each meter's gross load."""
        out: list[Message] = []
        iv = self.interval(k)
        for s in self.sites:
            if s.pv_id is not None:
                cap = s.pv_nameplate_w * INTERVAL_SECONDS // HOUR
                out.append(fc.post_forecast(s.pv_id, iv, [(min(cap, self._noisy(self.pv_wh(s, k))), 0)]))
            out.append(fc.post_forecast(s.meter_id, iv, [(0, self._noisy(self.load_wh(s, k)))]))
        return out

    def _reading(self, device: str, k: int, imp: int, exp: int) -> Message:
        seq = self._seq.get(device, 0) + 1
        self._seq[device] = seq
        i0, e0 = self._registers.get(device, (0, 0))
        self._registers[device] = (i0 + imp, e0 + exp)
        r = Reading(device, seq, self.interval(k), self.interval(k + 1), i0 + imp, e0 + exp)
        return dc.sign_reading(_key(device), self.driver.chain_id, r)

    def _baseline(self) -> bytes:
        """Each device's first reading, [00:00 − 15 min, 00:00) with zero registers: a device's
        first reading only sets the baseline (it counts no energy), so the day's first
        quarter-hour is counted by the next one."""
        readings: list[Any] = []
        for s in self.sites:
            for device in filter(None, (s.pv_id, s.meter_id)):
                self._seq[device] = 1
                r = Reading(device, 1, self.start - INTERVAL_SECONDS, self.start, 0, 0)
                readings.append(dc.sign_reading(_key(device), self.driver.chain_id, r))
        return self.tx(self.gateway, dc.submit_readings(readings))

    def instructions(self, k: int) -> list[mpb.GridInstruction]:
        resp = self.driver.query(f"/instructions/{self.interval(k)}")
        assert resp.code == 0, resp.log
        return list(mpb.GridInstructionList.FromString(resp.value).instructions)

    # --- the run ----------------------------------------------------------------------------

    def run(self) -> RunResult:
        """Set the grid up, run every interval of the days and read what the ledger recorded."""
        import time

        t0 = time.perf_counter()
        c = self.consortium
        members = [*c.members.values()]
        accounts0 = sum(c.balances.values())  # the genesis balances
        self.setup()
        supply0 = self._supply()
        pv_metered: dict[str, list[int]] = {s.pv_id: [] for s in self.sites if s.pv_id}
        pv_true: dict[str, list[int]] = {s.pv_id: [] for s in self.sites if s.pv_id}
        meter_import: dict[str, list[int]] = {s.site_id: [] for s in self.sites}
        meter_export: dict[str, list[int]] = {s.site_id: [] for s in self.sites}
        load: dict[str, list[int]] = {s.site_id: [] for s in self.sites}
        instructions: list[list[mpb.GridInstruction]] = []
        alerts: list[tuple[str, int, int]] = []
        # forecasts of intervals 0 and 1 before their rules run (at interval − 1200 s)
        t = self.start - 2 * INTERVAL_SECONDS
        last = self.interval(self.n) + 2 * HOUR  # settlement, forecast scoring, issuance grace
        while t <= last:
            txs: list[bytes] = []
            if (t - self.start) % INTERVAL_SECONDS == 0:
                k = (t - self.start) // INTERVAL_SECONDS
                if k == 0:
                    txs.append(self._baseline())
                if 0 <= k - 1 < self.n:
                    acc = (pv_metered, pv_true, meter_import, meter_export, load, instructions)
                    txs.append(self._readings(k - 1, *acc))
                if self.forecasts != "none" and 0 <= k + 2 < self.n:
                    txs.append(self.tx(self.gateway, *self.forecast_msgs(k + 2)))
            res = self.block(txs, t)
            for ev in res.response.events:
                attrs = {a.key: a.value for a in ev.attributes}
                if ev.type == "alert":
                    alerts.append((attrs["reason"], int(attrs["rule_id"]), int(attrs["interval"])))
            t += STEP
        intervals = [self.interval(k) for k in range(self.n)]
        issued = {
            dev: {h: self._issued(dev, h) for h in range(self.start, self.interval(self.n), HOUR)} for dev in pv_metered
        }
        statements = {s.site_id: [self._statement(s.member, iv) for iv in intervals] for s in self.sites}
        upstream = [self._one(f"/upstream/{iv}", mpb.UpstreamTrade) for iv in intervals]
        clearings = [self._one(f"/clearing/{iv}", mpb.ClearingResult) for iv in intervals]
        errors: dict[str, dict[int, fpb.ForecastError]] = {}
        for s in self.sites:
            for dev in filter(None, (s.pv_id, s.meter_id)):
                errors[dev] = {}
                for n in range(len(self.days)):
                    day = (self.start + n * 86_400) // 86_400
                    score = self._one(f"/forecast_error/{dev}/{day}", fpb.ForecastError)
                    errors[dev][day] = score or fpb.ForecastError()
        sells_per_day = [0] * len(self.days)
        orders = {s.site_id: self._orders(s.member) for s in self.sites}
        sell_rules: dict[int, str] = {}
        for s in self.sites:
            rules = mpb.RuleList.FromString(self.driver.query(f"/rules/{s.member.address.hex()}").value).rules
            sell_rules.update({r.rule_id: r.device_id for r in rules if r.kind == mpb.RULE_KIND_SELL})
            for order in orders[s.site_id]:
                day = (order.interval_start - self.start) // 86_400
                if order.side == mpb.SIDE_SELL and order.rule_id and 0 <= day < len(self.days):
                    sells_per_day[day] += 1
        return RunResult(
            intervals=intervals,
            pv_metered=pv_metered,
            pv_true=pv_true,
            meter_import=meter_import,
            meter_export=meter_export,
            load=load,
            issued=issued,
            statements=statements,
            upstream=upstream,
            clearings=clearings,
            instructions=instructions,
            forecast_errors=errors,
            alerts=alerts,
            sell_rules=sell_rules,
            orders=orders,
            sell_orders_by_rules=sells_per_day,
            supply=(supply0, self._supply()),
            accounts=(accounts0, self._accounts(members)),
            seconds=time.perf_counter() - t0,
        )

    def _readings(  # noqa: PLR0917 - the run's accumulators
        self,
        k: int,
        pv_metered: dict[str, list[int]],
        pv_true: dict[str, list[int]],
        meter_import: dict[str, list[int]],
        meter_export: dict[str, list[int]],
        load: dict[str, list[int]],
        instructions: list[list[mpb.GridInstruction]],
    ) -> bytes:
        """Interval k's signed readings, in one SubmitReadings relayed by the gateway; a site with
        a grid instruction has its PV held to the cap plus its own load (the SunSpec limit)."""
        inst = self.instructions(k)
        instructions.append(inst)
        caps = {i.site_id: i.export_cap_w * INTERVAL_SECONDS // HOUR for i in inst if i.export_capped}
        readings: list[Any] = []
        for s in self.sites:
            ld, pv = self.load_wh(s, k), self.pv_wh(s, k)
            load[s.site_id].append(ld)
            if s.pv_id is not None:
                pv_true[s.pv_id].append(pv)
                if self.obey and s.site_id in caps:
                    pv = min(pv, caps[s.site_id] + ld)
                pv_metered[s.pv_id].append(pv)
                readings.append(self._reading(s.pv_id, k, 0, pv))
            imp, exp = max(0, ld - pv), max(0, pv - ld)
            meter_import[s.site_id].append(imp)
            meter_export[s.site_id].append(exp)
            readings.append(self._reading(s.meter_id, k, imp, exp))
        return self.tx(self.gateway, dc.submit_readings(readings))

    def _supply(self) -> tuple[int, int]:
        view = apb.SupplyView.FromString(self.driver.query("/supply").value)
        return view.minted, view.burned

    def _accounts(self, members: list[Identity]) -> int:
        total = 0
        for who in [*(m.address for m in members), ESCROW_ADDRESS]:
            resp = self.driver.query(f"/balance/{who.hex()}")
            total += int.from_bytes(resp.value, "big") if resp.code == 0 else 0
        return total

    def _orders(self, who: Identity) -> list[mpb.Order]:
        out: list[mpb.Order] = []
        after = ""
        while True:
            suffix = f"&after={after}" if after else ""
            page = mpb.OrderList.FromString(self.driver.query(f"/orders/{who.address.hex()}?limit=100{suffix}").value)
            out.extend(page.orders)
            if not page.next:
                return out
            after = page.next

    def _issued(self, device: str, hour: int) -> int:
        resp = self.driver.query(f"/cert_issued/{device}/{hour}")
        return int.from_bytes(resp.value, "big") if resp.code == 0 and resp.value else 0

    def _statement(self, who: Identity, interval: int) -> mpb.Statement:
        return self._one(f"/statement/{who.address.hex()}/{interval}", mpb.Statement) or mpb.Statement()

    def _one(self, path: str, kind: Any) -> Any:
        resp = self.driver.query(path)
        if resp.code != 0 or not resp.value:
            return None
        return kind.FromString(resp.value)


def feeder_sites(run: LvRun, feeder: str) -> list[Site]:
    return [s for s in run.sites if s.feeder == feeder]


def feeder_balance_wh(run: LvRun, feeder: str, k: int) -> int:
    """Σ PV − Σ load of the feeder's sites in interval k (the data's, before any instruction)."""
    return sum(run.pv_wh(s, k) - run.load_wh(s, k) for s in feeder_sites(run, feeder))


def curtailed_intervals(result: RunResult, feeder: str) -> list[int]:
    """The intervals (index in the run) whose clearing curtailed `feeder`."""
    return [
        k
        for k, c in enumerate(result.clearings)
        if c is not None and any(f.feeder == feeder and f.curtailed_wh > 0 for f in c.feeders)
    ]


def figures(run: LvRun, result: RunResult) -> dict[str, Any]:
    """The run's headline figures (what the README quotes)."""
    pv_wh = sum(sum(v) for v in result.pv_metered.values())
    statements = [st for sts in result.statements.values() for st in sts]
    ups = [u for u in result.upstream if u is not None]
    flows = {d.day.isoformat(): d.feeder_flow_w[LIMITED_FEEDER] for d in run.days}
    return {
        "days": [d.day.isoformat() for d in run.days],
        "forecasts": run.forecasts,
        "pv_potential_wh": sum(sum(v) for v in result.pv_true.values()),
        "pv_metered_wh": pv_wh,
        "load_wh": sum(sum(v) for v in result.load.values()),
        "certificates_wh": sum(sum(h.values()) for h in result.issued.values()),
        "sold_wh": sum(st.sold_wh for st in statements),
        "bought_wh": sum(st.bought_wh for st in statements),
        "upstream_bought_wh": sum(u.bought_wh for u in ups),
        "upstream_sold_wh": sum(u.sold_wh for u in ups),
        "imbalance_paid": sum(st.imbalance_paid for st in statements),
        "imbalance_received": sum(st.imbalance_received for st in statements),
        "retail_wh": sum(st.retail_wh for st in statements),
        "feed_in_wh": sum(st.feed_in_wh for st in statements),
        "penalty_paid": sum(st.penalty_paid for st in statements),
        "forecast_error_wh": sum(e.error_wh for errs in result.forecast_errors.values() for e in errs.values()),
        "curtailed_intervals": curtailed_intervals(result, LIMITED_FEEDER),
        "flow_above_limit_intervals": [
            n * 96 + j for n, f in enumerate(flows.values()) for j, w in enumerate(f) if w > LIMIT_WH * 4
        ],
        "instructions": sum(len(i) for i in result.instructions),
        "alerts": {r: sum(1 for a in result.alerts if a[0] == r) for r in sorted({a[0] for a in result.alerts})},
        "seconds": round(result.seconds, 1),
    }
