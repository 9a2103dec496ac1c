"""Energy outside the market settled at the utility's tariffs (retail 30, feed-in 5 per kWh):
hand-checked amounts, members pay rounded up and receive rounded down, each meter Wh settled
once (market, imbalance or tariff), late readings after settlement change nothing."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from gridledger.grid.v1 import grid_pb2

from abci_app.devices import keeper as devices
from abci_app.devices import keys as dkeys
from abci_app.domain import GenesisError
from abci_app.genesis import apply_genesis
from abci_app.governance.keeper import iter_validators
from abci_app.market import keeper
from abci_app.market.domain import DOMAIN as MARKET
from abci_app.market.invariants import withheld_feed_in_follows_settlement
from abci_app.market.params import CORRECTION_WINDOW, SETTLE_SITES
from abci_app.market.records import BUY, SELL, SettlementEstimate, SiteExport, WithheldFeedIn
from abci_app.params import domain_param
from abci_app.store.backend import MemoryBackend
from abci_app.store.branch import Branch
from abci_app.store.state import CommittedState
from abci_app.types import Address, BlockInfo, ValidatorUpdate
from clients import market as mc
from clients.ops.consortium import Consortium
from tests.support.driver import AppDriver
from tests.support.genesis_roundtrip import differences, export_and_import
from tests.unit.helpers import balance
from tests.unit.test_market import GATE, GRACE, L, Market
from tests.unit.test_market_authority import _device, _transfer

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


def _last_end(m: Market, device_id: str) -> int:
    """Where the device's next reading must start: its last accepted reading's end."""
    state = devices.get_reading(m.d.app.state, device_id)
    assert state is not None
    return state.end


def _leased_sale(m: Market, *, battery_reports: bool = True) -> int:
    """bob's site-b has his meter and his battery bat-b, leased to alice (transferred to her).
    alice sells 400 Wh from bat-b in the interval, carol buys 400 (both clear at 20). In the
    interval bat-b exports its 400 Wh, and bob's rooftop PV (no device of its own) 600 more
    beyond his house's use: meter-b imports 200 and exports 1,000. alice's PV (site-a, no
    meter) reports too, so site-a comes first in the sites' key order. The interval."""
    m.setup()
    _device(m, m.bob, "bat-b", "site-b", "battery", 7, 4_000, battery=True)
    _transfer(m, "bat-b", m.bob, m.alice)
    t = m.d.time
    m.until(t + 120)
    m.reading(m.alice, "bat-b", 7, t + 1, t + 120, 0, 0, soc_wh=5_000)
    iv = m.upcoming()
    m.order_id(m.alice, mc.sell("bat-b", iv, 400, 10))
    m.order_id(m.carol, mc.buy("site-c", iv, 400, 30))
    m.until(iv + L + 10)
    _baselines(m, iv)
    m.reading(m.alice, "pv-a", 1, iv - L, iv, 0, 1_000)
    m.reading(m.alice, "pv-a", 1, iv, iv + L, 0, 1_300)
    m.reading(m.bob, "meter-b", 2, iv, iv + L, 5_200, 2_000)
    m.reading(m.carol, "meter-c", 3, iv, iv + L, 7_400, 0)
    if battery_reports:
        m.reading(m.alice, "bat-b", 7, t + 120, iv, 0, 0)
        m.reading(m.alice, "bat-b", 7, iv, iv + L, 0, 400, discharged_wh=400)
    return iv


