"""Genesis export is faithful: a state exported and imported into an empty store has the same
keys, byte for byte, in identity, governance, accounts, devices and grid; the import refuses
malformed sections naming the field; and after a restart from an export a reading already
counted is still a duplicate or a replay."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from typing import Any

import pytest
from google.protobuf.timestamp_pb2 import Timestamp
from gridledger.devices.v1 import devices_pb2
from gridledger.governance.v1 import governance_pb2
from gridledger.grid.v1 import grid_pb2
from gridledger.identity.v1 import identity_pb2
from gridwire.reading import Reading

from abci_app.devices import keeper as devices
from abci_app.devices import keys as dkeys
from abci_app.devices.errors import DevicesCode
from abci_app.devices.params import PRUNE_PER_BLOCK
from abci_app.domain import Domain, GenesisError
from abci_app.genesis import apply_genesis
from abci_app.governance.keeper import iter_validators
from abci_app.grid.keys import DR_ESCROW
from abci_app.pb import abci, crypto_keys
from abci_app.registry import DOMAINS, check_invariants
from abci_app.store.branch import Branch, KVReader
from abci_app.types import BlockInfo, ValidatorUpdate
from clients import devices as dc
from clients.ops.consortium import Consortium
from tests.support.driver import AppDriver
from tests.support.genesis_roundtrip import differences, export_and_import
from tests.unit.helpers import proposal, submit, transfer, vote
from tests.unit.test_certificates_support import H0, Events, device_key, ok, setup_devices
from tests.unit.test_market import Market

FAITHFUL = ("identity", "governance", "accounts", "devices", "grid")
DAY = 86_400
ORGS = ("utility", "gridop", "certissuer", "community-a", "community-b")


def _domain(name: str) -> Domain:
    return next(d for d in DOMAINS if d.name == name)


def _readings(driver: AppDriver, consortium: Consortium, key_n: int, *readings: Reading) -> Events:
    """Submit readings as alice; the reading events (type, attributes) in order."""
    batch = dc.submit_readings([dc.sign_reading(device_key(key_n), driver.chain_id, r) for r in readings])
    evs = ok(driver, consortium.member("community-a/alice"), batch)
    return [(t, a) for t, a in evs if t.startswith("reading_")]


def _accepted(evs: Events) -> None:
    assert [t for t, _ in evs] == ["reading_accepted"] * len(evs), evs


def _dr_event(driver: AppDriver, event_id: str, feeder: str) -> grid_pb2.PublishDrEvent:
    start = (driver.time // 900 + 2) * 900
    return grid_pb2.PublishDrEvent(
        event_id=event_id, feeder=feeder, start=start, end=start + 900, requested_reduction_wh=3_000, reward_per_kwh=100
    )


def _until(driver: AppDriver, t: int) -> None:
    driver.block([], seconds=t - driver.time)


def _vote_all(driver: AppDriver, consortium: Consortium, pid: int, orgs: tuple[str, ...]) -> None:
    for org in orgs:
        ok(driver, consortium.member(f"{org}/admin"), vote(pid))


def build_state(driver: AppDriver, consortium: Consortium) -> None:
    """Readings of a PV panel, a meter and a battery with rules; a moved site, a rotated key,
    a suspended device; tariffs, fees, feeder limits and a settled demand-response event;
    a passed and an open proposal with a vote; a granted role, a revoked member, a transfer;
    a site with a location (and one without)."""
    located = dc.register_site("site-l", "feeder-1", "nl-north", location=(52_370_000, -4_900_000))
    setup_devices(driver, consortium, battery=True, extra=[located])
    alice = consortium.member("community-a/alice")
    operator = consortium.member("gridop/control")
    driver.block([], seconds=4500)
    _accepted(
        _readings(
            driver,
            consortium,
            1,
            Reading("pv-1", 1, H0, H0 + 900, 0, 0),
            Reading("pv-1", 2, H0 + 900, H0 + 4500, 0, 4000),
        )
    )
    _accepted(
        _readings(
            driver,
            consortium,
            2,
            Reading("bat-1", 1, H0, H0 + 900, 0, 0, soc_wh=5_000),
            Reading("bat-1", 2, H0 + 900, H0 + 4500, 0, 0, charged_wh=1_000, soc_wh=5_900),
        )
    )
    _accepted(
        _readings(
            driver, consortium, 3, Reading("m-1", 1, H0, H0 + 900, 0, 0), Reading("m-1", 2, H0 + 900, H0 + 1800, 500, 0)
        )
    )
    ok(driver, alice, dc.battery_rules("bat-1", 10, 30, reserve_bp=2_000, green_only=True, community=True))
    ok(driver, operator, devices_pb2.MoveSite(site_id="site-a", feeder="feeder-2"))
    ok(driver, alice, dc.rotate_key("m-1", dc.device_public_key(device_key(13))))
    ok(driver, operator, devices_pb2.SuspendDevice(device_id="m-1", reason="tamper alarm"))
    # grid
    supplier = consortium.member("utility/treasury")
    ok(
        driver,
        operator,
        grid_pb2.SetTariffs(
            supplier=supplier.address, retail_per_kwh=300, feed_in_per_kwh=80, imbalance_short_per_kwh=400
        ),
        grid_pb2.SetGridFees(intra_feeder_per_kwh=10, inter_feeder_per_kwh=30),
        grid_pb2.SetFeederLimit(feeder="feeder-2", import_wh=5_000, export_wh=4_000),
        grid_pb2.SetFeederLimit(feeder="feeder-9", import_wh=1, export_wh=2),
    )
    ok(driver, alice, grid_pb2.JoinDrProgramme(device_id="bat-1"))
    event = _dr_event(driver, "peak-1", "feeder-2")
    ok(driver, operator, event)
    ok(driver, alice, grid_pb2.EnrolDr(event_id="peak-1", device_id="bat-1"))
    _until(driver, event.end + 900 + 1)  # settled after the grace period: the budget went back
    ok(driver, operator, _dr_event(driver, "peak-2", "feeder-2"))  # open: bat-1's snapshot stays
    # identity and accounts
    admin_a = consortium.member("community-a/admin")
    bob = consortium.member("community-a/bob")
    ok(driver, alice, transfer(bob, 1_234))
    ok(driver, admin_a, identity_pb2.GrantRole(member=alice.address, role="gateway"))
    ok(driver, admin_a, identity_pb2.RevokeMember(member=bob.address, reason="moved away"))
    # governance: community-b loses its gateway capability (its gateway keeps an inert role),
    # and a parameter change stays open with one vote
    ok(
        driver,
        consortium.member("utility/admin"),
        submit(
            "no gateways",
            set_org_capabilities=governance_pb2.SetOrgCapabilities(org_id="community-b", capabilities=["prosumer"]),
        ),
    )
    _vote_all(driver, consortium, 1, ORGS[:4])
    assert proposal(driver, 1).status == governance_pb2.PROPOSAL_STATUS_PASSED
    ok(
        driver,
        consortium.member("gridop/admin"),
        submit("memo", change_param=governance_pb2.ChangeParam(name="max_memo_bytes", value=64)),
    )
    _vote_all(driver, consortium, 2, ("community-a",))
    assert proposal(driver, 2).status == governance_pb2.PROPOSAL_STATUS_VOTING


@pytest.fixture
def built(consortium: Consortium) -> AppDriver:
    driver = AppDriver(consortium, params={"grid.dr_baseline_days": 1, "grid.dr_baseline_period_seconds": 10})
    build_state(driver, consortium)
    return driver


def _export(driver: AppDriver) -> tuple[dict[str, Any], Branch]:
    return export_and_import(driver.app.state, chain_id=driver.chain_id, time_ns=driver.time * 1_000_000_000)


def test_identity_governance_accounts_devices_and_grid_are_faithful(built: AppDriver) -> None:
    exported, fresh = _export(built)
    for name in FAITHFUL:
        assert differences(_domain(name), built.app.state, fresh) == [], name
    # the scenario reached every collection the sections carry
    dev = exported["devices"]
    for part in ("sites", "devices", "retired_keys", "readings", "recent_readings", "batteries", "battery_rules",
                 "energy", "hour_flows"):  # fmt: skip
        assert dev[part], part
    assert [(s["siteId"], s.get("latitudeUdeg"), s.get("longitudeUdeg")) for s in dev["sites"]] == [
        ("site-a", None, None),
        ("site-l", 52_370_000, -4_900_000),
    ]
    (pv,) = [r for r in dev["readings"] if r["deviceId"] == "pv-1"]
    assert pv["windowStart"] == str(H0 + 4500)  # the anchor moved an hour after the baseline, and carries over
    grid = exported["grid"]
    assert grid["tariffs"]
    assert grid["fees"]
    assert len(grid["feeder_limits"]) == 2
    assert len(grid["dr_events"]) == 2
    assert len(grid["dr_enrolments"]) == 1
    assert len(grid["dr_members"]) == 1
    assert len(grid["dr_snapshots"]) == 1
    assert [p["status"] for p in exported["governance"]["proposals"]] == [
        "PROPOSAL_STATUS_PASSED",
        "PROPOSAL_STATUS_VOTING",
    ]
    assert exported["governance"]["last_proposal_id"] == "2"
    assert exported["revoked_certs"]


def _numbers(value: Any) -> Any:
    """`value` with every all-digit string written as a JSON number."""
    if isinstance(value, dict):
        return {k: _numbers(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_numbers(v) for v in value]
    return int(value) if isinstance(value, str) and value.isascii() and value.isdigit() else value


def test_an_export_with_its_integers_as_json_numbers_imports_the_same(built: AppDriver) -> None:
    """Exports from before the typed sections wrote their integers as numbers: they import to the same keys."""
    exported, fresh = _export(built)
    old_style = _numbers(exported)
    assert old_style["governance"]["last_proposal_id"] == 2
    store = Branch(_Empty())
    block = BlockInfo(built.chain_id, 1, built.time * 1_000_000_000)
    validators = [ValidatorUpdate(k, p) for k, p in iter_validators(built.app.state)]
    apply_genesis(store, block, json.dumps(old_style).encode(), validators)
    assert dict(store.iter_range(b"", None)) == dict(fresh.iter_range(b"", None))


def test_the_export_of_an_import_is_the_same_export(built: AppDriver) -> None:
    exported, fresh = _export(built)
    again, _ = export_and_import(fresh, chain_id=built.chain_id)
    for section in ("orgs", "members", "revoked_certs", "balances", "devices", "grid", "governance"):
        assert again[section] == exported[section], section


def _restarted(driver: AppDriver, consortium: Consortium, app_state: dict[str, Any]) -> AppDriver:
    """A new app whose chain starts from `app_state`, same chain id and validators, at the old
    chain's block time."""
    new = AppDriver(consortium, chain_id=driver.chain_id, init=False)
    req = abci.RequestInitChain(
        chain_id=driver.chain_id,
        app_state_bytes=json.dumps(app_state).encode(),
        initial_height=1,
        validators=[
            abci.ValidatorUpdate(pub_key=crypto_keys.PublicKey(ed25519=k), power=p)
            for k, p in iter_validators(driver.app.state)
        ],
    )
    req.time.CopyFrom(Timestamp(seconds=driver.time))
    new.genesis_hash = new.app.init_chain(req).app_hash
    new.time = driver.time
    new.nonces = dict(driver.nonces)  # tx nonces are chain state the export does not carry (yet)
    return new


