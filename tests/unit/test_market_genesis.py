"""The market genesis section: export → import rebuilds every key under the market's prefixes
byte for byte (orders, book, owner indexes, clearings, fills, rules, alerts, statements,
counters, settle-due marks, committed offers), the imported store keeps every invariant, and
bad sections are refused with a GenesisError naming the field."""

from __future__ import annotations

import base64
import copy
import json
from collections.abc import Iterator
from typing import Any

import pytest
from gridledger.grid.v1 import grid_pb2
from gridledger.market.v1 import market_pb2 as mpb

from abci_app.accounts import keeper as accounts
from abci_app.domain import Domain, GenesisError
from abci_app.genesis import apply_genesis, export_genesis
from abci_app.governance.keeper import iter_validators
from abci_app.market import genesis as market_genesis
from abci_app.market import keys
from abci_app.market.domain import DOMAIN as MARKET_DOMAIN
from abci_app.market.keeper import ESCROW_ADDRESS
from abci_app.market.prune import ARCHIVE_ALERT, ARCHIVE_INTERVAL, ARCHIVE_ORDER
from abci_app.registry import DOMAINS, check_invariants
from abci_app.store.branch import Branch, KVReader
from abci_app.types import BlockInfo, ValidatorUpdate
from clients import market as mc
from clients.ops.consortium import Consortium
from tests.support.driver import AppDriver
from tests.support.genesis_roundtrip import differences, export_and_import
from tests.unit.test_market import GATE, GRACE, L, Market

PREFIXES = {
    "orders": keys.ORDER[0],
    "book": keys.BOOK[0],
    "orders by owner": keys.ORDERS_BY_OWNER[0],
    "clearings": keys.CLEARING[0],
    "fills": keys.FILL[0],
    "fills by owner": keys.FILLS_BY_OWNER[0],
    "rules": keys.RULE[0],
    "rules by owner": keys.RULES_BY_OWNER[0],
    "alerts": keys.ALERT[0],
    "alerts by owner": keys.ALERTS_BY_OWNER[0],
    "statements": keys.STATEMENT[0],
    "counters": keys.COUNTER[0],
    "settle due": keys.SETTLE_DUE[0],
    "committed": keys.COMMITTED[0],
}


class _Empty:
    def get(self, key: bytes) -> bytes | None:
        return None

    def iter_range(self, start: bytes, end: bytes | None) -> Iterator[tuple[bytes, bytes]]:
        return iter(())


def _readings(m: Market, iv: int, pv_export: int, b_import: int, c_import: int) -> None:
    m.reading(m.alice, "pv-a", 1, iv - 2 * L, iv - L, 0, 1_000)
    m.reading(m.bob, "meter-b", 2, iv - 2 * L, iv - L, 5_000, 0)
    m.reading(m.carol, "meter-c", 3, iv - 2 * L, iv - L, 7_000, 0)
    m.reading(m.alice, "pv-a", 1, iv, iv + L, 0, 1_000 + pv_export)
    m.reading(m.bob, "meter-b", 2, iv, iv + L, 5_000 + b_import, 0)
    m.reading(m.carol, "meter-c", 3, iv, iv + L, 7_000 + c_import, 0)


