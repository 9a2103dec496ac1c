"""Standing oversight: a device the certifier suspended or revoked from an hour on keeps
its later bundles (late readings, hours not issued yet, storage discharge) in that status
until a suspension is lifted by ReinstateBundles; revoked stays revoked; only the
certifier acts, hostile input is refused with specific codes, genesis carries it."""

from __future__ import annotations

import pytest
from gridledger.certificates.v1 import certificates_pb2 as pb
from gridwire.reading import Reading

from abci_app.certificates import handlers, issuance, keeper
from abci_app.certificates.domain import DOMAIN as CERTIFICATES
from abci_app.certificates.errors import CertificatesCode
from abci_app.certificates.invariants import standing_oversight_holds
from abci_app.certificates.records import RETIRED, SUSPENDED, BundleStatus, StandingOversight
from abci_app.devices.keeper import get_device
from abci_app.devices.records import DeviceId
from abci_app.errors import Code
from abci_app.registry import check_invariants
from abci_app.store.branch import Branch
from abci_app.types import BlockInfo
from clients import certificates as cc
from clients import devices as dc
from clients.ops.consortium import Consortium
from tests.support.driver import AppDriver
from tests.support.genesis_roundtrip import differences, export_and_import
from tests.unit.helpers import signed
from tests.unit.test_certificates_oversight import discharge, lots, scenario, storage_bundles
from tests.unit.test_certificates_support import H0, Events, device_key, events_of, ok, run, setup_devices

HOUR = 3600
ACTIVE_PB, RETIRED_PB, EXPIRED_PB = pb.BUNDLE_STATUS_ACTIVE, pb.BUNDLE_STATUS_RETIRED, pb.BUNDLE_STATUS_EXPIRED
SUSPENDED_PB, REVOKED_PB = pb.BUNDLE_STATUS_SUSPENDED, pb.BUNDLE_STATUS_REVOKED


def pv_bundles(driver: AppDriver) -> list[tuple[int, int, int, int]]:
    """(hour, start Wh, end Wh, status) of pv-1's bundles, by hour and range."""
    view = pb.BundleList.FromString(driver.query("/bundles/device/pv-1").value)
    return [(b.hour_start, b.start_wh, b.end_wh, b.status) for b in view.bundles]


def standing(driver: AppDriver, device: str = "pv-1") -> pb.StandingOversight | None:
    value = driver.query(f"/oversight/{device}").value
    return pb.StandingOversight.FromString(value) if value else None


def issued(driver: AppDriver, hour: int) -> int:
    value = driver.query(f"/cert_issued/pv-1/{hour}").value
    return int.from_bytes(value, "big") if value else 0


def readings(driver: AppDriver, consortium: Consortium, *batch: Reading, key: int = 1) -> Events:
    """Submit pv-1's (or, with `key`, another device's) readings; the block's events."""
    alice = consortium.member("community-a/alice")
    msg = dc.submit_readings([dc.sign_reading(device_key(key), driver.chain_id, r) for r in batch])
    code, log, evs, block = events_of(driver, signed(driver, alice, msg))
    assert code == 0, log
    assert all(t != "reading_rejected" for t, _a in evs), evs
    return block


def first_hour(driver: AppDriver, consortium: Consortium) -> None:
    """pv-1 exports 3000 Wh in hour H0 (issued active at once, its data being complete);
    the chain's clock is past H0 + 3h, so later hours issue as soon as readings arrive."""
    setup_devices(driver, consortium)
    driver.block([], seconds=H0 + 3 * HOUR + 100 - driver.time)
    readings(driver, consortium, Reading("pv-1", 1, H0 - 60, H0, 0, 0), Reading("pv-1", 2, H0, H0 + HOUR, 0, 3000))
    assert pv_bundles(driver) == [(H0, 0, 3000, ACTIVE_PB)]