def test_after_a_restart_from_an_export_old_readings_are_not_counted_again(
    built: AppDriver, consortium: Consortium
) -> None:
    exported, _ = _export(built)
    new = _restarted(built, consortium, exported)
    new.block([])
    state = new.app.state
    flow = devices.hour_flow(state, "pv-1", H0)
    energy = devices.get_energy(state, "pv-1", H0 + 900)
    second_hour = devices.hour_flow(state, "pv-1", H0 + 3600).export_wh
    # the identical resend of an accepted reading is a duplicate, another one with a used seq a replay
    last = Reading("pv-1", 2, H0 + 900, H0 + 4500, 0, 4000)
    forged_again = Reading("pv-1", 2, H0 + 4500, H0 + 5400, 0, 9000)
    first = Reading("pv-1", 1, H0, H0 + 900, 0, 0)
    evs = _readings(new, consortium, 1, last, forged_again, first)
    assert [t for t, _ in evs] == ["reading_duplicate", "reading_rejected", "reading_duplicate"]
    assert evs[1][1]["code"] == str(int(DevicesCode.SEQ_REPLAYED))
    # the rotated-out key of m-1 is still refused
    (rejected,) = _readings(new, consortium, 3, Reading("m-1", 3, H0 + 1800, H0 + 2700, 600, 0))
    assert rejected[1]["code"] == str(int(DevicesCode.RETIRED_KEY))
    assert devices.hour_flow(new.app.state, "pv-1", H0) == flow
    assert devices.get_energy(new.app.state, "pv-1", H0 + 900) == energy
    # the next reading carries on from the last one: only its delta counts
    (accepted,) = _readings(new, consortium, 1, Reading("pv-1", 3, H0 + 4500, H0 + 5400, 0, 4900))
    assert accepted[0] == "reading_accepted"
    assert devices.hour_flow(new.app.state, "pv-1", H0 + 3600).export_wh == second_hour + 900


