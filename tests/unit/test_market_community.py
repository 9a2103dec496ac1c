"""Community mode: community batteries absorb their feeder's renewable surplus before it is
exported across feeders (hand-checked clearing), and the rules hook places their bids."""

from __future__ import annotations

from gridledger.market.v1 import market_pb2 as mpb

from abci_app.market.clearing import ABSORB, BUY, LOCAL, POOL, SELL, BookEntry, Leg, clear
from abci_app.market.params import COMMUNITY_MODE
from abci_app.market.rules import run_rules
from abci_app.params import set_domain_param
from abci_app.store.branch import Branch
from abci_app.types import BlockInfo
from clients import devices as dc
from clients.ops.consortium import Consortium
from tests.support.driver import AppDriver
from tests.unit.test_market import L, Market

BOOK = [
    BookEntry(1, SELL, 50, 1_000, "f1", True),  # PV surplus on f1
    BookEntry(2, BUY, 80, 400, "f1", False),  # a household on f1
    BookEntry(3, BUY, 70, 800, "f1", True),  # f1's community battery (a renewable-only bid)
    BookEntry(4, BUY, 200, 1_000, "f2", False),  # a buyer across feeders
    BookEntry(5, SELL, 40, 500, "f1", False),  # cheaper, not renewable
]


def test_community_battery_absorbs_local_renewable_surplus_before_export() -> None:
    """intra 0, inter 10. f1's own auction: the household (80) takes 400 of the cheapest ask
    (5 at 40): price (80 + 40) // 2 = 60. Then the battery (70) meets f1's unmatched renewable
    asks only: 800 of PV 1 at (70 + 50) // 2 = 60. The pool gets what is left: 100 of 5 and
    200 of PV 1 to f2's buyer (200 − 10 = 190) at (190 + 50) // 2 = 120."""
    out = clear(BOOK, 0, 10, {}, community=True)
    assert sorted(out.legs) == sorted(
        [
            Leg(2, LOCAL, 400, 60, 0),
            Leg(5, LOCAL, 400, 60, 0),
            Leg(3, ABSORB, 800, 60, 0),
            Leg(1, ABSORB, 800, 60, 0),
            Leg(4, POOL, 300, 120, 10),
            Leg(5, POOL, 100, 120, 0),
            Leg(1, POOL, 200, 120, 0),
        ]
    )
    f1 = next(f for f in out.feeders if f.feeder == "f1")
    assert (f1.local_price, f1.local_wh, f1.pool_export_wh) == (60, 1_200, 300)
    assert (out.pool_price, out.pool_wh) == (120, 300)
    # without the battery's bid, the same surplus is exported: f2 buys 1000 in the pool
    alone = clear([e for e in BOOK if e.order_id != 3], 0, 10, {}, community=True)
    assert next(f for f in alone.feeders if f.feeder == "f1").pool_export_wh == 1_000
    # outside community mode the flag means nothing: the battery is an ordinary bid and also
    # buys the non-renewable ask (100 Wh of order 5) in f1's own auction
    plain = clear(BOOK, 0, 10, {}, community=False)
    assert {(g.order_id, g.leg) for g in plain.legs if g.order_id == 3} == {(3, LOCAL)}
    assert not [g for g in plain.legs if g.leg == ABSORB]


def test_rules_hook_places_community_battery_bids_in_community_mode(driver: AppDriver, consortium: Consortium) -> None:
    """A battery flagged community (10 kWh, empty, 4 kW charge) bids min(10000, 4000 × 900 /
    3600) = 1000 Wh at its charge price, renewable-only, for its site's owner — only in
    community mode."""
    m = Market(driver, consortium)
    m.setup()
    m.add_battery()
    m.ok(m.alice, dc.battery_rules("bat-a", 25, 60, community=True))
    interval = m.upcoming() + 2 * L
    block = BlockInfo(driver.chain_id, 99, driver.time * 1_000_000_000)
    store = Branch(driver.app.state)
    run_rules(store, block, interval)
    assert not list(store.iter_range(b"\x41", b"\x42"))  # community mode off: no bid
    set_domain_param(store, COMMUNITY_MODE, 1)
    run_rules(store, block, interval)
    ((_k, _v),) = list(store.iter_range(b"\x41", b"\x42"))
    (order,) = [mpb.Order.FromString(v) for _k, v in store.iter_range(b"\x40", b"\x41")]
    assert (order.side, order.energy_wh, order.limit_price, order.renewable) == (mpb.SIDE_BUY, 1_000, 25, True)
    assert (order.owner, order.site_id, order.device_id, order.escrow) == (m.alice.address, "site-a", "bat-a", 25)
    m.ok(m.alice, dc.battery_rules("bat-a", 25, 60))  # the flag cleared: out of the index
    store = Branch(driver.app.state)
    set_domain_param(store, COMMUNITY_MODE, 1)
    run_rules(store, block, interval)
    assert not list(store.iter_range(b"\x41", b"\x42"))
