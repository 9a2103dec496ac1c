"""Certificates: transfer and retirement rules, oversight by the issuing body only, storage,
hourly matching, residual, provable records and state bytes per device-day."""

from __future__ import annotations

from gridledger.certificates.v1 import certificates_pb2 as pb
from gridwire.reading import Reading

from abci_app.certificates import keeper
from abci_app.certificates.errors import CertificatesCode
from abci_app.certificates.invariants import bundles_tile_issued
from abci_app.certificates.issuance import end_block
from abci_app.certificates.records import EXPIRED, RETIRED
from abci_app.errors import Code
from abci_app.pb import abci
from abci_app.store.branch import Branch
from abci_app.store.commitment import verify_proof
from abci_app.types import BlockInfo
from clients import certificates as cc
from clients.ops.consortium import Consortium
from tests.support.driver import AppDriver
from tests.unit.helpers import proof_of
from tests.unit.test_certificates_support import H0, ok, run, setup_devices, submit

HOUR = 3600


def bundles(driver: AppDriver, path: str) -> list[pb.Bundle]:
    return list(pb.BundleList.FromString(driver.query(f"/bundles/{path}").value).bundles)


def one_hour(driver: AppDriver, consortium: Consortium, wh: int = 3000) -> pb.Bundle:
    """pv-1 exports `wh` Wh in hour H0 (complete data): one bundle [0, wh) to alice."""
    setup_devices(driver, consortium)
    alice = consortium.member("community-a/alice")
    driver.block([], seconds=HOUR + 100)
    submit(
        driver, alice, 1,
        Reading("pv-1", 1, H0 - 60, H0, 0, 0),
        Reading("pv-1", 2, H0, H0 + HOUR, 0, wh),
        Reading("pv-1", 3, H0 + HOUR, H0 + HOUR + 60, 0, wh),
    )  # fmt: skip
    (b,) = bundles(driver, "device/pv-1")
    assert (b.start_wh, b.end_wh, b.owner) == (0, wh, alice.address)
    return b


def volumes(driver: AppDriver) -> dict[tuple[str, int], int]:
    out: dict[tuple[str, int], int] = {}
    for b in bundles(driver, "device/pv-1"):
        key = (b.owner.hex()[:6], b.status)
        out[key] = out.get(key, 0) + b.end_wh - b.start_wh
    return out


def test_split_and_transfer_conserve_volume_and_merge_back(driver: AppDriver, consortium: Consortium) -> None:
    """Transfers cut ranges; the sum stays the issued volume; adjacent bundles of one owner merge."""
    b = one_hour(driver, consortium)
    alice = consortium.member("community-a/alice")
    bob = consortium.member("community-a/bob")
    evs = ok(driver, alice, cc.transfer(b.bundle_id, 1000, bob.address))
    assert {t for t, _ in evs} >= {"bundle_transferred", "bundle_split"}
    ranges = sorted((x.start_wh, x.end_wh, x.owner) for x in bundles(driver, "device/pv-1"))
    assert ranges == [(0, 1000, bob.address), (1000, 3000, alice.address)]
    piece = next(x for x in bundles(driver, "device/pv-1") if x.owner == bob.address)
    assert run(driver, bob, cc.transfer(piece.bundle_id, 1001, alice.address)) == CertificatesCode.VOLUME_EXCEEDED
    assert run(driver, bob, cc.transfer(b.bundle_id, 1, bob.address)) == CertificatesCode.NOT_BUNDLE_OWNER
    assert run(driver, bob, cc.transfer(999, 1, bob.address)) == CertificatesCode.UNKNOWN_BUNDLE
    assert run(driver, bob, cc.transfer(piece.bundle_id, 1, b"\x07" * 20)) == CertificatesCode.UNKNOWN_RECIPIENT
    ok(driver, bob, cc.transfer(piece.bundle_id, 1000, alice.address))
    (whole,) = bundles(driver, "device/pv-1")  # merged back into one bundle
    assert (whole.start_wh, whole.end_wh, whole.owner) == (0, 3000, alice.address)
    history = pb.BundleHistoryView.FromString(driver.query(f"/bundle_history/{whole.bundle_id}").value)
    actions = [e.action for h in history.chain for e in h.entries]
    assert "issued" in actions
    assert "split" in actions
    assert "merged" in actions


