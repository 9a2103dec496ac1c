"""Devices: registry, device-signed readings (every rejection's code), duplicates, batteries."""

from __future__ import annotations

from math import isqrt

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from google.protobuf.message import Message
from gridledger.devices.v1 import devices_pb2
from gridwire.reading import Reading
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from abci_app import crypto
from abci_app.devices import keeper as devices_keeper
from abci_app.devices.errors import DevicesCode
from abci_app.devices.handlers import apportion
from abci_app.errors import Code
from abci_app.pb import abci
from clients import devices as dc
from clients.ops.consortium import Consortium
from clients.pki import Identity
from tests.support.driver import GENESIS_TIME, AppDriver
from tests.unit.helpers import signed

T = GENESIS_TIME + 86_400  # the clock after _setup: readings end at or before it, after registration


def _key(n: int) -> Ed25519PrivateKey:
    return Ed25519PrivateKey.from_private_bytes(bytes([n]) * 32)


def _run(driver: AppDriver, who: Identity, *msgs: Message) -> tuple[int, list[tuple[str, dict[str, str]]]]:
    result = driver.block([signed(driver, who, *msgs)], check=False)
    tx = result.tx_results[0]
    return tx.code, [(e.type, {a.key: a.value for a in e.attributes}) for e in tx.events]


def _ok(driver: AppDriver, who: Identity, *msgs: Message) -> list[tuple[str, dict[str, str]]]:
    code, evs = _run(driver, who, *msgs)
    assert code == 0, evs
    return evs


def _reading_events(evs: list[tuple[str, dict[str, str]]]) -> list[tuple[str, str]]:
    """(event type, code or seq) of each reading's outcome, in order."""
    return [(t, a.get("code", a["seq"])) for t, a in evs if t.startswith("reading_")]


def _r(device: str, seq: int, start: int, end: int, imp: int, **kw: int) -> Reading:
    return Reading(device, seq, start, end, imp, kw.pop("exp", 0), **kw)


def _setup(driver: AppDriver, consortium: Consortium, *extra: Message) -> None:
    """alice's site-a with pv-1 (relayed by her gateway), pv-2 and the `extra` devices,
    registered a day before T; then the clock moves on to T."""
    driver.block([])
    alice = consortium.member("community-a/alice")
    gateway = consortium.member("community-a/gateway")
    _ok(driver, alice, dc.register_site("site-a", "feeder-1", "nl"))
    pv1 = dc.register_device("pv-1", "site-a", "pv", dc.device_public_key(_key(1)), 5_000, gateway=gateway.address)
    pv2 = dc.register_device("pv-2", "site-a", "pv", dc.device_public_key(_key(2)), 5_000)
    _ok(driver, alice, pv1, pv2, *extra)
    driver.block([], seconds=T - driver.time)


def _submit(driver: AppDriver, who: Identity, key: Ed25519PrivateKey, *readings: Reading) -> list[tuple[str, str]]:
    batch = dc.submit_readings([dc.sign_reading(key, driver.chain_id, r) for r in readings])
    return _reading_events(_ok(driver, who, batch))


def _battery(key: Ed25519PrivateKey, capacity_wh: int) -> Message:
    """Registration of alice's battery bat-1 on site-a (5 kW each way, lossless)."""
    return dc.register_device(
        "bat-1", "site-a", "battery", dc.device_public_key(key), 5_000,
        capacity_wh=capacity_wh, max_charge_w=5_000, max_discharge_w=5_000, efficiency_bp=10_000,
    )  # fmt: skip


