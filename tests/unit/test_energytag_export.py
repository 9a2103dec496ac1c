"""The EnergyTag Registry API export over HTTP: every field and status name against the published
spec (tests/unit/energytag_spec.py), and the values of the export checked field by field."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from google.protobuf.timestamp_pb2 import Timestamp
from gridledger.certificates.v1 import certificates_pb2 as pb

from abci_app.pb import abci, crypto_keys
from clients import certificates as cc
from clients.energytag import ACTION_TYPES, CERTIFICATE_STATUSES, QUERY_NOT_FOUND
from clients.ops.consortium import Consortium
from clients.servers.energytag_http import EnergyTagServer
from tests.support.driver import GENESIS_TIME, AppDriver
from tests.unit import energytag_spec as spec
from tests.unit.test_certificates_oversight import scenario as storage_scenario
from tests.unit.test_certificates_support import H0, ok

HOUR = 3600
REGISTRY = {"issuingBody": "Test Issuing Body", "country": "NL", "connectedGrid": "NL-TenneT"}


def registry_driver(consortium: Consortium) -> AppDriver:
    """An AppDriver whose genesis carries the registry's EnergyTag record."""
    driver = AppDriver(consortium, init=False)
    state = consortium.app_state(None)
    state.setdefault("certificates", {})["registry"] = REGISTRY
    req = abci.RequestInitChain(
        chain_id=driver.chain_id,
        app_state_bytes=json.dumps(state).encode(),
        initial_height=1,
        validators=[abci.ValidatorUpdate(pub_key=crypto_keys.PublicKey(ed25519=b"\x01" * 32), power=10)],
    )
    req.time.CopyFrom(Timestamp(seconds=GENESIS_TIME))
    driver.genesis_hash = driver.app.init_chain(req).app_hash
    return driver


def reader(driver: AppDriver) -> Any:
    def read(path: str) -> bytes:
        r = driver.query(path)
        if r.code == QUERY_NOT_FOUND:
            return b""
        if r.code:
            raise RuntimeError(r.log)
        return bytes(r.value)

    return read


@pytest.fixture(scope="module")
def served(consortium: Consortium) -> Iterator[tuple[AppDriver, str, dict[str, int]]]:
    """pv-1 and bat-1's certificates (the storage scenario), one retirement claimed, one bundle
    locked and one withdrawn, served on 127.0.0.1 (a free port); the server stops after the module."""
    driver = registry_driver(consortium)
    storage_scenario(driver, consortium)
    alice, bob = consortium.member("community-a/alice"), consortium.member("community-a/bob")
    certifier = consortium.member("certissuer/registry")
    (pv,) = [b for b in bundles(driver, "pv-1") if b.status == pb.BUNDLE_STATUS_ACTIVE]
    evs = ok(driver, alice, cc.retire(pv.bundle_id, 300, bob.address, (H0 + HOUR, H0 + 2 * HOUR), "claim me"))
    rid = int(next(a for t, a in evs if t == "bundle_retired")["retirement"])
    ok(driver, bob, cc.claim(rid))
    evs = ok(driver, alice, cc.lock(pv.bundle_id, 200))
    locked = int(next(a for t, a in evs if t == "bundle_locked")["bundle"])
    evs = ok(driver, alice, cc.lock(pv.bundle_id, 100))
    withdrawn = int(next(a for t, a in evs if t == "bundle_locked")["bundle"])
    ok(driver, certifier, cc.withdraw(withdrawn, "audit"))
    server = EnergyTagServer(reader(driver)).start()
    try:
        yield driver, server.url, {"retirement": rid, "locked": locked, "withdrawn": withdrawn}
    finally:
        server.stop()


def bundles(driver: AppDriver, device: str) -> list[pb.Bundle]:
    return list(pb.BundleList.FromString(driver.query(f"/bundles/device/{device}").value).bundles)


def get(url: str) -> tuple[int, Any]:
    try:
        with urllib.request.urlopen(url, timeout=10) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def time(seconds: int) -> str:
    return datetime.fromtimestamp(seconds, UTC).isoformat()


def date(seconds: int) -> str:
    return datetime.fromtimestamp(seconds, UTC).date().isoformat()


def export(url: str, device: str) -> list[dict[str, Any]]:
    status, body = get(f"{url}/certificates/device/{device}")
    assert status == 200
    assert set(body) <= spec.STORAGE_QUERY_FIELDS
    return list(body["filtered_certificate_bundles"])


