"""Issue 19, items 3 and 7, as an attacker would try them: readings from before the device
existed, 500 one-second readings of a 1 W PV, a meter that says "solar", a meter measuring
a PV site, production hours before commissioning, PV energy above the clear sky. Each attack runs as signed txs through
the mempool and, for a Byzantine proposer, as the same txs put straight into FinalizeBlock
(`hostile`); the driver checks every invariant (money conserved included) after each block."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from google.protobuf.json_format import MessageToDict
from google.protobuf.message import Message
from gridledger.certificates.v1 import certificates_pb2 as cpb
from gridledger.devices.v1 import devices_pb2
from gridledger.grid.v1 import grid_pb2
from gridwire.contract.certificates import CERTIFICATES_ARCHIVED
from gridwire.reading import Reading

from abci_app.certificates import invariants, issuance
from abci_app.certificates import keeper as certificates
from abci_app.certificates import keys as certkeys
from abci_app.certificates.errors import CertificatesCode
from abci_app.certificates.keeper import EventSink
from abci_app.certificates.records import ACTIVE, NO_BUNDLE, Bundle, HoldStatus
from abci_app.devices import clearsky
from abci_app.devices import keeper as devices
from abci_app.devices.errors import DevicesCode
from abci_app.devices.prune import retention
from abci_app.errors import Code
from abci_app.registry import DOMAINS, check_invariants
from abci_app.store.branch import Branch
from abci_app.types import BlockInfo
from clients import archive
from clients import devices as dc
from clients.ops.consortium import Consortium
from clients.pki import Identity
from tests.support.devices import certify, commission
from tests.support.driver import GENESIS_TIME, AppDriver
from tests.support.genesis_roundtrip import differences, export_and_import
from tests.unit.helpers import balance, signed

HOUR, DAY = 3600, 86_400
CERTIFICATES = next(d for d in DOMAINS if d.name == "certificates")
H = GENESIS_TIME + HOUR  # the first whole hour after the test's registrations
GW = 1_000_000_000
Events = list[tuple[str, dict[str, str]]]


def _key(n: int) -> Ed25519PrivateKey:
    return Ed25519PrivateKey.from_private_bytes(bytes([60 + n]) * 32)


def _device(
    device_id: str, kind: str, n: int, nameplate_w: int, site: str = "site-a", **fields: object
) -> devices_pb2.RegisterDevice:
    """The RegisterDevice of a device of alice's `site`, keyed by _key(n) (this file's one device builder)."""
    return dc.register_device(device_id, site, kind, dc.device_public_key(_key(n)), nameplate_w, **fields)  # type: ignore[arg-type]


def _events(raw: list[tuple[str, list[tuple[str, str]]]]) -> Events:
    return [(t, dict(a)) for t, a in raw]


def _block(driver: AppDriver, who: Identity, *msgs: Message, hostile: bool, seconds: int = 1) -> tuple[int, Events]:
    """One block with one tx signed by `who`: through CheckTx and an honest proposal, or
    (hostile) put straight into FinalizeBlock. (tx code, tx events + block events)."""
    result = driver.block([signed(driver, who, *msgs)], check=not hostile, seconds=seconds)
    if not result.tx_results:  # refused by CheckTx: never proposed
        return result.check_codes[0], []
    tx = result.tx_results[0]
    evs = [(e.type, {a.key: a.value for a in e.attributes}) for e in tx.events]
    evs += [(e.type, {a.key: a.value for a in e.attributes}) for e in result.response.events]
    return tx.code, evs


def _setup(
    driver: AppDriver, consortium: Consortium, *registrations: Message, commissioned: Sequence[str] = ()
) -> Identity:
    """alice's site-a (feeder-1, nl) and her `registrations`, then the clock moves on to H.
    The `commissioned` devices among them are registered with a certificate from the test
    device CA and commissioned by the certifier (one more block): issuance needs both."""
    driver.block([])
    alice = consortium.member("community-a/alice")
    for msg in (dc.register_site("site-a", "feeder-1", "nl"), *registrations):
        certified = isinstance(msg, devices_pb2.RegisterDevice) and msg.device_id in commissioned
        result = driver.block([signed(driver, alice, certify(consortium, msg) if certified else msg)])  # type: ignore[arg-type]
        assert result.tx_results[0].code == 0, result.tx_results[0].log
    if commissioned:
        commission(driver, *commissioned)
    driver.block([], seconds=H - driver.time)
    return alice


def _submit(driver: AppDriver, who: Identity, n: int, *readings: Reading, hostile: bool) -> list[tuple[str, str]]:
    """(outcome, code or seq) of each reading, signed by _key(n), in one SubmitReadings."""
    batch = dc.submit_readings([dc.sign_reading(_key(n), driver.chain_id, r) for r in readings])
    code, evs = _block(driver, who, batch, hostile=hostile)
    assert code == 0
    return [(t.removeprefix("reading_"), a.get("code", a["seq"])) for t, a in evs if t.startswith("reading_")]


def _bundles(driver: AppDriver, device_id: str) -> list[tuple[int, int]]:
    """(hour, Wh) of the device's bundles."""
    raw = driver.query(f"/bundles/device/{device_id}").value
    return [(b.hour_start, b.end_wh - b.start_wh) for b in cpb.BundleList.FromString(raw).bundles]