def build_market(driver: AppDriver, consortium: Consortium, *, escrow_open: bool = True) -> Market:
    """A market with every kind of key: an interval traded across feeders (fees, a feeder limit)
    and settled against readings (statements, imbalance, retail), one cleared and awaiting
    settlement (escrow held, settle-due marks, committed offers), open orders for the next
    interval, a cancelled order, unfilled rule orders, standing rules (one removed), alerts (one
    accepted), and every counter. Without `escrow_open`, no buy order holds escrow at the end
    (the cleared interval is settled too and only a sell order is open)."""
    m = Market(driver, consortium)
    m.setup(intra=1, inter=6)
    m.ok(m.operator, grid_pb2.SetFeederLimit(feeder="feeder-2", import_wh=300, export_wh=0))
    m.ok(m.bob, mc.rule("buy", site_id="site-b", limit_price=15, max_wh_per_interval=200))  # rule 1
    m.ok(m.carol, mc.rule("thermostat", site_id="site-c", limit_price=35, max_wh_per_interval=300,
                          band_low_price=12, min_wh_per_interval=50))  # fmt: skip
    m.ok(m.alice, mc.rule("sell", device_id="pv-a", limit_price=50, max_wh_per_interval=100, margin_bp=500))  # rule 3
    m.ok(m.bob, mc.rule("buy", site_id="site-b", limit_price=5, max_wh_per_interval=10))  # rule 4, removed below

    iv = m.upcoming()
    m.order_id(m.alice, mc.sell("pv-a", iv, 600, 10))
    m.order_id(m.bob, mc.buy("site-b", iv, 400, 30))
    m.order_id(m.carol, mc.buy("site-c", iv, 200, 40))
    cancelled = m.order_id(m.bob, mc.buy("site-b", iv, 50, 30))
    m.ok(m.bob, mc.cancel(cancelled))
    m.until(iv - GATE)  # clears iv; rules place for iv + L
    m.ok(m.bob, mc.remove_rule(4))  # its orders stay
    m.until(iv + L + 10)
    _readings(m, iv, 500, 450, 250)
    m.until(iv + L + GRACE)  # settles iv; clears what the rules placed (no seller at 50: unfilled)

    iv2 = m.upcoming()
    m.order_id(m.alice, mc.sell("pv-a", iv2, 300, 10))
    m.order_id(m.bob, mc.buy("site-b", iv2, 300, 30))
    m.until(iv2 - GATE)  # cleared, awaiting settlement
    alerts = mpb.AlertList.FromString(driver.query(f"/alerts/{m.bob.address.hex()}").value).alerts
    m.ok(m.bob, mc.accept_terms(alerts[0].alert_id, 16))
    if not escrow_open:
        m.until(iv2 + L + GRACE)
    iv3 = m.upcoming()
    m.order_id(m.alice, mc.sell("pv-a", iv3, 200, 12))
    if escrow_open:
        m.order_id(m.bob, mc.buy("site-b", iv3, 100, 30))
    else:
        # cancel what the rules placed for iv3 so no buy holds escrow
        book = mpb.OrderList.FromString(driver.query(f"/book/{iv3}").value).orders
        for o in book:
            if o.side == mpb.SIDE_BUY:
                m.ok(m.bob if o.owner == m.bob.address else m.carol, mc.cancel(o.order_id))
    return m


def _prefixes_present(state: KVReader) -> set[str]:
    return {name for name, p in PREFIXES.items() if next(iter(state.iter_range(bytes([p]), bytes([p + 1]))), None)}


@pytest.fixture(scope="module")
def built(consortium: Consortium) -> AppDriver:
    driver = AppDriver(consortium)
    build_market(driver, consortium)
    return driver


def _by_name(name: str) -> Domain:
    return next(d for d in DOMAINS if d.name == name)


def _import_with_escrow(driver: AppDriver, exported: dict[str, Any]) -> tuple[Branch, BlockInfo, dict[str, Any]]:
    """Every section but the market imported into an empty store, then the escrow credited
    (an empty market section refuses an escrow balance, so it comes in after); returns the
    store, the block and the market section still to import."""
    state: KVReader = driver.app.state
    escrow = accounts.balance(state, ESCROW_ADDRESS)
    others = {k: v for k, v in exported.items() if k != "market"}
    others["balances"] = [b for b in exported["balances"] if b["address"] != ESCROW_ADDRESS.hex()]
    others["supply"] = {**exported["supply"], "minted": int(exported["supply"]["minted"]) - escrow}
    fresh = Branch(_Empty())
    block = BlockInfo(driver.chain_id, 1, driver.time * 1_000_000_000)
    validators = [ValidatorUpdate(k, p) for k, p in iter_validators(state)]
    apply_genesis(fresh, block, json.dumps(others).encode(), validators)
    accounts.add(fresh, ESCROW_ADDRESS, escrow)
    accounts.add_supply(fresh, "minted", escrow)
    return fresh, block, {"market": exported["market"]}


def _exported(driver: AppDriver) -> dict[str, Any]:
    out: dict[str, Any] = json.loads(json.dumps(export_genesis(driver.app.state)))
    return out


