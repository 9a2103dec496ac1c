"""The upstream grid in the market (the supplier of last resort buys surplus at feed-in and sells
at retail in every clearing), feeder limits binding its flows, grid instructions to the sites a
limit curtailed (records, events, queries, alerts), the export penalty in settlement, and the
driver's absolute block times. Every tx is signed and goes through the app; the driver checks
the invariants (escrow, fills within limits, money supply) after every block."""

from __future__ import annotations

import base64
from dataclasses import replace
from typing import Any

import pytest
from gridledger.accounts.v1 import accounts_pb2
from gridledger.api.v1 import market_api_pb2
from gridledger.grid.v1 import grid_pb2
from gridledger.identity.v1 import identity_pb2
from gridledger.market.v1 import market_pb2 as mpb

from abci_app.domain import GenesisError
from abci_app.errors import Code
from abci_app.market import genesis as market_genesis
from abci_app.market import keeper as market_keeper
from abci_app.market.domain import DOMAIN as MARKET_DOMAIN
from abci_app.market.invariants import upstream_trades_balance
from abci_app.market.keeper import ESCROW_ADDRESS
from abci_app.registry import check_invariants
from abci_app.store.branch import Branch
from clients import devices as dc
from clients import forecasts as fc
from clients import market as mc
from clients.gridctl import build_parser
from clients.ops.consortium import Consortium
from clients.pki import Identity
from clients.servers.api_reads import READS
from tests.support.devices import certify, commission
from tests.support.driver import GENESIS_TIME, AppDriver
from tests.support.genesis_roundtrip import differences, export_and_import
from tests.unit.helpers import balance
from tests.unit.test_market import GATE, GRACE, L, Market, key
from tests.unit.test_market_genesis import _exported, _import_with_escrow

RETAIL, FEED_IN, PENALTY, INTER = 30, 5, 50, 6


def _market(driver: AppDriver, consortium: Consortium, *, inter: int = INTER, penalty: int = PENALTY) -> Market:
    """The demo market with fees 1/`inter` and tariffs retail 30, feed-in 5, export penalty 50."""
    m = Market(driver, consortium)
    m.setup(intra=min(1, inter), inter=inter)
    m.ok(
        m.operator,
        grid_pb2.SetTariffs(
            supplier=m.supplier.address,
            retail_per_kwh=RETAIL,
            feed_in_per_kwh=FEED_IN,
            imbalance_short_per_kwh=40,
            imbalance_long_per_kwh=2,
            export_penalty_per_kwh=penalty,
        ),
    )
    return m


def _money(m: Market) -> dict[Identity | bytes, int]:
    return {who: balance(m.d, who) for who in (m.alice, m.bob, m.carol, m.operator, m.supplier, ESCROW_ADDRESS)}


def _upstream(m: Market, iv: int) -> mpb.UpstreamTrade | None:
    resp = m.d.query(f"/upstream/{iv}")
    if resp.code == Code.QUERY_NOT_FOUND:
        return None
    assert resp.code == 0, resp.log
    return mpb.UpstreamTrade.FromString(resp.value)


def _instructions(m: Market, iv: int) -> list[mpb.GridInstruction]:
    resp = m.d.query(f"/instructions/{iv}")
    assert resp.code == 0, resp.log
    return list(mpb.GridInstructionList.FromString(resp.value).instructions)


def _pv(m: Market, iv: int, export: int) -> None:
    """alice's PV registers around `iv` (after the interval has ended): `export` Wh in it."""
    m.until(iv + L + 10)
    m.reading(m.alice, "pv-a", 1, iv - L, iv, 0, 1_000)
    m.reading(m.alice, "pv-a", 1, iv, iv + L, 0, 1_000 + export)