@pytest.mark.parametrize("sites_per_block", [None, 1], ids=["one-block", "a-site-a-block"])
def test_a_leased_battery_sells_its_own_export_and_the_site_owner_keeps_his_feed_in(
    consortium: Consortium, sites_per_block: int | None
) -> None:
    """alice sells what her leased battery exported (400 Wh, paid 8); bob, whose site it
    stands on, is paid feed-in for the rest of his meter's export: 1,000 - 400 = 600 Wh,
    floor(600 × 5 / 1000) = 3, and pays retail for his import (ceil(200 × 30 / 1000) = 6).
    Before, any sale from a site withheld its owner's whole feed-in. The same when the sites
    settle one a block (site-b then waits in the continuation record with its sold export)."""
    params = {} if sites_per_block is None else {SETTLE_SITES: sites_per_block}
    m = Market(AppDriver(consortium, params=params), consortium)
    iv = _leased_sale(m)
    before = {who: balance(m.d, who) for who in (m.alice, m.bob, m.carol, m.supplier)}
    m.until(iv + L + GRACE)
    if sites_per_block is not None:
        due = keeper.get_sites_in_settlement(m.d.app.state, iv)
        assert due is not None
        assert (due.sell_sites, due.market_export) == (("site-b",), (SiteExport("site-b", 400),))
        exported, fresh = export_and_import(m.d.app.state)  # a state exported half-way carries it
        assert exported["market"]["sites_in_settlement"][0]["marketExport"] == [{"siteId": "site-b", "wh": "400"}]
        assert differences(MARKET, m.d.app.state, fresh) == []
        for _ in range(3):
            m.until(m.d.time + 10)
        assert keeper.get_sites_in_settlement(m.d.app.state, iv) is None
    a, b, c = m.statement(m.alice, iv), m.statement(m.bob, iv), m.statement(m.carol, iv)
    assert (a.sold_wh, a.received, a.delivered_wh, a.feed_in_wh) == (400, 8, 400, 0)
    assert (b.feed_in_wh, b.feed_in_received, b.retail_wh, b.retail_paid) == (600, 3, 200, 6)
    assert (b.sold_wh, b.received, b.imbalance_paid) == (0, 0, 0)
    assert (c.bought_wh, c.paid, c.consumed_wh, c.retail_wh) == (400, 8, 400, 0)
    assert balance(m.d, m.alice) == before[m.alice] + 8
    assert balance(m.d, m.bob) == before[m.bob] + 3 - 6
    assert balance(m.d, m.supplier) == before[m.supplier] - 3 + 6


def test_a_site_whose_sold_device_has_not_reported_gets_no_feed_in_yet(
    driver: AppDriver, consortium: Consortium
) -> None:
    """The leased battery has not reported by the deadline: alice's sale is settled on an
    estimate (nothing delivered yet), and bob's export is not split: no feed-in for site-b
    in this interval (retail for his import as always)."""
    m = Market(driver, consortium)
    iv = _leased_sale(m, battery_reports=False)
    m.until(iv + L + GRACE)
    a, b = m.statement(m.alice, iv), m.statement(m.bob, iv)
    assert (a.sold_wh, a.delivered_wh, a.estimates) == (400, 0, 1)
    assert (b.feed_in_wh, b.feed_in_received, b.retail_wh, b.retail_paid) == (0, 0, 200, 6)


@pytest.mark.parametrize("sites_per_block", [None, 1], ids=["one-block", "a-site-a-block"])
def test_the_withheld_feed_in_is_paid_when_the_sold_device_reports_late(
    consortium: Consortium, sites_per_block: int | None
) -> None:
    """The battery reports after the deadline but within the correction window: alice's
    estimate is corrected (her 400 Wh delivered), and bob is paid the feed-in withheld from him,
    600 Wh at 5 = 3, once, with a correction on his statement: what he gets had the battery
    reported in time. Until then the record names the waiting battery and survives an export and
    import; the invariants hold after every block. The same when the sites settle one a block."""
    params = {} if sites_per_block is None else {SETTLE_SITES: sites_per_block}
    m = Market(AppDriver(consortium, params=params), consortium)
    iv = _leased_sale(m, battery_reports=False)
    m.until(iv + L + GRACE)
    while keeper.get_sites_in_settlement(m.d.app.state, iv) is not None:
        m.until(m.d.time + 10)
    (held,) = keeper.iter_withheld_feed_in(m.d.app.state)
    assert held == WithheldFeedIn(iv, "site-b", ("bat-b",), reported_export_wh=0, penalised_wh=0, feed_in_per_kwh=5)
    exported, fresh = export_and_import(m.d.app.state)
    assert exported["market"]["withheld_feed_in"][0]["waitingDevices"] == ["bat-b"]
    assert differences(MARKET, m.d.app.state, fresh) == []
    assert m.statement(m.bob, iv).feed_in_wh == 0
    bob, alice, supplier = (balance(m.d, who) for who in (m.bob, m.alice, m.supplier))

    m.until(m.d.time + 60)
    m.reading(m.alice, "bat-b", 7, _last_end(m, "bat-b"), iv, 0, 0)  # (ending at iv: no energy in iv)
    assert list(keeper.iter_withheld_feed_in(m.d.app.state)) == [held]  # still waiting for the interval itself
    m.reading(m.alice, "bat-b", 7, iv, iv + L, 0, 400, discharged_wh=400)
    assert list(keeper.iter_withheld_feed_in(m.d.app.state)) == []
    a, b = m.statement(m.alice, iv), m.statement(m.bob, iv)
    assert (a.delivered_wh, a.corrections) == (400, 1)
    assert (b.feed_in_wh, b.feed_in_received, b.corrections, b.retail_wh) == (600, 3, 1, 200)
    assert balance(m.d, m.bob) == bob + 3
    refund = balance(m.d, m.alice) - alice  # her shortfall, charged at the deadline, comes back
    assert refund > 0
    assert balance(m.d, m.supplier) == supplier - 3 - refund
    m.until(m.d.time + 60)  # nothing is paid twice
    assert m.statement(m.bob, iv).feed_in_received == 3


