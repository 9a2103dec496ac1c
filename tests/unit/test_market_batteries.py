"""A battery's own rules (charge at ≤ P, discharge at ≥ Q, keep R % in reserve, green only)
become its orders once per interval: a sell of what is above the reserve at ≥ Q, a buy of
its room at ≤ P; green-only buys only where the clearing can keep them renewable."""

from __future__ import annotations

from gridledger.market.v1 import market_pb2 as mpb

from abci_app.devices import keeper as devices
from abci_app.market.batteries import battery_orders
from abci_app.store.branch import Branch
from abci_app.types import BlockInfo
from clients import devices as dc
from clients.ops.consortium import Consortium
from tests.support.driver import AppDriver
from tests.unit.test_market import GATE, L, Market


def _orders(
    m: Market, soc_wh: int, *, community_mode: bool = False
) -> tuple[list[tuple[int, int, int, str, str, bool]], list[tuple[str, dict[str, str]]]]:
    """The orders battery_orders places for a later interval at state of charge `soc_wh`:
    (side, Wh, limit, site, device, renewable), and its events."""
    store = Branch(m.d.app.state)
    devices.put_battery(store, "bat-a", soc_wh * 1000)
    interval = m.upcoming() + 2 * L
    block = BlockInfo(m.d.chain_id, 99, m.d.time * 1_000_000_000)
    evs = battery_orders(store, block, interval, L, community_mode=community_mode)
    out = []
    for _k, v in store.iter_range(b"\x40", b"\x41"):
        o = mpb.Order.FromString(v)
        assert o.owner == m.alice.address
        assert o.interval_start == interval
        out.append((o.side, o.energy_wh, o.limit_price, o.site_id, o.device_id, o.renewable))
    return sorted(out), [(e.type, dict(e.attributes)) for e in evs]


def test_battery_rules_sell_above_the_reserve_and_buy_its_room(driver: AppDriver, consortium: Consortium) -> None:
    """6 kWh stored, 20 % reserve: 4 kWh above it, 1 kWh deliverable per interval → sell
    1000 Wh at ≥ 60; 4 kWh of room, 1 kWh per interval → buy 1000 Wh at ≤ 20 for site-a."""
    m = Market(driver, consortium)
    m.setup()
    m.add_battery()
    m.ok(m.alice, dc.battery_rules("bat-a", 20, 60, reserve_bp=2_000))
    placed, evs = _orders(m, 6_000)
    assert placed == [
        (mpb.SIDE_BUY, 1_000, 20, "site-a", "bat-a", False),
        (mpb.SIDE_SELL, 1_000, 60, "site-a", "bat-a", False),
    ]
    assert evs == []
    # at the reserve nothing to sell; full, no room to buy
    assert _orders(m, 2_000)[0] == [(mpb.SIDE_BUY, 1_000, 20, "site-a", "bat-a", False)]
    assert _orders(m, 10_000)[0] == [(mpb.SIDE_SELL, 1_000, 60, "site-a", "bat-a", False)]


def test_battery_rules_without_a_price_or_crossing_place_no_buy(driver: AppDriver, consortium: Consortium) -> None:
    """P = 0: no buy; Q = 0: no sell; P ≥ Q: no buy (it would trade with itself)."""
    m = Market(driver, consortium)
    m.setup()
    m.add_battery()
    m.ok(m.alice, dc.battery_rules("bat-a", 0, 60))
    assert [o[0] for o in _orders(m, 6_000)[0]] == [mpb.SIDE_SELL]
    m.ok(m.alice, dc.battery_rules("bat-a", 20, 0))
    assert [o[0] for o in _orders(m, 6_000)[0]] == [mpb.SIDE_BUY]
    m.ok(m.alice, dc.battery_rules("bat-a", 60, 60))
    assert [o[0] for o in _orders(m, 6_000)[0]] == [mpb.SIDE_SELL]


def test_green_only_buys_only_where_the_clearing_keeps_them_renewable(
    driver: AppDriver, consortium: Consortium
) -> None:
    """Green only: no buy outside community mode; in community mode a buy flagged renewable.
    A community battery in community mode places no buy here (its community bid is that)."""
    m = Market(driver, consortium)
    m.setup()
    m.add_battery()
    m.ok(m.alice, dc.battery_rules("bat-a", 20, 60, green_only=True))
    assert [o[0] for o in _orders(m, 6_000)[0]] == [mpb.SIDE_SELL]
    assert _orders(m, 6_000, community_mode=True)[0][0] == (mpb.SIDE_BUY, 1_000, 20, "site-a", "bat-a", True)
    m.ok(m.alice, dc.battery_rules("bat-a", 20, 60, community=True))
    assert [o[0] for o in _orders(m, 6_000, community_mode=True)[0]] == [mpb.SIDE_SELL]


def test_the_hook_places_battery_rule_orders(driver: AppDriver, consortium: Consortium) -> None:
    """Through the app: an empty battery with rules bids its room at each interval's turn."""
    m = Market(driver, consortium)
    m.setup()
    m.add_battery()
    m.ok(m.alice, dc.battery_rules("bat-a", 20, 60))
    iv = m.upcoming() + L
    m.until(iv - GATE - L)
    m.until(iv - GATE)
    result = m.clearing(iv)
    assert (result.buy_orders, result.sell_orders, result.demand_wh) == (1, 0, 1_000)