def test_retired_bundles_never_move_and_claims_are_provable(driver: AppDriver, consortium: Consortium) -> None:
    """Retirement is final; the bundle and retirement records verify against the app hash."""
    b = one_hour(driver, consortium)
    alice = consortium.member("community-a/alice")
    bob = consortium.member("community-a/bob")
    evs = ok(driver, alice, cc.retire(b.bundle_id, 1200, bob.address, (H0, H0 + HOUR), "hourly claim"))
    rid = int(next(a for t, a in evs if t == "bundle_retired")["retirement"])
    retired = next(x for x in bundles(driver, "device/pv-1") if x.status == pb.BUNDLE_STATUS_RETIRED)
    assert retired.end_wh - retired.start_wh == 1200
    assert run(driver, alice, cc.transfer(retired.bundle_id, 1, bob.address)) == CertificatesCode.BUNDLE_NOT_ACTIVE
    again = cc.retire(retired.bundle_id, 1, bob.address, (H0, H0 + HOUR))
    assert run(driver, alice, again) == CertificatesCode.BUNDLE_NOT_ACTIVE
    assert run(driver, alice, cc.retire(b.bundle_id, 1, bob.address, (H0, H0))) == Code.INVALID_ARGUMENT
    driver.block([])
    app_hash = driver.app.info(abci.RequestInfo()).last_block_app_hash
    for path in (f"/retirement/{rid}", f"/bundle/{retired.bundle_id}"):
        resp = driver.query(path, prove=True)
        assert resp.code == 0
        assert verify_proof(app_hash, resp.key, resp.value, proof_of(resp))
    record = pb.Retirement.FromString(driver.query(f"/retirement/{rid}").value)
    assert (record.wh, record.beneficiary, record.purpose) == (1200, bob.address, "hourly claim")
    assert (record.device_id, record.hour_start, record.energy_source) == ("pv-1", H0, "solar")


def test_only_the_issuing_body_suspends_and_revokes(driver: AppDriver, consortium: Consortium) -> None:
    """Suspended and revoked bundles neither move nor retire; other roles get UNAUTHORIZED."""
    b = one_hour(driver, consortium)
    alice = consortium.member("community-a/alice")
    bob = consortium.member("community-a/bob")
    certifier = consortium.member("certissuer/registry")
    operator = consortium.member("gridop/control")
    ok(driver, alice, cc.retire(b.bundle_id, 500, alice.address, (H0, H0 + HOUR)))
    for who in (alice, operator):
        assert run(driver, who, cc.revoke("pv-1", H0)) == Code.UNAUTHORIZED
        assert run(driver, who, cc.suspend("pv-1", H0)) == Code.UNAUTHORIZED
    assert run(driver, certifier, cc.suspend("nope", H0)) == CertificatesCode.UNKNOWN_DEVICE
    ok(driver, certifier, cc.suspend("pv-1", H0))
    statuses = {x.status: x.end_wh - x.start_wh for x in bundles(driver, "device/pv-1")}
    assert statuses == {pb.BUNDLE_STATUS_RETIRED: 500, pb.BUNDLE_STATUS_SUSPENDED: 2500}
    suspended = bundles(driver, "status/suspended")[0]
    assert run(driver, alice, cc.transfer(suspended.bundle_id, 1, bob.address)) == CertificatesCode.BUNDLE_NOT_ACTIVE
    retire_it = cc.retire(suspended.bundle_id, 1, bob.address, (H0, H0 + HOUR))
    assert run(driver, alice, retire_it) == CertificatesCode.BUNDLE_NOT_ACTIVE
    ok(driver, certifier, cc.revoke("pv-1", H0))
    statuses = {x.status: x.end_wh - x.start_wh for x in bundles(driver, "device/pv-1")}
    assert statuses == {pb.BUNDLE_STATUS_RETIRED: 500, pb.BUNDLE_STATUS_REVOKED: 2500}
    assert run(driver, alice, cc.transfer(suspended.bundle_id, 1, bob.address)) == CertificatesCode.BUNDLE_NOT_ACTIVE
    residual = pb.Residual.FromString(driver.query(f"/residual/nl-north/{H0}").value)
    assert (residual.issued_wh, residual.claimed_wh, residual.revoked_wh, residual.residual_wh) == (3000, 500, 2500, 0)


def test_storage_round_trip_loses_exactly_the_efficiency_loss(driver: AppDriver, consortium: Consortium) -> None:
    """1000 green Wh charged at 81 % round trip come out as 810 Wh of storage certificates
    carrying the generator's attributes; the 1000 Wh are consumed, nothing counted twice."""
    setup_devices(driver, consortium, battery=True)
    alice = consortium.member("community-a/alice")
    driver.block([], seconds=HOUR + 100)
    pv = [
        Reading("pv-1", 1, H0 - 60, H0, 0, 0),
        Reading("pv-1", 2, H0, H0 + HOUR, 0, 3000),
        Reading("pv-1", 3, H0 + HOUR, H0 + HOUR + 60, 0, 3000),
    ]
    submit(driver, alice, 1, *pv)
    bat = [
        Reading("bat-1", 1, H0 - 60, H0, 0, 0, 0, 0, 0),
        Reading("bat-1", 2, H0, H0 + HOUR, 0, 0, 1000, 0, 900),
    ]
    submit(driver, alice, 2, *bat)
    consumed = bundles(driver, "status/consumed_by_storage")
    assert [(x.end_wh - x.start_wh, x.storage_device) for x in consumed] == [(1000, "bat-1")]
    driver.block([], seconds=HOUR)
    submit(
        driver, alice, 2,
        Reading("bat-1", 3, H0 + HOUR, H0 + 2 * HOUR, 0, 0, 1000, 810, 0),
        Reading("bat-1", 4, H0 + 2 * HOUR, H0 + 2 * HOUR + 60, 0, 0, 1000, 810, 0),
    )  # fmt: skip
    (out,) = bundles(driver, "device/bat-1")
    assert out.end_wh - out.start_wh == 810 == 1000 * 8_100 // 10_000
    assert (out.storage, out.origin_device, out.origin_hour, out.hour_start) == (True, "pv-1", H0, H0 + HOUR)
    assert (out.energy_source, out.owner, out.status) == ("solar", alice.address, pb.BUNDLE_STATUS_ACTIVE)
    active_pv = sum(x.end_wh - x.start_wh for x in bundles(driver, "device/pv-1") if x.status == 1)
    assert active_pv == 2000