def test_every_rejection_has_its_code(driver: AppDriver, consortium: Consortium) -> None:
    _setup(driver, consortium)
    alice = consortium.member("community-a/alice")
    gw = consortium.member("community-a/gateway")
    bob = consortium.member("community-a/bob")
    operator = consortium.member("gridop/control")
    k1 = _key(1)
    early = _r("pv-2", 1, GENESIS_TIME, GENESIS_TIME + 900, 0)  # before pv-2 was registered
    assert _submit(driver, alice, _key(2), early) == [
        ("reading_rejected", str(int(DevicesCode.READING_BEFORE_REGISTRATION)))
    ]
    base = _r("pv-1", 1, T - 3600, T - 2700, 100)
    assert _submit(driver, gw, k1, base) == [("reading_accepted", "1")]
    nxt = _r("pv-1", 2, T - 2700, T - 1800, 200)

    def code_of(who: Identity, key: Ed25519PrivateKey, r: Reading) -> int:
        ((kind, code),) = _submit(driver, who, key, r)
        assert kind == "reading_rejected"
        return int(code)

    assert code_of(gw, k1, _r("nope", 2, T - 2700, T - 1800, 200)) == DevicesCode.UNKNOWN_DEVICE
    assert code_of(gw, _key(9), nxt) == DevicesCode.BAD_READING_SIGNATURE  # forged
    assert code_of(gw, _key(2), nxt) == DevicesCode.BAD_READING_SIGNATURE  # another device's key
    assert code_of(bob, k1, nxt) == DevicesCode.RELAY_NOT_ALLOWED
    assert code_of(gw, k1, _r("pv-1", 1, T - 2700, T - 1800, 200)) == DevicesCode.SEQ_REPLAYED
    assert code_of(gw, k1, _r("pv-1", 2, T - 3000, T - 1800, 200)) == DevicesCode.INTERVAL_OVERLAP
    assert code_of(gw, k1, _r("pv-1", 2, T - 1800, T - 1800, 200)) == DevicesCode.BAD_INTERVAL
    assert code_of(gw, k1, _r("pv-1", 2, T - 1800, T - 1741, 200)) == DevicesCode.READING_TOO_SHORT  # 59 s
    assert code_of(gw, k1, _r("pv-1", 2, T - 2700, T - 1800, 99)) == DevicesCode.REGISTER_DECREASED
    # 5 kW × 900 s = 1250 Wh: one more is above nameplate
    assert code_of(gw, k1, _r("pv-1", 2, T - 2700, T - 1800, 100 + 1251)) == DevicesCode.ABOVE_NAMEPLATE
    future = driver.time + 1 + 300 + 1
    assert code_of(gw, k1, _r("pv-1", 2, future - 900, future, 200)) == DevicesCode.INTERVAL_IN_FUTURE
    _ok(driver, operator, devices_pb2.SuspendDevice(device_id="pv-1", reason="tamper alarm"))
    assert code_of(gw, k1, nxt) == DevicesCode.DEVICE_SUSPENDED
    _ok(driver, alice, devices_pb2.ReinstateDevice(device_id="pv-1"))
    _ok(driver, alice, dc.rotate_key("pv-1", dc.device_public_key(_key(11))))
    assert code_of(gw, k1, nxt) == DevicesCode.RETIRED_KEY
    # the owner may relay too; the new key signs; exactly at nameplate is fine
    at_limit = _r("pv-1", 2, T - 2700, T - 1800, 100 + 1250)
    assert _submit(driver, alice, _key(11), at_limit) == [("reading_accepted", "2")]
    # the tx itself fails only for a non-member or a malformed message
    outsider = consortium.cas["community-a"].issue("stranger.community-a", ["prosumer"])
    batch = dc.submit_readings([dc.sign_reading(_key(11), driver.chain_id, nxt)])
    assert _run(driver, outsider, batch)[0] != 0
    bad = dc.submit_readings([devices_pb2.SignedReading(device_id="pv-1", seq=3, signature=b"x")])
    assert _run(driver, gw, bad)[0] == 16  # INVALID_ARGUMENT


def test_battery_soc_out_of_bounds_and_rules(driver: AppDriver, consortium: Consortium) -> None:
    kb = _key(5)
    _setup(driver, consortium, _battery(kb, 1_000))
    alice = consortium.member("community-a/alice")
    first = _r("bat-1", 1, T - 3600, T - 2700, 0, charged_wh=0, discharged_wh=0, soc_wh=900)
    over = _r("bat-1", 2, T - 2700, T - 1800, 0, charged_wh=101, discharged_wh=0, soc_wh=1000)
    fits = _r("bat-1", 2, T - 2700, T - 1800, 0, charged_wh=100, discharged_wh=0, soc_wh=1000)
    out = _submit(driver, alice, kb, first, over, fits)
    assert out == [
        ("reading_accepted", "1"),
        ("reading_rejected", str(int(DevicesCode.SOC_OUT_OF_BOUNDS))),
        ("reading_accepted", "2"),
    ]
    view = devices_pb2.BatteryView.FromString(driver.query("/battery/bat-1").value)
    assert view.soc_mwh == 1_000_000
    assert view.capacity_wh == 1_000
    _ok(driver, alice, dc.battery_rules("bat-1", 10, 30, reserve_bp=2_000, green_only=True))
    view = devices_pb2.BatteryView.FromString(driver.query("/battery/bat-1").value)
    assert view.has_rules
    assert view.rules.reserve_bp == 2_000
    assert view.rules.green_only
    assert _run(driver, alice, dc.battery_rules("pv-1", 1, 2))[0] == DevicesCode.NOT_A_BATTERY


