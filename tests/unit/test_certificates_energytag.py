"""The EnergyTag GC Registry API actions as members and the issuing body use them: lock,
reserve, release, withdraw, claim, transfer acceptance, recurring transfer and cancellation,
SCR/SDR lineage, and the new state's genesis round trip. The driver checks every invariant
(certificates tile the issued generation, storage records trace) after each block."""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable
from typing import Any

import pytest
from gridledger.certificates.v1 import certificates_pb2 as pb
from gridwire.reading import Reading

from abci_app.certificates import keeper, registry_keeper
from abci_app.certificates.domain import DOMAIN as CERTIFICATES
from abci_app.certificates.errors import CertificatesCode as C
from abci_app.domain import GenesisError
from abci_app.errors import Code
from abci_app.genesis import apply_genesis
from abci_app.governance.keeper import iter_validators
from abci_app.registry import check_invariants
from abci_app.store.backend import MemoryBackend
from abci_app.store.branch import Branch
from abci_app.types import BlockInfo, ValidatorUpdate
from clients import certificates as cc
from clients.ops.consortium import Consortium
from tests.support.driver import AppDriver
from tests.support.genesis_roundtrip import differences, export_and_import
from tests.unit.helpers import signed
from tests.unit.test_certificates_oversight import scenario as storage_scenario
from tests.unit.test_certificates_support import H0, events_of, ok, run, setup_devices, submit

HOUR = 3600


def pv_hour(driver: AppDriver, consortium: Consortium) -> pb.Bundle:
    """pv-1 exports 3000 Wh in hour H0, issued at once to alice (the reading runs past the hour)."""
    setup_devices(driver, consortium)
    alice = consortium.member("community-a/alice")
    driver.block([], seconds=H0 + HOUR + 60 - driver.time)
    submit(
        driver, alice, 1,
        Reading("pv-1", 1, H0 - 60, H0, 0, 0),
        Reading("pv-1", 2, H0, H0 + HOUR, 0, 3000),
        Reading("pv-1", 3, H0 + HOUR, H0 + HOUR + 60, 0, 3000),
    )  # fmt: skip
    (b,) = bundles(driver, "device/pv-1")
    assert (b.start_wh, b.end_wh, b.status) == (0, 3000, pb.BUNDLE_STATUS_ACTIVE)
    return b


def bundles(driver: AppDriver, what: str) -> list[pb.Bundle]:
    return list(pb.BundleList.FromString(driver.query(f"/bundles/{what}").value).bundles)


def bundle(driver: AppDriver, bundle_id: int) -> pb.Bundle:
    return pb.Bundle.FromString(driver.query(f"/bundle/{bundle_id}").value)


def code_of(driver: AppDriver, who: object, msg: object) -> tuple[int, str]:
    code, log, _evs, _block = events_of(driver, signed(driver, who, msg))  # type: ignore[arg-type]
    return code, log


def test_a_locked_bundle_does_not_move_until_its_owner_releases_it(driver: AppDriver, consortium: Consortium) -> None:
    """Lock cuts the Wh, refuses transfer and retirement of them, and release merges them back."""
    b = pv_hour(driver, consortium)
    alice, bob = consortium.member("community-a/alice"), consortium.member("community-a/bob")
    assert run(driver, bob, cc.lock(b.bundle_id, 100)) == C.NOT_BUNDLE_OWNER
    assert run(driver, alice, cc.lock(b.bundle_id, 3001)) == C.VOLUME_EXCEEDED
    assert run(driver, alice, cc.lock(b.bundle_id, 0)) == Code.INVALID_ARGUMENT
    assert run(driver, alice, cc.release(b.bundle_id)) == C.NOT_LOCKED_OR_RESERVED
    evs = ok(driver, alice, cc.lock(b.bundle_id, 1000))
    (locked,) = [a for t, a in evs if t == "bundle_locked"]
    piece = int(locked["bundle"])
    assert bundle(driver, piece).status == pb.BUNDLE_STATUS_LOCKED
    assert run(driver, alice, cc.transfer(piece, 10, bob.address)) == C.BUNDLE_NOT_ACTIVE
    assert run(driver, alice, cc.retire(piece, 10, alice.address, (H0, H0 + HOUR))) == C.BUNDLE_NOT_ACTIVE
    assert run(driver, bob, cc.release(piece)) == C.NOT_BUNDLE_OWNER
    evs = ok(driver, alice, cc.release(piece))
    assert [a["released_as"] for t, a in evs if t == "bundle_released"] == ["active"]
    assert [(x.start_wh, x.end_wh, x.status) for x in bundles(driver, "device/pv-1")] == [
        (0, 3000, pb.BUNDLE_STATUS_ACTIVE)
    ]
    assert keeper.issued_wh(driver.app.state, "pv-1", H0) == 3000


