"""The certificates genesis section: export → import rebuilds the domain's keys byte for byte;
bad sections are refused with a GenesisError naming the field."""

from __future__ import annotations

import base64
import copy
import json
import re
from collections.abc import Callable
from typing import Any

import pytest
from gridledger.certificates.v1 import certificates_pb2 as pb
from gridledger.certificates.v1.genesis_pb2 import GenesisState
from gridwire.reading import Reading

from abci_app.certificates import keeper, ops
from abci_app.certificates.domain import DOMAIN as CERTIFICATES
from abci_app.certificates.issuance import end_block
from abci_app.domain import GenesisError
from abci_app.genesis import apply_genesis, export_genesis
from abci_app.governance.keeper import iter_validators
from abci_app.registry import check_invariants
from abci_app.store.backend import MemoryBackend
from abci_app.store.branch import Branch
from abci_app.types import Address, BlockInfo, ValidatorUpdate
from clients import certificates as cc
from clients import devices as dc
from clients.ops.consortium import Consortium
from tests.support.devices import certify
from tests.support.driver import AppDriver
from tests.support.genesis_roundtrip import differences, export_and_import
from tests.unit.test_certificates_dvp import market_parties, trade
from tests.unit.test_certificates_support import H0, device_key, ok, setup_devices, submit

HOUR = 3600
EXPIRY = 4 * HOUR  # the governed minimum is an hour; short enough to expire within the scenario


def bundles(driver: AppDriver, path: str) -> list[pb.Bundle]:
    return list(pb.BundleList.FromString(driver.query(f"/bundles/{path}").value).bundles)


def build_state(consortium: Consortium) -> AppDriver:
    """A chain whose certificates state has every kind of key: issuance from readings over
    three hours, a transfer that splits a bundle and one that merges back, retirements
    (a claim in the production hour), a battery that consumed certificates and discharged storage
    certificates, a suspended and a revoked bundle, expired bundles and the expiry cursor, and
    a market sale of hour H0+4h settled before its certificates exist (a pending delivery), and
    a PV on a located site exporting at night (held above the clear-sky bound)."""
    driver = AppDriver(consortium, params={"certificates.expiry_seconds": EXPIRY})
    pv_n = dc.register_device("pv-n", "site-n", "pv", dc.device_public_key(device_key(6)), 5_000, energy_source="solar")
    located = [
        dc.register_site("site-n", "feeder-1", "nl-north", location=(52_370_000, 4_900_000)),
        certify(consortium, pv_n),  # certified and commissioned: only such a PV's hours reach the clear-sky hold
    ]
    setup_devices(driver, consortium, battery=True, extra=located, commissioned=["pv-n"])
    alice = consortium.member("community-a/alice")
    bob = consortium.member("community-a/bob")
    carol = consortium.member("community-b/carol")
    certifier = consortium.member("certissuer/registry")
    driver.block([], seconds=HOUR + 100)
    submit(
        driver, alice, 1,
        Reading("pv-1", 1, H0 - 60, H0, 0, 0),
        Reading("pv-1", 2, H0, H0 + HOUR, 0, 3000),
        Reading("pv-1", 3, H0 + HOUR, H0 + HOUR + 60, 0, 3000),
    )  # fmt: skip
    submit(
        driver, alice, 2,
        Reading("bat-1", 1, H0 - 60, H0, 0, 0, 0, 0, 0),
        Reading("bat-1", 2, H0, H0 + HOUR, 0, 0, 1000, 0, 900),
    )  # fmt: skip
    submit(
        driver, alice, 6,
        Reading("pv-n", 1, H0 - 60, H0, 0, 0),
        Reading("pv-n", 2, H0, H0 + HOUR, 0, 100),  # 01:00-02:00 UTC in January in Amsterdam: held
        Reading("pv-n", 3, H0 + HOUR, H0 + HOUR + 60, 0, 100),
    )  # fmt: skip
    (active,) = [b for b in bundles(driver, "device/pv-1") if b.status == pb.BUNDLE_STATUS_ACTIVE]
    ok(driver, alice, cc.transfer(active.bundle_id, 800, bob.address))  # splits
    piece = next(b for b in bundles(driver, f"owner/{bob.address.hex()}"))
    ok(driver, bob, cc.retire(piece.bundle_id, 300, bob.address, (H0 + HOUR - 600, H0 + HOUR + 600), "genesis test"))
    ok(driver, bob, cc.transfer(piece.bundle_id, 200, alice.address))  # merges back into alice's
    driver.block([], seconds=H0 + 3 * HOUR + 200 - driver.time)
    submit(
        driver, alice, 1,
        Reading("pv-1", 4, H0 + HOUR + 60, H0 + 2 * HOUR, 0, 4000),
        Reading("pv-1", 5, H0 + 2 * HOUR, H0 + 3 * HOUR, 0, 5500),
        Reading("pv-1", 6, H0 + 3 * HOUR, H0 + 3 * HOUR + 60, 0, 5500),
    )  # fmt: skip
    submit(
        driver, alice, 2,
        Reading("bat-1", 3, H0 + HOUR, H0 + 2 * HOUR, 0, 0, 1000, 810, 0),
        Reading("bat-1", 4, H0 + 2 * HOUR, H0 + 3 * HOUR, 0, 0, 1400, 810, 400),
        Reading("bat-1", 5, H0 + 3 * HOUR, H0 + 3 * HOUR + 60, 0, 0, 1400, 810, 400),
    )  # fmt: skip
    storage = bundles(driver, "device/bat-1")
    ok(driver, alice, cc.transfer(storage[0].bundle_id, 100, carol.address))
    ok(driver, certifier, cc.suspend("pv-1", H0 + HOUR))
    ok(driver, certifier, cc.revoke("pv-1", H0 + 2 * HOUR))
    market_parties(driver, consortium)
    trade(driver, consortium, H0 + 4 * HOUR, 300)
    driver.block([], seconds=H0 + 4 * HOUR + 910 - driver.time)
    # pv-1 delivers what it sold, so certificates are owed for it
    submit(
        driver, alice, 1,
        Reading("pv-1", 7, H0 + 3 * HOUR + 60, H0 + 4 * HOUR, 0, 5500),
        Reading("pv-1", 8, H0 + 4 * HOUR, H0 + 4 * HOUR + 900, 0, 5800),
    )  # fmt: skip
    driver.block([], seconds=H0 + 4 * HOUR + 1800 - driver.time)  # settled: pending until H0+6h
    driver.block([], seconds=H0 + HOUR + EXPIRY - driver.time + 10)  # hour H0's active bundles expire
    return driver