def test_bad_readings_do_not_sink_the_good_ones(driver: AppDriver, consortium: Consortium) -> None:
    _setup(driver, consortium)
    gw = consortium.member("community-a/gateway")
    k1 = _key(1)
    out = _submit(
        driver, gw, k1,
        _r("pv-1", 1, T - 3600, T - 2700, 100),
        _r("pv-1", 2, T - 2700, T - 1800, 50),  # decreasing
        _r("pv-1", 2, T - 2700, T - 1800, 400),
        _r("pv-1", 3, T - 1800, T - 900, 100_000),  # above nameplate
    )  # fmt: skip
    code = str(int(DevicesCode.REGISTER_DECREASED))
    assert out[:3] == [("reading_accepted", "1"), ("reading_rejected", code), ("reading_accepted", "2")]
    assert out[3] == ("reading_rejected", str(int(DevicesCode.ABOVE_NAMEPLATE)))
    last = devices_pb2.ReadingState.FromString(driver.query("/reading/pv-1").value)
    assert (last.seq, last.import_wh) == (2, 400)
    energy = devices_pb2.IntervalEnergy.FromString(driver.query(f"/energy/pv-1/{T - 2700}").value)
    assert energy.import_wh == 300


def test_resent_batch_is_all_duplicates_and_changes_nothing(driver: AppDriver, consortium: Consortium) -> None:
    _setup(driver, consortium)
    gw = consortium.member("community-a/gateway")
    readings = [_r("pv-1", i + 1, T - 3600 + 600 * i, T - 3000 + 600 * i, 100 * (i + 1)) for i in range(5)]
    assert [k for k, _ in _submit(driver, gw, _key(1), *readings)] == ["reading_accepted"] * 5

    def devices_state() -> list[tuple[bytes, bytes]]:
        return list(driver.app.state.iter_range(b"\x20", b"\x30"))

    before = devices_state()
    assert [k for k, _ in _submit(driver, gw, _key(1), *readings)] == ["reading_duplicate"] * 5
    assert devices_state() == before


def test_queries_lists_and_site_move(driver: AppDriver, consortium: Consortium) -> None:
    _setup(driver, consortium)
    alice = consortium.member("community-a/alice")
    operator = consortium.member("gridop/control")
    listing = devices_pb2.DeviceList.FromString(driver.query(f"/devices/owner/{alice.address.hex()}?limit=1").value)
    assert [d.device_id for d in listing.devices] == ["pv-1"]
    assert listing.next
    assert _run(driver, alice, devices_pb2.MoveSite(site_id="site-a", feeder="feeder-2"))[0] != 0
    _ok(driver, operator, devices_pb2.MoveSite(site_id="site-a", feeder="feeder-2"))
    moved = devices_pb2.DeviceList.FromString(driver.query("/devices/feeder/feeder-2").value)
    assert [d.device_id for d in moved.devices] == ["pv-1", "pv-2"]
    assert not devices_pb2.DeviceList.FromString(driver.query("/devices/feeder/feeder-1").value).devices
    bob = consortium.member("community-a/bob")
    _ok(driver, alice, devices_pb2.TransferDevice(device_id="pv-2", new_owner=bob.address))
    dev = devices_pb2.Device.FromString(driver.query("/device/pv-2", prove=True).value)
    assert dev.owner == bob.address
    assert dev.feeder == "feeder-2"
    assert devices_pb2.Site.FromString(driver.query("/site/site-a").value).feeder == "feeder-2"


def test_apportion_sums_to_the_delta() -> None:
    parts = apportion(100, 2000, 900, 1000, 7)
    assert [p[0] for p in parts] == [0, 900, 1800]
    assert sum(p[1] for p in parts) == 1000
    assert sum(p[2] for p in parts) == 7


