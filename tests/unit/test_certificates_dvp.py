"""Delivery versus payment at the default parameters (900 s intervals, hourly certificates):
a settlement that runs before the hour's certificates exist leaves a pending delivery, which
the issuance block completes, or drops once the hour's issuance is final."""

from __future__ import annotations

from gridledger.certificates.v1 import certificates_pb2 as cpb
from gridledger.grid.v1 import grid_pb2
from gridwire.reading import Reading

from abci_app.certificates import dvp, keeper, ops
from abci_app.certificates.events import CERTIFICATES_DELIVERED
from abci_app.certificates.keeper import EventSink
from abci_app.certificates.records import ACTIVE, RETIRED, PendingDelivery
from abci_app.store.branch import Branch
from abci_app.types import Address, BlockInfo
from clients import certificates as cc
from clients import devices as dc
from clients import market as mc
from clients.ops.consortium import Consortium
from tests.support.driver import AppDriver
from tests.unit.helpers import signed
from tests.unit.test_certificates_support import H0, Events, device_key, events_of, ok, setup_devices, submit

HOUR = 3600
L = 900  # settlement interval (devices.settlement_interval_seconds)
MARKET_GRACE = 900  # market.settlement_grace_seconds
HH = H0 + HOUR  # the production hour traded


def market(driver: AppDriver, consortium: Consortium) -> None:
    """alice (site-a, pv-1, m-1) sells; bob (site-b with meter mb-1, key 6) buys; tariffs set."""
    setup_devices(driver, consortium)
    market_parties(driver, consortium)


def market_parties(driver: AppDriver, consortium: Consortium) -> None:
    """After setup_devices: bob's site-b with meter mb-1 (key 6), and the grid tariffs."""
    bob = consortium.member("community-a/bob")
    ok(
        driver, bob,
        dc.register_site("site-b", "feeder-1", "nl-north"),
        dc.register_device("mb-1", "site-b", "meter", dc.device_public_key(device_key(6)), 20_000),
    )  # fmt: skip
    operator = consortium.member("gridop/control")
    supplier = consortium.member("utility/treasury")
    tariffs = grid_pb2.SetTariffs(
        supplier=supplier.address, retail_per_kwh=30, feed_in_per_kwh=5, imbalance_short_per_kwh=40
    )
    ok(driver, operator, tariffs)


def trade(driver: AppDriver, consortium: Consortium, interval: int, wh: int) -> None:
    """alice sells `wh` from pv-1 at ≥ 10, bob buys `wh` at ≤ 30 for site-b, in `interval`."""
    ok(driver, consortium.member("community-a/alice"), mc.sell("pv-1", interval, wh, 10))
    ok(driver, consortium.member("community-a/bob"), mc.buy("site-b", interval, wh, 30))


def until(driver: AppDriver, t: int) -> Events:
    resp = driver.block([], seconds=t - driver.time).response
    return [(e.type, {a.key: a.value for a in e.attributes}) for e in resp.events]


def pending(driver: AppDriver) -> list[PendingDelivery]:
    return list(keeper.iter_pending_deliveries(driver.app.state))


def held(driver: AppDriver, owner: bytes, hour: int) -> int:
    state = driver.app.state
    return sum(keeper.volume(b) for b in keeper.owner_hour_bundles(state, owner, hour))


