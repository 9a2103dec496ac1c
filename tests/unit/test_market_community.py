"""Community mode: community batteries buy only their feeder's renewable surplus, at the welfare
optimum (a battery's bid competes with every other use of that energy by its value), renewables
first at an equal price (hand-checked clearing); and the rules hook places their bids."""

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


def test_community_battery_buys_what_higher_uses_leave_of_the_renewable_surplus() -> None:
    """intra 0, inter 10. f1 offers 500 at 40 (plain) and 1,000 at 50 (PV); f2's buyer values a Wh
    at 200 − 10 = 190 across feeders, the household 80, the battery 70 (PV only). Welfare: f2 and
    the household take 1,400, the battery the last 100 of PV. The battery is marginal, so f1's
    price is 70 (at 70 it may take 0–800, above it nothing and f1 would export 1,100), the pool
    price too (f1 exports without a limit), f2's 70 + 10 = 80 (its pool leg 70 + fee 10)."""
    out = clear(BOOK, 0, 10, {}, community=True)
    assert sorted(out.legs) == sorted(
        [
            Leg(2, LOCAL, 400, 70, 0),
            Leg(3, ABSORB, 100, 70, 0),
            Leg(4, POOL, 1_000, 70, 10),
            Leg(1, ABSORB, 100, 70, 0),
            Leg(5, LOCAL, 400, 70, 0),
            Leg(5, POOL, 100, 70, 0),
            Leg(1, POOL, 900, 70, 0),
        ]
    )
    f1 = next(f for f in out.feeders if f.feeder == "f1")
    assert (f1.local_price, f1.local_wh, f1.pool_export_wh) == (70, 500, 1_000)
    assert (out.pool_price, out.pool_wh) == (70, 1_000)
    # outside community mode the flag means nothing: the battery is an ordinary bid (at 70 it
    # still loses to the dearer uses) and no leg is a storage leg
    plain = clear(BOOK, 0, 10, {}, community=False)
    assert not [g for g in plain.legs if g.leg == ABSORB]


def test_a_higher_battery_bid_beats_a_lower_ordinary_bid_for_renewables() -> None:
    """PV 500 at 50, a household at 100 and the battery at 150 (both 500 Wh, one feeder): the
    battery gets the PV (issue 22: it used to see only what the household left). Clearing prices:
    [100, 150] (below 100 the household must buy, above 150 the PV is unsold) → 125."""
    book = [
        BookEntry(1, SELL, 50, 500, "f1", True),
        BookEntry(2, BUY, 100, 500, "f1", False),
        BookEntry(3, BUY, 150, 500, "f1", True),
    ]
    out = clear(book, 0, 0, {}, community=True)
    assert sorted(out.legs) == [Leg(1, ABSORB, 500, 125, 0), Leg(3, ABSORB, 500, 125, 0)]
    assert out.feeders[0].local_price == 125


def test_batteries_pay_a_renewable_price_above_the_zone_price_when_they_want_more() -> None:
    """Plain 1,000 at 30, PV 500 at 40; a household at 60 (600 Wh), the battery at 90 (500 Wh,
    PV only). The household buys the plain energy at the zone price 30 (above it the plain ask
    must sell 1,000 > 600); the battery wants all the PV at any price up to 90, so battery and PV
    clear among themselves: range [40, 90] → a renewable price of 65."""
    book = [
        BookEntry(1, SELL, 40, 500, "f1", True),
        BookEntry(2, SELL, 30, 1_000, "f1", False),
        BookEntry(3, BUY, 60, 600, "f1", False),
        BookEntry(4, BUY, 90, 500, "f1", True),
    ]
    out = clear(book, 0, 0, {}, community=True)
    assert sorted(out.legs) == sorted(
        [Leg(3, LOCAL, 600, 30, 0), Leg(2, LOCAL, 600, 30, 0), Leg(4, ABSORB, 500, 65, 0), Leg(1, ABSORB, 500, 65, 0)]
    )
    assert out.feeders[0].local_price == 30


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