@pytest.fixture(scope="module")
def exported(consortium: Consortium) -> tuple[AppDriver, dict[str, Any], Branch]:
    driver = build_state(consortium)
    app_state, fresh = export_and_import(driver.app.state)
    return driver, app_state, fresh


def test_export_then_import_rebuilds_every_certificates_key(exported: tuple[AppDriver, dict[str, Any], Branch]) -> None:
    driver, app_state, fresh = exported
    before = driver.app.state
    section = app_state["certificates"]
    assert {b["status"] for b in section["bundles"]} == {
        f"BUNDLE_STATUS_{s}" for s in ("ACTIVE", "RETIRED", "SUSPENDED", "REVOKED", "CONSUMED_BY_STORAGE", "EXPIRED")
    }
    # the EnergyTag records (registry, SCR/SDR, acceptances, recurring) round-trip in test_certificates_energytag.py,
    # the archive commitments and the residual mix's archived retired Wh (a chain past its retired
    # bundles' retention) in test_certificates_prune.py
    fields = [f.json_name for f in GenesisState.DESCRIPTOR.fields]
    skipped = ("registry", "acceptances", "recurring", "archive_commitments", "residual_retired")
    assert {len(section[n]) > 0 for n in fields if n not in skipped} == {True}
    (battery,) = section["storage"]
    assert (battery["battery"], len(battery["lots"]), len(battery["done"])) == ("bat-1", 1, 3)
    assert battery["lots"][0]["oversight"] == "BUNDLE_STATUS_REVOKED"  # pv-1 revoked from its hour
    for lineage in (b"\x5d", b"\x5e"):  # the origin and lot source indexes, rebuilt by the import
        assert any(True for _ in before.iter_range(lineage, bytes([lineage[0] + 1])))
    assert sorted(section["counters"]) == ["bundle", "expiry_cursor", "pending_delivery", "retirement", "scr", "sdr"]
    (pending,) = section["pending_deliveries"]
    assert (pending["hourStart"], pending["wh"], pending["deliveryId"]) == (str(H0 + 4 * HOUR), "300", "1")
    # pv-1's standing oversight: suspended from H0+1h, revoked from H0+2h
    assert section["oversights"] == [
        {
            "deviceId": "pv-1",
            "fromHour": str(H0 + HOUR),
            "status": "BUNDLE_STATUS_SUSPENDED",
            "revokedFromHour": str(H0 + 2 * HOUR),
        }
    ]
    assert any(True for _ in before.iter_range(b"\x5f", b"\x60"))
    assert sum(1 for _ in before.iter_range(b"\x50", b"\x5d")) > 50
    assert differences(CERTIFICATES, before, fresh) == []
    assert check_invariants(fresh) == []
    assert export_genesis(fresh)["certificates"] == section