def test_a_late_reading_after_a_suspension_issues_suspended_bundles(driver: AppDriver, consortium: Consortium) -> None:
    """Suspended from H0, pv-1's late readings for H0+1h issue suspended bundles (with the
    reason), never active; the issued tally counts them, so nothing is issued twice."""
    first_hour(driver, consortium)
    certifier = consortium.member("certissuer/registry")
    evs = ok(driver, certifier, cc.suspend("pv-1", H0))
    (stand,) = [a for t, a in evs if t == "oversight_set"]
    assert (stand["device"], stand["from_hour"], stand["status"]) == ("pv-1", str(H0), "suspended")
    assert standing(driver) == pb.StandingOversight(device_id="pv-1", from_hour=H0, status=SUSPENDED_PB)
    # half of hour H0+1h arrives late (the grace is over: it issues at once), then the rest
    block = readings(driver, consortium, Reading("pv-1", 3, H0 + HOUR, H0 + HOUR + 1800, 0, 4000))
    (iss,) = [a for t, a in block if t == "bundle_issued"]
    assert (iss["hour"], iss["wh"], iss["status"], iss["reason"]) == (
        str(H0 + HOUR),
        "1000",
        "suspended",
        "standing_oversight",
    )
    assert [a["reason"] for t, a in block if t == "bundle_suspended"] == ["standing_oversight"]
    readings(driver, consortium, Reading("pv-1", 4, H0 + HOUR + 1800, H0 + 2 * HOUR, 0, 5000))
    assert pv_bundles(driver) == [
        (H0, 0, 3000, SUSPENDED_PB),
        (H0 + HOUR, 0, 1000, SUSPENDED_PB),
        (H0 + HOUR, 1000, 2000, SUSPENDED_PB),
    ]
    assert issued(driver, H0 + HOUR) == 2000
    # issuing the device-hour again issues nothing: the suspended Wh are in the tally
    store = Branch(driver.app.state)
    device = get_device(store, "pv-1")
    assert device is not None
    sink = keeper.EventSink()
    block_info = BlockInfo(driver.chain_id, driver.height + 1, (driver.time + 1) * 1_000_000_000)
    issuance.issue_generation(store, block_info, device, H0 + HOUR, sink)
    assert (sink.events, store.writes) == ([], {})
    (late,) = [b for b in keeper.iter_device_bundles(driver.app.state, "pv-1", H0 + HOUR) if b.start_wh == 0]
    history = keeper.get_history(driver.app.state, late.bundle_id)
    assert history is not None
    assert [e.action for e in history.entries] == ["issued", "suspended"]


def test_suspend_then_reinstate_turns_bundles_active_and_later_readings_issue_active(
    driver: AppDriver, consortium: Consortium
) -> None:
    first_hour(driver, consortium)
    certifier = consortium.member("certissuer/registry")
    ok(driver, certifier, cc.suspend("pv-1", H0))
    readings(driver, consortium, Reading("pv-1", 3, H0 + HOUR, H0 + 2 * HOUR, 0, 5000))
    assert {s for *_r, s in pv_bundles(driver)} == {SUSPENDED_PB}
    code, log, evs, _block = events_of(driver, signed(driver, certifier, cc.reinstate("pv-1", H0)))
    assert code == 0, log
    assert [(a["hour"], a["reinstated_as"]) for t, a in evs if t == "bundle_reinstated"] == [
        (str(H0), "active"),
        (str(H0 + HOUR), "active"),
    ]
    (lifted,) = [a for t, a in evs if t == "oversight_lifted"]
    assert (lifted["device"], lifted["from_hour"], lifted["status"]) == ("pv-1", str(H0), "suspended")
    assert standing(driver) is None
    assert pv_bundles(driver) == [(H0, 0, 3000, ACTIVE_PB), (H0 + HOUR, 0, 2000, ACTIVE_PB)]
    history = keeper.get_history(driver.app.state, next(keeper.iter_device_bundles(driver.app.state, "pv-1")).bundle_id)
    assert history is not None
    assert [e.action for e in history.entries] == ["issued", "suspended", "reinstated"]
    # later hours issue active again; reinstating again is a no-op
    block = readings(driver, consortium, Reading("pv-1", 4, H0 + 2 * HOUR, H0 + 3 * HOUR, 0, 6000))
    assert [a.get("status") for t, a in block if t == "bundle_issued"] == [None]
    assert pv_bundles(driver)[-1] == (H0 + 2 * HOUR, 0, 1000, ACTIVE_PB)
    assert [t for t, _a in ok(driver, certifier, cc.reinstate("pv-1", H0)) if t != "message"] == []