# ---- an open demand-response event ----------------------------------------------------------


def _open_dr_event(driver: AppDriver, consortium: Consortium) -> None:
    setup_devices(driver, consortium)
    operator = consortium.member("gridop/control")
    ok(driver, consortium.member("community-a/alice"), grid_pb2.JoinDrProgramme(device_id="m-1"))
    driver.block([], seconds=5 * 86_400)  # m-1 was registered a baseline window before the announcement
    ok(driver, operator, _dr_event(driver, "peak-open", "feeder-1"))
    ok(driver, consortium.member("community-a/alice"), grid_pb2.EnrolDr(event_id="peak-open", device_id="m-1"))


class _Empty:
    def get(self, key: bytes) -> bytes | None:
        return None

    def iter_range(self, start: bytes, end: bytes | None) -> Iterator[tuple[bytes, bytes]]:
        return iter(())


def test_an_open_demand_response_event_and_its_escrow_round_trip(driver: AppDriver, consortium: Consortium) -> None:
    """The open event's budget is the grid escrow account's balance (a module account the
    accounts section takes); the grid section rebuilds the event, its due index and the
    enrolment, and an escrow that does not hold the open budgets is refused."""
    _open_dr_event(driver, consortium)
    state: KVReader = driver.app.state
    exported, fresh = export_and_import(state, chain_id=driver.chain_id)
    assert {"address": DR_ESCROW.hex(), "amount": "300"} in exported["balances"]
    for name in FAITHFUL:
        assert differences(_domain(name), state, fresh) == [], name
    assert check_invariants(fresh) == []
    short = copy.deepcopy(exported)
    short["balances"] = [b for b in exported["balances"] if b["address"] != DR_ESCROW.hex()]
    short["supply"]["minted"] = int(short["supply"]["minted"]) - 300
    _refused(short, r"grid.dr_events: the unsettled events' budgets total 300, .* holds 0")