def _settle_issuance(driver: AppDriver) -> Events:
    """Past the issuance grace: every pending device-hour is issued; the block's events."""
    result = driver.block([], seconds=2 * HOUR)
    return [(e.type, {a.key: a.value for a in e.attributes}) for e in result.response.events]


HOSTILE = pytest.mark.parametrize("hostile", [False, True], ids=["mempool", "proposer"])


# ---- readings only from when the device could exist -----------------------------------------


@HOSTILE
def test_readings_before_registration_are_refused(driver: AppDriver, consortium: Consortium, hostile: bool) -> None:
    """A 1 GW PV registered now submits a baseline and five day-long readings for the five
    days before its registration (12.7 GWh issued on main): every one is refused with
    READING_BEFORE_REGISTRATION, nothing is recorded or issued, and its first reading after
    registration is the baseline."""
    # certified and commissioned, so that nothing issued is the refusals' doing
    alice = _setup(driver, consortium, _device("pv-big", "pv", 1, GW, energy_source="solar"), commissioned=["pv-big"])
    before = balance(driver, alice)
    registered = devices.get_device(driver.app.state, "pv-big").registered_at  # type: ignore[union-attr]
    t = registered - registered % DAY - 5 * DAY
    backdated = [Reading("pv-big", 1, t - 60, t, 0, 0)] + [
        Reading("pv-big", 2 + i, t + i * DAY, t + (i + 1) * DAY, 0, (i + 1) * 24 * GW) for i in range(5)
    ]
    code = str(int(DevicesCode.READING_BEFORE_REGISTRATION))
    assert _submit(driver, alice, 1, *backdated, hostile=hostile) == [("rejected", code)] * 6
    # a reading that starts one second before registration is refused too; at registration it is the baseline
    late = Reading("pv-big", 1, registered - 1, H, 0, 0)
    assert _submit(driver, alice, 1, late, hostile=hostile) == [("rejected", code)]
    assert _submit(driver, alice, 1, Reading("pv-big", 1, registered, H, 0, 0), hostile=hostile) == [("accepted", "1")]
    _settle_issuance(driver)
    state = driver.app.state
    assert all(devices.hour_generation(state, "pv-big", h) == 0 for h in range(t - HOUR, H + HOUR, HOUR))
    assert _bundles(driver, "pv-big") == []
    assert balance(driver, alice) == before
    assert check_invariants(state) == []


# ---- the exact nameplate bound, once per window --------------------------------------------