def _model(steps: list[tuple[int, int]], start_soc_wh: int, cap_wh: int, eff_bp: int) -> tuple[list[bool], int]:
    """A plain model of the documented integer rule."""
    root = isqrt(eff_bp * 10_000)
    soc = start_soc_wh * 1000
    accepted = []
    for c, d in steps:
        new = soc + c * 1000 * root // 10_000 - (d * 10_000_000 + root - 1) // root
        ok = 0 <= new <= cap_wh * 1000
        accepted.append(ok)
        if ok:
            soc = new
    return accepted, soc


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    steps=st.lists(st.tuples(st.integers(0, 1_500), st.integers(0, 1_500)), min_size=1, max_size=8),
    start=st.integers(0, 2_000),
    eff=st.integers(1, 10_000),
)
def test_battery_soc_follows_the_model(
    consortium: Consortium, steps: list[tuple[int, int]], start: int, eff: int
) -> None:
    driver = AppDriver(consortium)
    driver.block([])
    alice = consortium.member("community-a/alice")
    key = _key(7)
    _ok(driver, alice, dc.register_site("site-b", "feeder-1"))
    bat = dc.register_device(
        "bat-h", "site-b", "battery", dc.device_public_key(key), 10_000,
        capacity_wh=2_000, max_charge_w=10_000, max_discharge_w=10_000, efficiency_bp=eff,
    )  # fmt: skip
    _ok(driver, alice, bat)
    driver.block([], seconds=T - driver.time)
    readings = [_r("bat-h", 1, T - 86_000, T - 85_100, 0, soc_wh=start)]
    charged = discharged = 0
    for i, (c, d) in enumerate(steps):
        charged, discharged = charged + c, discharged + d
        s = T - 85_100 + 900 * i
        readings.append(_r("bat-h", i + 2, s, s + 900, 0, charged_wh=charged, discharged_wh=discharged))
    out = _submit(driver, alice, key, *readings)
    accepted, soc = _model(steps, start, 2_000, eff)
    if start > 2_000:
        assert out[0][0] == "reading_rejected"
        return
    # after a rejection the registers of later readings no longer step from an accepted one,
    # so compare only up to the first rejection
    first_bad = accepted.index(False) if False in accepted else len(accepted)
    assert [k for k, _ in out[1 : first_bad + 1]] == ["reading_accepted"] * first_bad
    view = devices_pb2.BatteryView.FromString(driver.query("/battery/bat-h").value)
    assert 0 <= view.soc_mwh <= 2_000_000
    if first_bad == len(accepted):
        assert view.soc_mwh == soc


def test_sites_are_indexed_by_owner(driver: AppDriver, consortium: Consortium) -> None:
    """The sites-by-owner index (what hourly matching reads instead of every site) holds each
    owner's sites and only those, through a feeder move."""
    _setup(driver, consortium)
    alice = consortium.member("community-a/alice")
    bob = consortium.member("community-a/bob")
    _ok(driver, alice, dc.register_site("site-a2", "feeder-1", "nl"))
    _ok(driver, bob, dc.register_site("site-b", "feeder-1", "nl"))
    _ok(driver, consortium.member("gridop/control"), devices_pb2.MoveSite(site_id="site-a", feeder="feeder-2"))
    state = driver.app.state
    assert list(devices_keeper.iter_owner_sites(state, alice.address)) == ["site-a", "site-a2"]
    assert list(devices_keeper.iter_owner_sites(state, bob.address)) == ["site-b"]
    assert list(devices_keeper.iter_owner_sites(state, b"\x00" * 20)) == []


def test_physically_impossible_devices_are_refused(driver: AppDriver, consortium: Consortium) -> None:
    """A nameplate above 1 GW or a battery above 10 GWh is refused as INVALID_ARGUMENT: with
    an unbounded nameplate any reading would pass the nameplate check."""
    _setup(driver, consortium)
    alice = consortium.member("community-a/alice")
    key = dc.device_public_key(_key(9))
    huge = dc.register_device("pv-9", "site-a", "pv", key, 1_000_000_001)
    assert _run(driver, alice, huge)[0] == Code.INVALID_ARGUMENT
    big_battery = dc.register_device(
        "bat-9", "site-a", "battery", key, 5_000,
        capacity_wh=10_000_000_001, max_charge_w=5_000, max_discharge_w=5_000, efficiency_bp=9_000,
    )  # fmt: skip
    assert _run(driver, alice, big_battery)[0] == Code.INVALID_ARGUMENT
    assert _run(driver, alice, dc.register_device("pv-9", "site-a", "pv", key, 1_000_000_000))[0] == 0


def _check(driver: AppDriver, raw: bytes) -> int:
    return driver.app.check_tx(abci.RequestCheckTx(tx=raw, type=abci.NEW)).code