def test_a_reserved_bundle_is_only_retired_or_released(driver: AppDriver, consortium: Consortium) -> None:
    """Reserved Wh refuse transfer and lock, but the owner may cancel (retire) them."""
    b = pv_hour(driver, consortium)
    alice, bob = consortium.member("community-a/alice"), consortium.member("community-a/bob")
    ok(driver, alice, cc.reserve(b.bundle_id, 3000))
    assert bundle(driver, b.bundle_id).status == pb.BUNDLE_STATUS_RESERVED
    assert run(driver, alice, cc.transfer(b.bundle_id, 10, bob.address)) == C.BUNDLE_NOT_ACTIVE
    assert run(driver, alice, cc.lock(b.bundle_id, 10)) == C.BUNDLE_NOT_ACTIVE
    evs = ok(driver, alice, cc.retire(b.bundle_id, 500, bob.address, (H0, H0 + HOUR)))
    assert [a["wh"] for t, a in evs if t == "bundle_retired"] == ["500"]
    statuses = sorted((x.end_wh - x.start_wh, x.status) for x in bundles(driver, "device/pv-1"))
    assert statuses == [(500, pb.BUNDLE_STATUS_RETIRED), (2500, pb.BUNDLE_STATUS_RESERVED)]


def test_only_the_issuing_body_withdraws_and_withdrawn_wh_are_never_counted_again(
    driver: AppDriver, consortium: Consortium
) -> None:
    """A member cannot withdraw; the certifier can, once; withdrawn Wh never move nor re-issue."""
    b = pv_hour(driver, consortium)
    alice, bob = consortium.member("community-a/alice"), consortium.member("community-a/bob")
    certifier = consortium.member("certissuer/registry")
    ok(driver, alice, cc.retire(b.bundle_id, 1000, alice.address, (H0, H0 + HOUR)))
    retired = next(x for x in bundles(driver, "device/pv-1") if x.status == pb.BUNDLE_STATUS_RETIRED)
    active = next(x for x in bundles(driver, "device/pv-1") if x.status == pb.BUNDLE_STATUS_ACTIVE)
    assert run(driver, alice, cc.withdraw(active.bundle_id, "mine")) == Code.UNAUTHORIZED
    assert run(driver, certifier, cc.withdraw(retired.bundle_id, "x")) == C.NOT_WITHDRAWABLE
    assert run(driver, certifier, cc.withdraw(999, "x")) == C.UNKNOWN_BUNDLE
    evs = ok(driver, certifier, cc.withdraw(active.bundle_id, "meter fault"))
    (w,) = [a for t, a in evs if t == "bundle_withdrawn"]
    assert (w["wh"], w["reason"], w["by"]) == ("2000", "meter fault", certifier.address.hex())
    assert run(driver, certifier, cc.withdraw(active.bundle_id, "again")) == C.NOT_WITHDRAWABLE
    assert run(driver, alice, cc.transfer(active.bundle_id, 1, bob.address)) == C.BUNDLE_NOT_ACTIVE
    assert run(driver, alice, cc.retire(active.bundle_id, 1, alice.address, (H0, H0 + HOUR))) == C.BUNDLE_NOT_ACTIVE
    driver.block([], seconds=3 * HOUR)  # later blocks issue nothing more for the hour
    assert keeper.issued_wh(driver.app.state, "pv-1", H0) == 3000
    by_status = {x.status: x.end_wh - x.start_wh for x in bundles(driver, "device/pv-1")}
    assert by_status == {pb.BUNDLE_STATUS_RETIRED: 1000, pb.BUNDLE_STATUS_WITHDRAWN: 2000}
    assert check_invariants(driver.app.state) == []