@HOSTILE
def test_500_one_second_readings_of_a_1_w_pv_claim_one_wh(consortium: Consortium, hostile: bool) -> None:
    """With the minimum reading span governed down to 1 s, a 1 W PV sends a baseline and 500
    one-second readings of +1 Wh each (499 Wh accepted on main, under ceil(P × S / 3600) per
    reading): the window rule accepts the first tick (the register's 1 Wh quantisation) and
    refuses the rest, so it claims 1 Wh in 500 s, not 499."""
    driver = AppDriver(consortium, params={"devices.min_reading_seconds": 1})
    alice = _setup(driver, consortium, _device("pv-tiny", "pv", 2, 1, energy_source="solar"))
    driver.block([], seconds=600)
    readings = [Reading("pv-tiny", i + 1, H + i, H + i + 1, 0, i) for i in range(501)]
    out = _submit(driver, alice, 2, *readings[:250], hostile=hostile)
    out += _submit(driver, alice, 2, *readings[250:], hostile=hostile)
    above = str(int(DevicesCode.ABOVE_NAMEPLATE))
    assert out == [("accepted", "1"), ("accepted", "2")] + [("rejected", above)] * 499
    last = devices.get_reading(driver.app.state, "pv-tiny")
    assert last is not None
    assert (last.seq, last.export_wh) == (2, 1)
    assert devices.hour_generation(driver.app.state, "pv-tiny", H) == 1
    # over the window [H + 1, H + 3601 + 1) the device can produce just over 1 Wh: one more
    # tick (2 since the anchor) is possible, not 3600 of them
    driver.block([], seconds=HOUR)
    t = H + HOUR + 1
    nxt = [Reading("pv-tiny", 3, t, t + 1, 0, 3), Reading("pv-tiny", 3, t, t + 1, 0, 2)]
    assert _submit(driver, alice, 2, *nxt, hostile=hostile) == [("rejected", above), ("accepted", "3")]
    assert check_invariants(driver.app.state) == []


@HOSTILE
def test_short_readings_are_refused_by_the_minimum_span(
    driver: AppDriver, consortium: Consortium, hostile: bool
) -> None:
    """Under the default minimum span (60 s) the same one-second readings are refused as
    READING_TOO_SHORT; 60 one-minute readings of +1 Wh each over an hour claim at most
    2 Wh (one tick per window, the anchor moving at the hour), not 60."""
    alice = _setup(driver, consortium, _device("pv-tiny", "pv", 2, 1, energy_source="solar"))
    driver.block([], seconds=2 * HOUR)
    short = [Reading("pv-tiny", 1, H, H + 1, 0, 0), Reading("pv-tiny", 1, H, H + 59, 0, 0)]
    assert (
        _submit(driver, alice, 2, *short, hostile=hostile)
        == [("rejected", str(int(DevicesCode.READING_TOO_SHORT)))] * 2
    )
    minutes = [Reading("pv-tiny", i + 1, H + 60 * i, H + 60 * (i + 1), 0, i) for i in range(61)]
    out = _submit(driver, alice, 2, *minutes, hostile=hostile)
    assert sum(1 for o, _ in out if o == "accepted") <= 3
    last = devices.get_reading(driver.app.state, "pv-tiny")
    assert last is not None
    assert last.export_wh <= 2  # 1 W for an hour is 1 Wh; one tick of quantisation on top


# ---- only generators issue, and once -------------------------------------------------------


@HOSTILE
@pytest.mark.parametrize("kind", ["meter", "appliance", "ev_charger", "heat_pump"])
def test_a_load_or_meter_declaring_a_renewable_source_is_refused(
    driver: AppDriver, consortium: Consortium, hostile: bool, kind: str
) -> None:
    """A 1 GW meter (or appliance, EV charger, heat pump) declaring "solar" is refused with
    NOT_A_GENERATOR and is not registered; a pv and a battery declaring it are accepted."""
    alice = _setup(driver, consortium)
    code, _evs = _block(driver, alice, _device("fake", kind, 3, GW, energy_source="Solar"), hostile=hostile)
    assert code == DevicesCode.NOT_A_GENERATOR
    assert driver.query("/device/fake").value == b""
    assert _block(driver, alice, _device("pv", "pv", 4, 5_000, energy_source="solar"), hostile=hostile)[0] == 0
    battery = _device(
        "bat", "battery", 5, 5_000, energy_source="solar",
        capacity_wh=10_000, max_charge_w=5_000, max_discharge_w=5_000, efficiency_bp=9_000,
    )  # fmt: skip
    assert _block(driver, alice, battery, hostile=hostile)[0] == 0