def test_withheld_feed_in_is_final_after_the_correction_window(driver: AppDriver, consortium: Consortium) -> None:
    """The battery's data arrives only after the correction window: the record is dropped when
    the window ends (`feed_in_final`), and the late reading moves no money."""
    m = Market(driver, consortium)
    iv = _leased_sale(m, battery_reports=False)
    m.until(iv + L + GRACE)
    assert len(list(keeper.iter_withheld_feed_in(m.d.app.state))) == 1
    window = domain_param(m.d.app.state, CORRECTION_WINDOW)
    evs = m.until(iv + L + GRACE + window + 1)
    assert [(a["site"], a["waiting"]) for t, a in evs if t == "feed_in_final"] == [("site-b", "bat-b")]
    assert list(keeper.iter_withheld_feed_in(m.d.app.state)) == []
    bob = balance(m.d, m.bob)
    m.reading(m.alice, "bat-b", 7, _last_end(m, "bat-b"), iv, 0, 0)
    m.reading(m.alice, "bat-b", 7, iv, iv + L, 0, 400, discharged_wh=400)
    assert balance(m.d, m.bob) == bob
    assert m.statement(m.bob, iv).feed_in_wh == 0


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ({"waitingDevices": []}, "waiting_devices must be a non-empty sorted list"),
        ({"waitingDevices": ["pv-a", "bat-b"]}, "waiting_devices must be a non-empty sorted list"),
        ({"waitingDevices": ["ghost"]}, "unknown device 'ghost'"),
        ({"siteId": "nowhere"}, "unknown site 'nowhere'"),
    ],
)
def test_a_genesis_with_a_wrong_withheld_feed_in_is_refused(
    driver: AppDriver, consortium: Consortium, change: dict[str, object], named: str
) -> None:
    m = Market(driver, consortium)
    iv = _leased_sale(m, battery_reports=False)
    m.until(iv + L + GRACE)
    exported, _fresh = export_and_import(m.d.app.state)
    exported["market"]["withheld_feed_in"][0].update(change)
    validators = [ValidatorUpdate(pub_key, power) for pub_key, power in iter_validators(m.d.app.state)]
    with pytest.raises(GenesisError, match=named):
        apply_genesis(
            Branch(CommittedState(MemoryBackend())).branch(),
            BlockInfo("x", 1, 0),
            json.dumps(exported).encode(),
            validators,
        )


def test_the_invariant_catches_feed_in_withheld_for_an_interval_not_settled(
    driver: AppDriver, consortium: Consortium
) -> None:
    m = Market(driver, consortium)
    iv = _leased_sale(m, battery_reports=False)
    m.until(iv + L + GRACE)
    store = Branch(m.d.app.state).branch()
    assert withheld_feed_in_follows_settlement(store) is None
    keeper.put_withheld_feed_in(store, WithheldFeedIn(iv + 4 * L, "site-b", ("bat-b",)))
    assert "not settled yet" in (withheld_feed_in_follows_settlement(store) or "")


