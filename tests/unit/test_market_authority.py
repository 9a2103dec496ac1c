"""Authority follows ownership and consent (issue 19, items 1, 4 and 5), written as the attacker
would: signed txs through the mempool and the same txs put straight into FinalizeBlock by a
Byzantine proposer. A leased battery's rules cannot spend the site owner's money beyond the cap
she signed; rule prices stay within the market's limit; only a device's owner sells its energy;
a silent meter is not paid for an "unused purchase". The driver checks every invariant (money
conserved among them) after each block; the tests also check the parties' sums."""

from __future__ import annotations

import copy
import json

import pytest
from google.protobuf.message import Message
from gridledger.devices.v1 import devices_pb2
from gridledger.market.v1 import market_pb2 as mpb
from gridwire.reading import Reading

from abci_app.devices.messages import MAX_RULE_PRICE
from abci_app.domain import GenesisError
from abci_app.errors import Code
from abci_app.genesis import apply_genesis
from abci_app.governance.keeper import iter_validators
from abci_app.market.batteries import battery_orders
from abci_app.market.domain import DOMAIN as MARKET_DOMAIN
from abci_app.market.errors import MarketCode
from abci_app.market.keeper import ESCROW_ADDRESS
from abci_app.market.params import COMMUNITY_MODE, CORRECTION_WINDOW, MAX_PRICE_PARAM, PARAMS
from abci_app.market.rules import run_rules
from abci_app.params import set_domain_param
from abci_app.store.backend import MemoryBackend
from abci_app.store.branch import Branch
from abci_app.types import BlockInfo, ValidatorUpdate
from clients import devices as dc
from clients import market as mc
from clients.ops.consortium import Consortium
from clients.pki import Identity
from tests.support.devices import certify, commission
from tests.support.driver import AppDriver
from tests.support.genesis_roundtrip import differences, export_and_import
from tests.unit.helpers import balance, signed
from tests.unit.test_market import GATE, GRACE, LONG, SHORT, L, Market, key

LIMIT = PARAMS[MAX_PRICE_PARAM].default  # 100,000 per kWh
WINDOW = PARAMS[CORRECTION_WINDOW].default
MODES = pytest.mark.parametrize("check", [True, False], ids=["mempool", "injected"])


def _device(  # noqa: PLR0917 - a device's fields in their order
    m: Market, who: Identity, device_id: str, site: str, kind: str, n: int, watts: int, *, battery: bool = False
) -> None:
    """Register a device with key(n) (a battery: 10 kWh, `watts` both ways); a generator (pv,
    battery) is certified by the test device CA and commissioned by the certifier (one more
    block), as selling from it requires."""
    extra = {}
    if battery:
        extra = {"capacity_wh": 10_000, "max_charge_w": watts, "max_discharge_w": watts, "efficiency_bp": 9_000}
    msg = dc.register_device(device_id, site, kind, dc.device_public_key(key(n)), watts, **extra)  # type: ignore[arg-type]
    if kind == "meter":
        m.ok(who, msg)
        return
    m.ok(who, certify(m.c, msg))
    commission(m.d, device_id)


def _send(m: Market, who: Identity, msg: Message, check: bool) -> int:
    """Send one signed tx (through CheckTx with `check`, else straight into FinalizeBlock); its code."""
    result = m.d.block([signed(m.d, who, msg)], check=check)
    if check and result.check_codes[0]:
        return result.check_codes[0]
    return result.tx_results[0].code


def _transfer(m: Market, device_id: str, owner: Identity, to: Identity) -> None:
    m.ok(owner, devices_pb2.TransferDevice(device_id=device_id, new_owner=to.address))


def _total(m: Market) -> int:
    """The parties' money: members, operator, supplier and the market escrow."""
    return sum(balance(m.d, w) for w in (m.alice, m.bob, m.carol, m.operator, m.supplier)) + balance(
        m.d, ESCROW_ADDRESS
    )


def _leased(m: Market) -> None:
    """alice's battery bat-a on site-a, transferred to bob; bob has a 5 kW PV on his site."""
    m.setup()
    _device(m, m.alice, "bat-a", "site-a", "battery", 7, 4_000, battery=True)
    _transfer(m, "bat-a", m.alice, m.bob)
    _device(m, m.bob, "pv-b", "site-b", "pv", 8, 5_000)


def _skips(evs: list[tuple[str, dict[str, str]]]) -> list[str]:
    return [a["reason"] for t, a in evs if t == "rule_skipped"]