def test_the_scenario_has_every_kind_of_market_key(built: AppDriver) -> None:
    assert _prefixes_present(built.app.state) == set(PREFIXES)
    market = _exported(built)["market"]
    statuses = {o.get("status") for o in market["orders"]}
    assert statuses >= {"ORDER_STATUS_OPEN", "ORDER_STATUS_CANCELLED", "ORDER_STATUS_CLEARED"}
    assert statuses >= {"ORDER_STATUS_UNFILLED", "ORDER_STATUS_SETTLED"}
    assert {a.get("accepted", False) for a in market["alerts"]} == {True, False}
    # every counter but pruning's (nothing of this scenario is past its retention: test_market_prune.py)
    assert set(market["counters"]) == set(market_genesis.COUNTERS) - {ARCHIVE_ORDER, ARCHIVE_ALERT, ARCHIVE_INTERVAL}
    assert {f["leg"] for f in market["fills"]} == {0, 1}
    assert accounts.balance(built.app.state, ESCROW_ADDRESS) > 0
    assert check_invariants(built.app.state) == []


def test_export_then_import_rebuilds_the_market_byte_for_byte(built: AppDriver) -> None:
    exported = _exported(built)
    fresh, block, section = _import_with_escrow(built, exported)
    market_genesis.import_genesis(fresh, block, section)
    assert differences(MARKET_DOMAIN, built.app.state, fresh) == []
    for name in ("identity", "accounts", "devices", "grid"):
        assert differences(_by_name(name), built.app.state, fresh) == [], name
    assert check_invariants(fresh) == []
    assert market_genesis.export_genesis(fresh) == {"market": exported["market"]}


def test_export_and_import_with_escrow_held(built: AppDriver) -> None:
    _exported_state, fresh = export_and_import(built.app.state, chain_id=built.chain_id)
    assert differences(MARKET_DOMAIN, built.app.state, fresh) == []
    assert differences(_by_name("accounts"), built.app.state, fresh) == []
    assert check_invariants(fresh) == []


def test_export_and_import_through_the_helper_when_no_escrow_is_held(consortium: Consortium) -> None:
    driver = AppDriver(consortium)
    build_market(driver, consortium, escrow_open=False)
    state: KVReader = driver.app.state
    assert accounts.balance(state, ESCROW_ADDRESS) == 0
    assert {"orders", "book", "committed", "alerts", "rules", "statements", "fills"} <= _prefixes_present(state)
    _exported_state, fresh = export_and_import(state, chain_id=driver.chain_id, time_ns=driver.time * 1_000_000_000)
    assert differences(MARKET_DOMAIN, state, fresh) == []
    assert check_invariants(fresh) == []


# ---- refusals -----------------------------------------------------------------------------


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


def _first(items: list[dict[str, Any]], **where: Any) -> int:
    return next(i for i, item in enumerate(items) if all(item.get(k) == v for k, v in where.items()))


@pytest.fixture(scope="module")
def prepared(built: AppDriver) -> tuple[Branch, BlockInfo, dict[str, Any]]:
    return _import_with_escrow(built, _exported(built))


def _refused(prepared: tuple[Branch, BlockInfo, dict[str, Any]], section: Any, match: str) -> None:
    fresh, block, _ = prepared
    with pytest.raises(GenesisError, match=match):
        market_genesis.import_genesis(fresh.branch(), block, {"market": section})


def test_the_prepared_store_takes_the_section_as_exported(prepared: tuple[Branch, BlockInfo, dict[str, Any]]) -> None:
    fresh, block, section = prepared
    market_genesis.import_genesis(fresh.branch(), block, section)