def test_standing_oversight_extends_upgrades_and_refuses_what_it_cannot_lift(
    driver: AppDriver, consortium: Consortium
) -> None:
    """An earlier from_hour extends a suspension; a later revocation keeps the suspended
    hours before it; reinstate is refused after the suspension's first hour
    (PARTIAL_REINSTATE) and for revoked hours (OVERSIGHT_REVOKED); revoked stays revoked."""
    first_hour(driver, consortium)
    certifier = consortium.member("certissuer/registry")
    readings(
        driver,
        consortium,
        Reading("pv-1", 3, H0 + HOUR, H0 + 2 * HOUR, 0, 5000),
        Reading("pv-1", 4, H0 + 2 * HOUR, H0 + 3 * HOUR, 0, 6000),
    )
    ok(driver, certifier, cc.suspend("pv-1", H0 + HOUR))
    assert [s for *_r, s in pv_bundles(driver)] == [ACTIVE_PB, SUSPENDED_PB, SUSPENDED_PB]
    ok(driver, certifier, cc.suspend("pv-1", H0))  # extends it
    assert standing(driver) == pb.StandingOversight(device_id="pv-1", from_hour=H0, status=SUSPENDED_PB)
    assert [t for t, _a in ok(driver, certifier, cc.suspend("pv-1", H0 + HOUR)) if t != "message"] == []
    ok(driver, certifier, cc.revoke("pv-1", H0 + 2 * HOUR))
    assert standing(driver) == pb.StandingOversight(
        device_id="pv-1", from_hour=H0, status=SUSPENDED_PB, revoked_from_hour=H0 + 2 * HOUR
    )
    assert [s for *_r, s in pv_bundles(driver)] == [SUSPENDED_PB, SUSPENDED_PB, REVOKED_PB]
    # a late hour under the revocation issues revoked, one under the suspension suspended
    driver.block([], seconds=H0 + 4 * HOUR + 100 - driver.time)
    block = readings(driver, consortium, Reading("pv-1", 5, H0 + 3 * HOUR, H0 + 4 * HOUR, 0, 9000))
    assert [a["status"] for t, a in block if t == "bundle_issued"] == ["revoked"]
    assert [a["reason"] for t, a in block if t == "bundle_revoked"] == ["standing_oversight"]
    before = pv_bundles(driver)
    for from_hour, code in (
        (H0 + HOUR, CertificatesCode.PARTIAL_REINSTATE),
        (H0 + 2 * HOUR, CertificatesCode.OVERSIGHT_REVOKED),
        (H0 + 5 * HOUR, CertificatesCode.OVERSIGHT_REVOKED),
    ):
        assert run(driver, certifier, cc.reinstate("pv-1", from_hour)) == code
    assert pv_bundles(driver) == before
    # lifting the suspension from its first hour leaves the revocation standing
    ok(driver, certifier, cc.reinstate("pv-1", H0))
    assert [s for *_r, s in pv_bundles(driver)] == [ACTIVE_PB, ACTIVE_PB, REVOKED_PB, REVOKED_PB]
    assert standing(driver) == pb.StandingOversight(device_id="pv-1", from_hour=H0 + 2 * HOUR, status=REVOKED_PB)
    # revoke from an earlier hour upgrades the whole record; nothing can then be reinstated
    ok(driver, certifier, cc.suspend("pv-1", H0))
    ok(driver, certifier, cc.revoke("pv-1", H0))
    assert standing(driver) == pb.StandingOversight(device_id="pv-1", from_hour=H0, status=REVOKED_PB)
    assert run(driver, certifier, cc.reinstate("pv-1", H0)) == CertificatesCode.OVERSIGHT_REVOKED
    assert {s for *_r, s in pv_bundles(driver)} == {REVOKED_PB}


def test_revoke_then_reinstate_is_refused(driver: AppDriver, consortium: Consortium) -> None:
    first_hour(driver, consortium)
    certifier = consortium.member("certissuer/registry")
    ok(driver, certifier, cc.revoke("pv-1", H0))
    code, log, _evs, _block = events_of(driver, signed(driver, certifier, cc.reinstate("pv-1", H0)))
    assert code == CertificatesCode.OVERSIGHT_REVOKED
    assert "never reinstated" in log
    readings(driver, consortium, Reading("pv-1", 3, H0 + HOUR, H0 + 2 * HOUR, 0, 5000))
    assert {s for *_r, s in pv_bundles(driver)} == {REVOKED_PB}