def test_only_the_beneficiary_claims_a_retirement_once(driver: AppDriver, consortium: Consortium) -> None:
    """Claim by the beneficiary records when; others, unknown ids and second claims are refused."""
    b = pv_hour(driver, consortium)
    alice, bob = consortium.member("community-a/alice"), consortium.member("community-a/bob")
    evs = ok(driver, alice, cc.retire(b.bundle_id, 700, bob.address, (H0, H0 + HOUR), "24/7"))
    rid = int(next(a for t, a in evs if t == "bundle_retired")["retirement"])
    assert run(driver, alice, cc.claim(rid)) == C.NOT_BENEFICIARY
    assert run(driver, bob, cc.claim(rid + 1)) == C.UNKNOWN_RETIREMENT
    evs = ok(driver, bob, cc.claim(rid))
    assert [(a["retirement"], a["wh"]) for t, a in evs if t == "bundle_claimed"] == [(str(rid), "700")]
    r = pb.Retirement.FromString(driver.query(f"/retirement/{rid}").value)
    assert r.claimed_height == driver.height
    assert r.claimed_time > 0
    assert run(driver, bob, cc.claim(rid)) == C.ALREADY_CLAIMED
    history = pb.BundleHistoryView.FromString(driver.query(f"/bundle_history/{r.bundle_id}").value)
    assert [e.action for e in history.chain[0].entries][-1] == "claimed"


def test_a_restricted_member_accepts_transfers_only_from_its_allow_list(
    driver: AppDriver, consortium: Consortium
) -> None:
    """NOT_ACCEPTED until bob allows alice; hostile lists are refused before any write."""
    b = pv_hour(driver, consortium)
    alice, bob = consortium.member("community-a/alice"), consortium.member("community-a/bob")
    ok(driver, bob, cc.set_acceptance(True))
    assert run(driver, alice, cc.transfer(b.bundle_id, 100, bob.address)) == C.NOT_ACCEPTED
    assert run(driver, bob, cc.set_acceptance(True, [b"\x01" * 19])) == Code.INVALID_ARGUMENT
    assert run(driver, bob, cc.set_acceptance(True, [bytes([i]) * 20 for i in range(65)])) == Code.INVALID_ARGUMENT
    assert run(driver, bob, cc.set_acceptance(True, [alice.address], [alice.address])) == Code.INVALID_ARGUMENT
    ok(driver, bob, cc.set_acceptance(True, [alice.address]))
    ok(driver, alice, cc.transfer(b.bundle_id, 100, bob.address))
    ok(driver, bob, cc.set_acceptance(True, [], [alice.address]))
    assert run(driver, alice, cc.transfer(b.bundle_id, 100, bob.address)) == C.NOT_ACCEPTED
    ok(driver, bob, cc.set_acceptance(False))
    assert registry_keeper.get_acceptance(driver.app.state, bob.address) is None  # back to the default
    ok(driver, alice, cc.transfer(b.bundle_id, 100, bob.address))
    for i in range(4):  # 256 senders fit, the 257th does not
        ok(driver, bob, cc.set_acceptance(True, [bytes([i, j]) + b"\x00" * 18 for j in range(64)]))
    assert run(driver, bob, cc.set_acceptance(True, [b"\xff" * 20])) == C.ALLOW_LIST_FULL