def test_checktx_verifies_a_generators_reading_and_leaves_the_rest_to_the_block(
    driver: AppDriver, consortium: Consortium
) -> None:
    """In CheckTx a PV's reading has its signature verified (once: the block reuses the verdict)
    and writes nothing to the mempool's state; the block judges it in full, a forged one too."""
    _setup(driver, consortium)
    alice = consortium.member("community-a/alice")
    assert _submit(driver, alice, _key(2), _r("pv-2", 1, T - 1800, T - 900, 0, exp=0)) == [("reading_accepted", "1")]
    good = signed(
        driver,
        alice,
        dc.submit_readings([dc.sign_reading(_key(2), driver.chain_id, _r("pv-2", 2, T - 900, T - 600, 0, exp=100))]),
    )
    before = crypto.verify_cached.cache_info()
    assert _check(driver, good) == 0
    checked = crypto.verify_cached.cache_info()
    assert checked.misses == before.misses + 1  # the reading's signature, verified in CheckTx
    last = devices_keeper.get_reading(driver.app.check_state, "pv-2")
    assert last is not None
    assert last.seq == 1  # nothing of the reading in the mempool's state
    result = driver.block([good], check=False)
    assert crypto.verify_cached.cache_info().misses == checked.misses  # the block verified nothing again
    evs = [(e.type, {a.key: a.value for a in e.attributes}) for e in result.tx_results[0].events]
    assert _reading_events(evs) == [("reading_accepted", "2")]
    forged = Reading("pv-2", 3, T - 600, T - 300, 0, 200)
    bad = dc.submit_readings([dc.sign_reading(_key(9), driver.chain_id, forged)])
    raw = signed(driver, alice, bad)
    assert _check(driver, raw) == 0  # a reading never fails its tx, in CheckTx as in a block
    evs = [
        (e.type, {a.key: a.value for a in e.attributes}) for e in driver.block([raw], check=False).tx_results[0].events
    ]
    assert _reading_events(evs) == [("reading_rejected", str(int(DevicesCode.BAD_READING_SIGNATURE)))]


def test_checktx_applies_a_batterys_reading(driver: AppDriver, consortium: Consortium) -> None:
    """A battery's reading is applied in CheckTx: the mempool's state holds the charge it reports,
    which bounds its owner's sell order checked next (orders.deliverable_wh)."""
    kb = _key(5)
    _setup(driver, consortium, _battery(kb, 10_000))
    alice = consortium.member("community-a/alice")
    first = _r("bat-1", 1, T - 1800, T - 900, 0, charged_wh=0, discharged_wh=0, soc_wh=1_000)
    assert _submit(driver, alice, kb, first) == [("reading_accepted", "1")]
    charged = _r("bat-1", 2, T - 900, T, 0, charged_wh=1_000, discharged_wh=0, soc_wh=2_000)
    raw = signed(driver, alice, dc.submit_readings([dc.sign_reading(kb, driver.chain_id, charged)]))
    assert _check(driver, raw) == 0
    state = devices_keeper.get_battery(driver.app.check_state, "bat-1")
    assert state is not None
    assert state.soc_mwh == 2_000_000


def test_a_readings_events_are_indexed_by_device_only(driver: AppDriver, consortium: Consortium) -> None:
    """CometBFT indexes a reading's outcome event by its device (and a rejection by its code) and
    nothing else, so each reading costs a node one index write; every attribute stays in the results."""
    _setup(driver, consortium)
    alice = consortium.member("community-a/alice")
    good = dc.sign_reading(_key(2), driver.chain_id, _r("pv-2", 1, T - 1800, T - 900, 0))
    forged = dc.sign_reading(_key(9), driver.chain_id, _r("pv-2", 2, T - 900, T - 600, 0))
    result = driver.block([signed(driver, alice, dc.submit_readings([good, forged, good]))], check=False)
    indexed = {
        e.type: ({a.key for a in e.attributes if a.index}, {a.key for a in e.attributes})
        for e in result.tx_results[0].events
    }
    assert indexed["reading_accepted"] == (
        {"device"},
        {"device", "seq", "start", "end", "import_wh", "export_wh", "span_start"},
    )
    assert indexed["reading_rejected"] == ({"device", "code"}, {"device", "seq", "code", "reason"})
    assert indexed["reading_duplicate"] == ({"device"}, {"device", "seq", "status"})
    assert indexed["message"][0] == indexed["message"][1] == {"sender", "action"}  # other events: every attribute