def test_reinstate_reaches_storage_certificates_and_lots(driver: AppDriver, consortium: Consortium) -> None:
    """What the suspension reached through storage comes back: the derived storage
    certificates are active again, the lot is unmarked and discharges active; the retired
    one stays retired."""
    scenario(driver, consortium)
    certifier = consortium.member("certissuer/registry")
    ok(driver, certifier, cc.suspend("pv-1", H0))
    assert sorted(storage_bundles(driver)) == sorted(
        [(SUSPENDED_PB, "pv-1", H0, 700), (SUSPENDED_PB, "pv-1", H0, 100), (RETIRED_PB, "pv-1", H0, 200)]
    )
    evs = ok(driver, certifier, cc.reinstate("pv-1", H0))
    derived = [a for t, a in evs if t == "bundle_reinstated" and a.get("via") == "storage"]
    assert sorted(a["wh"] for a in derived) == ["100", "700"]
    assert all(a["origin_device"] == "pv-1" for a in derived)
    (unmarked,) = [a for t, a in evs if t == "storage_lot_unmarked"]
    assert (unmarked["battery"], unmarked["device"]) == ("bat-1", "pv-1")
    assert sorted(storage_bundles(driver)) == sorted(
        [(ACTIVE_PB, "pv-1", H0, 700), (ACTIVE_PB, "pv-1", H0, 100), (RETIRED_PB, "pv-1", H0, 200)]
    )
    assert lots(driver)[0] == ("pv-1", H0, 3000, BundleStatus.UNSPECIFIED)
    (flag,) = [a for t, a in evs if t == "retired_bundle_flagged"]
    assert (flag["wh"], flag["status"]) == ("200", "reinstated")
    assert retired_flags(driver) == ["origin_suspended", "origin_reinstated"]
    # suspended again, the retired one is flagged again; reinstating twice flags once
    ok(driver, certifier, cc.suspend("pv-1", H0))
    ok(driver, certifier, cc.reinstate("pv-1", H0))
    assert not any(t == "retired_bundle_flagged" for t, _a in ok(driver, certifier, cc.reinstate("pv-1", H0)))
    assert retired_flags(driver) == ["origin_suspended", "origin_reinstated"] * 2
    discharge(driver, consortium, 5, 2, 2000)
    assert storage_bundles(driver)[-1] == (ACTIVE_PB, "pv-1", H0, 1000)


def retired_flags(driver: AppDriver) -> list[str]:
    """The origin_* history entries of bat-1's retired storage certificate."""
    (retired,) = [b for b in keeper.iter_device_bundles(driver.app.state, "bat-1") if b.status == RETIRED]
    history = keeper.get_history(driver.app.state, retired.bundle_id)
    assert history is not None
    return [e.action for e in history.entries if e.action.startswith("origin_")]