# ---- refusals -----------------------------------------------------------------------------


def _refused(exported: dict[str, Any], match: str) -> None:
    with pytest.raises(GenesisError, match=match):
        apply_genesis(Branch(_Empty()), BlockInfo("c", 1, 0), json.dumps(exported).encode(), [])


def _index(items: list[dict[str, Any]], **where: str) -> int:
    return next(i for i, item in enumerate(items) if all(item.get(k) == v for k, v in where.items()))


def test_bad_sections_are_refused_naming_the_field(built: AppDriver) -> None:
    exported, _ = _export(built)

    def bad(mutate: Any, match: str) -> None:
        doc = copy.deepcopy(exported)
        mutate(doc)
        _refused(doc, match)

    dev = exported["devices"]
    i = _index(dev["readings"], deviceId="pv-1")
    bad(lambda d: d["devices"]["readings"][i].update(deviceId="x"), rf"devices\.readings\[{i}\]: unknown device 'x'")
    bad(lambda d: d["devices"]["readings"].append(d["devices"]["readings"][i]), r"devices\.readings\[\d+\]: duplicate")
    j = _index(dev["recent_readings"], deviceId="pv-1")
    bad(lambda d: d["devices"]["recent_readings"][j].update(seq=99), rf"devices\.recent_readings\[{j}\]\.seq")
    bad(lambda d: d["devices"]["batteries"][0].update(socMwh="10000001"), r"devices\.batteries\[0\]\.socMwh")
    bad(lambda d: d["devices"]["battery_rules"][0].update(deviceId="pv-1"), r"battery_rules\[0\]: .* not a battery")
    bad(
        lambda d: d["devices"]["energy"][0].update(importWh=-1),
        r"devices: Failed to parse energy field: Failed to parse importWh",
    )
    bad(lambda d: d["devices"]["retired_keys"][0].update(publicKey="zz"), r"devices\.retired_keys\[0\]\.publicKey")
    bad(
        lambda d: d["devices"].setdefault("site_energy", []).append({"siteId": "nowhere", "intervalStart": 0}),
        r"site_energy\[\d+\]: unknown site",
    )
    bad(lambda d: d["devices"].update(widgets=[]), r'devices: .*no field named "widgets"')
    k = _index(dev["sites"], siteId="site-l")
    bad(lambda d: d["devices"]["sites"][k].pop("longitudeUdeg"), rf"devices\.sites\[{k}\]: a site location needs both")
    bad(lambda d: d["devices"]["sites"][k].update(latitudeUdeg=90_000_001), rf"devices\.sites\[{k}\]: latitude_udeg")
    bad(
        lambda d: d["devices"]["readings"][i].update(windowExportWh="99999999"),
        rf"devices\.readings\[{i}\]: the nameplate window's anchor",
    )
    bad(lambda d: d["grid"]["fees"].update(intra_feeder_per_kwh=31), r"grid\.fees: the intra-feeder fee")
    bad(lambda d: d["grid"]["dr_events"][0].update(budget="1"), r"grid\.dr_events\[0\]\.budget")
    bad(
        lambda d: [d["grid"]["dr_events"][0].pop(k) for k in ("settled", "stage")], r"grid\.dr_enrolments\[0\]\.settled"
    )
    bad(lambda d: d["grid"]["dr_snapshots"][0].update(eventId="peak-1"), r"grid\.dr_snapshots\[0\]: no unsettled event")
    bad(lambda d: d["grid"]["dr_members"][0].update(deviceId="x"), r"grid\.dr_members\[0\]: unknown device 'x'")
    bad(lambda d: d["grid"]["dr_enrolments"][0].update(deviceId="x"), r"grid\.dr_enrolments\[0\]: unknown device 'x'")
    bad(
        lambda d: d["grid"]["feeder_limits"].append(d["grid"]["feeder_limits"][0]),
        r"feeder_limits\[2\]\.feeder: duplicate",
    )
    bad(
        lambda d: d["governance"]["proposals"][1].update(yesOrgs=["nobody"]),
        r"governance\.proposals\[1\]\.yesOrgs: unknown org",
    )
    bad(
        lambda d: d["governance"]["proposals"][1].update(id="1"),
        r"governance\.proposals\[1\]\.id: duplicate proposal 1",
    )
    bad(lambda d: d["governance"].update(last_proposal_id=1), r"governance\.last_proposal_id")
    bad(
        lambda d: d["governance"]["proposals"][0].update(status="PROPOSAL_STATUS_UNSPECIFIED"),
        r"governance\.proposals\[0\]\.status: expected one of",
    )
    bad(
        lambda d: d["devices"]["energy"][0].update(deviceId="x" * 300), r"devices\.energy\[0\]: unknown device 'x{64}'$"
    )
    bad(
        lambda d: d["orgs"][0].update(admitted_at="yesterday"),
        r"^orgs: Failed to parse orgs field: Failed to parse admitted_at field",
    )
    bad(lambda d: d["members"][0].update(roles=["king"]), r"members\[0\]\.roles")
    bad(lambda d: d["revoked_certs"][0].update(org_id="nobody"), r"revoked_certs\[0\]\.org_id: unknown org")