@HOSTILE
def test_a_meter_measuring_a_pv_site_is_not_certified_twice(
    driver: AppDriver, consortium: Consortium, hostile: bool
) -> None:
    """alice's site meter measures her PV's export: registering it as a "solar" meter is
    refused; registered as a plain meter, with the PV and the meter both reporting the same
    3000 Wh of hour H, only the PV is issued (3000 Wh, not 6000)."""
    alice = _setup(
        driver, consortium,
        _device("pv-1", "pv", 1, 5_000, energy_source="solar"),
        _device("m-1", "meter", 3, 20_000),
        commissioned=["pv-1"],
    )  # fmt: skip
    solar_meter = _device("m-2", "meter", 6, 20_000, energy_source="solar")
    assert _block(driver, alice, solar_meter, hostile=hostile)[0] == DevicesCode.NOT_A_GENERATOR
    driver.block([], seconds=HOUR + 100)
    for device_id, n in (("pv-1", 1), ("m-1", 3)):
        hour = [
            Reading(device_id, 1, H - 60, H, 0, 0),
            Reading(device_id, 2, H, H + HOUR, 0, 3_000),
            Reading(device_id, 3, H + HOUR, H + HOUR + 60, 0, 3_000),
        ]
        assert [o for o, _ in _submit(driver, alice, n, *hour, hostile=hostile)] == ["accepted"] * 3
    _settle_issuance(driver)
    assert _bundles(driver, "pv-1") == [(H, 3_000)]
    assert _bundles(driver, "m-1") == []
    assert devices.hour_generation(driver.app.state, "m-1", H) == 0
    assert check_invariants(driver.app.state) == []


def test_a_meter_from_older_state_that_says_solar_never_issues(driver: AppDriver, consortium: Consortium) -> None:
    """A meter declaring "solar" and with export flow recorded for an hour (as older state or a
    genesis may hold) is passed over by issuance; the invariant refuses any issuance for it."""
    _setup(driver, consortium, _device("m-1", "meter", 3, 20_000))
    store = Branch(driver.app.state)
    meter = devices.get_device(store, "m-1")
    assert meter is not None
    devices.put_device(store, replace(meter, energy_source="solar"), meter)
    devices.add_hour_flow(store, "m-1", H, devices.HourFlow(3_000, 0, 0))
    block = BlockInfo(driver.chain_id, driver.height + 1, (H + 3 * HOUR) * 1_000_000_000)
    issuance.end_block(store, block)
    assert list(certificates.iter_device_bundles(store, "m-1")) == []
    assert invariants.generators_issue_once(store) is None
    # had it been issued (as main did), the invariant names it
    template = Bundle(
        bundle_id=NO_BUNDLE, device_id=meter.device_id, hour_start=H, start_wh=0, end_wh=0,
        owner=meter.owner, status=ACTIVE, energy_source="solar",
    )  # fmt: skip
    certificates.issue(store, block, template, 3_000)
    assert "non-generator" in (invariants.generators_issue_once(store) or "")


