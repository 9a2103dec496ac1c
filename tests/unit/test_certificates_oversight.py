"""Oversight reaches storage: suspending or revoking a device's bundles also suspends or
revokes the storage certificates whose energy came from its hours, marks the lots from
those hours still inside a battery (their discharge issues certificates already suspended
or revoked), flags retired storage certificates (which stay retired) and leaves other
devices' lots alone; the work counts against the same cap; genesis carries the marks."""

from __future__ import annotations

import pytest
from gridledger.certificates.v1 import certificates_pb2 as pb
from gridwire.reading import Reading

from abci_app.certificates import handlers, keeper, storage
from abci_app.certificates.domain import DOMAIN as CERTIFICATES
from abci_app.certificates.errors import CertificatesCode
from abci_app.certificates.invariants import storage_lineage_indexed
from abci_app.certificates.records import ACTIVE, REVOKED, SUSPENDED, Bundle, BundleId, BundleStatus, StorageLot
from abci_app.devices.keeper import get_device
from abci_app.devices.records import Device, DeviceId
from abci_app.errors import Code
from abci_app.registry import check_invariants
from abci_app.store.branch import Branch
from abci_app.types import Address, BlockInfo
from clients import certificates as cc
from clients import devices as dc
from clients.ops.consortium import Consortium
from tests.support.devices import certify
from tests.support.driver import AppDriver
from tests.support.genesis_roundtrip import differences, export_and_import
from tests.unit.helpers import signed
from tests.unit.test_certificates_support import H0, Events, device_key, events_of, ok, run, setup_devices, submit

HOUR = 3600
ACTIVE_PB, RETIRED_PB = pb.BUNDLE_STATUS_ACTIVE, pb.BUNDLE_STATUS_RETIRED
SUSPENDED_PB, REVOKED_PB = pb.BUNDLE_STATUS_SUSPENDED, pb.BUNDLE_STATUS_REVOKED


def bundles(driver: AppDriver, path: str) -> list[pb.Bundle]:
    return list(pb.BundleList.FromString(driver.query(f"/bundles/{path}").value).bundles)


def storage_bundles(driver: AppDriver) -> list[tuple[int, str, int, int]]:
    """(status, origin device, origin hour, Wh) of bat-1's certificates, by id."""
    out = sorted(bundles(driver, "device/bat-1"), key=lambda b: b.bundle_id)
    return [(b.status, b.origin_device, b.origin_hour, b.end_wh - b.start_wh) for b in out]


def lots(driver: AppDriver) -> list[tuple[str, int, int, BundleStatus]]:
    """(source device, source hour, input Wh, oversight) of every stored lot."""
    return [(x.device_id, x.hour_start, x.in_end - x.in_start, x.oversight) for _b, _s, x in storage.iter_lots(
        driver.app.state
    )]  # fmt: skip


def scenario(driver: AppDriver, consortium: Consortium) -> None:
    """pv-1 exports 3000 Wh in hour H0 and 2000 in H0+1h; pv-2 3000 in H0. bat-1 charges
    4000 in H0 (lots: pv-1 H0 3000, pv-2 H0 1000; 3240 Wh out at 81 %) and discharges 1000
    in H0+1h: a storage certificate of 1000 Wh of origin pv-1 H0. Alice gives bob 100 Wh of
    it and retires 200."""
    pv2 = dc.register_device(
        "pv-2", "site-a", "pv", dc.device_public_key(device_key(4)), 5_000,
        energy_source="solar", technology="pv-poly", commissioning_date=1_600_000_000, country="NL",
    )  # fmt: skip
    setup_devices(driver, consortium, battery=True, extra=[certify(consortium, pv2)], commissioned=["pv-2"])
    alice = consortium.member("community-a/alice")
    bob = consortium.member("community-a/bob")
    driver.block([], seconds=H0 + 2 * HOUR + 100 - driver.time)
    submit(
        driver, alice, 1,
        Reading("pv-1", 1, H0 - 60, H0, 0, 0),
        Reading("pv-1", 2, H0, H0 + HOUR, 0, 3000),
        Reading("pv-1", 3, H0 + HOUR, H0 + 2 * HOUR, 0, 5000),
        Reading("pv-1", 4, H0 + 2 * HOUR, H0 + 2 * HOUR + 60, 0, 5000),
    )  # fmt: skip
    submit(
        driver, alice, 4,
        Reading("pv-2", 1, H0 - 60, H0, 0, 0),
        Reading("pv-2", 2, H0, H0 + HOUR, 0, 3000),
        Reading("pv-2", 3, H0 + HOUR, H0 + HOUR + 60, 0, 3000),
    )  # fmt: skip
    submit(
        driver, alice, 2,
        Reading("bat-1", 1, H0 - 60, H0, 0, 0, 0, 0, 0),
        Reading("bat-1", 2, H0, H0 + HOUR, 0, 0, 4000, 0, 3600),
        Reading("bat-1", 3, H0 + HOUR, H0 + 2 * HOUR, 0, 0, 4000, 1000, 0),
        Reading("bat-1", 4, H0 + 2 * HOUR, H0 + 2 * HOUR + 60, 0, 0, 4000, 1000, 0),
    )  # fmt: skip
    assert storage_bundles(driver) == [(ACTIVE_PB, "pv-1", H0, 1000)]
    assert lots(driver) == [("pv-1", H0, 3000, BundleStatus.UNSPECIFIED), ("pv-2", H0, 1000, BundleStatus.UNSPECIFIED)]
    (out,) = bundles(driver, "device/bat-1")
    ok(driver, alice, cc.transfer(out.bundle_id, 100, bob.address))
    ok(driver, alice, cc.retire(out.bundle_id, 200, alice.address, (H0 + HOUR, H0 + 2 * HOUR), "battery claim"))