def test_a_first_interval_sale_is_delivered_in_the_issuance_block(driver: AppDriver, consortium: Consortium) -> None:
    """Settled at HH+1800 before HH's certificates exist: pending; the block whose readings
    complete the hour issues them and hands the 400 Wh to the buyer."""
    market(driver, consortium)
    alice = consortium.member("community-a/alice")
    bob = consortium.member("community-a/bob")
    trade(driver, consortium, HH, 400)
    until(driver, HH - 10)
    submit(driver, alice, 1, Reading("pv-1", 1, HH - 60, HH, 0, 0))
    until(driver, HH + L + 10)
    submit(driver, alice, 1, Reading("pv-1", 2, HH, HH + L, 0, 500))
    evs = until(driver, HH + L + MARKET_GRACE)
    (settled,) = [a for t, a in evs if t == "interval_settled"]
    assert settled["certificates_wh"] == "0"  # nothing to deliver yet
    (p,) = pending(driver)
    assert (p.seller, p.buyer, p.hour_start, p.wh, p.retire_for_buyer) == (alice.address, bob.address, HH, 400, False)
    assert p.interval in (0, HH)  # 0 until the market passes its interval
    listed = cpb.PendingDeliveryList.FromString(driver.query(f"/pending_deliveries/{HH}").value)
    assert [PendingDelivery.from_proto(x) for x in listed.deliveries] == [p]
    assert cpb.PendingDeliveryList.FromString(driver.query("/pending_deliveries?limit=1").value).next == ""
    assert not cpb.PendingDeliveryList.FromString(driver.query(f"/pending_deliveries/{HH + HOUR}").value).deliveries
    assert driver.query(f"/pending_deliveries/{HH + 1}").code != 0
    assert held(driver, bob.address, HH) == 0
    until(driver, HH + HOUR + 60)
    batch = dc.submit_readings([
        dc.sign_reading(device_key(1), driver.chain_id, Reading("pv-1", 3, HH + L, HH + HOUR, 0, 2000)),
        dc.sign_reading(device_key(1), driver.chain_id, Reading("pv-1", 4, HH + HOUR, HH + HOUR + 60, 0, 2000)),
    ])  # fmt: skip
    code, log, _tx, block = events_of(driver, signed(driver, alice, batch))
    assert code == 0, log
    kinds = [t for t, _ in block]
    assert kinds.index("bundle_issued") < kinds.index("bundle_transferred") < kinds.index(CERTIFICATES_DELIVERED)
    (done,) = [a for t, a in block if t == CERTIFICATES_DELIVERED]
    assert done == {
        "delivery": str(p.delivery_id),
        "seller": alice.address.hex(),
        "buyer": bob.address.hex(),
        "hour": str(HH),
        "interval": str(p.interval),
        "retired": "0",
        "via": "dvp",
        "wh": "400",
        "remaining": "0",
    }
    assert pending(driver) == []
    assert (held(driver, bob.address, HH), held(driver, alice.address, HH)) == (400, 1600)


def test_a_seller_whose_certificates_never_come_is_dropped_after_the_grace(
    driver: AppDriver, consortium: Consortium
) -> None:
    """pv-1 delivers what it sold but is suspended by the certifier, so no active certificates
    come for HH: the pending delivery waits until HH's issuance is final (HH end +
    certificates.issuance_grace_seconds), then is dropped with an event."""
    market(driver, consortium)
    alice = consortium.member("community-a/alice")
    trade(driver, consortium, HH, 400)
    until(driver, HH - 10)
    submit(driver, alice, 1, Reading("pv-1", 1, HH - 60, HH, 0, 0))
    until(driver, HH + L + 10)
    submit(driver, alice, 1, Reading("pv-1", 2, HH, HH + L, 0, 500))
    ok(driver, consortium.member("certissuer/registry"), cc.suspend("pv-1", HH))
    until(driver, HH + L + MARKET_GRACE)
    (p,) = pending(driver)
    assert p.wh == 400
    evs = until(driver, HH + HOUR + 3600 - 1)
    assert pending(driver) == [p]
    assert not any(t.startswith("certificates_deliver") for t, _ in evs)
    evs = until(driver, HH + HOUR + 3600)
    (dropped,) = [a for t, a in evs if t == "certificates_delivery_dropped"]
    assert (dropped["delivery"], dropped["seller"], dropped["wh"], dropped["via"]) == (
        str(p.delivery_id),
        alice.address.hex(),
        "400",
        "dvp",
    )
    assert pending(driver) == []


def _issued_h0(driver: AppDriver, consortium: Consortium) -> None:
    """pv-1 issues 3000 Wh of hour H0 to alice (complete data at H0+1h+60)."""
    setup_devices(driver, consortium)
    alice = consortium.member("community-a/alice")
    driver.block([], seconds=HOUR + 100)
    submit(
        driver, alice, 1,
        Reading("pv-1", 1, H0 - 60, H0, 0, 0),
        Reading("pv-1", 2, H0, H0 + HOUR, 0, 3000),
        Reading("pv-1", 3, H0 + HOUR, H0 + HOUR + 60, 0, 3000),
    )  # fmt: skip