@HOSTILE
def test_hours_before_commissioning_are_not_issued(driver: AppDriver, consortium: Consortium, hostile: bool) -> None:
    """A PV declared commissioned at H + 2h exports 3000 Wh in each of hours H, H + 1h and
    H + 2h: only the last is issued; the two earlier hours are withheld with a
    generation_withheld event (reason before_commissioning), never issued later."""
    # the certifier's attestation covers every hour: the declared commissioning_date alone withholds
    alice = _setup(
        driver,
        consortium,
        _device("pv-1", "pv", 1, 5_000, energy_source="solar", commissioning_date=H + 2 * HOUR),
        commissioned=["pv-1"],
    )
    driver.block([], seconds=3 * HOUR + 100)
    readings = [Reading("pv-1", 1, H - 60, H, 0, 0)] + [
        Reading("pv-1", 2 + i, H + i * HOUR, H + (i + 1) * HOUR, 0, 3_000 * (i + 1)) for i in range(3)
    ]
    readings.append(Reading("pv-1", 5, H + 3 * HOUR, H + 3 * HOUR + 60, 0, 9_000))
    batch = dc.submit_readings([dc.sign_reading(_key(1), driver.chain_id, r) for r in readings])
    code, evs = _block(driver, alice, batch, hostile=hostile)
    assert code == 0
    evs += _settle_issuance(driver)
    withheld = sorted((int(a["hour"]), int(a["wh"]), a["reason"]) for t, a in evs if t == "generation_withheld")
    assert withheld == [(H, 3_000, "before_commissioning"), (H + HOUR, 3_000, "before_commissioning")]
    assert _bundles(driver, "pv-1") == [(H + 2 * HOUR, 3_000)]
    # the withheld hours stay unissued: issuing them again issues nothing
    store = Branch(driver.app.state)
    device = devices.get_device(store, "pv-1")
    assert device is not None
    sink = EventSink()
    issuance.issue_generation(
        store, BlockInfo(driver.chain_id, driver.height + 1, driver.time * 10**9), device, H, sink
    )
    assert certificates.issued_wh(store, "pv-1", H) == 0
    assert check_invariants(driver.app.state) == []


# ---- the clear-sky hold --------------------------------------------------------------------

AMSTERDAM = (52_370_000, 4_900_000)