def test_recurring_transfer_runs_once_per_due_hour_and_respects_acceptance(
    driver: AppDriver, consortium: Consortium
) -> None:
    """Two runs: the first moves 1200 Wh to bob, the second finds bob no longer accepting; then it is gone."""
    pv_hour(driver, consortium)
    alice, bob = consortium.member("community-a/alice"), consortium.member("community-a/bob")
    carol = consortium.member("community-a/admin")
    assert (
        run(driver, alice, cc.recurring("transfer", bob.address, 1200, first_hour=H0 + 1, every_hours=1, count=2))
        == C.BAD_RECURRENCE
    )
    assert (
        run(driver, alice, cc.recurring("transfer", b"\x09" * 20, 1200, first_hour=H0, every_hours=1, count=2))
        == C.UNKNOWN_RECIPIENT
    )
    assert (
        run(driver, alice, cc.recurring("transfer", bob.address, 1200, first_hour=H0, every_hours=0, count=2))
        == Code.INVALID_ARGUMENT
    )
    assert (
        run(driver, alice, cc.recurring("transfer", bob.address, 0, first_hour=H0, every_hours=1, count=2))
        == Code.INVALID_ARGUMENT
    )
    evs = ok(driver, alice, cc.recurring("transfer", bob.address, 1200, first_hour=H0, every_hours=1, count=2))
    aid = int(next(a for t, a in evs if t == "recurring_action_created")["action"])
    assert run(driver, bob, cc.cancel_recurring(aid)) == C.NOT_ACTION_OWNER
    assert run(driver, alice, cc.cancel_recurring(aid + 7)) == C.UNKNOWN_RECURRING_ACTION
    # due once H0's end plus the issuance grace (3600 s) has passed
    block = driver.block([], seconds=H0 + 2 * HOUR - driver.time)
    ran = [e for e in block.response.events if e.type == "recurring_action_executed"]
    (first,) = [{a.key: a.value for a in e.attributes} for e in ran]
    assert (first["hour"], first["wh"], first["remaining"]) == (str(H0), "1200", "1")
    assert sum(x.end_wh - x.start_wh for x in bundles(driver, f"owner/{bob.address.hex()}")) == 1200
    ok(driver, bob, cc.set_acceptance(True, [carol.address]))
    block = driver.block([], seconds=HOUR)
    (second,) = [
        {a.key: a.value for a in e.attributes} for e in block.response.events if e.type == "recurring_action_executed"
    ]
    assert (second["hour"], second["wh"], second["skipped"]) == (str(H0 + HOUR), "0", "not_accepted")
    assert registry_keeper.get_recurring(driver.app.state, aid) is None
    driver.block([], seconds=HOUR)
    assert sum(x.end_wh - x.start_wh for x in bundles(driver, f"owner/{bob.address.hex()}")) == 1200


def test_recurring_cancellation_retires_for_the_beneficiary_over_the_production_hour(
    driver: AppDriver, consortium: Consortium
) -> None:
    """The standing cancellation retires 500 Wh of hour H0 for bob, counted in bob's matching of H0."""
    pv_hour(driver, consortium)
    alice, bob = consortium.member("community-a/alice"), consortium.member("community-a/bob")
    ok(driver, alice, cc.recurring("cancel", bob.address, 500, first_hour=H0, every_hours=24, count=1, purpose="ppa"))
    driver.block([], seconds=H0 + 2 * HOUR - driver.time)
    (r,) = list(keeper.iter_retirements(driver.app.state))
    assert (r.beneficiary, r.wh, r.consumption_start, r.consumption_end, r.purpose) == (
        bob.address, 500, H0, H0 + HOUR, "ppa"
    )  # fmt: skip
    assert keeper.claimed(driver.app.state, bob.address, H0) == 500
    assert list(registry_keeper.iter_recurring(driver.app.state)) == []


def test_a_cancelled_recurring_action_never_runs(driver: AppDriver, consortium: Consortium) -> None:
    """Its owner cancels it before it is due: nothing moves."""
    b = pv_hour(driver, consortium)
    alice, bob = consortium.member("community-a/alice"), consortium.member("community-a/bob")
    evs = ok(driver, alice, cc.recurring("transfer", bob.address, 1200, first_hour=H0, every_hours=1, count=5))
    aid = int(next(a for t, a in evs if t == "recurring_action_created")["action"])
    ok(driver, alice, cc.cancel_recurring(aid))
    driver.block([], seconds=H0 + 3 * HOUR - driver.time)
    assert bundle(driver, b.bundle_id).owner == alice.address
    assert bundles(driver, f"owner/{bob.address.hex()}") == []