def test_every_field_and_status_name_is_the_specs(served: tuple[AppDriver, str, dict[str, int]]) -> None:
    """Bundles of both devices use only the spec's field names, carry all its required ones and its enum values."""
    _driver, url, _ids = served
    everything = export(url, "pv-1") + export(url, "bat-1")
    assert len(everything) >= 6
    for b in everything:
        assert set(b) <= spec.BUNDLE_FIELDS, set(b) - spec.BUNDLE_FIELDS
        assert set(b) >= spec.BUNDLE_REQUIRED, spec.BUNDLE_REQUIRED - set(b)
        assert b["certificate_bundle_status"] in spec.CERTIFICATE_STATUSES
        assert b["energy_carrier"] in spec.ENERGY_CARRIERS
        assert b["energy_source"] in spec.ENERGY_SOURCES
        assert b["device_technology_type"] in spec.DEVICE_TECHNOLOGY_TYPES
    assert set(CERTIFICATE_STATUSES) == spec.CERTIFICATE_STATUSES
    assert set(ACTION_TYPES) <= spec.ACTION_TYPES
    status, body = get(f"{url}/spec")
    assert status == 200
    assert set(body["certificate_statuses"]) == spec.CERTIFICATE_STATUSES
    assert spec.SPEC_VERSION in body["spec"]


def test_a_generator_bundle_is_exported_field_by_field(served: tuple[AppDriver, str, dict[str, int]]) -> None:
    """pv-1's active bundle of hour H0+1h: every value derived from the ledger as documented."""
    driver, url, _ids = served
    (b,) = [b for b in bundles(driver, "pv-1") if b.status == pb.BUNDLE_STATUS_ACTIVE]
    status, x = get(f"{url}/certificates/bundle/{b.bundle_id}")
    assert status == 200
    expected = {
        "id": b.bundle_id,
        "issuance_id": f"pv-1-{time(H0 + HOUR)}",
        "certificate_bundle_status": "Active",
        "account_id": b.owner.hex(),
        "is_storage": False,
        "certificate_bundle_id_range_start": b.start_wh,
        "certificate_bundle_id_range_end": b.end_wh - 1,
        "bundle_quantity": b.end_wh - b.start_wh,
        "energy_carrier": "electricity",
        "energy_source": "solar_pv",
        "face_value": 1,
        "issuance_post_energy_carrier_conversion": False,
        "registry_configuration": 1,
        "device_id": "pv-1",
        "device_name": "pv-1",
        "device_technology_type": "solar_pv",
        "device_production_start_date": date(1_600_000_000),
        "device_capacity": 5_000,
        "device_location": None,  # site-a was registered without a location
        "device_type": "production",
        "production_starting_interval": time(H0 + HOUR),
        "production_ending_interval": time(H0 + 2 * HOUR),  # one hour
        "issuance_datestamp": date(H0 + 2 * HOUR),
        "expiry_datestamp": date(H0 + 2 * HOUR + 365 * 86_400),
        "country_of_issuance": "NL",
        "connected_grid_identification": "NL-TenneT:feeder-1",
        "issuing_body": "Test Issuing Body",
        "issue_market_zone": "nl-north",
    }
    assert x == expected


def test_a_storage_certificate_is_exported_with_its_sdr_and_traced_to_its_scr(
    served: tuple[AppDriver, str, dict[str, int]],
) -> None:
    """bat-1's certificate: storage fields, SDR and SCR in the spec's names, back to pv-1's cancelled bundle of H0."""
    driver, url, _ids = served
    out = next(b for b in bundles(driver, "bat-1") if b.status == pb.BUNDLE_STATUS_ACTIVE)
    status, body = get(f"{url}/storage/lineage/{out.bundle_id}")
    assert status == 200
    assert set(body) == spec.STORAGE_QUERY_FIELDS
    cert, consumed = body["filtered_certificate_bundles"]
    (sdr,) = body["filtered_sdrs"]
    (scr,) = body["filtered_scrs"]
    assert (cert["is_storage"], cert["device_type"], cert["storage_id"]) == (True, "storage", "bat-1")
    assert (cert["device_id"], cert["production_starting_interval"]) == ("pv-1", time(H0))
    assert cert["issuance_id"] == f"bat-1-{time(H0 + HOUR)}"
    assert (cert["discharging_start_datetime"], cert["discharging_end_datetime"]) == (
        time(H0 + HOUR), time(H0 + 2 * HOUR)
    )  # fmt: skip
    assert cert["storage_efficiency_factor"] == 0.81
    assert cert["sdr_allocation_id"] == sdr["sdr_allocation_id"]
    assert set(sdr) <= spec.SDR_FIELDS
    assert set(sdr) >= spec.SDR_REQUIRED
    assert set(scr) <= spec.SCR_FIELDS
    assert set(scr) >= spec.SCR_REQUIRED
    assert (sdr["discharge_energy"], sdr["scr_allocation_id"]) == (1000, scr["scr_allocation_id"])
    assert (scr["charging_energy"], scr["gc_issuance_id"], scr["charging_energy_source"]) == (
        3000, f"pv-1-{time(H0)}", "solar_pv"
    )  # fmt: skip
    assert (scr["charging_start_datetime"], scr["charging_end_datetime"]) == (time(H0), time(H0 + HOUR))
    assert (consumed["device_id"], consumed["certificate_bundle_status"]) == ("pv-1", "Cancelled")
    assert consumed["bundle_quantity"] == 3000
    assert consumed["issuance_id"] == f"pv-1-{time(H0)}"
    assert get(f"{url}/storage/scr/{scr['id']}") == (200, scr)
    assert get(f"{url}/storage/sdr/{sdr['id']}") == (200, sdr)