@MODES
def test_leased_battery_at_900000_cannot_spend_the_site_owner(
    driver: AppDriver, consortium: Consortium, check: bool
) -> None:
    """The issue's attack: bob's rules on his leased battery on alice's site charge at 900,000/kWh
    and bob sells his PV into it. No buy is placed in alice's name (price above the market's
    limit; within it, still no consent): alice's balance does not move, bob gains nothing."""
    m = Market(driver, consortium)
    _leased(m)
    total = _total(m)
    alice = balance(driver, m.alice)
    assert _send(m, m.bob, dc.battery_rules("bat-a", 900_000, 0), check) == 0  # the devices domain's bound
    iv = m.upcoming() + L
    assert _send(m, m.bob, mc.sell("pv-b", iv, 1_000, 1), check) == 0
    evs = m.until(iv - GATE - L)  # the rules' turn for iv
    assert _skips(evs) == ["price_above_limit"]
    # within the market's limit, without alice's consent: still nothing in her name
    assert _send(m, m.bob, dc.battery_rules("bat-a", LIMIT, 0), check) == 0
    iv2 = iv + L
    assert _send(m, m.bob, mc.sell("pv-b", iv2, 1_000, 1), check) == 0
    evs = m.until(iv2 - GATE - L)
    assert _skips(evs) == ["no_site_consent"]
    m.until(iv2 - GATE)
    for i in (iv, iv2):
        assert m.clearing(i).buy_orders == 0
    m.until(iv2 + L + GRACE)
    assert balance(driver, m.alice) == alice
    assert _total(m) == total


@MODES
def test_leased_battery_spends_only_within_the_signed_cap(
    driver: AppDriver, consortium: Consortium, check: bool
) -> None:
    """alice consents to 25 a day at ≤ 20/kWh: bob's rules (charge at 50) buy at 20, 1000 Wh
    (escrow 20), then 250 Wh (escrow 5), then nothing (consent_spent); bob cannot sign or widen
    alice's consent, and a consent above the market's limit is refused."""
    m = Market(driver, consortium)
    _leased(m)
    m.ok(m.bob, dc.battery_rules("bat-a", 50, 0))
    assert _send(m, m.bob, mc.charging_consent("bat-a", 10**6, 50), check) == MarketCode.NOT_SITE_OWNER
    assert _send(m, m.alice, mc.charging_consent("pv-b", 10, 5), check) == MarketCode.NOT_A_BATTERY
    assert _send(m, m.alice, mc.charging_consent("bat-a", 10, LIMIT + 1), check) == MarketCode.PRICE_ABOVE_LIMIT
    assert _send(m, m.alice, mc.charging_consent("bat-a", 25, 20), check) == 0
    consent = mpb.ChargingConsent.FromString(driver.query("/charging_consent/bat-a").value)
    assert (consent.site_owner, consent.max_spend_per_day, consent.max_price_per_kwh) == (m.alice.address, 25, 20)
    alice = balance(driver, m.alice)
    placed = []
    reasons = []
    lowest = alice
    for _ in range(3):
        iv = m.upcoming() + L
        reasons += _skips(m.until(iv - GATE - L))
        book = mpb.OrderList.FromString(driver.query(f"/book/{iv}").value).orders
        placed += [(o.owner, o.site_id, o.limit_price, o.energy_wh, o.escrow) for o in book]
        lowest = min(lowest, balance(driver, m.alice))
    a = m.alice.address
    assert placed == [(a, "site-a", 20, 1_000, 20), (a, "site-a", 20, 250, 5)]
    assert reasons == ["consent_spent"]
    assert mpb.ChargingConsent.FromString(driver.query("/charging_consent/bat-a").value).day_spent == 25
    assert alice - lowest <= 25  # escrow held at most the cap (no seller: refunded at clearing)
    # withdrawn: no more buys, whatever the day
    assert _send(m, m.alice, mc.charging_consent("bat-a", 0, 0), check) == 0
    assert driver.query("/charging_consent/bat-a").value == b""