@HOSTILE
def test_pv_energy_above_the_clear_sky_bound_is_held_for_the_certifier(
    driver: AppDriver, consortium: Consortium, hostile: bool
) -> None:
    """A PV on a site in Amsterdam claims 3000 Wh at 01:00-02:00 UTC on 1 January (night): the
    clear-sky bound is 0, so all of it is held (generation_withheld, above_clear_sky) and
    nothing issued, while a PV on a site without a location is issued as before. Only the
    certifier decides: alice cannot release; the certifier rejects that hour (never issued,
    a second decision is HOLD_DECIDED) and releases the next hour's 1000 Wh (issued at once)."""
    alice = _setup(
        driver, consortium,
        dc.register_site("site-l", "feeder-1", "nl", location=AMSTERDAM),
        _device("pv-l", "pv", 7, 5_000, site="site-l", energy_source="solar"),
        _device("pv-1", "pv", 1, 5_000, energy_source="solar"),
        commissioned=["pv-l", "pv-1"],
    )  # fmt: skip
    certifier = consortium.member("certissuer/registry")
    assert clearsky.bound_wh(5_000, *AMSTERDAM, H) == clearsky.bound_wh(5_000, *AMSTERDAM, H + HOUR) == 0
    driver.block([], seconds=2 * HOUR + 100)
    evs: Events = []
    for device_id, n in (("pv-l", 7), ("pv-1", 1)):
        readings = [
            Reading(device_id, 1, H - 60, H, 0, 0),
            Reading(device_id, 2, H, H + HOUR, 0, 3_000),
            Reading(device_id, 3, H + HOUR, H + 2 * HOUR, 0, 4_000),
            Reading(device_id, 4, H + 2 * HOUR, H + 2 * HOUR + 60, 0, 4_000),
        ]
        batch = dc.submit_readings([dc.sign_reading(_key(n), driver.chain_id, r) for r in readings])
        code, got = _block(driver, alice, batch, hostile=hostile)
        assert code == 0
        assert [t for t, _ in got if t.startswith("reading_")] == ["reading_accepted"] * 4
        evs += got
    evs += _settle_issuance(driver)
    held = sorted(
        (a["device"], int(a["hour"]), int(a["wh"]), a["status"]) for t, a in evs if t == "generation_withheld"
    )
    assert held == [("pv-l", H, 3_000, "held"), ("pv-l", H + HOUR, 1_000, "held")]
    assert _bundles(driver, "pv-l") == []
    assert _bundles(driver, "pv-1") == [(H, 3_000), (H + HOUR, 1_000)]  # no location: nothing held

    def decide(who: Identity, msg: Message) -> tuple[int, Events]:
        return _block(driver, who, msg, hostile=hostile)

    release = cpb.ReleaseHeldGeneration(device_id="pv-l", hour_start=H)
    assert decide(alice, release)[0] == Code.UNAUTHORIZED
    code, evs = decide(certifier, cpb.RejectHeldGeneration(device_id="pv-l", hour_start=H, reason="night"))
    assert code == 0
    assert [(int(a["hour"]), int(a["wh"])) for t, a in evs if t == "held_generation_rejected"] == [(H, 3_000)]
    assert decide(certifier, release)[0] == CertificatesCode.HOLD_DECIDED
    unknown = cpb.ReleaseHeldGeneration(device_id="pv-l", hour_start=H + 5 * HOUR)
    assert decide(certifier, unknown)[0] == CertificatesCode.UNKNOWN_HOLD
    code, evs = decide(certifier, cpb.ReleaseHeldGeneration(device_id="pv-l", hour_start=H + HOUR))
    assert code == 0
    assert [t for t, _ in evs if t in ("held_generation_released", "bundle_issued")] == [
        "held_generation_released",
        "bundle_issued",
    ]
    assert _bundles(driver, "pv-l") == [(H + HOUR, 1_000)]
    _settle_issuance(driver)
    assert _bundles(driver, "pv-l") == [(H + HOUR, 1_000)]  # the rejected hour is never issued
    rejected = certificates.get_hold(driver.app.state, "pv-l", H)
    assert rejected is not None
    assert (rejected.held_wh, rejected.status) == (3_000, HoldStatus.REJECTED)
    answer = driver.query(f"/clear_sky_hold/pv-l/{H + HOUR}", prove=True)
    released = cpb.ClearSkyHold.FromString(answer.value)
    assert (released.released_wh, released.held_wh, released.status) == (1_000, 0, cpb.HOLD_STATUS_RELEASED)
    assert answer.proof_ops.ops
    assert check_invariants(driver.app.state) == []