def test_the_imported_state_carries_on_like_the_old_one(exported: tuple[AppDriver, dict[str, Any], Branch]) -> None:
    """New ids continue past the old ones and the indexes answer as before."""
    driver, _app_state, fresh = exported
    old, new = Branch(driver.app.state), Branch(fresh)
    block = BlockInfo(driver.chain_id, driver.height + 1, (driver.time + 1) * 1_000_000_000)
    alice = driver.consortium.member("community-a/alice").address
    bob = driver.consortium.member("community-a/bob").address
    later = BlockInfo(driver.chain_id, driver.height + 2, (H0 + 2 * HOUR + EXPIRY) * 1_000_000_000)
    happened = []
    for store in (old, new):
        (b, *_rest) = keeper.owner_hour_bundles(store, alice, H0 + HOUR)  # the storage certificates
        sink = keeper.EventSink()
        piece = ops.transfer(store, block, b, 10, Address(bob), sink=sink)
        assert piece.bundle_id > max(x.bundle_id for x in keeper.iter_bundles(driver.app.state))
        happened.append((sink.events, end_block(store, later)))  # expiry continues from the cursor
    assert happened[0] == happened[1]
    assert any(e.type == "bundle_expired" for e in happened[0][1])
    assert any(e.type == "certificates_delivery_dropped" for e in happened[0][1])  # H0+4h's issuance is final
    assert sorted(old.writes.items()) == sorted(new.writes.items())


def refused(
    app_state: dict[str, Any], validators: list[ValidatorUpdate], edit: Callable[[dict[str, Any]], None]
) -> str:
    state = copy.deepcopy(app_state)
    edit(state["certificates"])
    with pytest.raises(GenesisError) as err:
        apply_genesis(Branch(MemoryBackend()), BlockInfo("c", 1, 0), json.dumps(state).encode(), validators)
    return str(err.value)


def _set(name: str, value: object) -> Callable[[dict[str, Any]], None]:
    return lambda c: c.__setitem__(name, value)


def _first_bundle(**fields: object) -> Callable[[dict[str, Any]], None]:
    return lambda c: c["bundles"][0].update(fields)


def _overlap(c: dict[str, Any]) -> None:
    """The second bundle of pv-1's first hour starts inside the first."""
    hour = [b for b in c["bundles"] if b["deviceId"] == "pv-1" and b["hourStart"] == str(H0)]
    first, second = sorted(hour, key=lambda b: int(b.get("startWh", "0")))[:2]
    second["startWh"] = str(int(first["endWh"]) - 1)


def _exceed(c: dict[str, Any]) -> None:
    issued = next(x for x in c["issued"] if x["device_id"] == "pv-1" and x["hour_start"] == str(H0))
    last = next(
        b for b in c["bundles"] if b["deviceId"] == "pv-1" and b["hourStart"] == str(H0) and b["endWh"] == issued["wh"]
    )
    last["endWh"] = str(int(issued["wh"]) + 1)


def _gap(c: dict[str, Any]) -> None:
    c["issued"][0]["wh"] = str(int(c["issued"][0]["wh"]) + 5)


def _retired_wh(c: dict[str, Any]) -> None:
    c["retirements"][0]["wh"] = str(int(c["retirements"][0]["wh"]) + 1)


def _drop_lot(c: dict[str, Any]) -> None:
    c["storage"][0]["lots"] = []


def _first_lot(**fields: object) -> Callable[[dict[str, Any]], None]:
    return lambda c: c["storage"][0]["lots"][0].update(fields)


