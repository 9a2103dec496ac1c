"""Energy outside the market settled at the utility's tariffs (retail 30, feed-in 5 per kWh):
hand-checked amounts, members pay rounded up and receive rounded down, each meter Wh settled
once (market, imbalance or tariff), late readings after settlement change nothing."""

from __future__ import annotations

from gridledger.grid.v1 import grid_pb2

from abci_app.devices import keys as dkeys
from clients import market as mc
from clients.ops.consortium import Consortium
from tests.support.driver import AppDriver
from tests.unit.helpers import balance
from tests.unit.test_market import GATE, GRACE, L, Market

RETAIL, FEED_IN = 30, 5


def _marks(m: Market) -> list[bytes]:
    start = dkeys.site_energy_prefix()
    return [k for k, _v in m.d.app.state.iter_range(start, bytes((start[0] + 1,)))]


def _baselines(m: Market, iv: int) -> None:
    """First readings (they set the registers and count no energy), right before the interval
    (a later reading carries the energy since the last one's end)."""
    m.reading(m.bob, "meter-b", 2, iv - L, iv, 5_000, 1_000)
    m.reading(m.carol, "meter-c", 3, iv - L, iv, 7_000, 0)


def test_members_without_market_positions_settle_at_retail_and_feed_in(
    driver: AppDriver, consortium: Consortium
) -> None:
    """No orders at all: carol imports 1001 Wh → pays ceil(1001 × 30 / 1000) = 31; bob exports
    999 Wh → receives floor(999 × 5 / 1000) = 4; the supplier nets 27."""
    m = Market(driver, consortium)
    m.setup()
    iv = m.upcoming()
    before = {who: balance(driver, who) for who in (m.bob, m.carol, m.supplier)}
    m.until(iv + L + 10)
    _baselines(m, iv)
    m.reading(m.bob, "meter-b", 2, iv, iv + L, 5_000, 1_999)
    m.reading(m.carol, "meter-c", 3, iv, iv + L, 8_001, 0)
    assert len(_marks(m)) == 2  # one per site with energy in the interval
    m.until(iv + L + GRACE - 1)
    assert balance(driver, m.carol) == before[m.carol]  # not before end + grace
    evs = m.until(iv + L + GRACE)
    assert ("interval_settled", {"interval": str(iv), "members": "2", "paid": "0", "certificates_wh": "0"}) in evs
    c, b = m.statement(m.carol, iv), m.statement(m.bob, iv)
    assert (c.retail_wh, c.retail_paid, c.feed_in_wh, c.feed_in_received, c.unpaid) == (1_001, 31, 0, 0, 0)
    assert (b.retail_wh, b.retail_paid, b.feed_in_wh, b.feed_in_received) == (0, 0, 999, 4)
    assert (c.bought_wh, c.paid, b.sold_wh, b.received) == (0, 0, 0, 0)
    assert balance(driver, m.carol) == before[m.carol] - 31
    assert balance(driver, m.bob) == before[m.bob] + 4
    assert balance(driver, m.supplier) == before[m.supplier] + 27
    assert _marks(m) == []  # the queue is consumed


def test_the_part_outside_market_positions_is_settled_at_tariffs(driver: AppDriver, consortium: Consortium) -> None:
    """bob buys 400 Wh (local price 20: pays 8) and his meter imports 450 and exports 300: the
    import side is his buy position (50 Wh excess × 40 = 2 imbalance, no retail), the export
    side has no position (300 × 5 / 1000 = 1.5 → 1 feed-in); carol, no position, imports
    200 Wh (6); alice's PV site has no meter (no tariff), her sale settles as before."""
    m = Market(driver, consortium)
    m.setup()
    iv = m.upcoming()
    m.order_id(m.alice, mc.sell("pv-a", iv, 400, 10))  # every price in [10, 30] clears: 20
    m.order_id(m.bob, mc.buy("site-b", iv, 400, 30))
    m.until(iv - GATE)
    before = {who: balance(driver, who) for who in (m.alice, m.bob, m.carol, m.supplier)}
    m.until(iv + L + 10)
    _baselines(m, iv)
    m.reading(m.alice, "pv-a", 1, iv - L, iv, 0, 1_000)
    m.reading(m.alice, "pv-a", 1, iv, iv + L, 0, 1_400)
    m.reading(m.bob, "meter-b", 2, iv, iv + L, 5_450, 1_300)
    m.reading(m.carol, "meter-c", 3, iv, iv + L, 7_200, 0)
    m.until(iv + L + GRACE)
    a, b, c = m.statement(m.alice, iv), m.statement(m.bob, iv), m.statement(m.carol, iv)
    assert (b.bought_wh, b.paid, b.consumed_wh, b.imbalance_paid) == (400, 8, 450, 2)
    assert (b.retail_wh, b.feed_in_wh, b.feed_in_received) == (0, 300, 1)
    assert (c.retail_wh, c.retail_paid) == (200, 6)
    assert (a.received, a.delivered_wh, a.retail_wh, a.feed_in_wh) == (8, 400, 0, 0)
    assert balance(driver, m.bob) == before[m.bob] - 2 + 1  # the 8 left his escrow at clearing
    assert balance(driver, m.supplier) == before[m.supplier] + 2 - 1 + 6


def test_a_reading_after_settlement_is_not_settled_again(driver: AppDriver, consortium: Consortium) -> None:
    """bob's meter reports the interval only after it settled: its mark is dropped, no statement,
    no money moves; carol's settled amount stays what it was."""
    m = Market(driver, consortium)
    m.setup()
    iv = m.upcoming()
    m.until(iv + L + 10)
    _baselines(m, iv)
    m.reading(m.carol, "meter-c", 3, iv, iv + L, 7_100, 0)
    m.until(iv + L + GRACE)
    assert m.statement(m.carol, iv).retail_paid == 3
    bob = balance(driver, m.bob)
    m.reading(m.bob, "meter-b", 2, iv, iv + L, 6_000, 1_000)
    assert _marks(m) == []  # marked by the reading, dropped by the same block's settlement hook
    m.until(iv + L + GRACE + 60)
    assert driver.query(f"/statement/{m.bob.address.hex()}/{iv}").value == b""
    assert balance(driver, m.bob) == bob
    assert m.statement(m.carol, iv).retail_paid == 3


def test_without_tariffs_energy_waits_and_settles_once_published(driver: AppDriver, consortium: Consortium) -> None:
    """No tariffs: nothing settles and the marks stay; once published, the interval settles."""
    m = Market(driver, consortium)
    m.setup(tariffs=False)
    iv = m.upcoming()
    m.until(iv + L + 10)
    _baselines(m, iv)
    m.reading(m.carol, "meter-c", 3, iv, iv + L, 7_500, 0)
    m.until(iv + L + GRACE + 10)
    assert len(_marks(m)) == 1
    m.ok(m.operator, grid_pb2.SetTariffs(supplier=m.supplier.address, retail_per_kwh=RETAIL, feed_in_per_kwh=FEED_IN))
    m.until(m.d.time + 1)
    assert (m.statement(m.carol, iv).retail_wh, m.statement(m.carol, iv).retail_paid) == (500, 15)
    assert _marks(m) == []