def test_upstream_buys_surplus_at_feed_in_and_is_settled_like_a_buyer(
    driver: AppDriver, consortium: Consortium
) -> None:
    """alice offers 1000 Wh at 3 and no member buys: the upstream grid buys all at feed-in (5)
    paying the inter fee, ceil(1000 × 11 / 1000) = 11 escrowed at gate closure; at settlement
    alice gets 5, the operator the 6 of fees, and money is conserved."""
    m = _market(driver, consortium)
    iv = m.upcoming()
    before = _money(m)
    sell = m.order_id(m.alice, mc.sell("pv-a", iv, 1_000, 3))
    m.until(iv - GATE)
    up = _upstream(m, iv)
    assert up is not None
    assert (up.bought_wh, up.sold_wh, up.price, up.fee_per_kwh, up.paid, up.earned) == (1_000, 0, 5, 6, 11, 0)
    assert up.supplier == m.supplier.address
    assert not up.settled
    assert balance(driver, ESCROW_ADDRESS) == 11
    assert m.order(sell).filled_wh == 1_000
    assert (m.clearing(iv).pool_price, m.clearing(iv).pool_wh) == (5, 1_000)
    _pv(m, iv, 1_000)
    m.until(iv + L + GRACE)
    after = _money(m)
    assert after[m.alice] - before[m.alice] == 5
    assert after[m.supplier] - before[m.supplier] == -11
    assert after[m.operator] - before[m.operator] == 6
    assert sum(after.values()) == sum(before.values())
    s = m.statement(m.supplier, iv)
    assert (s.bought_wh, s.paid, s.fees) == (1_000, 11, 6)
    assert _upstream(m, iv).settled  # type: ignore[union-attr]


def test_upstream_sells_at_retail_and_no_price_leaves_feed_in_retail(driver: AppDriver, consortium: Consortium) -> None:
    """bob bids 400 Wh at 40 all-in with nobody selling: the grid sells at retail (30, the
    midpoint 32 clamped), bob pays ceil(400 × 36 / 1000) = 15, the supplier earns 12."""
    m = _market(driver, consortium)
    iv = m.upcoming()
    before = _money(m)
    buy = m.order_id(m.bob, mc.buy("site-b", iv, 400, 40))
    m.until(iv - GATE)
    up = _upstream(m, iv)
    assert up is not None
    assert (up.bought_wh, up.sold_wh, up.price, up.paid, up.earned) == (0, 400, 30, 0, 12)
    assert m.order(buy).cost == 15
    m.until(iv + L + GRACE)
    after = _money(m)
    assert after[m.supplier] - before[m.supplier] == 12
    assert after[m.bob] - before[m.bob] == -15
    assert after[m.operator] - before[m.operator] == 3
    assert sum(after.values()) == sum(before.values())
    assert m.statement(m.supplier, iv).received == 12


def test_a_bid_below_feed_in_or_an_ask_above_retail_does_not_trade(driver: AppDriver, consortium: Consortium) -> None:
    """bob's local bid of 4 (below feed-in 5) would have met alice's ask of 3 before; now
    alice's energy goes to the grid at 5, and carol's 35 all-in bid never meets an ask of 31."""
    m = _market(driver, consortium, inter=0)
    iv = m.upcoming()
    sell = m.order_id(m.alice, mc.sell("pv-a", iv, 100, 3))
    low = m.order_id(m.bob, mc.buy("site-b", iv, 100, 4))
    m.order_id(m.alice, mc.sell("pv-a", iv, 100, 31))
    m.until(iv - GATE)
    assert m.order(low).status == mpb.ORDER_STATUS_UNFILLED
    assert (m.order(sell).filled_wh, m.order(sell).status) == (100, mpb.ORDER_STATUS_CLEARED)
    assert _upstream(m, iv).bought_wh == 100  # type: ignore[union-attr]
    result = m.clearing(iv)
    assert FEED_IN <= result.pool_price <= RETAIL
    assert all(f.local_price == 0 or FEED_IN <= f.local_price <= RETAIL for f in result.feeders)