def _uncertified_marked_lot(c: dict[str, Any]) -> None:
    c["storage"][0]["lots"][0].pop("deviceId")


def _storage_origin(device_id: str) -> Callable[[dict[str, Any]], None]:
    return lambda c: next(b for b in c["bundles"] if b.get("storage")).update(originDevice=device_id)


def _first_oversight(**fields: object) -> Callable[[dict[str, Any]], None]:
    return lambda c: c["oversights"][0].update(fields)


def _first_pending(**fields: object) -> Callable[[dict[str, Any]], None]:
    return lambda c: c["pending_deliveries"][0].update(fields)


ZERO_ADDRESS = base64.b64encode(b"\x07" * 20).decode()
BAD_SECTIONS: list[tuple[str, Callable[[dict[str, Any]], None], str]] = [
    ("unknown field", _set("bundel", []), r'^certificates: .*no field named "bundel"'),
    (
        "bundles not a list",
        _set("bundles", {}),
        r"^certificates: Failed to parse bundles field: repeated field bundles must be in \[\]",
    ),
    ("bundle not an object", _set("bundles", [3]), r"^certificates: Failed to parse bundles field"),
    (
        "bundle bad field",
        _first_bundle(endWh="many"),
        r"^certificates: Failed to parse bundles field: Failed to parse endWh field",
    ),
    ("unknown status", _first_bundle(status=99), r"^certificates\.bundles\[0\]\.status: unknown bundle status 99"),
    ("no status", _first_bundle(status="BUNDLE_STATUS_UNSPECIFIED"), r"^certificates\.bundles\[0\]\.status"),
    (
        "unknown owner",
        _first_bundle(owner=ZERO_ADDRESS),
        r"^certificates\.bundles\[0\]: owner 0707.* not a genesis member",
    ),
    ("unknown device", _first_bundle(deviceId="pv-9"), r"^certificates\.bundles\[0\]: unknown device 'pv-9'"),
    ("empty range", _first_bundle(endWh="0", startWh="0"), r"^certificates\.bundles\[0\]: the range \[0, 0\) is empty"),
    ("overlap", _overlap, r"^certificates\.bundles\[\d+\]: \[\d+, \d+\) overlaps the bundle before it in 'pv-1'"),
    ("beyond issued", _exceed, r"^certificates\.bundles\[\d+\]: \[\d+, \d+\) exceeds the \d+ Wh issued for 'pv-1'"),
    ("gap", _gap, r"^certificates\.issued\[0\]: the bundles of .* cover \d+ of its \d+ Wh"),
    (
        "no issued entry",
        _set("issued", []),
        r"^certificates\.bundles\[0\]: device-hour .* has no certificates\.issued entry",
    ),
    (
        "issued unknown device",
        lambda c: c["issued"][0].update(device_id="x"),
        r"^certificates\.issued\[0\]: unknown device 'x'",
    ),
    (
        "id too long for a key",
        _first_bundle(deviceId="d" * 300),
        r"^certificates\.bundles\[0\]: unknown device 'd{64}' ",
    ),
    (
        "issued id too long",
        lambda c: c["issued"][0].update(device_id="d" * 256),
        r"^certificates\.issued\[0\]: unknown device 'd{64}' ",
    ),
    (
        "battery id too long",
        lambda c: c["storage"][0].update(battery="b" * 256),
        r"^certificates\.storage\[0\]\.battery: 'b{64}' is not a registered battery",
    ),
    (
        "issued zero",
        lambda c: c["issued"][0].update(wh=0),
        r"^certificates\.issued\[0\]\.wh: expected a volume above 0",
    ),
    (
        "duplicate bundle",
        lambda c: c["bundles"].append(c["bundles"][0]),
        r"^certificates\.bundles\[\d+\]: duplicate id",
    ),
    ("retirement out of step", _retired_wh, r"^certificates\.retirements\[0\]: bundle \d+ is not a retired bundle of"),
    (
        "retirement missing",
        _set("retirements", []),
        r"^certificates\.bundles\[\d+\]: retired, but retirement 1 is not in",
    ),
    (
        "history of no bundle",
        lambda c: c["histories"][0].update(bundleId="999"),
        r"^certificates\.histories\[0\]\.bundleId: bundle 999",
    ),
    ("claim address", lambda c: c["claims"][0].update(beneficiary="abc"), r"^certificates\.claims\[0\]\.beneficiary"),
    (
        "claim twice",
        lambda c: c["claims"].append(c["claims"][0]),
        r"^certificates\.claims\[\d+\]: duplicate beneficiary-hour",
    ),
    (
        "residual off the period",
        _set("residual_retired", [{"hour_start": "1767225601", "region": "nl-north", "wh": "5"}]),
        r"^certificates\.residual_retired\[0\]\.hour_start: 1767225601 is not a multiple",
    ),
    (
        "residual empty",
        _set("residual_retired", [{"hour_start": "1767225600", "region": "nl-north", "wh": "0"}]),
        r"^certificates\.residual_retired\[0\]\.wh: expected a volume above 0",
    ),
    (
        "residual twice",
        _set("residual_retired", [{"hour_start": "1767225600", "region": "nl-north", "wh": "5"}] * 2),
        r"^certificates\.residual_retired\[1\]: duplicate hour-region",
    ),
    (
        "not a battery",
        lambda c: c["storage"][0].update(battery="pv-1"),
        r"^certificates\.storage\[0\]\.battery: 'pv-1' is not a registered battery",
    ),
    (
        "lot oversight unknown",
        _first_lot(oversight=99),
        r"^certificates\.storage\[0\]\.lots\[0\]\.oversight: unknown bundle status 99",
    ),
    (
        "lot oversight not a mark",
        _first_lot(oversight="BUNDLE_STATUS_RETIRED"),
        r"^certificates\.storage\[0\]\.lots\[0\]\.oversight: expected none, suspended or revoked",
    ),
    (
        "uncertified lot marked",
        _uncertified_marked_lot,
        r"^certificates\.storage\[0\]\.lots\[0\]\.oversight: a lot without certificates cannot be marked",
    ),
    (
        "lot source unknown",
        _first_lot(deviceId="pv-9"),
        r"^certificates\.storage\[0\]\.lots\[0\]\.deviceId: unknown device 'pv-9'",
    ),
    (
        "origin too long for a key",
        _storage_origin("o" * 300),
        r"^certificates\.bundles\[\d+\]\.originDevice: unknown device 'o{64}' ",
    ),
    (
        "oversight unknown device",
        _first_oversight(deviceId="pv-9"),
        r"^certificates\.oversights\[0\]\.deviceId: unknown device 'pv-9'",
    ),
    (
        "oversight id too long for a key",
        _first_oversight(deviceId="o" * 300),
        r"^certificates\.oversights\[0\]\.deviceId: unknown device 'o{64}' ",
    ),
    (
        "oversight unknown status",
        _first_oversight(status=99),
        r"^certificates\.oversights\[0\]\.status: unknown bundle status 99",
    ),
    (
        "oversight not a hold",
        _first_oversight(status="BUNDLE_STATUS_ACTIVE"),
        r"^certificates\.oversights\[0\]\.status: expected suspended or revoked",
    ),
    (
        "oversight revoked before suspended",
        _first_oversight(revokedFromHour=str(H0)),
        r"^certificates\.oversights\[0\]\.revokedFromHour: only after a suspension's fromHour",
    ),
    (
        "oversight revoked twice",
        _first_oversight(status="BUNDLE_STATUS_REVOKED"),
        r"^certificates\.oversights\[0\]\.revokedFromHour: only after a suspension's fromHour",
    ),
    (
        "oversight twice",
        lambda c: c["oversights"].append(c["oversights"][0]),
        r"^certificates\.oversights\[1\]\.deviceId: duplicate device 'pv-1'",
    ),
    (
        "oversight bad field",
        _first_oversight(fromHours="1"),
        r'^certificates: .*no field named "fromHours" at "GenesisState\.oversights\[0\]"',
    ),
    (
        "oversight that does not hold",
        _first_oversight(fromHour=str(H0)),
        r"^certificates\.oversights: does not hold: bundle \d+ of 'pv-1' hour \d+ is ACTIVE under a standing SUSPENDED",
    ),
    ("lots out of step", _drop_lot, r"^certificates\.storage\[0\]\.lots: expected tail - head = 1 lots, got 0"),
    (
        "lots without state",
        lambda c: c["storage"][0].pop("state"),
        r"^certificates\.storage\[0\]\.lots: lots need a state",
    ),
    (
        "done bad",
        lambda c: c["storage"][0]["done"][0].update(charged_wh=-1),
        r"^certificates: .*Failed to parse done field: Failed to parse charged_wh field: Value out of range",
    ),
    (
        "counter below ids",
        lambda c: c["counters"].update(bundle=1),
        r"^certificates\.counters\.bundle: 1 is below id \d+ in use",
    ),
    (
        "unknown counter",
        lambda c: c["counters"].update(other=1),
        r'^certificates: Failed to parse counters field: .*no field named "other"',
    ),
    ("pending id 0", _first_pending(deliveryId="0"), r"^certificates\.pending_deliveries\[0\]\.deliveryId: expected"),
    ("pending no Wh", _first_pending(wh="0"), r"^certificates\.pending_deliveries\[0\]\.wh: expected a volume"),
    (
        "pending seller not a member",
        _first_pending(seller=ZERO_ADDRESS),
        r"^certificates\.pending_deliveries\[0\]\.seller: owner 0707.* not a genesis member",
    ),
    (
        "pending to itself",
        lambda c: c["pending_deliveries"][0].update(buyer=c["pending_deliveries"][0]["seller"]),
        r"^certificates\.pending_deliveries\[0\]: the seller and the buyer must differ",
    ),
    (
        "pending twice",
        lambda c: c["pending_deliveries"].append(c["pending_deliveries"][0]),
        r"^certificates\.pending_deliveries\[1\]: duplicate id 1",
    ),
    (
        "pending counter below ids",
        lambda c: c["counters"].update(pending_delivery=0),
        r"^certificates\.counters\.pending_delivery: 0 is below id 1 in use",
    ),
    (
        "pending bad field",
        _first_pending(hour="1"),
        r'^certificates: .*no field named "hour" at "GenesisState\.pending_deliveries\[0\]"',
    ),
]


