"""The devices domain's generation feed: per device-hour export and battery flow, and the pending index."""

from __future__ import annotations

from gridwire.reading import Reading

from abci_app.devices import keeper
from clients.ops.consortium import Consortium
from tests.support.driver import AppDriver
from tests.unit.test_certificates_support import H0, setup_devices, submit


def test_straddling_reading_is_apportioned_by_seconds_remainder_last(driver: AppDriver, consortium: Consortium) -> None:
    """A reading over [H0-1800, H0+1200) exporting 1001 Wh: 600 to the first hour, 401 to the second."""
    setup_devices(driver, consortium)
    alice = consortium.member("community-a/alice")
    driver.block([], seconds=1800)
    submit(driver, alice, 1, Reading("pv-1", 1, H0 - 2400, H0 - 1800, 0, 0))  # baseline
    submit(driver, alice, 1, Reading("pv-1", 2, H0 - 1800, H0 + 1200, 0, 1001))
    state = driver.app.state
    assert keeper.hour_generation(state, "pv-1", H0 - 3600) == 1001 * 1800 // 3000
    assert keeper.hour_generation(state, "pv-1", H0) == 1001 - 1001 * 1800 // 3000
    # the meter exports nothing renewable: no flow, no pending entry
    assert keeper.hour_generation(state, "m-1", H0) == 0


def test_battery_flow_is_recorded_and_meters_are_not(driver: AppDriver, consortium: Consortium) -> None:
    """Battery charged/discharged Wh land in their hours; non-renewable devices add nothing."""
    setup_devices(driver, consortium, battery=True)
    alice = consortium.member("community-a/alice")
    driver.block([], seconds=7200)
    submit(driver, alice, 2, Reading("bat-1", 1, H0, H0 + 900, 0, 0, 0, 0, 1_000))
    submit(driver, alice, 2, Reading("bat-1", 2, H0 + 900, H0 + 4500, 0, 0, 2_000, 300, 2_000))
    submit(driver, alice, 3, Reading("m-1", 1, H0, H0 + 900, 0, 0))
    submit(driver, alice, 3, Reading("m-1", 2, H0 + 900, H0 + 1800, 100, 900))
    state = driver.app.state
    first = keeper.hour_flow(state, "bat-1", H0)
    second = keeper.hour_flow(state, "bat-1", H0 + 3600)
    assert first == keeper.HourFlow(0, 2_000 * 2700 // 3600, 300 * 2700 // 3600)
    assert first.charged_wh + second.charged_wh == 2_000
    assert first.discharged_wh + second.discharged_wh == 300
    # the certificates hook took the complete hour H0; H0+1h waits for data or its grace
    assert list(keeper.iter_pending_hours(state, H0 + 7200)) == [(H0 + 3600, "bat-1")]
    assert list(keeper.iter_pending_hours(state, H0 + 3600)) == []