def _curtailed_export(m: Market) -> tuple[int, int, list[tuple[str, dict[str, str]]]]:
    """feeder-1 may export 400 Wh; alice offers 1000 at 3, carol (feeder-2) bids 100 at 40:
    carol gets 100, the grid 300, alice's other 600 are cut. Returns (interval, order, events)."""
    m.ok(m.operator, grid_pb2.SetFeederLimit(feeder="feeder-1", export_wh=400, import_unlimited=True))
    iv = m.upcoming()
    sell = m.order_id(m.alice, mc.sell("pv-a", iv, 1_000, 3))
    m.order_id(m.carol, mc.buy("site-c", iv, 100, 40))
    return iv, sell, m.until(iv - GATE)


def test_export_limit_binds_against_upstream_and_instructs_the_site(driver: AppDriver, consortium: Consortium) -> None:
    """With local surplus and no neighbour buying it all, the export limit now binds: the grid
    buys only up to it; site-a gets an export cap of 400 Wh = 1600 W (event and record), and
    alice an alert naming her order and what her energy fetched on her export-limited feeder: 3,
    her own ask (the pool pays feed-in 5; the limit keeps feeder-1's price down to clear its
    partly filled offer)."""
    m = _market(driver, consortium)
    iv, sell, evs = _curtailed_export(m)
    (f1,) = [f for f in m.clearing(iv).feeders if f.feeder == "feeder-1"]
    assert (f1.pool_export_wh, f1.curtailed_wh) == (400, 600)
    up = _upstream(m, iv)
    assert up is not None
    assert (up.bought_wh, up.price, up.paid, up.curtailed_wh) == (300, 5, 4, 600)
    assert m.order(sell).filled_wh == 400
    (ev,) = [a for t, a in evs if t == "grid_instruction"]
    assert ev == {
        "interval": str(iv),
        "interval_end": str(iv + L),
        "feeder": "feeder-1",
        "site": "site-a",
        "owner": m.alice.address.hex(),
        "export_cap_w": "1600",
        "import_cap_w": "unlimited",
        "reason": "feeder_export_limit",
    }
    (ins,) = _instructions(m, iv)
    assert (ins.site_id, ins.export_capped, ins.export_cap_w, ins.export_cap_wh) == ("site-a", True, 1_600, 400)
    assert (ins.import_capped, ins.curtailed_wh, ins.owner) == (False, 600, m.alice.address)
    one = m.d.query(f"/instructions/{iv}/site-a")
    assert mpb.GridInstruction.FromString(one.value) == ins
    assert m.d.query(f"/instructions/{iv}/site-b").code == Code.QUERY_NOT_FOUND
    (alert,) = m.alerts(m.alice)
    assert (alert.reason, alert.order_id, alert.rule_id, alert.best_price) == (
        mpb.ALERT_REASON_FEEDER_LIMIT,
        sell,
        0,
        3,
    )
    (aev,) = [a for t, a in evs if t == "alert"]
    assert (aev["order_id"], aev["reason"], aev["best_price"]) == (str(sell), "feeder_limit", "3")