def test_reinstate_counts_against_the_cap(
    driver: AppDriver, consortium: Consortium, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One own bundle, two derived ones, one retired to flag and one lot: five writes."""
    scenario(driver, consortium)
    certifier = consortium.member("certissuer/registry")
    ok(driver, certifier, cc.suspend("pv-1", H0))
    monkeypatch.setattr(handlers, "MAX_OVERSIGHT_BUNDLES", 4)
    before = storage_bundles(driver), lots(driver), standing(driver)
    code, log, _evs, _block = events_of(driver, signed(driver, certifier, cc.reinstate("pv-1", H0)))
    assert code == CertificatesCode.VOLUME_EXCEEDED
    assert "cannot be lifted in one transaction" in log
    assert (storage_bundles(driver), lots(driver), standing(driver)) == before
    monkeypatch.setattr(handlers, "MAX_OVERSIGHT_BUNDLES", 5)
    ok(driver, certifier, cc.reinstate("pv-1", H0))
    assert standing(driver) is None


def test_a_suspended_battery_issues_its_later_discharge_suspended(driver: AppDriver, consortium: Consortium) -> None:
    """The battery's own standing suspension holds its later storage certificates too,
    whatever the lot's mark; reinstating the battery lets them issue active again."""
    scenario(driver, consortium)
    certifier = consortium.member("certissuer/registry")
    ok(driver, certifier, cc.suspend("bat-1", H0 + 2 * HOUR))
    block = discharge(driver, consortium, 5, 2, 2000)
    (iss,) = [a for t, a in block if t == "bundle_issued" and a["device"] == "bat-1"]
    assert (iss["wh"], iss["status"], iss["reason"]) == ("1000", "suspended", "standing_oversight")
    assert storage_bundles(driver)[-1] == (SUSPENDED_PB, "pv-1", H0, 1000)
    assert lots(driver)[0][3] == BundleStatus.UNSPECIFIED  # pv-1 itself is not under oversight
    ok(driver, certifier, cc.reinstate("bat-1", H0 + 2 * HOUR))
    assert storage_bundles(driver)[-1] == (ACTIVE_PB, "pv-1", H0, 1000)
    discharge(driver, consortium, 7, 3, 3000)
    assert [s for s, *_r in storage_bundles(driver)[-2:]] == [ACTIVE_PB, ACTIVE_PB]


def test_a_storage_certificate_held_by_two_oversights_stays_until_both_are_lifted(
    driver: AppDriver, consortium: Consortium
) -> None:
    """pv-1 (its origin) and bat-1 (its issuer) both suspended: lifting one leaves the
    storage certificates suspended, lifting the other brings them back."""
    scenario(driver, consortium)
    certifier = consortium.member("certissuer/registry")
    ok(driver, certifier, cc.suspend("pv-1", H0))
    ok(driver, certifier, cc.suspend("bat-1", H0))
    ok(driver, certifier, cc.reinstate("pv-1", H0))
    assert {s for s, *_r in storage_bundles(driver)} == {SUSPENDED_PB, RETIRED_PB}
    assert standing(driver) is None
    assert lots(driver)[0][3] == BundleStatus.UNSPECIFIED
    evs = ok(driver, certifier, cc.reinstate("bat-1", H0))
    assert [a.get("via") for t, a in evs if t == "bundle_reinstated"] == [None, None]  # bat-1's own
    assert {s for s, *_r in storage_bundles(driver)} == {ACTIVE_PB, RETIRED_PB}


def test_a_reinstated_bundle_past_its_expiry_age_comes_back_expired(driver: AppDriver, consortium: Consortium) -> None:
    """The expiry pass went by while the bundle was suspended: it is reinstated expired."""
    driver.block([])
    first_hour(driver, consortium)
    certifier = consortium.member("certissuer/registry")
    ok(driver, certifier, cc.suspend("pv-1", H0))
    driver.block([], seconds=366 * 86_400)
    evs = ok(driver, certifier, cc.reinstate("pv-1", H0))
    assert [a["reinstated_as"] for t, a in evs if t == "bundle_reinstated"] == ["expired"]
    assert pv_bundles(driver) == [(H0, 0, 3000, EXPIRED_PB)]


def test_only_the_certifier_reinstates(driver: AppDriver, consortium: Consortium) -> None:
    first_hour(driver, consortium)
    certifier = consortium.member("certissuer/registry")
    ok(driver, certifier, cc.suspend("pv-1", H0))
    for who in ("community-a/alice", "gridop/control"):
        assert run(driver, consortium.member(who), cc.reinstate("pv-1", H0)) == Code.UNAUTHORIZED
    assert pv_bundles(driver) == [(H0, 0, 3000, SUSPENDED_PB)]
    assert standing(driver) is not None


def test_hostile_input_is_refused_with_specific_codes(driver: AppDriver, consortium: Consortium) -> None:
    first_hour(driver, consortium)
    certifier = consortium.member("certissuer/registry")
    for build in (cc.suspend, cc.revoke, cc.reinstate):
        assert run(driver, certifier, build("pv-1", (1 << 64) - 1)) == Code.INVALID_ARGUMENT
        assert run(driver, certifier, build("pv-1", 1 << 63)) == Code.INVALID_ARGUMENT
        assert run(driver, certifier, build("", H0)) == Code.INVALID_ARGUMENT
        assert run(driver, certifier, build("x" * 300, H0)) == Code.INVALID_ARGUMENT
        assert run(driver, certifier, build("pv-9", H0)) == CertificatesCode.UNKNOWN_DEVICE
    assert pv_bundles(driver) == [(H0, 0, 3000, ACTIVE_PB)]
    assert standing(driver) is None
    # the largest hour accepted is fine and covers nothing yet
    ok(driver, certifier, cc.suspend("pv-1", (1 << 63) - 1))
    assert pv_bundles(driver) == [(H0, 0, 3000, ACTIVE_PB)]
    assert driver.query("/oversight/").code != 0
    assert driver.query("/oversight/" + "d" * 300).code != 0


def test_genesis_carries_a_standing_oversight_faithfully(driver: AppDriver, consortium: Consortium) -> None:
    """Export → import rebuilds the standing oversight key byte for byte, and the imported
    chain keeps issuing the device's later hours suspended."""
    first_hour(driver, consortium)
    certifier = consortium.member("certissuer/registry")
    ok(driver, certifier, cc.suspend("pv-1", H0))
    ok(driver, certifier, cc.revoke("pv-1", H0 + 5 * HOUR))
    app_state, fresh = export_and_import(driver.app.state)
    assert app_state["certificates"]["oversights"] == [
        {
            "deviceId": "pv-1",
            "fromHour": str(H0),
            "status": "BUNDLE_STATUS_SUSPENDED",
            "revokedFromHour": str(H0 + 5 * HOUR),
        }
    ]
    assert differences(CERTIFICATES, driver.app.state, fresh) == []
    assert check_invariants(fresh) == []
    assert keeper.get_oversight(fresh, "pv-1") == StandingOversight(DeviceId("pv-1"), H0, SUSPENDED, H0 + 5 * HOUR)


def test_the_invariant_catches_an_active_bundle_under_a_standing_suspension(
    driver: AppDriver, consortium: Consortium
) -> None:
    first_hour(driver, consortium)
    store = Branch(driver.app.state)
    keeper.put_oversight(store, "pv-1", StandingOversight(DeviceId("pv-1"), H0 + HOUR, SUSPENDED))
    assert standing_oversight_holds(store) is None
    keeper.put_oversight(store, "pv-1", StandingOversight(DeviceId("pv-1"), H0, SUSPENDED))
    assert "ACTIVE under a standing SUSPENDED" in (standing_oversight_holds(store) or "")
    keeper.put_oversight(store, "pv-1", StandingOversight(DeviceId("pv-1"), H0 + HOUR, SUSPENDED, H0))
    assert "malformed" in (standing_oversight_holds(store) or "")


class _FakeContext:
    """What the cert commands use of a gridctl Context, recorded."""

    def __init__(self, found: pb.StandingOversight | None = None) -> None:
        self.submitted: list[object] = []
        self.shown: list[object] = []
        self.found = found

    def submit(self, msg: object) -> str:
        self.submitted.append(msg)
        return "result"

    def tx_events(self, result: object) -> list[dict[str, object]]:
        return []

    def done(self, result: object, **fields: object) -> None:
        self.shown.append(fields)

    def find(self, path: str, cls: type[pb.StandingOversight]) -> pb.StandingOversight | None:
        assert path == "/oversight/pv-1"
        return self.found

    def show(self, data: object, *, title: str) -> None:
        self.shown.append(data)


def test_gridctl_cert_reinstate_and_oversight() -> None:
    """`gridctl cert reinstate <device> --from-hour H` submits ReinstateBundles;
    `gridctl cert oversight <device>` shows the standing oversight, or none."""
    from clients.gridctl import build_parser

    args = build_parser().parse_args(["cert", "reinstate", "pv-1", "--from-hour", str(H0)])
    ctx = _FakeContext()
    args.fn(ctx, args)
    assert ctx.submitted == [pb.ReinstateBundles(device_id="pv-1", from_hour=H0)]
    assert ctx.shown == [{"device": "pv-1", "from_hour": H0, "events": []}]
    args = build_parser().parse_args(["cert", "oversight", "pv-1"])
    ctx = _FakeContext()
    args.fn(ctx, args)
    assert ctx.shown == [{"device_id": "pv-1", "status": "none"}]
    ctx = _FakeContext(pb.StandingOversight(device_id="pv-1", from_hour=H0, status=SUSPENDED_PB))
    args.fn(ctx, args)
    (shown,) = ctx.shown
    assert isinstance(shown, dict)
    assert shown["device_id"] == "pv-1"
