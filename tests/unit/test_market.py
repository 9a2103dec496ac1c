"""Market in the app: orders and escrow, clearing at gate closure, settlement against meter
readings (exact, short, excess, late), standing rules and every alert reason, queries."""

from __future__ import annotations

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from google.protobuf.message import Message
from gridledger.certificates.v1 import certificates_pb2 as cpb
from gridledger.grid.v1 import grid_pb2
from gridledger.market.v1 import market_pb2 as mpb
from gridwire.reading import Reading

from abci_app.accounts.errors import AccountsCode
from abci_app.devices.errors import DevicesCode
from abci_app.errors import Code
from abci_app.market.errors import MarketCode
from abci_app.market.keeper import ESCROW_ADDRESS
from abci_app.market.params import next_open_interval
from clients import devices as dc
from clients import market as mc
from clients.ops.consortium import Consortium
from clients.pki import Identity
from tests.support.devices import certify, commission
from tests.support.driver import AppDriver
from tests.unit.helpers import balance, signed

L, GATE, GRACE = 900, 300, 900
SHORT, LONG = 40, 2  # imbalance prices per kWh


def key(n: int) -> Ed25519PrivateKey:
    return Ed25519PrivateKey.from_private_bytes(bytes([n]) * 32)


class Market:
    """A demo market: alice (PV on feeder-1), bob (meter, feeder-1), carol (meter, feeder-2)."""

    def __init__(self, driver: AppDriver, consortium: Consortium) -> None:
        self.d = driver
        self.c = consortium
        self.alice = consortium.member("community-a/alice")
        self.bob = consortium.member("community-a/bob")
        self.carol = consortium.member("community-b/carol")
        self.operator = consortium.member("gridop/control")
        self.supplier = consortium.member("utility/treasury")
        self.seq: dict[str, int] = {}
        self.balances: dict[Identity, int] = {}

    def setup(self, *, tariffs: bool = True, intra: int = 0, inter: int = 0) -> None:
        d = self.d
        d.block([])
        self.ok(self.alice, dc.register_site("site-a", "feeder-1"))
        self.ok(
            self.alice, certify(self.c, dc.register_device("pv-a", "site-a", "pv", dc.device_public_key(key(1)), 5_000))
        )
        self.ok(self.bob, dc.register_site("site-b", "feeder-1"))
        self.ok(self.bob, dc.register_device("meter-b", "site-b", "meter", dc.device_public_key(key(2)), 20_000))
        self.ok(self.carol, dc.register_site("site-c", "feeder-2"))
        self.ok(self.carol, dc.register_device("meter-c", "site-c", "meter", dc.device_public_key(key(3)), 20_000))
        commission(d, "pv-a")
        if tariffs:
            self.ok(
                self.operator,
                grid_pb2.SetTariffs(
                    supplier=self.supplier.address,
                    retail_per_kwh=30,
                    feed_in_per_kwh=5,
                    imbalance_short_per_kwh=SHORT,
                    imbalance_long_per_kwh=LONG,
                ),
            )
            self.ok(self.operator, grid_pb2.SetGridFees(intra_feeder_per_kwh=intra, inter_feeder_per_kwh=inter))
        # two intervals on: the tests' readings start up to two intervals before `upcoming()`, and no
        # reading may start before its device's registration
        d.block([], seconds=2 * L)

    def run(self, who: Identity, *msgs: Message) -> tuple[int, list[tuple[str, dict[str, str]]], str]:
        result = self.d.block([signed(self.d, who, *msgs)], check=False)
        tx = result.tx_results[0]
        return tx.code, [(e.type, {a.key: a.value for a in e.attributes}) for e in tx.events], tx.log

    def ok(self, who: Identity, *msgs: Message) -> list[tuple[str, dict[str, str]]]:
        code, evs, log = self.run(who, *msgs)
        assert code == 0, log
        return evs

    def add_battery(self) -> None:
        """alice's 10 kWh battery bat-a on site-a, 4 kW both ways (1000 Wh per 900 s interval)."""
        battery = dc.register_device(
            "bat-a", "site-a", "battery", dc.device_public_key(key(7)), 4_000,
            capacity_wh=10_000, max_charge_w=4_000, max_discharge_w=4_000, efficiency_bp=9_000,
        )  # fmt: skip
        self.ok(self.alice, certify(self.c, battery))
        commission(self.d, "bat-a")

    def code(self, who: Identity, *msgs: Message) -> int:
        return self.run(who, *msgs)[0]

    def order_id(self, who: Identity, msg: Message) -> int:
        (attrs,) = [a for t, a in self.ok(who, msg) if t == "order_placed"]
        return int(attrs["order_id"])

    def upcoming(self) -> int:
        """The first interval whose gate is still open at the next block."""
        return next_open_interval(self.d.time + 1, L, GATE)

    def until(self, t: int) -> list[tuple[str, dict[str, str]]]:
        """Run an empty block at block time `t`; its block events."""
        resp = self.d.block([], seconds=t - self.d.time).response
        return [(e.type, {a.key: a.value for a in e.attributes}) for e in resp.events]

    def reading(  # noqa: PLR0917 - a reading's fields in their order
        self, who: Identity, device: str, n: int, start: int, end: int, imp: int, exp: int, **battery: int
    ) -> None:
        """Sign and submit the device's next reading (a battery's registers and state of charge
        as `battery` keywords) and check it is accepted."""
        seq = self.seq.get(device, 0) + 1
        self.seq[device] = seq
        r = Reading(device, seq, start, end, imp, exp, **battery)
        evs = self.ok(who, dc.submit_readings([dc.sign_reading(key(n), self.d.chain_id, r)]))
        assert [t for t, _ in evs if t.startswith("reading_")] == ["reading_accepted"], evs

    def clearing(self, interval: int) -> mpb.ClearingResult:
        resp = self.d.query(f"/clearing/{interval}")
        assert resp.code == 0, resp.log
        return mpb.ClearingResult.FromString(resp.value)

    def order(self, order_id: int) -> mpb.Order:
        return mpb.Order.FromString(self.d.query(f"/order/{order_id}").value)

    def statement(self, who: Identity, interval: int) -> mpb.Statement:
        resp = self.d.query(f"/statement/{who.address.hex()}/{interval}")
        assert resp.value, "no statement"
        return mpb.Statement.FromString(resp.value)

    def alerts(self, who: Identity) -> list[mpb.Alert]:
        return list(mpb.AlertList.FromString(self.d.query(f"/alerts/{who.address.hex()}").value).alerts)