def discharge(driver: AppDriver, consortium: Consortium, seq: int, hour: int, total_out: int) -> Events:
    """bat-1 discharges in hour H0+`hour`h up to `total_out` Wh in all; the block events."""
    alice = consortium.member("community-a/alice")
    start = H0 + hour * HOUR
    driver.block([], seconds=start + HOUR + 100 - driver.time)
    readings = [
        Reading("bat-1", seq, start + 60, start + HOUR, 0, 0, 4000, total_out, 0),
        Reading("bat-1", seq + 1, start + HOUR, start + HOUR + 60, 0, 0, 4000, total_out, 0),
    ]
    batch = dc.submit_readings([dc.sign_reading(device_key(2), driver.chain_id, r) for r in readings])
    code, log, evs, block = events_of(driver, signed(driver, alice, batch))
    assert code == 0, log
    assert all(t != "reading_rejected" for t, _a in evs), evs
    return block


def test_suspend_and_revoke_reach_storage_certificates_and_lots(driver: AppDriver, consortium: Consortium) -> None:
    scenario(driver, consortium)
    certifier = consortium.member("certissuer/registry")
    code, log, evs, _ = events_of(driver, signed(driver, certifier, cc.suspend("pv-1", H0)))
    assert code == 0, log
    # pv-1's own active bundle (H0+1h) and the two held pieces of the storage certificate
    suspended = [a for t, a in evs if t == "bundle_suspended"]
    assert [(a["device"], a["wh"], a.get("via")) for a in suspended] == [
        ("pv-1", "2000", None),
        ("bat-1", "700", "storage"),
        ("bat-1", "100", "storage"),
    ]
    assert all(a["origin_device"] == "pv-1" and a["origin_hour"] == str(H0) for a in suspended[1:])
    (flag,) = [a for t, a in evs if t == "retired_bundle_flagged"]
    assert (flag["wh"], flag["status"], flag["origin_device"]) == ("200", "suspended", "pv-1")
    (mark,) = [a for t, a in evs if t == "storage_lot_marked"]
    assert (mark["battery"], mark["seq"], mark["device"], mark["status"]) == ("bat-1", "0", "pv-1", "suspended")
    assert sorted(storage_bundles(driver)) == sorted(
        [(SUSPENDED_PB, "pv-1", H0, 700), (SUSPENDED_PB, "pv-1", H0, 100), (RETIRED_PB, "pv-1", H0, 200)]
    )
    # the lot from pv-1 is marked, pv-2's is untouched, and so are pv-2's certificates
    assert lots(driver) == [("pv-1", H0, 3000, SUSPENDED), ("pv-2", H0, 1000, BundleStatus.UNSPECIFIED)]
    assert {(b.status, b.end_wh - b.start_wh) for b in bundles(driver, "device/pv-2")} == {
        (pb.BUNDLE_STATUS_CONSUMED_BY_STORAGE, 1000),
        (ACTIVE_PB, 2000),
    }
    retired = next(b for b in bundles(driver, "device/bat-1") if b.status == RETIRED_PB)
    history = pb.BundleHistoryView.FromString(driver.query(f"/bundle_history/{retired.bundle_id}").value)
    assert [e.action for e in history.chain[0].entries][-1] == "origin_suspended"
    # suspending again changes nothing and flags nothing twice
    assert [t for t, _a in ok(driver, certifier, cc.suspend("pv-1", H0)) if t != "message"] == []

    # a later discharge of the marked lot issues certificates already suspended
    block = discharge(driver, consortium, 5, 2, 2000)
    issued = [a for t, a in block if t == "bundle_issued" and a["device"] == "bat-1"]
    assert [(a["wh"], a.get("status")) for a in issued] == [("1000", "suspended")]
    assert [a["via"] for t, a in block if t == "bundle_suspended"] == ["storage"]
    assert storage_bundles(driver)[-1] == (SUSPENDED_PB, "pv-1", H0, 1000)
    assert lots(driver)[0] == ("pv-1", H0, 3000, SUSPENDED)  # 430 Wh of output still inside

    # revoke: every suspended certificate, own and derived, is revoked, the lot's mark too
    evs = ok(driver, certifier, cc.revoke("pv-1", H0))
    assert sum(1 for t, a in evs if t == "bundle_revoked" and a.get("via") == "storage") == 3
    assert [a["status"] for t, a in evs if t == "retired_bundle_flagged"] == ["revoked"]
    assert [a["status"] for t, a in evs if t == "storage_lot_marked"] == ["revoked"]
    assert {s for s, *_ in storage_bundles(driver)} == {REVOKED_PB, RETIRED_PB}
    assert {b.status for b in bundles(driver, "device/pv-1")} == {REVOKED_PB, pb.BUNDLE_STATUS_CONSUMED_BY_STORAGE}
    assert lots(driver) == [("pv-1", H0, 3000, REVOKED), ("pv-2", H0, 1000, BundleStatus.UNSPECIFIED)]

    # genesis carries the marks and the lineage indexes faithfully
    _app_state, fresh = export_and_import(driver.app.state)
    assert differences(CERTIFICATES, driver.app.state, fresh) == []
    assert check_invariants(fresh) == []

    # more comes out: pv-1's last 430 Wh revoked, then pv-2's active and green
    discharge(driver, consortium, 7, 3, 3000)
    assert storage_bundles(driver)[-2:] == [(REVOKED_PB, "pv-1", H0, 430), (ACTIVE_PB, "pv-2", H0, 570)]
    assert lots(driver) == [("pv-2", H0, 1000, BundleStatus.UNSPECIFIED)]
    retired = next(b for b in bundles(driver, "device/bat-1") if b.status == RETIRED_PB)
    assert retired.end_wh - retired.start_wh == 200  # a retirement is final
    history = pb.BundleHistoryView.FromString(driver.query(f"/bundle_history/{retired.bundle_id}").value)
    assert [e.action for e in history.chain[0].entries][-2:] == ["origin_suspended", "origin_revoked"]