@MODES
def test_a_site_owner_cannot_sell_another_members_device(
    driver: AppDriver, consortium: Consortium, check: bool
) -> None:
    """The issue's attack: alice's sell order naming bob's PV on her site is refused
    (NOT_ENERGY_OWNER), so is a sell rule; a sell rule she set before the PV became bob's places
    nothing; bob, its owner, sells it."""
    m = Market(driver, consortium)
    m.setup()
    _device(m, m.alice, "pv-x", "site-a", "pv", 8, 5_000)
    m.ok(m.alice, mc.rule("sell", device_id="pv-x", limit_price=5))
    _transfer(m, "pv-x", m.alice, m.bob)
    iv = m.upcoming() + L
    assert _send(m, m.alice, mc.sell("pv-x", iv, 500, 1), check) == MarketCode.NOT_ENERGY_OWNER
    rule = mc.rule("sell", device_id="pv-x", limit_price=5)
    assert _send(m, m.alice, rule, check) == MarketCode.NOT_ENERGY_OWNER
    assert _send(m, m.carol, mc.sell("pv-x", iv, 500, 1), check) == MarketCode.NOT_DEVICE_OWNER
    m.until(iv - GATE - L)  # the rules' turn: alice's old rule places nothing
    assert mpb.OrderList.FromString(driver.query(f"/book/{iv}").value).orders == []
    assert _send(m, m.bob, mc.sell("pv-x", iv, 500, 1), check) == 0
    m.until(iv - GATE)
    assert m.clearing(iv).sell_orders == 1


def test_a_leased_community_battery_bids_only_under_the_site_owners_consent(
    driver: AppDriver, consortium: Consortium
) -> None:
    """Community mode: bob's community battery on alice's site bids nothing in her name without
    her consent (no_site_consent); with it, at min(bob's price, her max price) and within her cap."""
    m = Market(driver, consortium)
    _leased(m)
    m.ok(m.bob, dc.battery_rules("bat-a", 60, 0, community=True))
    block = BlockInfo(driver.chain_id, 99, driver.time * 1_000_000_000)
    iv = m.upcoming() + 2 * L
    store = Branch(driver.app.state)
    set_domain_param(store, COMMUNITY_MODE, 1)
    evs = run_rules(store, block, iv)
    assert [dict(e.attributes)["reason"] for e in evs if e.type == "rule_skipped"] == ["no_site_consent"]
    assert not list(store.iter_range(b"\x41", b"\x42"))
    m.ok(m.alice, mc.charging_consent("bat-a", 10, 20))
    store = Branch(driver.app.state)
    set_domain_param(store, COMMUNITY_MODE, 1)
    assert run_rules(store, block, iv) == []
    (order,) = [mpb.Order.FromString(v) for _k, v in store.iter_range(b"\x40", b"\x41")]
    # 10 left of her cap at 20/kWh: 500 Wh, escrow 10
    assert (order.owner, order.limit_price, order.energy_wh, order.escrow) == (m.alice.address, 20, 500, 10)


def test_rules_trade_only_what_their_signer_owns(driver: AppDriver, consortium: Consortium) -> None:
    """Bob's buying rule cannot name alice's site, his sell rule cannot name her PV, and he can
    neither replace nor remove her rule: a rule's orders spend and sell only its signer's."""
    m = Market(driver, consortium)
    m.setup()
    buy = mc.rule("buy", site_id="site-a", limit_price=10, max_wh_per_interval=100)
    assert m.code(m.bob, buy) == MarketCode.NOT_SITE_OWNER
    assert m.code(m.bob, mc.rule("sell", device_id="pv-a", limit_price=1)) == MarketCode.NOT_DEVICE_OWNER
    (rule_id,) = [int(a["rule_id"]) for t, a in m.ok(m.alice, buy) if t == "rule_set"]
    replace = mc.rule("buy", rule_id=rule_id, site_id="site-b", limit_price=90, max_wh_per_interval=100)
    assert m.code(m.bob, replace) == MarketCode.NOT_RULE_OWNER
    assert m.code(m.bob, mc.remove_rule(rule_id)) == MarketCode.NOT_RULE_OWNER


def test_prices_are_bounded_by_the_markets_limit(driver: AppDriver, consortium: Consortium) -> None:
    """Rules and accepted terms above market.max_price_per_kwh are refused; a battery rule above
    the absolute bound is refused by the devices domain; rules stored under a higher limit are
    skipped (price_above_limit) once governance lowers it."""
    m = Market(driver, consortium)
    m.setup()
    _device(m, m.alice, "bat-a", "site-a", "battery", 7, 4_000, battery=True)
    assert m.code(m.bob, mc.rule("buy", site_id="site-b", limit_price=LIMIT + 1, max_wh_per_interval=1)) == (
        MarketCode.PRICE_ABOVE_LIMIT
    )
    thermo = mc.rule("thermostat", site_id="site-b", limit_price=LIMIT + 2, max_wh_per_interval=2, band_low_price=1)
    assert m.code(m.bob, thermo) == MarketCode.PRICE_ABOVE_LIMIT
    assert m.code(m.alice, dc.battery_rules("bat-a", MAX_RULE_PRICE + 1, 0)) == Code.INVALID_ARGUMENT
    m.ok(m.bob, mc.rule("buy", site_id="site-b", limit_price=LIMIT, max_wh_per_interval=100))
    m.ok(m.alice, dc.battery_rules("bat-a", LIMIT - 1, LIMIT))
    store = Branch(driver.app.state)
    set_domain_param(store, MAX_PRICE_PARAM, 10)
    iv = m.upcoming() + 2 * L
    block = BlockInfo(driver.chain_id, 99, driver.time * 1_000_000_000)
    evs = run_rules(store, block, iv) + battery_orders(store, block, iv, L, community_mode=False)
    reasons = sorted(dict(e.attributes)["reason"] for e in evs if e.type == "rule_skipped")
    assert reasons == ["price_above_limit"] * 3  # bob's rule, the battery's sell and its buy
    assert not list(store.iter_range(b"\x41", b"\x42"))  # nothing in the book