def test_a_late_reading_while_the_sites_still_settle_over_blocks_releases_the_feed_in_at_the_end(
    consortium: Consortium,
) -> None:
    """One site a block: site-a settles at the deadline; the battery's late data lands in the
    next block, the one that settles site-b (its mark is consumed there, the feed-in still
    withheld); when the last site has settled, the withheld feed-in is paid: bob gets his 600 Wh
    (3), once; and alice's sale, settled on an estimate at the deadline, is corrected then too
    (400 Wh delivered, her shortfall refunded), though no later reading marks site-b again."""
    m = Market(AppDriver(consortium, params={SETTLE_SITES: 1}), consortium)
    iv = _leased_sale(m, battery_reports=False)
    m.reading(m.alice, "bat-b", 7, _last_end(m, "bat-b"), iv, 0, 0)  # up to the interval: not reported yet
    m.until(iv + L + GRACE)
    due = keeper.get_sites_in_settlement(m.d.app.state, iv)
    assert due is not None
    assert due.after_site == "site-a"
    assert [e.target for e in keeper.iter_estimates(m.d.app.state, iv)] == ["bat-b"]
    alice = balance(m.d, m.alice)
    m.reading(m.alice, "bat-b", 7, iv, iv + L, 0, 400, discharged_wh=400)  # its block settles site-b
    assert m.statement(m.bob, iv).feed_in_wh == 0
    assert keeper.get_sites_in_settlement(m.d.app.state, iv) is not None
    while keeper.get_sites_in_settlement(m.d.app.state, iv) is not None:
        m.until(m.d.time + 10)
    m.until(m.d.time + 10)
    assert list(keeper.iter_withheld_feed_in(m.d.app.state)) == []
    b = m.statement(m.bob, iv)
    assert (b.feed_in_wh, b.feed_in_received, b.corrections, b.retail_wh, b.retail_paid) == (600, 3, 1, 200, 6)
    assert list(keeper.iter_estimates(m.d.app.state, iv)) == []
    a = m.statement(m.alice, iv)
    assert (a.sold_wh, a.delivered_wh, a.corrections, a.estimates) == (400, 400, 1, 1)
    assert balance(m.d, m.alice) > alice  # the imbalance charged for the undelivered 400 Wh comes back


class _CountingReader:
    """A store reader that records every key its range scans yield."""

    def __init__(self, inner: Branch) -> None:
        self.inner = inner
        self.read: list[bytes] = []

    def get(self, key: bytes) -> bytes | None:
        return self.inner.get(key)

    def iter_range(self, start: bytes, end: bytes | None) -> Iterator[tuple[bytes, bytes]]:
        for k, v in self.inner.iter_range(start, end):
            self.read.append(k)
            yield k, v


def test_a_late_reading_reads_only_its_own_sites_estimates() -> None:
    """The estimates a late reading may correct are read by target (its site's buys, its site's
    devices' sales), in the key order of all the interval's estimates, without reading any other
    target's (a target whose id extends another's is another target)."""
    store = Branch(MemoryBackend())
    owners = [Address(bytes([n]) * 20) for n in (1, 2)]
    made = [
        SettlementEstimate(900, owners[0], SELL, "bat-b", 400, 0),
        SettlementEstimate(900, owners[1], SELL, "bat-b", 100, 0),
        SettlementEstimate(900, owners[0], SELL, "bat-b2", 300, 0),
        SettlementEstimate(900, owners[1], BUY, "site-b", 200, 200),
        SettlementEstimate(900, owners[1], BUY, "site-c", 200, 200),
        SettlementEstimate(1800, owners[0], SELL, "bat-b", 50, 0),
    ]
    for est in made:
        keeper.put_estimate(store, est)
    reader = _CountingReader(store)
    found = keeper.target_estimates(reader, 900, [(SELL, "bat-b"), (BUY, "site-b")])
    assert found == [e for e in keeper.iter_estimates(store, 900) if e.target in {"bat-b", "site-b"}]
    assert found == [made[3], made[0], made[1]]  # BUY sorts before SELL, then target, then owner
    assert len(reader.read) == 3