@pytest.mark.parametrize(("export", "penalty_wh", "penalty_paid"), [(700, 300, 15), (400, 0, 0), (1, 0, 0)])
def test_export_above_the_cap_is_penalised_within_it_settles_normally(
    driver: AppDriver, consortium: Consortium, export: int, penalty_wh: int, penalty_paid: int
) -> None:
    """alice may export 400 Wh after the instruction: 700 pays ceil(300 × 50 / 1000) = 15 to the
    supplier (and earns no surplus imbalance for it); 400 or less settles as before. Her 400 Wh
    sold earn floor(400 × 3 / 1000) = 1 at her feeder's price 3 (the export limit binds)."""
    m = _market(driver, consortium)
    iv, _sell, _evs = _curtailed_export(m)
    before = _money(m)
    _pv(m, iv, export)
    m.until(iv + L + GRACE)
    after = _money(m)
    s = m.statement(m.alice, iv)
    assert (s.penalty_wh, s.penalty_paid, s.delivered_wh, s.received) == (penalty_wh, penalty_paid, export, 1)
    assert s.imbalance_received == 0
    short = 400 - export
    assert s.imbalance_paid == (-(-short * 40 // 1000) if short > 0 else 0)
    assert after[m.alice] - before[m.alice] == 1 - penalty_paid - s.imbalance_paid
    assert sum(after.values()) == sum(before.values())


def test_a_penalty_beyond_the_balance_is_unpaid(driver: AppDriver, consortium: Consortium) -> None:
    """A penalty price of 100,000,000 per kWh on 300 Wh is more than alice has: she pays her
    balance and the rest shows as unpaid."""
    m = _market(driver, consortium, penalty=100_000_000)
    iv, _sell, _evs = _curtailed_export(m)
    _pv(m, iv, 700)
    m.until(iv + L + GRACE - 1)
    held = balance(driver, m.alice)
    m.until(iv + L + GRACE)
    s = m.statement(m.alice, iv)
    assert s.penalty_wh == 300
    assert s.penalty_paid + s.unpaid == 30_000_000
    assert s.penalty_paid == held + 1  # her balance and what she earned at settlement
    assert balance(driver, m.alice) == 0


def test_import_limit_instructs_sites_with_a_battery_and_alerts_every_buyer(
    driver: AppDriver, consortium: Consortium
) -> None:
    """feeder-1 may import 100 Wh: alice (battery on site-a) and bob (meter only) each bid for
    the grid's energy; alice gets 100, both are cut and alerted with the best price 36 (retail
    + inter fee), and only site-a gets an import cap (400 W): bob's site has nothing to hold back."""
    m = _market(driver, consortium)
    m.add_battery()
    m.ok(m.operator, grid_pb2.SetFeederLimit(feeder="feeder-1", import_wh=100, export_unlimited=True))
    iv = m.upcoming()
    a = m.order_id(m.alice, mc.buy("site-a", iv, 500, 40))
    b = m.order_id(m.bob, mc.buy("site-b", iv, 300, 40))
    evs = m.until(iv - GATE)
    assert (m.order(a).filled_wh, m.order(b).filled_wh, m.order(b).status) == (100, 0, mpb.ORDER_STATUS_UNFILLED)
    assert _upstream(m, iv).sold_wh == 100  # type: ignore[union-attr]
    (ev,) = [x for t, x in evs if t == "grid_instruction"]
    assert (ev["site"], ev["export_cap_w"], ev["import_cap_w"], ev["reason"]) == (
        "site-a",
        "unlimited",
        "400",
        "feeder_import_limit",
    )
    (ins,) = _instructions(m, iv)
    assert (ins.import_capped, ins.import_cap_w, ins.import_cap_wh, ins.export_capped) == (True, 400, 100, False)
    for who, oid in ((m.alice, a), (m.bob, b)):
        (alert,) = m.alerts(who)
        assert (alert.reason, alert.order_id, alert.best_price) == (mpb.ALERT_REASON_FEEDER_LIMIT, oid, 36)


def test_a_site_cut_by_another_feeders_limit_is_alerted_not_instructed(
    driver: AppDriver, consortium: Consortium
) -> None:
    """feeder-2 may import 300 Wh: alice's 1000 Wh on the unlimited feeder-1 is cut to 300 and
    she is alerted (her offer is marginal at the pool price, 10: her ask, since she is partly
    filled), but her feeder's flows were not limited, so no site gets an instruction (carol's
    site has no flexible load). Carol, at her feeder's limit, pays her own limit: feeder-2's
    price is the lowest that clears her partly filled bid, 40 − intra 1 = 39."""
    m = _market(driver, consortium)
    m.ok(m.operator, grid_pb2.SetFeederLimit(feeder="feeder-2", import_wh=300, export_wh=0))
    iv = m.upcoming()
    sell = m.order_id(m.alice, mc.sell("pv-a", iv, 1_000, 10))
    m.order_id(m.carol, mc.buy("site-c", iv, 1_000, 40))
    evs = m.until(iv - GATE)
    assert m.order(sell).filled_wh == 300
    assert m.clearing(iv).pool_price == 10
    assert {f.feeder: f.local_price for f in m.clearing(iv).feeders} == {"feeder-1": 10, "feeder-2": 39}
    assert [(a.order_id, a.best_price) for a in m.alerts(m.alice)] == [(sell, 10)]
    assert [a.reason for a in m.alerts(m.carol)] == [mpb.ALERT_REASON_FEEDER_LIMIT]
    assert _instructions(m, iv) == []
    assert [t for t, _ in evs if t == "grid_instruction"] == []


def test_a_curtailed_rule_order_alerts_once(driver: AppDriver, consortium: Consortium) -> None:
    """A sell rule's order cut by the export limit alerts its owner once, naming rule and order
    (sell rules were never alerted before)."""
    m = _market(driver, consortium)
    m.ok(m.operator, grid_pb2.SetFeederLimit(feeder="feeder-1", export_wh=100, import_unlimited=True))
    iv = m.upcoming()
    m.ok(m.alice, fc.post_forecast("pv-a", iv + L, [(1_000, 0)]))  # a sell rule offers its forecast
    m.ok(m.alice, mc.rule("sell", device_id="pv-a", limit_price=2, max_wh_per_interval=1_000))
    m.until(iv - GATE)  # the rule places for iv + L
    nxt = iv + L
    m.until(nxt - GATE)
    alerts = [x for x in m.alerts(m.alice) if x.interval_start == nxt]
    assert [(x.reason, x.rule_id) for x in alerts] == [(mpb.ALERT_REASON_FEEDER_LIMIT, 1)]
    assert alerts[0].order_id > 0
    assert _instructions(m, nxt)[0].export_cap_wh == 100


def test_no_upstream_when_feed_in_is_not_below_retail(driver: AppDriver, consortium: Consortium) -> None:
    """With feed-in = retail the grid would trade with itself, so it stays out: a buy rule with
    no seller gets no_seller, as before the upstream grid took part."""
    m = Market(driver, consortium)
    m.setup()
    m.ok(m.operator, grid_pb2.SetTariffs(supplier=m.supplier.address, retail_per_kwh=5, feed_in_per_kwh=5))
    m.ok(m.bob, mc.rule("buy", site_id="site-b", limit_price=50, max_wh_per_interval=100))
    iv = m.upcoming()
    m.until(iv - GATE)
    m.until(iv + L - GATE)
    assert [x.reason for x in m.alerts(m.bob)] == [mpb.ALERT_REASON_NO_SELLER]
    assert _upstream(m, iv + L) is None


def test_no_upstream_when_the_supplier_is_ineligible(driver: AppDriver, consortium: Consortium) -> None:
    """A revoked supplier stays out of the clearing: alice's surplus finds no buyer."""
    m = _market(driver, consortium)
    m.ok(consortium.member("utility/admin"), identity_pb2.RevokeMember(member=m.supplier.address, reason="left"))
    iv = m.upcoming()
    sell = m.order_id(m.alice, mc.sell("pv-a", iv, 500, 1))
    m.until(iv - GATE)
    assert m.order(sell).status == mpb.ORDER_STATUS_UNFILLED
    assert _upstream(m, iv) is None


def test_a_supplier_short_of_balance_buys_only_what_it_can_pay(driver: AppDriver, consortium: Consortium) -> None:
    """The supplier keeps 5: at feed-in 5 and no fee it pays for 1000 Wh, so of alice's 1250 it
    buys 1000 (no alert: no limit cut her) and her other 250 fall to feed-in at settlement. With
    the grid's bid used up, alice's partly filled offer sets the price: her ask, 3, so the
    supplier pays ceil(1000 × 3 / 1000) = 3 and keeps 2."""
    m = _market(driver, consortium, inter=0)
    m.ok(m.supplier, accounts_pb2.Transfer(to=m.carol.address, amount=balance(driver, m.supplier) - 5))
    iv = m.upcoming()
    sell = m.order_id(m.alice, mc.sell("pv-a", iv, 1_250, 3))
    m.until(iv - GATE)
    assert m.order(sell).filled_wh == 1_000
    assert (_upstream(m, iv).bought_wh, _upstream(m, iv).paid) == (1_000, 3)  # type: ignore[union-attr]
    assert balance(driver, m.supplier) == 2
    assert m.alerts(m.alice) == []
    assert _instructions(m, iv) == []


@pytest.mark.parametrize("value", [100_000_001, (1 << 64) - 1])
def test_hostile_penalty_prices_are_refused(driver: AppDriver, consortium: Consortium, value: int) -> None:
    """A penalty above the price bound is INVALID_ARGUMENT, proposed straight into a block; a
    member who is not the operator is UNAUTHORIZED; the tariffs stay as they were."""
    m = _market(driver, consortium)
    bad = grid_pb2.SetTariffs(supplier=m.supplier.address, retail_per_kwh=30, export_penalty_per_kwh=value)
    assert m.code(m.operator, bad) == Code.INVALID_ARGUMENT
    good = grid_pb2.SetTariffs(supplier=m.supplier.address, retail_per_kwh=30, export_penalty_per_kwh=1)
    assert m.code(m.alice, good) == Code.UNAUTHORIZED
    assert grid_pb2.Tariffs.FromString(driver.query("/tariffs").value).export_penalty_per_kwh == PENALTY


@pytest.mark.parametrize(
    "path",
    [
        "/instructions",
        "/instructions/x",
        "/instructions/-1",
        "/instructions/1/a/b",
        f"/instructions/1/{'s' * 65}",
        "/instructions/99999999999999999999999",
        "/upstream",
        "/upstream/1/2",
        "/upstream/ten",
        "/instructions/1?limit=0",
        "/instructions/1?after=zz",
    ],
)
def test_hostile_queries_are_bad_requests(driver: AppDriver, path: str) -> None:
    """Malformed instruction and upstream paths answer QUERY_BAD_REQUEST, never crash."""
    assert driver.query(path).code == Code.QUERY_BAD_REQUEST


def test_queries_of_nothing_are_empty_and_pages_follow_site_order(driver: AppDriver, consortium: Consortium) -> None:
    """An interval without instructions lists none; two curtailed sites list in site-id order,
    one per page with a cursor; a site cut to nothing gets an export cap of 0 W."""
    m = _market(driver, consortium)
    assert _instructions(m, 900) == []
    assert _upstream(m, 900) is None
    m.ok(m.alice, dc.register_site("site-0", "feeder-1"))
    pv_0 = dc.register_device("pv-0", "site-0", "pv", dc.device_public_key(key(8)), 5_000)
    m.ok(m.alice, certify(consortium, pv_0))  # certified and commissioned: it sells below
    commission(driver, "pv-0")
    m.ok(m.operator, grid_pb2.SetFeederLimit(feeder="feeder-1", export_wh=100, import_unlimited=True))
    iv = m.upcoming()
    m.order_id(m.alice, mc.sell("pv-a", iv, 500, 3))  # first at the same price: keeps the 100
    m.order_id(m.alice, mc.sell("pv-0", iv, 500, 3))
    m.until(iv - GATE)
    listed = _instructions(m, iv)
    assert [(i.site_id, i.export_cap_w, i.export_cap_wh, i.curtailed_wh) for i in listed] == [
        ("site-0", 0, 0, 500),
        ("site-a", 400, 100, 400),
    ]
    first = mpb.GridInstructionList.FromString(m.d.query(f"/instructions/{iv}?limit=1").value)
    assert [i.site_id for i in first.instructions] == ["site-0"]
    assert first.next
    rest = mpb.GridInstructionList.FromString(m.d.query(f"/instructions/{iv}?limit=1&after={first.next}").value)
    assert [i.site_id for i in rest.instructions] == ["site-a"]
    assert rest.next == ""


def test_upstream_and_instructions_survive_export_and_import(driver: AppDriver, consortium: Consortium) -> None:
    """Exported while the upstream grid's payment is in escrow: the import rebuilds every market
    key byte for byte and keeps the invariants."""
    m = _market(driver, consortium)
    iv, _sell, _evs = _curtailed_export(m)
    assert _upstream(m, iv) is not None
    assert _instructions(m, iv)
    exported, fresh = export_and_import(driver.app.state, chain_id=driver.chain_id, time_ns=driver.time * 10**9)
    assert exported["market"]["upstream"]
    assert exported["market"]["instructions"]
    assert differences(MARKET_DOMAIN, driver.app.state, fresh) == []
    assert check_invariants(fresh) == []


def test_the_upstream_invariant_catches_a_wrong_trade(driver: AppDriver, consortium: Consortium) -> None:
    """The stored trade keeps the invariants; one that pays a unit too little, trades on both
    sides, or does not balance the pool's legs is reported."""
    m = _market(driver, consortium)
    iv, _sell, _evs = _curtailed_export(m)
    trade = market_keeper.get_upstream(driver.app.state, iv)
    assert trade is not None
    assert upstream_trades_balance(driver.app.state) is None
    for bad, match in (
        (replace(trade, paid=trade.paid - 1), "payment"),
        (replace(trade, sold_wh=1), "both bought and sold"),
        (replace(trade, bought_wh=trade.bought_wh + 1000, paid=-(-(trade.bought_wh + 1000) * 11 // 1000)), "!="),
    ):
        store = Branch(driver.app.state)
        market_keeper.put_upstream(store, bad)
        assert match in (upstream_trades_balance(store) or "")


def test_hostile_genesis_upstream_and_instructions_are_refused(driver: AppDriver, consortium: Consortium) -> None:
    """An imported instruction with an unknown reason, an unknown site, an empty interval or
    twice, and an upstream trade without a clearing, twice, or holding escrow the escrow account
    does not have, are each refused naming the field; the section as exported is accepted."""
    m = _market(driver, consortium)
    _curtailed_export(m)
    fresh, block, section = _import_with_escrow(driver, _exported(driver))
    good = section["market"]
    market_genesis.import_genesis(fresh.branch(), block, section)
    (ins,) = good["instructions"]
    (up,) = good["upstream"]
    cases: list[tuple[str, Any, str]] = [
        ("instructions", [{**ins, "reason": "because"}], r"^market\.instructions\[0\]: unknown reason 'because'"),
        ("instructions", [{**ins, "siteId": "nowhere"}], r"^market\.instructions\[0\]: unknown site 'nowhere'$"),
        ("instructions", [{**ins, "intervalEnd": ins["intervalStart"]}], r"an empty interval$"),
        ("instructions", [ins, ins], r"^market\.instructions\[1\]: repeated$"),
        ("instructions", [{**ins, "exportCapW": "-1"}], r"^market: Failed to parse instructions field: .*exportCapW"),
        ("upstream", [{**up, "intervalStart": "1"}], r"^market\.upstream\[0\]: interval 1 is repeated or has no"),
        ("upstream", [up, up], r"^market\.upstream\[1\]: interval \d+ is repeated"),
        ("upstream", [{**up, "paid": str(int(up["paid"]) + 1)}], r"the upstream grid hold \d+ in escrow"),
        ("upstream", [{**up, "supplier": base64.b64encode(b"\x09" * 20).decode()}], r"is not a genesis member$"),
    ]
    for name, items, match in cases:
        with pytest.raises(GenesisError, match=match):
            market_genesis.import_genesis(fresh.branch(), block, {"market": {**good, name: items}})


class _Ctx:
    """What the gridctl market commands use of a Context, answered by the in-process app."""

    def __init__(self, driver: AppDriver) -> None:
        self.d = driver
        self.shown: list[tuple[str, object]] = []
        self.submitted: list[object] = []

    def address(self, text: str) -> bytes:
        return bytes.fromhex(text)

    def submit(self, msg: object) -> str:
        self.submitted.append(msg)
        return "result"

    def done(self, result: object, **fields: object) -> None:
        self.shown.append(("done", fields))

    def query(self, path: str, cls: type[Any], *, what: str = "") -> Any:
        resp = self.d.query(path)
        assert resp.code == 0, resp.log
        return cls.FromString(resp.value)

    def query_list(self, path: str, cls: type[Any]) -> Any:
        return self.query(path, cls)

    def show(self, data: object, *, title: str = "") -> None:
        self.shown.append((title, data))

    def show_page(self, rows: list[dict[str, object]], next_cursor: str, *, title: str, columns: Any) -> None:
        self.shown.append((title, rows))


def test_gridctl_reads_the_upstream_trade_and_the_instructions(driver: AppDriver, consortium: Consortium) -> None:
    """`gridctl upstream <iv>`, `gridctl instructions <iv> [--site]` show the records with the
    contract's "unlimited"; `gridctl tariff set --export-penalty` builds the tariffs message."""
    m = _market(driver, consortium)
    iv, _sell, _evs = _curtailed_export(m)
    ctx = _Ctx(driver)
    for argv in (["upstream", str(iv)], ["instructions", str(iv)], ["instructions", str(iv), "--site", "site-a"]):
        args = build_parser().parse_args(argv)
        args.fn(ctx, args)
    (_, up), (_, rows), (_, one) = ctx.shown
    assert isinstance(up, dict)
    assert (up["bought_wh"], up["price"]) == (300, 5)
    assert isinstance(rows, list)
    assert [(r["site_id"], r["export_cap_w"], r["import_cap_w"]) for r in rows] == [("site-a", 1_600, "unlimited")]
    assert one == rows[0]
    supplier = m.supplier.address.hex()
    argv = ["tariff", "set", "--supplier", supplier, "--retail", "30", "--feed-in", "5", "--imbalance-short", "40"]
    args = build_parser().parse_args([*argv, "--imbalance-long", "2", "--export-penalty", "50"])
    args.fn(ctx, args)
    (msg,) = ctx.submitted
    assert isinstance(msg, grid_pb2.SetTariffs)
    assert (msg.export_penalty_per_kwh, msg.supplier, msg.retail_per_kwh) == (50, m.supplier.address, 30)


def test_the_api_reads_name_the_query_paths() -> None:
    """GetUpstream, ListInstructions and GetInstruction map to /upstream and /instructions."""
    rpcs = {r.method: r for r in READS if r.service == "MarketApi"}
    assert rpcs["GetUpstream"].path(market_api_pb2.IntervalRequest(interval_start=900)) == "/upstream/900"
    page = market_api_pb2.BookRequest(interval_start=900)
    page.page.limit = 2
    assert rpcs["ListInstructions"].path(page) == "/instructions/900?limit=2"
    req = market_api_pb2.InstructionRequest(interval_start=900, site_id="Site-A")
    assert rpcs["GetInstruction"].path(req) == "/instructions/900/Site-A"


def test_the_driver_starts_at_a_chosen_genesis_time_and_takes_absolute_block_times(consortium: Consortium) -> None:
    """A chain started at 2026-05-15 runs its blocks at the given times; a time not after the
    last block's is refused; the default start is unchanged."""
    may = 1_778_803_200
    d = AppDriver(consortium, genesis_time=may)
    assert d.time == may
    d.block([], at=may + 3_600)
    assert d.time == may + 3_600
    d.block([])
    assert d.time == may + 3_601
    with pytest.raises(ValueError, match="not after"):
        d.block([], at=may + 3_601)
    assert AppDriver(consortium).time == GENESIS_TIME