def test_bad_shapes_are_refused_naming_the_field(prepared: tuple[Branch, BlockInfo, dict[str, Any]]) -> None:
    good = prepared[2]["market"]
    _refused(prepared, [], r"^market: expected an object$")
    _refused(prepared, {**good, "trades": []}, r'^market: .*no field named "trades"')
    _refused(
        prepared,
        {**good, "orders": {}},
        r"^market: Failed to parse orders field: repeated field orders must be in \[\]",
    )
    _refused(prepared, {**good, "counters": "many"}, r"^market: Failed to parse counters field")
    bad = copy.deepcopy(good)
    bad["orders"][3]["energyWh"] = "lots"
    _refused(prepared, bad, r"^market: Failed to parse orders field: Failed to parse energyWh field")
    bad = copy.deepcopy(good)
    bad["rules"][0] = "a rule"
    _refused(prepared, bad, r"^market: Failed to parse rules field")
    bad = copy.deepcopy(good)
    bad["fills"][1] = bad["fills"][1]["fill"]
    _refused(prepared, bad, r'^market: .*no field named "\w+" at "GenesisState\.fills\[1\]"')
    bad = copy.deepcopy(good)
    bad["fills"][0]["leg"] = 7
    _refused(prepared, bad, r"^market\.fills\[0\]\.leg: ")
    bad = copy.deepcopy(good)
    bad["counters"]["orders"] = 3
    _refused(prepared, bad, r'^market: Failed to parse counters field: .*no field named "orders"')
    bad = copy.deepcopy(good)
    bad["counters"]["order"] = -1
    _refused(prepared, bad, r"^market: Failed to parse counters field: Failed to parse order field: Value out of range")


def test_unknown_members_and_inconsistent_references_are_refused(
    prepared: tuple[Branch, BlockInfo, dict[str, Any]],
) -> None:
    good = prepared[2]["market"]
    stranger = _b64(b"\x07" * 20)
    for name in ("orders", "rules", "alerts", "statements"):
        bad = copy.deepcopy(good)
        bad[name][1]["owner"] = stranger
        _refused(prepared, bad, rf"^market\.{name}\[1\]: owner 0707.* is not a genesis member$")
    bad = copy.deepcopy(good)
    bad["orders"].append(copy.deepcopy(bad["orders"][0]))
    _refused(prepared, bad, rf"^market\.orders\[{len(bad['orders']) - 1}\]: order id 1 is zero or repeated$")
    bad = copy.deepcopy(good)
    i = _first(bad["orders"], side="SIDE_BUY")
    bad["orders"][i]["siteId"] = "nowhere"
    _refused(prepared, bad, rf"^market\.orders\[{i}\]: unknown site 'nowhere'$")
    bad = copy.deepcopy(good)
    i = _first(bad["orders"], status="ORDER_STATUS_OPEN", side="SIDE_BUY")
    bad["orders"][i]["escrow"] = str(int(bad["orders"][i]["escrow"]) + 1)
    _refused(
        prepared, bad, r"^market\.orders: the orders and the upstream grid hold \d+ in escrow, the escrow account \d+$"
    )
    bad = copy.deepcopy(good)
    i = _first(bad["orders"], status="ORDER_STATUS_SETTLED", side="SIDE_BUY")
    bad["orders"][i]["escrow"] = "5"
    _refused(prepared, bad, rf"^market\.orders\[{i}\]: only an open or cleared buy order holds escrow$")
    bad = copy.deepcopy(good)
    bad["fills"][0]["fill"]["orderId"] = "999999"
    _refused(prepared, bad, r"^market\.fills\[0\]: unknown order 999999$")
    bad = copy.deepcopy(good)
    bad["fills"][0]["fill"]["owner"] = _b64(b"\x01" * 20)
    _refused(prepared, bad, r"^market\.fills\[0\]: owner, side or interval differ")
    bad = copy.deepcopy(good)
    bad["clearings"] = []
    _refused(prepared, bad, r"^market\.fills\[0\]: interval \d+ has no clearing result$")
    bad = copy.deepcopy(good)
    bad["counters"]["order"] = 1
    _refused(prepared, bad, r"^market\.counters\.order: 1 is behind the order ids in use")
    bad = copy.deepcopy(good)
    del bad["counters"]["alert"]
    _refused(prepared, bad, r"^market\.counters\.alert: 0 is behind the alert ids in use")
    bad = copy.deepcopy(good)
    bad["statements"].append(copy.deepcopy(bad["statements"][0]))
    _refused(prepared, bad, r"^market\.statements\[\d+\]: repeated$")
    bad = copy.deepcopy(good)
    bad["rules"][0]["kind"] = 9
    _refused(prepared, bad, r"^market\.rules\[0\]: unknown kind 9$")