def test_revoke_without_suspension_reaches_storage_too(driver: AppDriver, consortium: Consortium) -> None:
    scenario(driver, consortium)
    certifier = consortium.member("certissuer/registry")
    ok(driver, certifier, cc.revoke("pv-1", H0))
    assert sorted(storage_bundles(driver)) == sorted(
        [(REVOKED_PB, "pv-1", H0, 700), (REVOKED_PB, "pv-1", H0, 100), (RETIRED_PB, "pv-1", H0, 200)]
    )
    assert lots(driver) == [("pv-1", H0, 3000, REVOKED), ("pv-2", H0, 1000, BundleStatus.UNSPECIFIED)]
    discharge(driver, consortium, 5, 2, 3000)
    assert storage_bundles(driver)[-2:] == [(REVOKED_PB, "pv-1", H0, 1430), (ACTIVE_PB, "pv-2", H0, 570)]


def test_a_later_from_hour_leaves_earlier_lineage_alone(driver: AppDriver, consortium: Consortium) -> None:
    """Suspending pv-1 from H0+1h reaches its own H0+1h bundle only: the storage
    certificates and lot of hour H0 stay active."""
    scenario(driver, consortium)
    certifier = consortium.member("certissuer/registry")
    evs = ok(driver, certifier, cc.suspend("pv-1", H0 + HOUR))
    assert [a["device"] for t, a in evs if t == "bundle_suspended"] == ["pv-1"]
    assert not any(t in ("storage_lot_marked", "retired_bundle_flagged") for t, _a in evs)
    assert {s for s, *_ in storage_bundles(driver)} == {ACTIVE_PB, RETIRED_PB}
    assert {o for *_x, o in lots(driver)} == {BundleStatus.UNSPECIFIED}