def test_a_storage_certificate_traces_back_through_its_sdr_and_scr_to_the_consumed_generation(
    driver: AppDriver, consortium: Consortium
) -> None:
    """bat-1's certificate → SDR (discharge hour H0+1h) → SCR (charged in H0) → pv-1's consumed bundle of H0."""
    storage_scenario(driver, consortium)
    out = next(b for b in bundles(driver, "device/bat-1") if b.status == pb.BUNDLE_STATUS_ACTIVE)
    view = pb.StorageLineage.FromString(driver.query(f"/storage_lineage/{out.bundle_id}").value)
    (sdr,) = view.sdrs
    (scr,) = view.scrs
    cert, consumed = view.bundles
    assert cert.bundle_id == out.bundle_id
    assert cert.sdr_id == sdr.sdr_id
    assert (sdr.battery, sdr.discharging_hour, sdr.wh, sdr.efficiency_bp) == ("bat-1", H0 + HOUR, 1000, 8100)
    assert (scr.battery, scr.charging_hour, scr.source_device, scr.source_hour) == ("bat-1", H0, "pv-1", H0)
    assert sdr.scr_id == scr.scr_id
    assert scr.bundle_id == consumed.bundle_id
    assert (consumed.device_id, consumed.hour_start, consumed.status) == (
        "pv-1",
        H0,
        pb.BUNDLE_STATUS_CONSUMED_BY_STORAGE,
    )
    assert consumed.storage_device == "bat-1"
    assert consumed.end_wh - consumed.start_wh == scr.wh == 3000
    # the pieces cut from the certificate keep its SDR
    assert {b.sdr_id for b in bundles(driver, "device/bat-1")} == {sdr.sdr_id}
    assert pb.StorageChargeRecord.FromString(driver.query(f"/scr/{scr.scr_id}").value) == scr
    assert driver.query("/storage_lineage/9999").code == Code.QUERY_NOT_FOUND


def test_the_energytag_state_round_trips_through_genesis(driver: AppDriver, consortium: Consortium) -> None:
    """SCR/SDR, acceptances, standing instructions and the new statuses import into the same keys byte for byte."""
    storage_scenario(driver, consortium)
    alice, bob = consortium.member("community-a/alice"), consortium.member("community-a/bob")
    certifier = consortium.member("certissuer/registry")
    ok(driver, bob, cc.set_acceptance(True, [alice.address]))
    ok(driver, alice, cc.recurring("cancel", bob.address, 10, first_hour=H0 + 30 * HOUR, every_hours=1, count=3))
    pv = next(b for b in bundles(driver, "device/pv-1") if b.status == pb.BUNDLE_STATUS_ACTIVE)
    ok(driver, alice, cc.lock(pv.bundle_id, 100))
    ok(driver, alice, cc.reserve(pv.bundle_id, 100))
    ok(driver, certifier, cc.withdraw(pv.bundle_id, "test"))
    exported, fresh = export_and_import(driver.app.state)
    section = exported["certificates"]
    assert [len(section[n]) for n in ("scrs", "sdrs", "acceptances", "recurring")] == [2, 1, 1, 1]
    assert {"BUNDLE_STATUS_LOCKED", "BUNDLE_STATUS_RESERVED", "BUNDLE_STATUS_WITHDRAWN"} <= {
        b["status"] for b in section["bundles"]
    }
    assert differences(CERTIFICATES, driver.app.state, fresh) == []
    assert check_invariants(fresh) == []


def test_a_hostile_proposers_block_of_attacks_changes_nothing(driver: AppDriver, consortium: Consortium) -> None:
    """Bob's withdraw, release, claim and recurring-cancel attacks on alice's certificates, in one
    block straight into FinalizeBlock, all fail with their codes and leave her bundle as it was."""
    b = pv_hour(driver, consortium)
    alice, bob = consortium.member("community-a/alice"), consortium.member("community-a/bob")
    evs = ok(driver, alice, cc.retire(b.bundle_id, 100, alice.address, (H0, H0 + HOUR)))
    rid = int(next(a for t, a in evs if t == "bundle_retired")["retirement"])
    evs = ok(
        driver, alice, cc.recurring("transfer", alice.address, 5, first_hour=H0 + 9 * HOUR, every_hours=1, count=1)
    )
    aid = int(next(a for t, a in evs if t == "recurring_action_created")["action"])
    ok(driver, alice, cc.lock(b.bundle_id, 2900))
    before = bundle(driver, b.bundle_id)
    attacks = [
        cc.withdraw(b.bundle_id, "mine now"),
        cc.release(b.bundle_id),
        cc.claim(rid),
        cc.cancel_recurring(aid),
        cc.transfer(b.bundle_id, 1, bob.address),
        cc.lock(b.bundle_id, 1),
    ]
    result = driver.block([signed(driver, bob, m) for m in attacks], check=False)
    assert result.codes == (
        Code.UNAUTHORIZED, C.NOT_BUNDLE_OWNER, C.NOT_BENEFICIARY, C.NOT_ACTION_OWNER, C.NOT_BUNDLE_OWNER,
        C.NOT_BUNDLE_OWNER,
    )  # fmt: skip
    assert bundle(driver, b.bundle_id) == before
    assert registry_keeper.get_recurring(driver.app.state, aid) is not None
    assert check_invariants(driver.app.state) == []