@HOSTILE
def test_a_hold_lapses_with_its_hours_recorded_energy_and_leaves_live_state_provably(
    driver: AppDriver, consortium: Consortium, hostile: bool
) -> None:
    """Two night hours of a PV in Amsterdam are held (3000 and 1000 Wh). Once the devices'
    pruning has passed them, their recorded generation may be gone: a release would issue
    nothing while its event announced the Wh, so release and reject answer HOLD_LAPSED, and
    certificates pruning archives both holds with their hour-index entries (certificates_archived
    holds=2); an auditor proves a hold from the archive against the commitment and app hash."""
    gridop = consortium.member("gridop/control")
    # tariffs: the market settles the intervals, so the devices' pruning is not held back for them
    tariffs = grid_pb2.SetTariffs(supplier=consortium.member("utility/treasury").address, retail_per_kwh=30)
    assert _block(driver, gridop, tariffs, hostile=False)[0] == 0
    alice = _setup(
        driver, consortium,
        dc.register_site("site-l", "feeder-1", "nl", location=AMSTERDAM),
        _device("pv-l", "pv", 7, 5_000, site="site-l", energy_source="solar"),
        commissioned=["pv-l"],
    )  # fmt: skip
    certifier = consortium.member("certissuer/registry")
    driver.block([], seconds=2 * HOUR + 100)
    readings = [
        Reading("pv-l", 1, H - 60, H, 0, 0),
        Reading("pv-l", 2, H, H + HOUR, 0, 3_000),
        Reading("pv-l", 3, H + HOUR, H + 2 * HOUR, 0, 4_000),
        Reading("pv-l", 4, H + 2 * HOUR, H + 2 * HOUR + 60, 0, 4_000),
    ]
    assert [o for o, _ in _submit(driver, alice, 7, *readings, hostile=hostile)] == ["accepted"] * 4
    _settle_issuance(driver)
    hold_keys = [certkeys.clear_sky_hold("pv-l", h) for h in (H, H + HOUR)]
    stored = [driver.app.state.get(k) for k in hold_keys]
    assert all(stored)
    assert list(certificates.iter_hold_ages(driver.app.state)) == [(H, "pv-l"), (H + HOUR, "pv-l")]
    _exported, fresh = export_and_import(driver.app.state)  # the holds travel; their index is rebuilt
    assert differences(CERTIFICATES, driver.app.state, fresh) == []

    archived: list[dict[str, str]] = []
    results = [driver.block([], seconds=retention(driver.app.state) + 3 * HOUR)]
    for _ in range(5):  # pruning is bounded per block: a few blocks until nothing is left
        if devices.pruned_before(driver.app.state) >= H + 2 * HOUR and not any(
            True for _ in certificates.iter_hold_ages(driver.app.state)
        ):
            break
        results.append(driver.block([]))
    for result in results:
        archived += [
            {a.key: a.value for a in e.attributes} for e in result.response.events if e.type == CERTIFICATES_ARCHIVED
        ]
    assert devices.pruned_before(driver.app.state) >= H + 2 * HOUR
    for msg in (
        cpb.ReleaseHeldGeneration(device_id="pv-l", hour_start=H),
        cpb.RejectHeldGeneration(device_id="pv-l", hour_start=H + HOUR, reason="late"),
    ):
        code, evs = _block(driver, certifier, msg, hostile=hostile)
        assert code == CertificatesCode.HOLD_LAPSED
        assert not [t for t, _ in evs if t.startswith("held_generation")]
    assert _bundles(driver, "pv-l") == []
    assert [driver.app.state.get(k) for k in hold_keys] == [None, None]
    assert list(certificates.iter_hold_ages(driver.app.state)) == []
    assert sum(int(e["holds"]) for e in archived) == 2

    (event,) = [e for e in archived if int(e["holds"])]
    block = archive.archived_block(CERTIFICATES_ARCHIVED, event)
    at = next(r for r in results if any(e.type == CERTIFICATES_ARCHIVED for e in r.response.events))
    assert at.height == block.height
    last = driver.block([])
    commitment = MessageToDict(driver.query(f"/archive_commitment/{block.height}", prove=True))
    value = archive.verify_archived_record(archive.prove_record(block, hold_keys[0]), commitment, last.app_hash)
    assert value == stored[0]
    held = cpb.ClearSkyHold.FromString(value)
    assert (held.held_wh, held.status) == (3_000, cpb.HOLD_STATUS_HELD)
    assert check_invariants(driver.app.state) == []


@pytest.mark.parametrize(
    ("latitude", "longitude"),
    [(52_000_000, None), (None, 4_000_000), (90_000_001, 0), (0, -180_000_001)],
)
def test_a_site_location_is_both_coordinates_in_range(
    driver: AppDriver, consortium: Consortium, latitude: int | None, longitude: int | None
) -> None:
    """A site with one coordinate only, or one out of range, is refused as INVALID_ARGUMENT."""
    driver.block([])
    alice = consortium.member("community-a/alice")
    msg = dc.register_site("site-x", "feeder-1")
    if latitude is not None:
        msg.latitude_udeg = latitude
    if longitude is not None:
        msg.longitude_udeg = longitude
    result = driver.block([signed(driver, alice, msg)], check=False)
    assert result.codes == (Code.INVALID_ARGUMENT,)
    assert driver.query("/site/site-x").value == b""