def test_derived_work_counts_against_the_cap(
    driver: AppDriver, consortium: Consortium, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One own bundle, two derived ones, one retired to flag and one lot: five writes."""
    scenario(driver, consortium)
    certifier = consortium.member("certissuer/registry")
    monkeypatch.setattr(handlers, "MAX_OVERSIGHT_BUNDLES", 4)
    before = storage_bundles(driver), lots(driver)
    code, log, _evs, _ = events_of(driver, signed(driver, certifier, cc.suspend("pv-1", H0)))
    assert code == CertificatesCode.VOLUME_EXCEEDED
    assert "derived via storage" in log
    assert (storage_bundles(driver), lots(driver)) == before  # nothing written
    monkeypatch.setattr(handlers, "MAX_OVERSIGHT_BUNDLES", 5)
    ok(driver, certifier, cc.suspend("pv-1", H0))
    assert lots(driver)[0][3] == SUSPENDED


def test_only_the_certifier_reaches_storage(driver: AppDriver, consortium: Consortium) -> None:
    scenario(driver, consortium)
    alice = consortium.member("community-a/alice")
    operator = consortium.member("gridop/control")
    before = storage_bundles(driver), lots(driver)
    for who in (alice, operator):
        assert run(driver, who, cc.suspend("pv-1", H0)) == Code.UNAUTHORIZED
        assert run(driver, who, cc.revoke("pv-1", H0)) == Code.UNAUTHORIZED
    assert (storage_bundles(driver), lots(driver)) == before


def test_a_storage_certificate_charged_again_passes_its_origin_on(driver: AppDriver, consortium: Consortium) -> None:
    """A battery consuming a storage certificate stores a lot naming the generator behind
    it, not the battery that discharged it: lineage survives any number of batteries."""
    setup_devices(driver, consortium, battery=True)
    alice = Address(consortium.member("community-a/alice").address)
    store = Branch(driver.app.state)
    block = BlockInfo(driver.chain_id, driver.height + 1, driver.time * 1_000_000_000)
    source = Bundle(
        BundleId(0), DeviceId("bat-1"), H0 + HOUR, 0, 0, alice, ACTIVE, energy_source="solar",
        storage=True, origin_device=DeviceId("pv-1"), origin_hour=H0,
    )  # fmt: skip
    keeper.issue(store, block, source, 500)
    storage.process_battery_hour(
        store, block, _battery(driver), H0 + HOUR, (400, 0), sink=keeper.EventSink()
    )  # bat-1 charges 400 Wh in the hour its own storage certificate was issued for
    (lot,) = [x for _b, _s, x in storage.iter_lots(store)]
    assert (lot.device_id, lot.hour_start, lot.in_end - lot.in_start) == ("pv-1", H0, 400)
    assert [(b, s) for b, s, _x in storage.iter_source_lots(store, "pv-1", H0)] == [("bat-1", 0)]
    assert list(storage.iter_source_lots(store, "pv-1", H0 + 1)) == []
    assert [b.bundle_id for b in keeper.iter_derived_bundles(store, "pv-1")] == [1, 2]  # the consumed piece too
    assert storage_lineage_indexed(store) is None


def _battery(driver: AppDriver) -> Device:
    battery = get_device(driver.app.state, "bat-1")
    assert battery is not None
    return battery


def test_the_lineage_invariant_catches_a_missing_entry(driver: AppDriver, consortium: Consortium) -> None:
    setup_devices(driver, consortium, battery=True)
    store = Branch(driver.app.state)
    storage.put_lot(store, "bat-1", 0, StorageLot(0, 100, DeviceId("pv-1"), H0))
    assert storage_lineage_indexed(store) is None
    store.delete(b"\x5e" + bytes([4]) + b"pv-1" + H0.to_bytes(8, "big") + bytes([5]) + b"bat-1" + bytes(8))
    assert "not in the source index" in (storage_lineage_indexed(store) or "")
    storage.put_lot(store, "bat-1", 1, StorageLot(100, 200, oversight=SUSPENDED))
    assert storage_lineage_indexed(store) is not None
