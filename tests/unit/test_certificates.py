"""Certificates: automatic issuance (straddling, late, never twice), bundles, DvP."""

from __future__ import annotations

from gridledger.certificates.v1 import certificates_pb2 as pb
from gridwire.reading import Reading

from abci_app.accounts import keeper as accounts
from abci_app.certificates import keeper
from abci_app.certificates.dvp import deliver
from abci_app.certificates.invariants import bundles_tile_issued
from abci_app.certificates.records import ACTIVE, RETIRED
from abci_app.devices import keeper as devices
from abci_app.store.branch import Branch
from abci_app.types import BlockInfo
from clients.ops.consortium import Consortium
from tests.support.driver import AppDriver
from tests.unit.test_certificates_support import H0, setup_devices, submit

HOUR = 3600


def issued(driver: AppDriver, device: str, hour: int) -> int:
    resp = driver.query(f"/cert_issued/{device}/{hour}")
    return 0 if resp.value is None or not resp.value else int.from_bytes(resp.value, "big")


def device_bundles(driver: AppDriver, device: str) -> list[pb.Bundle]:
    return list(pb.BundleList.FromString(driver.query(f"/bundles/device/{device}").value).bundles)


def pv_day_start(driver: AppDriver, consortium: Consortium) -> None:
    """pv-1 exports 4000 Wh over [H0+900, H0+4500): 3000 to hour H0 (complete), 1000 to H0+1h."""
    setup_devices(driver, consortium)
    alice = consortium.member("community-a/alice")
    driver.block([], seconds=4500)
    submit(driver, alice, 1, Reading("pv-1", 1, H0, H0 + 900, 0, 0), Reading("pv-1", 2, H0 + 900, H0 + 4500, 0, 4000))


def test_issuance_on_complete_data_and_late_readings_issue_only_the_difference(
    driver: AppDriver, consortium: Consortium
) -> None:
    """Issued volume equals the verified generation exactly, for straddling and late readings."""
    pv_day_start(driver, consortium)
    alice = consortium.member("community-a/alice")
    assert issued(driver, "pv-1", H0) == 3000  # complete: the last reading ends after the hour
    assert issued(driver, "pv-1", H0 + HOUR) == 0  # incomplete, grace not over
    submit(driver, alice, 1, Reading("pv-1", 3, H0 + 4500, H0 + 6000, 0, 4500), seconds=1500)
    assert issued(driver, "pv-1", H0 + HOUR) == 0
    driver.block([], seconds=H0 + 2 * HOUR + 3600 - driver.time)  # grace (3600 s) over
    assert issued(driver, "pv-1", H0 + HOUR) == 1500
    # a late reading straddling into the next hour: 120 Wh more for H0+1h, 80 for H0+2h
    submit(driver, alice, 1, Reading("pv-1", 4, H0 + 6000, H0 + 8000, 0, 4700))
    state = driver.app.state
    for hour in (H0, H0 + HOUR):
        assert issued(driver, "pv-1", hour) == devices.hour_generation(state, "pv-1", hour)
    assert issued(driver, "pv-1", H0 + HOUR) == 1620
    ranges = [(b.hour_start, b.start_wh, b.end_wh) for b in device_bundles(driver, "pv-1")]
    assert ranges == [(H0, 0, 3000), (H0 + HOUR, 0, 1500), (H0 + HOUR, 1500, 1620)]
    first = device_bundles(driver, "pv-1")[0]
    assert (first.owner, first.energy_source, first.country, first.grid_region) == (
        alice.address,
        "solar",
        "NL",
        "nl-north",
    )
    assert first.technology == "pv-mono"
    assert first.commissioning_date == 1_600_000_000
    assert first.status == pb.BUNDLE_STATUS_ACTIVE


def test_a_device_hour_is_never_issued_twice(driver: AppDriver, consortium: Consortium) -> None:
    """Resent readings and later blocks issue nothing more: the tally stays at the generation."""
    pv_day_start(driver, consortium)
    alice = consortium.member("community-a/alice")
    before = device_bundles(driver, "pv-1")
    evs = submit(driver, alice, 1, Reading("pv-1", 2, H0 + 900, H0 + 4500, 0, 4000))
    assert [t for t, _ in evs if t.startswith("reading_")] == ["reading_duplicate"]
    for _ in range(3):
        driver.block([], seconds=3 * HOUR)
    assert issued(driver, "pv-1", H0) == 3000
    assert issued(driver, "pv-1", H0 + HOUR) == 1000
    assert len(device_bundles(driver, "pv-1")) == len(before) + 1  # only H0+1h's, once
    assert list(devices.iter_pending_hours(driver.app.state, driver.time)) == []


def _block(driver: AppDriver) -> BlockInfo:
    return BlockInfo(driver.chain_id, driver.height + 1, (driver.time + 1) * 1_000_000_000)


def test_dvp_moves_up_to_the_seller_holding_and_retires_for_the_buyer(
    driver: AppDriver, consortium: Consortium
) -> None:
    """deliver cuts the seller's bundles of the hour; the moved Wh can be retired for the buyer."""
    pv_day_start(driver, consortium)
    alice = consortium.member("community-a/alice").address
    bob = consortium.member("community-a/bob").address
    store = Branch(driver.app.state)
    block = _block(driver)
    assert deliver(store, alice, bob, H0, 1200, block) == 1200
    assert deliver(store, alice, bob, H0, 500, block, retire_for_buyer=True) == 500
    assert deliver(store, alice, bob, H0, 5000, block) == 1300  # all alice had left
    assert deliver(store, alice, bob, H0 + 7 * HOUR, 10, block) == 0
    assert bundles_tile_issued(store) is None
    held = [b for b in keeper.iter_hour_bundles(store, H0) if b.owner == bob]
    by_status = {s: sum(keeper.volume(b) for b in held if b.status == s) for s in {b.status for b in held}}
    assert by_status == {ACTIVE: 2500, RETIRED: 500}
    assert keeper.claimed(store, bob, H0) == 500
    # what alice could not deliver waits for issuance that may still come (H0 is final at H0+2h)
    owed = [(p.hour_start, p.wh) for p in keeper.iter_pending_deliveries(store)]
    assert owed == [(H0, 3700), (H0 + 7 * HOUR, 10)]


def test_dvp_moves_money_and_certificates_together_or_neither(driver: AppDriver, consortium: Consortium) -> None:
    """On one branch with the payment: a failed payment discards the delivery too."""
    pv_day_start(driver, consortium)
    alice = consortium.member("community-a/alice").address
    bob = consortium.member("community-a/bob").address
    state = driver.app.state
    snapshot = list(state.iter_range(b"\x50", b"\x60"))
    step = Branch(state)
    assert deliver(step, alice, bob, H0, 1000, _block(driver)) == 1000
    try:
        accounts.subtract(step, bob, accounts.balance(step, bob) + 1)  # payment fails
        committed = True
    except Exception:
        committed = False
    assert not committed
    assert list(state.iter_range(b"\x50", b"\x60")) == snapshot  # nothing moved
    ok = Branch(state)
    assert deliver(ok, alice, bob, H0, 1000, _block(driver)) == 1000
    accounts.subtract(ok, bob, 1)
    accounts.add(ok, alice, 1)
    assert sum(keeper.volume(b) for b in keeper.iter_hour_bundles(ok, H0) if b.owner == bob) == 1000