def _late(  # noqa: PLR0917 - a reading's fields in their order
    m: Market, device: str, n: int, start: int, end: int, imp: int, exp: int
) -> list[tuple[str, dict[str, str]]]:
    """alice relays a late reading of her device; the block's events (its end-block hook's)."""
    seq = m.seq.get(device, 0) + 1
    m.seq[device] = seq
    r = Reading(device, seq, start, end, imp, exp)
    tx = signed(m.d, m.alice, dc.submit_readings([dc.sign_reading(key(n), m.d.chain_id, r)]))
    resp = m.d.block([tx], check=False).response
    assert resp.tx_results[0].code == 0, resp.tx_results[0].log
    return [(e.type, {a.key: a.value for a in e.attributes}) for e in resp.events]


def _silent(m: Market, *, pv_reports: bool, check: bool = False) -> int:
    """The issue's attack: alice's 1 MW PV and her meter on site-a; she sells 250 kWh at 0 from
    the PV and buys 250 kWh at 5 (feed-in) for her site (her orders sent as `check` says); her meter
    reports only a baseline before the interval (the PV reports its export when `pv_reports`).
    Returns the interval, not yet settled."""
    _device(m, m.alice, "pv-big", "site-a", "pv", 10, 1_000_000)
    _device(m, m.alice, "meter-a", "site-a", "meter", 11, 1_000_000)
    iv = m.upcoming() + L
    assert _send(m, m.alice, mc.sell("pv-big", iv, 250_000, 0), check) == 0
    # at feed-in (5), the lowest bid that can trade now that the upstream grid bids feed-in too
    assert _send(m, m.alice, mc.buy("site-a", iv, 250_000, 5), check) == 0
    m.until(iv - GATE)
    assert m.clearing(iv).total_wh == 250_000
    m.until(iv + L + 10)
    m.reading(m.alice, "meter-a", 11, iv - L, iv, 1_000, 0)
    if pv_reports:
        m.reading(m.alice, "pv-big", 10, iv - L, iv, 0, 0)
        m.reading(m.alice, "pv-big", 10, iv, iv + L, 0, 250_000)
    return iv


@MODES
def test_a_silent_meter_is_not_paid_for_an_unused_purchase(
    driver: AppDriver, consortium: Consortium, check: bool
) -> None:
    """Alice's meter is silent: settled as if she consumed the 250 kWh she bought (no imbalance
    paid), flagged on her statement and in an event; alice and the supplier end where they began."""
    m = Market(driver, consortium)
    m.setup()
    total = _total(m)
    alice, supplier = balance(driver, m.alice), balance(driver, m.supplier)
    iv = _silent(m, pv_reports=True, check=check)
    evs = m.until(iv + L + GRACE)
    est = [a for t, a in evs if t == "settled_on_estimate"]
    assert [(a["side"], a["target"], a["estimated_wh"]) for a in est] == [("buy", "site-a", "250000")]
    s = m.statement(m.alice, iv)
    assert (s.consumed_wh, s.imbalance_received, s.imbalance_paid, s.estimates) == (250_000, 0, 0, 1)
    assert (balance(driver, m.alice), balance(driver, m.supplier)) == (alice, supplier)
    assert _total(m) == total