def test_statuses_map_claimed_locked_and_withdrawn(served: tuple[AppDriver, str, dict[str, int]]) -> None:
    """A claimed retirement reads Claimed, a locked bundle Locked, a withdrawn one Withdrawn."""
    driver, url, ids = served
    rid = ids["retirement"]
    r = pb.Retirement.FromString(driver.query(f"/retirement/{rid}").value)
    assert get(f"{url}/certificates/bundle/{r.bundle_id}")[1]["certificate_bundle_status"] == "Claimed"
    assert get(f"{url}/certificates/bundle/{ids['locked']}")[1]["certificate_bundle_status"] == "Locked"
    assert get(f"{url}/certificates/bundle/{ids['withdrawn']}")[1]["certificate_bundle_status"] == "Withdrawn"
    status, c = get(f"{url}/certificates/cancellation/{rid}")
    assert status == 200
    assert set(c) <= spec.CANCELLATION_FIELDS
    assert (c["certificate_bundle_status"], c["certificate_quantity"], c["beneficiary"]) == (
        "Claimed", 300, r.beneficiary.hex()
    )  # fmt: skip
    assert (c["certificate_period_start"], c["source_certificate_issuance_id"]) == (
        time(H0 + HOUR), f"pv-1-{time(H0 + HOUR)}"
    )  # fmt: skip
    # the cancelled certificates' ids: the retired bundle's Wh range, for as long as the retirement is kept
    bundle = pb.Bundle.FromString(driver.query(f"/bundle/{r.bundle_id}").value)
    assert r.end_wh == bundle.end_wh
    first, last = (c[f"source_certificate_certificate_bundle_id_range_{end}"] for end in ("start", "end"))
    assert (first, last) == (bundle.start_wh, bundle.end_wh - 1)
    assert bundle.end_wh - bundle.start_wh == c["certificate_quantity"]


def test_the_query_response_filters_by_owner_and_status(served: tuple[AppDriver, str, dict[str, int]]) -> None:
    """GranularCertificateQueryResponse: only the spec's names; the status filter keeps its status only."""
    driver, url, _ids = served
    owner = driver.consortium.member("community-a/alice").address.hex()
    status, body = get(f"{url}/certificates/query?source_id={owner}&certificate_bundle_status=Active")
    assert status == 200
    assert set(body) <= spec.QUERY_RESPONSE_FIELDS
    assert set(body) >= spec.QUERY_RESPONSE_REQUIRED
    found = body["filtered_certificate_bundles"]
    assert found
    assert {b["certificate_bundle_status"] for b in found} == {"Active"}
    assert {b["account_id"] for b in found} == {owner}
    assert body["certificate_quantity"] == sum(b["bundle_quantity"] for b in found)


@pytest.mark.parametrize(
    ("path", "code"),
    [
        ("/certificates/bundle/99999", 404),
        ("/certificates/bundle/-1", 400),
        ("/certificates/bundle/1e3", 400),
        ("/certificates/query?source_id=zz", 400),
        ("/certificates/query?source_id=" + "ab" * 20 + "&certificate_bundle_status=Bogus", 400),
        ("/certificates/cancellation/424242", 404),
        ("/storage/scr/77", 404),
        ("/storage/lineage/99999", 404),
        ("/certificates/device/" + "x" * 300, 400),
        ("/nothing/here", 404),
    ],
)
def test_hostile_and_unknown_requests_get_a_json_error(
    served: tuple[AppDriver, str, dict[str, int]], path: str, code: int
) -> None:
    """Malformed or unknown paths answer 400/404 with a detail, never a crash."""
    _driver, url, _ids = served
    status, body = get(url + path)
    assert status == code
    assert "detail" in body


def test_the_endpoint_is_read_only(served: tuple[AppDriver, str, dict[str, int]]) -> None:
    """POST is refused with 405."""
    _driver, url, _ids = served
    req = urllib.request.Request(f"{url}/certificates/bundle/1", data=b"{}", method="POST")
    with pytest.raises(urllib.error.HTTPError) as exc:
        urllib.request.urlopen(req, timeout=10)
    assert exc.value.code == 405
