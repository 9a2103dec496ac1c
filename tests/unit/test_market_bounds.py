"""The market's block hooks do bounded work: no free bids, and a cap on the open orders one
member holds for one interval (its rules' orders included)."""

from __future__ import annotations

from gridledger.market.v1 import market_pb2 as mpb

from abci_app.errors import Code
from abci_app.market.errors import MarketCode
from clients import market as mc
from clients.ops.consortium import Consortium
from tests.support.driver import AppDriver
from tests.unit.test_market import GATE, L, Market

CAP = 3


def _market(consortium: Consortium) -> Market:
    m = Market(AppDriver(consortium, params={"market.max_open_orders_per_interval": CAP}), consortium)
    m.setup()
    return m


def test_a_buy_order_with_limit_zero_is_refused(driver: AppDriver, consortium: Consortium) -> None:
    """A bid at limit 0 would escrow nothing: INVALID_ARGUMENT; a sell at 0 is still fine."""
    m = Market(driver, consortium)
    m.setup()
    iv = m.upcoming()
    assert m.code(m.bob, mc.buy("site-b", iv, 400, 0)) == Code.INVALID_ARGUMENT
    raw = mpb.PlaceOrder(side=mpb.SIDE_BUY, interval_start=iv, energy_wh=400, site_id="site-b")
    assert m.code(m.bob, raw) == Code.INVALID_ARGUMENT
    m.order_id(m.bob, mc.buy("site-b", iv, 1, 1))
    m.order_id(m.alice, mc.sell("pv-a", iv, 100, 0))


def test_open_orders_per_member_and_interval_are_capped(consortium: Consortium) -> None:
    """The cap counts one member's open orders of one interval: the next is TOO_MANY_ORDERS,
    another interval or another member is not affected, a cancel frees a place, and the
    count is gone once the gate closes (the invariant checks it after every block)."""
    m = _market(consortium)
    iv = m.upcoming()
    ids = [m.order_id(m.bob, mc.buy("site-b", iv, 100, 10)) for _ in range(CAP)]
    assert m.code(m.bob, mc.buy("site-b", iv, 100, 10)) == MarketCode.TOO_MANY_ORDERS
    m.order_id(m.bob, mc.buy("site-b", iv + L, 100, 10))
    m.order_id(m.carol, mc.buy("site-c", iv, 100, 10))
    m.ok(m.bob, mc.cancel(ids[0]))
    m.order_id(m.bob, mc.buy("site-b", iv, 100, 10))
    assert m.code(m.bob, mc.buy("site-b", iv, 100, 10)) == MarketCode.TOO_MANY_ORDERS
    m.until(iv - GATE)
    assert m.clearing(iv).buy_orders == CAP + 1
    # the next interval had one of bob's orders: CAP - 1 more fit
    for _ in range(CAP - 1):
        m.order_id(m.bob, mc.buy("site-b", iv + L, 100, 10))
    assert m.code(m.bob, mc.buy("site-b", iv + L, 100, 10)) == MarketCode.TOO_MANY_ORDERS


def test_rule_orders_count_against_the_cap(consortium: Consortium) -> None:
    """A member at the cap: its buy rule places nothing for that interval (no crash, no order)."""
    m = _market(consortium)
    m.ok(m.bob, mc.rule("buy", limit_price=30, site_id="site-b", max_wh_per_interval=100))
    m.until(m.d.time + L)  # the rule places its first order for the upcoming interval
    iv = m.upcoming() + L
    for _ in range(CAP):
        m.order_id(m.bob, mc.buy("site-b", iv, 100, 10))
    m.until(iv - GATE - L)  # the rule's turn for iv: refused, nothing placed
    m.until(iv - GATE)
    assert m.clearing(iv).buy_orders == CAP
    m.until(iv + L - GATE)  # below the cap again, the rule places its order
    assert m.clearing(iv + L).buy_orders == 1