def test_a_silent_seller_pays_the_shortfall_and_late_data_corrects_it(
    driver: AppDriver, consortium: Consortium
) -> None:
    """PV and meter silent: the sale counts as undelivered (250 kWh × 40 to the supplier) and the
    purchase as consumed, both flagged. Late data within the correction window re-settles only
    the difference: the PV delivered all (shortfall refunded), the meter imported 100 kWh (150 kWh
    unused, paid at 2); the statement counts the corrections."""
    m = Market(driver, consortium)
    m.setup()
    total = _total(m)
    alice, supplier = balance(driver, m.alice), balance(driver, m.supplier)
    iv = _silent(m, pv_reports=False)
    evs = m.until(iv + L + GRACE)
    assert sorted(a["side"] for t, a in evs if t == "settled_on_estimate") == ["buy", "sell"]
    assert [a["certificates_wh"] for t, a in evs if t == "interval_settled"] == ["0"]  # silence delivers none
    s = m.statement(m.alice, iv)
    short = 250_000 * SHORT // 1000
    assert (s.delivered_wh, s.consumed_wh, s.imbalance_paid, s.estimates) == (0, 250_000, short, 2)
    assert balance(driver, m.supplier) == supplier + short
    assert balance(driver, m.alice) == alice - short
    # late data, within the window: each late reading's block corrects what it completes
    m.reading(m.alice, "pv-big", 10, iv - L, iv, 0, 0)
    evs = _late(m, "pv-big", 10, iv, iv + L, 0, 250_000) + _late(m, "meter-a", 11, iv, iv + L, 101_000, 0)
    fixed = {a["side"]: a for t, a in evs if t == "estimate_corrected"}
    assert (fixed["sell"]["metered_wh"], fixed["buy"]["metered_wh"]) == ("250000", "100000")
    unused = 150_000 * LONG // 1000
    s = m.statement(m.alice, iv)
    assert (s.delivered_wh, s.consumed_wh, s.corrections) == (250_000, 100_000, 2)
    assert (s.imbalance_paid, s.imbalance_received) == (short, short + unused)
    assert balance(driver, m.alice) == alice + unused
    assert balance(driver, m.supplier) == supplier - unused
    assert _total(m) == total


def test_an_estimate_is_final_after_the_correction_window(driver: AppDriver, consortium: Consortium) -> None:
    """Without late data within market.correction_window_seconds the estimate is final
    (estimate_final); data arriving after that moves no money."""
    m = Market(driver, consortium)
    m.setup()
    iv = _silent(m, pv_reports=True)
    m.until(iv + L + GRACE)
    alice, supplier = balance(driver, m.alice), balance(driver, m.supplier)
    evs = m.until(iv + L + GRACE + WINDOW + 1)
    assert [a["target"] for t, a in evs if t == "estimate_final"] == ["site-a"]
    evs = _late(m, "meter-a", 11, iv, iv + L, 1_000, 0)  # nothing consumed: would be 500 unused
    evs += m.until(m.d.time + L)
    assert not [t for t, _ in evs if t.startswith("estimate_")]
    assert (balance(driver, m.alice), balance(driver, m.supplier)) == (alice, supplier)
    assert m.statement(m.alice, iv).corrections == 0


def test_consents_and_estimates_survive_a_genesis_export(driver: AppDriver, consortium: Consortium) -> None:
    """A charging consent and a pending estimate are exported and imported byte for byte."""
    m = Market(driver, consortium)
    m.setup()
    iv = _silent(m, pv_reports=True)
    _device(m, m.alice, "bat-a", "site-a", "battery", 7, 4_000, battery=True)
    _transfer(m, "bat-a", m.alice, m.bob)
    m.ok(m.alice, mc.charging_consent("bat-a", 25, 20))
    m.until(iv + L + GRACE)
    exported, fresh = export_and_import(driver.app.state)
    assert (len(exported["market"]["consents"]), len(exported["market"]["estimates"])) == (1, 1)
    assert differences(MARKET_DOMAIN, driver.app.state, fresh) == []
    # a consent without a price (the hooks divide by it) or for a non-battery, an estimate of
    # no side: refused, naming the field
    validators = [ValidatorUpdate(k, p) for k, p in iter_validators(driver.app.state)]
    for name, field, value, match in (
        ("consents", "maxPricePerKwh", "0", r"^market\.consents\[0\]: a consent needs"),
        ("consents", "deviceId", "pv-big", r"^market\.consents\[0\]: 'pv-big' is not a registered battery"),
        ("estimates", "side", "SIDE_UNSPECIFIED", r"^market\.estimates\[0\]: side 0 is neither"),
    ):
        bad = copy.deepcopy(exported)
        bad["market"][name][0][field] = value
        with pytest.raises(GenesisError, match=match):
            apply_genesis(Branch(MemoryBackend()), BlockInfo("x", 1, 0), json.dumps(bad).encode(), validators)