def test_orders_are_checked_and_escrow_is_held_and_released(driver: AppDriver, consortium: Consortium) -> None:
    """Every refusal has its code; a buy escrows its all-in max cost; cancelling refunds it."""
    m = Market(driver, consortium)
    m.setup(tariffs=False)
    iv = m.upcoming()
    assert m.code(m.bob, mc.buy("site-b", iv, 400, 30)) == MarketCode.MARKET_CLOSED
    m.ok(m.operator, grid_pb2.SetTariffs(supplier=m.supplier.address, imbalance_short_per_kwh=1))
    iv = m.upcoming()
    assert m.code(m.bob, mc.buy("site-b", iv + 1, 400, 30)) == MarketCode.BAD_INTERVAL
    assert m.code(m.bob, mc.buy("site-b", iv - L, 400, 30)) == MarketCode.GATE_CLOSED
    assert m.code(m.bob, mc.buy("site-b", iv + 8 * 86_400, 400, 30)) == MarketCode.BAD_INTERVAL
    assert m.code(m.bob, mc.buy("nope", iv, 400, 30)) == MarketCode.UNKNOWN_SITE
    assert m.code(m.bob, mc.buy("site-a", iv, 400, 30)) == MarketCode.NOT_SITE_OWNER
    assert m.code(m.bob, mc.buy("site-b", iv, 10**9, 10**5)) == AccountsCode.INSUFFICIENT_FUNDS
    # above the market's limit (market.max_price_per_kwh, 100,000 by default), either side
    assert m.code(m.bob, mc.buy("site-b", iv, 1, 100_001)) == MarketCode.PRICE_ABOVE_LIMIT
    assert m.code(m.alice, mc.sell("pv-a", iv, 1, 100_001)) == MarketCode.PRICE_ABOVE_LIMIT
    assert m.code(m.bob, mc.sell("pv-a", iv, 100, 10)) == MarketCode.NOT_DEVICE_OWNER
    assert m.code(m.bob, mc.sell("ghost", iv, 100, 10)) == MarketCode.UNKNOWN_DEVICE
    assert m.code(m.bob, mc.sell("meter-b", iv, 100, 10)) == DevicesCode.NOT_CERTIFIED  # never a generator
    # 5 kW × 900 s = 1250 Wh per interval, offers counted together
    assert m.code(m.alice, mc.sell("pv-a", iv, 1251, 10)) == MarketCode.DEVICE_CANNOT_DELIVER
    m.order_id(m.alice, mc.sell("pv-a", iv, 1000, 10))
    assert m.code(m.alice, mc.sell("pv-a", iv, 251, 10)) == MarketCode.DEVICE_CANNOT_DELIVER
    assert m.code(consortium.member("gridop/control"), mc.buy("site-b", iv, 1, 1)) == Code.UNAUTHORIZED
    assert m.code(m.bob, mpb.PlaceOrder(side=mpb.SIDE_BUY, interval_start=iv, energy_wh=0, site_id="site-b")) == 16

    before = balance(driver, m.bob)
    oid = m.order_id(m.bob, mc.buy("site-b", iv, 401, 30))
    escrow = -(-401 * 30 // 1000)  # 13: ceil
    assert balance(driver, m.bob) == before - escrow
    assert balance(driver, ESCROW_ADDRESS) == escrow
    assert m.code(m.alice, mc.cancel(oid)) == MarketCode.NOT_ORDER_OWNER
    assert m.code(m.bob, mc.cancel(999)) == MarketCode.UNKNOWN_ORDER
    m.ok(m.bob, mc.cancel(oid))
    assert balance(driver, m.bob) == before
    assert balance(driver, ESCROW_ADDRESS) == 0
    assert m.order(oid).status == mpb.ORDER_STATUS_CANCELLED
    assert m.code(m.bob, mc.cancel(oid)) == MarketCode.ORDER_NOT_OPEN
    # after the gate closes, no cancel
    oid = m.order_id(m.bob, mc.buy("site-b", iv + L, 100, 30))
    m.until(iv + L - GATE)
    assert m.code(m.bob, mc.cancel(oid)) == MarketCode.GATE_CLOSED


def _trade(m: Market, iv: int) -> tuple[int, int]:
    """alice sells 400 Wh at ≥ 10 from pv-a, bob buys 400 Wh at ≤ 30: every price in [10, 30]
    clears them, the price is the midpoint 20."""
    sell = m.order_id(m.alice, mc.sell("pv-a", iv, 400, 10))
    buy = m.order_id(m.bob, mc.buy("site-b", iv, 400, 30))
    return sell, buy


def _deliver(m: Market, iv: int, pv_export: int, meter_import: int) -> None:
    """Baselines before the interval, then the interval's registers (relayed by the owners)."""
    m.reading(m.alice, "pv-a", 1, iv - L, iv, 0, 1_000)
    m.reading(m.bob, "meter-b", 2, iv - L, iv, 5_000, 0)
    m.reading(m.alice, "pv-a", 1, iv, iv + L, 0, 1_000 + pv_export)
    m.reading(m.bob, "meter-b", 2, iv, iv + L, 5_000 + meter_import, 0)


def _settle_case(driver: AppDriver, consortium: Consortium, pv_export: int, meter_import: int) -> Market:
    m = Market(driver, consortium)
    m.setup()
    iv = m.upcoming()
    m.balances = {who: balance(driver, who) for who in (m.alice, m.bob, m.operator, m.supplier)}
    sell, buy = _trade(m, iv)
    evs = m.until(iv - GATE)
    assert ("interval_cleared", {"interval": str(iv), "pool_price": "0", "total_wh": "400", "orders": "2"}) in evs
    result = m.clearing(iv)
    (f1,) = result.feeders
    assert (f1.local_price, f1.local_wh, result.total_wh) == (20, 400, 400)
    assert m.order(buy).cost == 8
    assert m.order(buy).escrow == 8  # 12 escrowed, 4 refunded at clearing
    assert balance(driver, ESCROW_ADDRESS) == 8
    assert m.order(sell).filled_wh == 400
    m.until(iv + L + 10)
    _deliver(m, iv, pv_export, meter_import)
    evs = m.until(iv + L + GRACE)
    assert any(t == "interval_settled" for t, _ in evs)
    assert balance(driver, ESCROW_ADDRESS) == 0
    assert m.order(buy).status == mpb.ORDER_STATUS_SETTLED
    return m


def test_settlement_exact_delivery(driver: AppDriver, consortium: Consortium) -> None:
    """Delivered as traded: bob pays 8 (and got 4 back), alice receives 8, nobody else moves."""
    m = _settle_case(driver, consortium, 400, 400)
    iv = _traded_interval(m)
    b, a = m.statement(m.bob, iv), m.statement(m.alice, iv)
    assert (b.bought_wh, b.paid, b.refunds, b.consumed_wh, b.imbalance_paid) == (400, 8, 4, 400, 0)
    assert (a.sold_wh, a.received, a.delivered_wh, a.imbalance_paid, a.imbalance_received) == (400, 8, 400, 0, 0)
    assert balance(driver, m.bob) == m.balances[m.bob] - 8
    assert balance(driver, m.alice) == m.balances[m.alice] + 8
    assert balance(driver, m.supplier) == m.balances[m.supplier]


def _traded_interval(m: Market) -> int:
    t = m.d.time - m.d.time % L
    return next(i for i in range(t, t - 10 * L, -L) if m.d.query(f"/clearing/{i}").value)


def test_settlement_short_delivery_and_excess_consumption(driver: AppDriver, consortium: Consortium) -> None:
    """alice exports 300 of 400: pays 100 Wh × 40 = 4 to the supplier; bob imports 450 of 400:
    pays 50 Wh × 40 = 2."""
    m = _settle_case(driver, consortium, 300, 450)
    iv = _traded_interval(m)
    a, b = m.statement(m.alice, iv), m.statement(m.bob, iv)
    assert (a.received, a.delivered_wh, a.imbalance_paid) == (8, 300, 4)
    assert (b.paid, b.consumed_wh, b.imbalance_paid) == (8, 450, 2)
    assert balance(driver, m.supplier) == m.balances[m.supplier] + 6
    assert balance(driver, m.alice) == m.balances[m.alice] + 8 - 4


def test_settlement_surplus_and_unused_purchase(driver: AppDriver, consortium: Consortium) -> None:
    """alice exports 1000 of 400: paid 600 Wh × 2 = 1 by the supplier; bob imports 100 of 400:
    paid 300 Wh × 2 = 0 (rounded down)."""
    m = _settle_case(driver, consortium, 1_000, 100)
    iv = _traded_interval(m)
    a, b = m.statement(m.alice, iv), m.statement(m.bob, iv)
    assert (a.delivered_wh, a.imbalance_received) == (1_000, 1)
    assert (b.consumed_wh, b.imbalance_received) == (100, 0)
    assert balance(driver, m.supplier) == m.balances[m.supplier] - 1


def test_late_readings_after_grace_correct_the_estimate(driver: AppDriver, consortium: Consortium) -> None:
    """No reading by end + grace: settled on an estimate, alice's sale as undelivered (short
    400 Wh → 16), bob's purchase as consumed; alice's readings arriving within the correction
    window refund her shortfall (the statement keeps both moves and counts the correction)."""
    m = Market(driver, consortium)
    m.setup()
    iv = m.upcoming()
    _trade(m, iv)
    m.until(iv - GATE)
    m.until(iv + L + GRACE)
    a = m.statement(m.alice, iv)
    assert (a.received, a.delivered_wh, a.imbalance_paid, a.estimates) == (8, 0, 16, 1)
    b = m.statement(m.bob, iv)
    assert (b.consumed_wh, b.imbalance_received, b.estimates) == (400, 0, 1)
    m.reading(m.alice, "pv-a", 1, iv - L, iv, 0, 1_000)
    m.reading(m.alice, "pv-a", 1, iv, iv + L, 0, 1_400)
    m.until(iv + L + GRACE + 100)
    a = m.statement(m.alice, iv)
    assert (a.delivered_wh, a.imbalance_paid, a.imbalance_received, a.corrections) == (400, 16, 16, 1)


def test_fees_go_to_the_operator_and_stay_inside_the_limit(driver: AppDriver, consortium: Consortium) -> None:
    """Across feeders carol pays price + inter fee ≤ her limit; the operator gets the fee."""
    m = Market(driver, consortium)
    m.setup(intra=1, inter=6)
    iv = m.upcoming()
    m.order_id(m.alice, mc.sell("pv-a", iv, 1_000, 10))
    buy = m.order_id(m.carol, mc.buy("site-c", iv, 1_000, 30))
    op = balance(driver, m.operator)
    m.until(iv - GATE)
    result = m.clearing(iv)
    assert (result.pool_price, result.pool_wh) == ((24 + 10) // 2, 1_000)
    assert m.order(buy).cost == 1_000 * (17 + 6) // 1000
    fills = mpb.FillList.FromString(driver.query(f"/fills/{m.carol.address.hex()}").value).fills
    assert [(f.price, f.fee_per_kwh, f.cross_feeder) for f in fills] == [(17, 6, True)]
    m.until(iv + L + GRACE)
    assert balance(driver, m.operator) == op + 23 - 17
    assert m.statement(m.carol, iv).fees == 6


def test_binding_feeder_limit_curtails_and_alerts(driver: AppDriver, consortium: Consortium) -> None:
    """feeder-2 may import 300 Wh: carol's rule buys only 300 of 1000 and gets FEEDER_LIMIT."""
    m = Market(driver, consortium)
    m.setup()
    m.ok(m.operator, grid_pb2.SetFeederLimit(feeder="feeder-2", import_wh=300, export_wh=0))
    m.ok(m.carol, mc.rule("buy", site_id="site-c", limit_price=30, max_wh_per_interval=1_000))
    iv = m.upcoming()
    m.until(iv - GATE)  # rules place for the next interval
    nxt = iv + L
    m.order_id(m.alice, mc.sell("pv-a", nxt, 1_000, 10))
    m.until(nxt - GATE)
    result = m.clearing(nxt)
    by = {f.feeder: f for f in result.feeders}
    assert by["feeder-2"].pool_import_wh == 300
    assert by["feeder-2"].curtailed_wh == 700
    assert [a.reason for a in m.alerts(m.carol)] == [mpb.ALERT_REASON_FEEDER_LIMIT]


def test_rule_alerts_price_no_seller_funds_reserve_deadline(driver: AppDriver, consortium: Consortium) -> None:
    """Each reason a rule cannot be met raises its alert with the best price available."""
    m = Market(driver, consortium)
    m.setup()
    m.ok(m.alice, certify(consortium, dc.register_device(
        "bat-a", "site-a", "battery", dc.device_public_key(key(4)), 5_000,
        capacity_wh=10_000, max_charge_w=5_000, max_discharge_w=5_000, efficiency_bp=9_000,
    )))  # fmt: skip
    commission(driver, "bat-a")
    m.ok(m.bob, mc.rule("buy", site_id="site-b", limit_price=15, max_wh_per_interval=200))
    m.ok(m.carol, mc.rule("buy", site_id="site-c", limit_price=10**5, max_wh_per_interval=10**8))
    m.ok(m.alice, mc.rule("sell", device_id="bat-a", limit_price=5))
    # a PV sell rule without a forecast or readings offers nothing (not its nameplate) and says so
    m.ok(m.alice, mc.rule("sell", device_id="pv-a", limit_price=5))
    iv = m.upcoming()
    deadline = iv + L + 2 * L
    m.ok(m.bob, mc.rule("deferrable", site_id="site-b", limit_price=50, max_wh_per_interval=100,
                        energy_wh=200, deadline=deadline))  # fmt: skip
    evs = m.until(iv - GATE)  # orders for iv + L
    reasons = sorted(a["reason"] for t, a in evs if t == "alert")
    assert reasons == ["battery_at_reserve", "deadline_at_risk", "insufficient_funds", "no_forecast"]
    nxt = iv + L
    # clearing: no member sells, but the upstream grid offers at retail (30) above bob's limit
    # (15): price_above_limit with the grid's price (no_seller needs no upstream grid, see
    # test_market_upstream.py); the deferrable rule did not clear either
    m.until(nxt - GATE)
    assert {a.reason for a in m.alerts(m.bob)} >= {
        mpb.ALERT_REASON_PRICE_ABOVE_LIMIT,
        mpb.ALERT_REASON_DEADLINE_AT_RISK,
    }
    # an ask above bob's limit: price_above_limit with the best price the book had (20)
    m.order_id(m.alice, mc.sell("pv-a", nxt + L, 100, 20))
    m.until(nxt + L - GATE)
    price_alerts = [a for a in m.alerts(m.bob) if a.reason == mpb.ALERT_REASON_PRICE_ABOVE_LIMIT]
    assert [(a.best_price, a.interval_start) for a in price_alerts] == [(30, nxt), (20, nxt + L)]
    price_alerts = price_alerts[1:]
    # bob accepts new terms: the rule's limit becomes 25
    m.ok(m.bob, mc.accept_terms(price_alerts[0].alert_id, 25))
    rules = mpb.RuleList.FromString(driver.query(f"/rules/{m.bob.address.hex()}").value).rules
    assert rules[0].limit_price == 25
    assert m.code(m.carol, mc.accept_terms(price_alerts[0].alert_id, 25)) == MarketCode.NOT_ALERT_OWNER
    assert m.code(m.bob, mc.accept_terms(10**6, 25)) == MarketCode.UNKNOWN_ALERT


def test_budget_spent_alert_and_new_budget(driver: AppDriver, consortium: Consortium) -> None:
    """A daily budget of 3 buys 100 Wh at 30; the next interval alerts BUDGET_SPENT; a new
    budget accepted through AcceptTerms lets the rule buy again."""
    m = Market(driver, consortium)
    m.setup()
    m.ok(m.bob, mc.rule("buy", site_id="site-b", limit_price=30, max_wh_per_interval=500, daily_budget=3))
    iv = m.upcoming()
    m.until(iv - GATE)  # the rule places 100 Wh (3 × 1000 / 30) for iv + L
    nxt = iv + L
    (order,) = mpb.OrderList.FromString(driver.query(f"/book/{nxt}").value).orders
    assert (order.energy_wh, order.escrow) == (100, 3)
    m.order_id(m.alice, mc.sell("pv-a", nxt, 100, 30))
    evs = m.until(nxt - GATE)  # clears nxt at 30 (cost 3), then the rule finds its budget spent
    assert [a["reason"] for t, a in evs if t == "alert"] == ["budget_spent"]
    (alert,) = m.alerts(m.bob)
    m.ok(m.bob, mc.accept_terms(alert.alert_id, 9))
    m.until(nxt + L - GATE)
    (order,) = mpb.OrderList.FromString(driver.query(f"/book/{nxt + 2 * L}").value).orders
    assert (order.energy_wh, order.escrow) == (200, 6)


def test_rules_are_owned_and_bounded(driver: AppDriver, consortium: Consortium) -> None:
    """Rules name what their owner owns; only the owner replaces or removes them."""
    m = Market(driver, consortium)
    m.setup()
    assert m.code(m.bob, mc.rule("buy", site_id="site-a", limit_price=1, max_wh_per_interval=1)) == (
        MarketCode.NOT_SITE_OWNER
    )
    assert m.code(m.bob, mc.rule("sell", device_id="pv-a", limit_price=1)) == MarketCode.NOT_DEVICE_OWNER
    assert m.code(m.bob, mc.rule("buy", site_id="site-b", limit_price=0, max_wh_per_interval=1)) == (
        MarketCode.BAD_RULE
    )
    m.ok(m.bob, mc.rule("buy", site_id="site-b", limit_price=5, max_wh_per_interval=10))
    assert m.code(m.alice, mc.remove_rule(1)) == MarketCode.NOT_RULE_OWNER
    assert m.code(m.bob, mc.rule("buy", rule_id=7, site_id="site-b", limit_price=5, max_wh_per_interval=10)) == (
        MarketCode.UNKNOWN_RULE
    )
    m.ok(m.bob, mc.rule("buy", rule_id=1, site_id="site-b", limit_price=6, max_wh_per_interval=10))
    assert mpb.Rule.FromString(driver.query("/rule/1").value).limit_price == 6
    m.ok(m.bob, mc.remove_rule(1))
    assert not driver.query("/rule/1").value


def test_queries_page_through_a_members_orders(driver: AppDriver, consortium: Consortium) -> None:
    """/orders/<addr> pages with limit and cursor; /book/<interval> lists open orders."""
    m = Market(driver, consortium)
    m.setup()
    iv = m.upcoming()
    ids = [m.order_id(m.bob, mc.buy("site-b", iv, 10 + i, 30)) for i in range(3)]
    first = mpb.OrderList.FromString(driver.query(f"/orders/{m.bob.address.hex()}?limit=2").value)
    assert [o.order_id for o in first.orders] == ids[:2]
    rest = mpb.OrderList.FromString(driver.query(f"/orders/{m.bob.address.hex()}?limit=2&after={first.next}").value)
    assert [o.order_id for o in rest.orders] == ids[2:]
    assert rest.next == ""
    book = mpb.OrderList.FromString(driver.query(f"/book/{iv}").value)
    assert [o.order_id for o in book.orders] == ids
    assert driver.query("/clearing/notanumber").code == Code.QUERY_BAD_REQUEST


def test_settlement_delivers_certificates_with_the_payment(driver: AppDriver, consortium: Consortium) -> None:
    """A solar seller's certificates for the interval's hour move to the buyer at settlement."""
    m = Market(driver, consortium)
    m.setup()
    solar = dc.register_device("pv-s", "site-a", "pv", dc.device_public_key(key(9)), 5_000, energy_source="solar")
    m.ok(m.alice, certify(consortium, solar))
    commission(driver, "pv-s")
    iv = m.upcoming() + L  # its baseline reading [iv - L, iv) starts after pv-s's registration
    while (iv + L) % 3600:
        iv += L
    m.order_id(m.alice, mc.sell("pv-s", iv, 400, 10))
    m.order_id(m.bob, mc.buy("site-b", iv, 400, 30))
    m.until(iv + L + 10)
    m.reading(m.alice, "pv-s", 9, iv - L, iv, 0, 1_000)
    m.reading(m.alice, "pv-s", 9, iv, iv + L, 0, 1_400)
    issued = cpb.BundleList.FromString(driver.query(f"/bundles/owner/{m.alice.address.hex()}").value).bundles
    assert sum(b.end_wh - b.start_wh for b in issued) == 400
    m.until(iv + L + GRACE)
    assert m.statement(m.alice, iv).received == 8
    moved = cpb.BundleList.FromString(driver.query(f"/bundles/owner/{m.bob.address.hex()}").value).bundles
    assert sum(b.end_wh - b.start_wh for b in moved) == 400
    assert {b.hour_start for b in moved} == {iv + L - 3600}


def test_the_unfilled_rest_of_a_partly_filled_buy_is_bought_at_retail(
    driver: AppDriver, consortium: Consortium
) -> None:
    """bob asks for 800 Wh at 25 and gets alice's 500 (the grid's retail, 30, is above his limit);
    his meter imports 900: the 300 Wh the market could not supply are bought at retail (9), only
    the 100 Wh beyond his order at the imbalance price (4) — a partly filled buy never costs more
    than an unfilled one."""
    m = Market(driver, consortium)
    m.setup()
    iv = m.upcoming()
    m.order_id(m.alice, mc.sell("pv-a", iv, 500, 10))
    buy = m.order_id(m.bob, mc.buy("site-b", iv, 800, 25))
    m.until(iv - GATE)
    assert m.order(buy).filled_wh == 500
    before = balance(driver, m.supplier)
    m.until(iv + L + 10)
    _deliver(m, iv, 500, 900)
    m.until(iv + L + GRACE)
    b = m.statement(m.bob, iv)
    assert (b.bought_wh, b.consumed_wh, b.retail_wh, b.retail_paid, b.imbalance_paid) == (500, 900, 300, 9, 4)
    assert balance(driver, m.supplier) == before + 9 + 4