def test_locked_and_reserved_bundles_expire_like_active_ones(driver: AppDriver, consortium: Consortium) -> None:
    """A year on, the expiry pass takes locked and reserved Wh too: a reserved bundle is not retired past its age."""
    b = pv_hour(driver, consortium)
    alice = consortium.member("community-a/alice")
    ok(driver, alice, cc.lock(b.bundle_id, 1000))
    ok(driver, alice, cc.reserve(b.bundle_id, 2000))
    driver.block([], seconds=366 * 86_400)
    assert {x.status for x in bundles(driver, "device/pv-1")} == {pb.BUNDLE_STATUS_EXPIRED}
    assert run(driver, alice, cc.retire(b.bundle_id, 10, alice.address, (H0, H0 + HOUR))) == C.BUNDLE_NOT_ACTIVE
    assert run(driver, alice, cc.release(b.bundle_id)) == C.NOT_LOCKED_OR_RESERVED


def _energytag_state(driver: AppDriver, consortium: Consortium) -> dict[str, Any]:
    """An exported state with SCR/SDR, an acceptance and a standing instruction."""
    storage_scenario(driver, consortium)
    alice, bob = consortium.member("community-a/alice"), consortium.member("community-a/bob")
    ok(driver, bob, cc.set_acceptance(True, [alice.address]))
    ok(driver, alice, cc.recurring("cancel", bob.address, 10, first_hour=H0 + 30 * HOUR, every_hours=1, count=3))
    exported, _fresh = export_and_import(driver.app.state)
    return exported


BAD_ENERGYTAG = [
    ("scr id 0", lambda c: c["scrs"][0].update(scrId="0"), r"^certificates\.scrs\[0\]: expected an id above 0"),
    ("scr twice", lambda c: c["scrs"].append(c["scrs"][0]), r"^certificates\.scrs\[2\]: duplicate id"),
    ("scr not a battery", lambda c: c["scrs"][0].update(battery="pv-1"), r"^certificates\.scrs\[0\]\.battery"),
    (
        "sdr unknown field",
        lambda c: c["sdrs"][0].update(nope=1),
        r'^certificates: .*no field named "nope" at "GenesisState\.sdrs\[0\]"',
    ),
    (
        "acceptance unsorted",
        lambda c: c["acceptances"][0].update(allowed=["AQEBAQEBAQEBAQEBAQEBAQEBAQE=", "AAAAAAAAAAAAAAAAAAAAAAAAAAA="]),
        r"^certificates\.acceptances\[0\]\.allowed",
    ),
    ("acceptance default", lambda c: c["acceptances"][0].update(restricted=False, allowed=[]), r"the default"),
    (
        "recurring kind",
        lambda c: c["recurring"][0].update(kind="RECURRING_KIND_UNSPECIFIED"),
        r"^certificates\.recurring\[0\]\.kind",
    ),
    ("recurring no runs", lambda c: c["recurring"][0].update(remaining=0), r"^certificates\.recurring\[0\]: wh"),
    (
        "recurring counter below ids",
        lambda c: c["counters"].update(recurring=0),
        r"^certificates\.counters\.recurring: 0 is below id 1",
    ),
    (
        "registry unknown field",
        lambda c: c.update(registry={"nope": "x"}),
        r'^certificates: .*no field named "nope" at "GenesisState\.registry"',
    ),
]


@pytest.mark.parametrize(
    ("edit", "message"), [(e, m) for _n, e, m in BAD_ENERGYTAG], ids=[n for n, *_ in BAD_ENERGYTAG]
)
def test_bad_energytag_genesis_is_refused_naming_the_field(
    driver: AppDriver, consortium: Consortium, edit: Callable[[dict[str, Any]], None], message: str
) -> None:
    """Each hostile EnergyTag record in a genesis file is refused with the field it breaks."""
    state = copy.deepcopy(_energytag_state(driver, consortium))
    edit(state["certificates"])
    validators = [ValidatorUpdate(k, p) for k, p in iter_validators(driver.app.state)]
    with pytest.raises(GenesisError) as err:
        apply_genesis(Branch(MemoryBackend()), BlockInfo("c", 1, 0), json.dumps(state).encode(), validators)
    assert re.search(message, str(err.value)), str(err.value)