def test_hourly_matching_and_score(driver: AppDriver, consortium: Consortium) -> None:
    """Consumption 2000 Wh, 1500 claimed in the hour: 7500 bp; the score over two hours too."""
    b = one_hour(driver, consortium)
    alice = consortium.member("community-a/alice")
    submit(driver, alice, 3, Reading("m-1", 1, H0 - 60, H0, 0, 0), Reading("m-1", 2, H0, H0 + HOUR, 2000, 0))
    ok(driver, alice, cc.retire(b.bundle_id, 1500, alice.address, (H0, H0 + HOUR)))
    m = pb.Matching.FromString(driver.query(f"/matching/{alice.address.hex()}/{H0}").value)
    assert (m.consumption_wh, m.claimed_wh, m.covered_bp) == (2000, 1500, 7500)
    s = pb.Score.FromString(driver.query(f"/score/{alice.address.hex()}/{H0 - HOUR}/{H0 + HOUR}").value)
    assert (s.consumption_wh, s.matched_wh, s.score_bp) == (2000, 1500, 7500)
    residual = pb.Residual.FromString(driver.query(f"/residual/nl-north/{H0}").value)
    assert (residual.issued_wh, residual.claimed_wh, residual.residual_wh) == (3000, 1500, 1500)
    assert driver.query(f"/score/{alice.address.hex()}/{H0}/{H0 - HOUR}").code != 0


def _state_bytes(driver: AppDriver, lo: bytes = b"", hi: bytes | None = None) -> int:
    return sum(len(k) + len(v) for k, v in driver.app.state.iter_range(lo, hi))


def test_state_bytes_per_pv_device_day(driver: AppDriver, consortium: Consortium) -> None:
    """A PV device reporting every 15 minutes: the second day's state growth (readings,
    hour aggregates, bundles and their histories) is printed and bounded."""
    setup_devices(driver, consortium)
    alice = consortium.member("community-a/alice")
    seq, register = 0, 0
    sizes, certs = [], []
    for day in range(2):
        sizes.append(_state_bytes(driver))
        certs.append(_state_bytes(driver, b"\x50", b"\x60"))
        for hour in range(24):
            start = H0 + (day * 24 + hour) * HOUR
            if driver.time < start + HOUR:
                driver.block([], seconds=start + HOUR - driver.time)
            readings = []
            for q in range(4):
                seq += 1
                register += 250 + 10 * q
                readings.append(Reading("pv-1", seq, start + 900 * q, start + 900 * (q + 1), 0, register))
            submit(driver, alice, 1, *readings)
    sizes.append(_state_bytes(driver))
    certs.append(_state_bytes(driver, b"\x50", b"\x60"))
    per_day, cert_day = sizes[2] - sizes[1], certs[2] - certs[1]
    print(f"\nstate bytes per PV device-day (15-min readings, 24 bundles): {per_day}, of which certificates {cert_day}")
    print(f"a million such devices for a year: {per_day * 1_000_000 * 365 / 1e12:.2f} TB")
    issued_hours = len(bundles(driver, "device/pv-1"))
    assert issued_hours >= 47  # every complete hour issued
    assert 0 < per_day < 24 * 600


def test_active_bundles_expire_after_the_governed_age(driver: AppDriver, consortium: Consortium) -> None:
    """A year after its hour ends an active bundle expires; a retired one stays retired."""
    b = one_hour(driver, consortium)
    alice = consortium.member("community-a/alice")
    ok(driver, alice, cc.retire(b.bundle_id, 100, alice.address, (H0, H0 + HOUR)))
    store = Branch(driver.app.state)
    year = 365 * 86_400
    early = BlockInfo(driver.chain_id, driver.height + 1, (H0 + HOUR + year - 1) * 1_000_000_000)
    assert end_block(store, early) == []
    late = BlockInfo(driver.chain_id, driver.height + 2, (H0 + HOUR + year) * 1_000_000_000)
    expired = [e for e in end_block(store, late) if e.type == "bundle_expired"]
    assert len(expired) == 1
    statuses = sorted((x.status, x.end_wh - x.start_wh) for x in keeper.iter_device_bundles(store, "pv-1"))
    assert statuses == [(RETIRED, 100), (EXPIRED, 2900)]
    assert bundles_tile_issued(store) is None
    assert end_block(store, late) == []  # the cursor moved on: nothing examined twice