def test_hand_written_sections_keep_working(consortium: Consortium) -> None:
    """The consortium's app_state, plus hand-written grid and governance sections without the
    fields only an export carries: defaults are the genesis block time and the highest id."""
    treasury = consortium.member("utility/treasury").address.hex()
    operator = consortium.member("gridop/control").address.hex()
    state = consortium.app_state()
    state["grid"] = {
        "tariffs": {"supplier": treasury, "operator": operator, "retail_per_kwh": 250},
        "fees": {"intra_feeder_per_kwh": 5, "inter_feeder_per_kwh": 20},
        "feeder_limits": [{"feeder": "f1", "import_wh": 50_000, "export_wh": 50_000}],
    }
    state["governance"] = {"proposals": []}
    state["devices"] = {}
    store = Branch(_Empty())
    apply_genesis(store, BlockInfo("c", 1, 1_767_225_600 * 10**9), json.dumps(state).encode(), [])
    exported, fresh = export_and_import(store)
    assert (
        exported["grid"]["tariffs"]["updated_at"] == "1767225600"
    )  # protobuf JSON mapping: 64-bit integers as strings
    assert exported["grid"]["fees"]["updated_at"] == "1767225600"
    assert exported["governance"] == {"last_proposal_id": "0"}  # empty lists are left out
    assert all(o["admitted_at"] == "1767225600" for o in exported["orgs"])
    for name in FAITHFUL:
        assert differences(_domain(name), store, fresh) == [], name
    # absent fees are not written on import (they read as zero)
    bare = consortium.app_state()
    store = Branch(_Empty())
    apply_genesis(store, BlockInfo("c", 1, 1_767_225_600 * 10**9), json.dumps(bare).encode(), [])
    assert "fees" not in export_and_import(store)[0]["grid"]


def test_a_state_in_the_middle_of_pruning_round_trips(consortium: Consortium) -> None:
    """The watermark, and the records (with their pruning index) still to delete before it
    (at most 500 records pruned per block: 600 are due)."""
    m = Market(AppDriver(consortium, params={PRUNE_PER_BLOCK: 500}), consortium)
    m.setup()
    m.until(m.d.time + 7 * DAY)  # the readings below start after pv-a's registration
    t0 = m.d.time - m.d.time % DAY
    m.reading(m.alice, "pv-a", 1, t0 - 6 * DAY, t0 - 5 * DAY, 0, 0)
    for i in range(5):
        m.reading(m.alice, "pv-a", 1, t0 - (5 - i) * DAY, t0 - (4 - i) * DAY, 0, 96_000 * (i + 1))
    m.until(t0 + 36 * DAY)  # one batch pruned, 100 records before the watermark left
    state = m.d.app.state
    assert devices.has_pruned_before(state)
    assert devices.oldest_marked(state, dkeys.age_prefix()) is not None
    exported, fresh = _export(m.d)
    assert exported["devices"]["pruned_before"] == str(devices.pruned_before(state))
    for name in FAITHFUL:
        assert differences(_domain(name), state, fresh) == [], name