def _block(driver: AppDriver, t: int) -> BlockInfo:
    return BlockInfo(driver.chain_id, driver.height + 1, t * 1_000_000_000)


def test_pending_deliveries_are_bounded_per_block_oldest_first_and_queue_in_order(
    driver: AppDriver, consortium: Consortium
) -> None:
    """MAX_PENDING_PER_BLOCK + 6 pending deliveries complete in two blocks, lowest id first;
    a new delivery queues behind the seller-hour's pending ones; none is recorded once final."""
    _issued_h0(driver, consortium)
    alice = Address(consortium.member("community-a/alice").address)
    bob = Address(consortium.member("community-a/bob").address)
    carol = Address(consortium.member("community-b/carol").address)
    store = Branch(driver.app.state)
    block = _block(driver, driver.time + 1)
    sink = EventSink()
    (b,) = keeper.owner_hour_bundles(store, alice, H0)
    parked = ops.transfer(store, block, b, 3000, carol, sink=sink)  # alice holds nothing of H0 now
    n = dvp.MAX_PENDING_PER_BLOCK + 6
    for i in range(n):
        assert dvp.deliver(store, alice, bob, H0, 10, block, retire_for_buyer=i == 0, interval=H0 + 900) == 0
    ids = [p.delivery_id for p in keeper.iter_pending_deliveries(store)]
    assert ids == sorted(ids)
    assert len(ids) == n
    assert {(p.wh, p.interval) for p in keeper.iter_pending_deliveries(store)} == {(10, H0 + 900)}
    ops.transfer(store, block, parked, 3000, alice, sink=sink)  # alice holds 3000 Wh again
    # queued behind the pending ones although alice could deliver at once
    assert dvp.deliver(store, alice, bob, H0, 5, block) == 0
    assert [p.wh for p in keeper.iter_pending_deliveries(store)][-1] == 5

    first = EventSink()
    dvp.complete_pending(store, block, first)
    done = [e for e in first.events if e.type == CERTIFICATES_DELIVERED]
    assert len(done) == dvp.MAX_PENDING_PER_BLOCK
    assert [int(dict(e.attributes)["delivery"]) for e in done] == ids[: dvp.MAX_PENDING_PER_BLOCK]
    left = list(keeper.iter_pending_deliveries(store))
    assert [p.delivery_id for p in left] == [*ids[dvp.MAX_PENDING_PER_BLOCK :], ids[-1] + 1]
    second = EventSink()
    dvp.complete_pending(store, block, second)
    assert sum(1 for e in second.events if e.type == CERTIFICATES_DELIVERED) == 7
    assert list(keeper.iter_pending_deliveries(store)) == []
    mine = [x for x in keeper.iter_hour_bundles(store, H0) if x.owner == bob]
    assert sum(keeper.volume(x) for x in mine if x.status == ACTIVE) == 10 * (n - 1) + 5
    assert sum(keeper.volume(x) for x in mine if x.status == RETIRED) == 10  # the first, retired for bob
    assert keeper.claimed(store, bob, H0) == 10

    # once H0's issuance is final (H0 + 1h + grace), a short delivery records nothing
    final = _block(driver, H0 + HOUR + 3600)
    assert dvp.deliver(store, carol, bob, H0, 10, final) == 0
    assert list(keeper.iter_pending_deliveries(store)) == []


def test_certificates_follow_the_energy_delivered_not_the_energy_sold(
    driver: AppDriver, consortium: Consortium
) -> None:
    """alice sold 400 Wh but exported 100: the other 300 came from the supplier as imbalance,
    so only 100 Wh of certificates are owed to the buyer."""
    market(driver, consortium)
    alice = consortium.member("community-a/alice")
    trade(driver, consortium, HH, 400)
    until(driver, HH - 10)
    submit(driver, alice, 1, Reading("pv-1", 1, HH - 60, HH, 0, 0))
    until(driver, HH + L + 10)
    submit(driver, alice, 1, Reading("pv-1", 2, HH, HH + L, 0, 100))
    until(driver, HH + L + MARKET_GRACE)
    (p,) = pending(driver)
    assert (p.wh, p.interval) == (100, HH)