@pytest.mark.parametrize(
    ("edit", "message"), [(e, m) for _n, e, m in BAD_SECTIONS], ids=[n for n, _e, _m in BAD_SECTIONS]
)
def test_bad_sections_are_refused_naming_the_field(
    exported: tuple[AppDriver, dict[str, Any], Branch], edit: Callable[[dict[str, Any]], None], message: str
) -> None:
    driver, app_state, _fresh = exported
    validators = [ValidatorUpdate(k, p) for k, p in iter_validators(driver.app.state)]
    assert re.search(message, refused(app_state, validators, edit))


def test_the_section_is_not_an_object(exported: tuple[AppDriver, dict[str, Any], Branch]) -> None:
    _driver, app_state, _fresh = exported
    state = {**app_state, "certificates": []}
    with pytest.raises(GenesisError, match=r"^certificates: expected an object"):
        apply_genesis(Branch(MemoryBackend()), BlockInfo("c", 1, 0), json.dumps(state).encode(), [])


def test_a_hand_written_section_needs_no_counters_histories_or_storage(
    exported: tuple[AppDriver, dict[str, Any], Branch],
) -> None:
    """Issued tallies and their bundles are enough; the counters start after the ids in use."""
    driver, app_state, _fresh = exported
    alice = driver.consortium.member("community-a/alice").address
    state = copy.deepcopy(app_state)
    owner = base64.b64encode(alice).decode()
    state["certificates"] = {
        "issued": [{"device_id": "pv-1", "hour_start": H0, "wh": 100}],
        "bundles": [
            {"bundleId": "7", "deviceId": "pv-1", "hourStart": str(H0), "endWh": "60", "owner": owner,
             "status": "BUNDLE_STATUS_ACTIVE"},
            {"bundleId": "4", "deviceId": "pv-1", "hourStart": str(H0), "startWh": "60", "endWh": "100",
             "owner": owner, "status": "BUNDLE_STATUS_SUSPENDED"},
        ],
    }  # fmt: skip
    store = Branch(MemoryBackend())
    apply_genesis(store, BlockInfo("c", 1, 0), json.dumps(state).encode(), [])
    assert [(b.bundle_id, b.start_wh) for b in keeper.iter_device_bundles(store, "pv-1")] == [(7, 0), (4, 60)]
    assert keeper.issued_wh(store, "pv-1", H0) == 100
    assert keeper.next_counter(store, "bundle") == 8
    assert [b.bundle_id for b in keeper.owner_hour_bundles(store, alice, H0)] == [7]  # the active one
