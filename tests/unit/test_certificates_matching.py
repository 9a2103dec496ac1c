"""Hourly (24/7) matching: a retired certificate counts only for its production hour, and
consumption is the import of the meters on the member's sites (nothing counted twice)."""

from __future__ import annotations

from collections.abc import Sequence

from google.protobuf.message import Message
from gridledger.certificates.v1 import certificates_pb2 as pb
from gridwire.reading import Reading

from abci_app.certificates import keeper, matching
from clients import certificates as cc
from clients import devices as dc
from clients.ops.consortium import Consortium
from tests.support.driver import AppDriver
from tests.unit.test_certificates_support import H0, device_key, ok, setup_devices, submit

HOUR = 3600


def day(driver: AppDriver, consortium: Consortium, extra: Sequence[Message] = ()) -> pb.Bundle:
    """pv-1 exports 3000 Wh in hour H0; alice's site meter m-1 imports 2000 Wh in each of
    hours H0, H0 + 1h and H0 + 2h (alice registers the `extra` devices too). Returns alice's
    bundle of hour H0."""
    setup_devices(driver, consortium, extra=extra)
    alice = consortium.member("community-a/alice")
    driver.block([], seconds=3 * HOUR + 100)
    submit(
        driver, alice, 1,
        Reading("pv-1", 1, H0 - 60, H0, 0, 0),
        Reading("pv-1", 2, H0, H0 + HOUR, 0, 3000),
        Reading("pv-1", 3, H0 + HOUR, H0 + HOUR + 60, 0, 3000),
    )  # fmt: skip
    submit(
        driver, alice, 3,
        Reading("m-1", 1, H0 - 60, H0, 0, 0),
        Reading("m-1", 2, H0, H0 + HOUR, 2000, 0),
        Reading("m-1", 3, H0 + HOUR, H0 + 2 * HOUR, 4000, 0),
        Reading("m-1", 4, H0 + 2 * HOUR, H0 + 3 * HOUR, 6000, 0),
    )  # fmt: skip
    (b,) = pb.BundleList.FromString(driver.query("/bundles/device/pv-1").value).bundles
    assert (b.hour_start, b.end_wh - b.start_wh) == (H0, 3000)
    return b


def view(driver: AppDriver, member: bytes, hour: int) -> tuple[int, int, int]:
    m = pb.Matching.FromString(driver.query(f"/matching/{member.hex()}/{hour}").value)
    return m.consumption_wh, m.claimed_wh, m.covered_bp


def test_a_certificate_retired_for_a_day_counts_only_in_its_production_hour(
    driver: AppDriver, consortium: Consortium
) -> None:
    """A noon certificate retired for the whole day covers noon, not the evening."""
    b = day(driver, consortium)
    alice = consortium.member("community-a/alice")
    ok(driver, alice, cc.retire(b.bundle_id, 1500, alice.address, (H0 - 12 * HOUR, H0 + 12 * HOUR)))
    me = alice.address
    assert view(driver, me, H0) == (2000, 1500, 7500)
    assert view(driver, me, H0 + HOUR) == (2000, 0, 0)
    assert view(driver, me, H0 + 2 * HOUR) == (2000, 0, 0)
    s = pb.Score.FromString(driver.query(f"/score/{me.hex()}/{H0}/{H0 + 3 * HOUR}").value)
    assert (s.consumption_wh, s.matched_wh, s.score_bp) == (6000, 1500, 2500)
    # the retirement record keeps the period it was made for
    r = next(keeper.iter_retirements(driver.app.state))
    assert (r.consumption_start, r.consumption_end, r.hour_start, r.wh) == (H0 - 12 * HOUR, H0 + 12 * HOUR, H0, 1500)


def test_a_retirement_whose_period_misses_its_production_hour_counts_in_no_hour(
    driver: AppDriver, consortium: Consortium
) -> None:
    """Valid for its period (the retirement is made and recorded), but no hour's claim grows."""
    b = day(driver, consortium)
    alice = consortium.member("community-a/alice")
    evs = ok(driver, alice, cc.retire(b.bundle_id, 500, alice.address, (H0 + HOUR, H0 + 2 * HOUR)))
    assert [a["wh"] for t, a in evs if t == "bundle_retired"] == ["500"]
    (r,) = keeper.iter_retirements(driver.app.state)
    assert (r.consumption_start, r.consumption_end, r.wh) == (H0 + HOUR, H0 + 2 * HOUR, 500)
    for hour in (H0, H0 + HOUR, H0 + 2 * HOUR):
        assert view(driver, alice.address, hour)[1] == 0
    assert list(keeper.iter_claims(driver.app.state)) == []
    # a period ending exactly at the production hour's start does not touch it either
    ok(driver, alice, cc.retire(b.bundle_id, 100, alice.address, (H0 - HOUR, H0)))
    assert list(keeper.iter_claims(driver.app.state)) == []
    # a part of the hour (an EV session ∩ hour) does
    ok(driver, alice, cc.retire(b.bundle_id, 200, alice.address, (H0 + 600, H0 + 1800)))
    assert view(driver, alice.address, H0)[1] == 200


def test_a_sub_metered_appliance_is_not_counted_twice(driver: AppDriver, consortium: Consortium) -> None:
    """Consumption is the site meter's import: an appliance, an EV charger or a battery behind
    it adds nothing, and a member's device on no metered site of theirs adds nothing."""
    day(
        driver, consortium,
        extra=[
            dc.register_device("ap-1", "site-a", "appliance", dc.device_public_key(device_key(4)), 3_000),
            dc.register_device("ev-1", "site-a", "ev_charger", dc.device_public_key(device_key(5)), 11_000),
        ],
    )  # fmt: skip
    alice = consortium.member("community-a/alice")
    bob = consortium.member("community-a/bob")
    submit(driver, alice, 4, Reading("ap-1", 1, H0 - 60, H0, 0, 0), Reading("ap-1", 2, H0, H0 + HOUR, 800, 0))
    submit(driver, alice, 5, Reading("ev-1", 1, H0 - 60, H0, 0, 0), Reading("ev-1", 2, H0, H0 + HOUR, 700, 0))
    assert view(driver, alice.address, H0)[0] == 2000  # m-1 only, not 2000 + 800 + 700
    assert matching.member_meters(driver.app.state, alice.address) == ["m-1"]
    assert view(driver, bob.address, H0) == (0, 0, 0)  # bob owns no site
