"""Devices: bounded work for readings signed by retired keys, who may register a device on a
site (and where it is), and readings after a gap."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from google.protobuf.message import Message
from gridledger.devices.v1 import devices_pb2
from gridwire.reading import Reading

from abci_app.crypto import verify_cached
from abci_app.devices import handlers
from abci_app.devices import keeper as devices
from abci_app.devices.domain import DOMAIN
from abci_app.devices.errors import DevicesCode
from clients import devices as dc
from clients.ops.consortium import Consortium
from clients.pki import Identity
from tests.support.driver import GENESIS_TIME, AppDriver
from tests.support.genesis_roundtrip import differences, export_and_import
from tests.unit.helpers import signed
from tests.unit.test_market import GRACE, L, Market

T = GENESIS_TIME + 3 * 86_400  # readings end at or before T, and start after their devices' registration
Events = list[tuple[str, dict[str, str]]]


def _key(n: int) -> Ed25519PrivateKey:
    return Ed25519PrivateKey.from_private_bytes(bytes([n]) * 32)


def _pub(n: int) -> bytes:
    return dc.device_public_key(_key(n))


def _run(driver: AppDriver, who: Identity, *msgs: Message) -> tuple[int, Events]:
    tx = driver.block([signed(driver, who, *msgs)], check=False).tx_results[0]
    return tx.code, [(e.type, {a.key: a.value for a in e.attributes}) for e in tx.events]


def _ok(driver: AppDriver, who: Identity, *msgs: Message) -> Events:
    code, evs = _run(driver, who, *msgs)
    assert code == 0, evs
    return evs


def _submit(driver: AppDriver, who: Identity, key: Ed25519PrivateKey, *readings: Reading) -> list[tuple[str, str]]:
    """(outcome, code or seq) of each reading."""
    evs = _ok(driver, who, dc.submit_readings([dc.sign_reading(key, driver.chain_id, r) for r in readings]))
    return [(t.removeprefix("reading_"), a.get("code", a["seq"])) for t, a in evs if t.startswith("reading_")]


def _until_t(driver: AppDriver) -> None:
    """Move the clock on to T (after the test's registrations, before its readings)."""
    driver.block([], seconds=T - driver.time)


def _site(driver: AppDriver, who: Identity, site: str = "site-a", feeder: str = "feeder-1", region: str = "nl") -> None:
    _ok(driver, who, dc.register_site(site, feeder, region))


# ---- 1. retired keys: bounded work ---------------------------------------------------------


def test_only_the_most_recent_retired_keys_answer_retired_key(
    driver: AppDriver, consortium: Consortium, monkeypatch: pytest.MonkeyPatch
) -> None:
    driver.block([])
    alice = consortium.member("community-a/alice")
    _site(driver, alice)
    _ok(driver, alice, dc.register_device("pv-1", "site-a", "pv", _pub(1), 5_000))
    _until_t(driver)
    assert _submit(driver, alice, _key(1), Reading("pv-1", 1, T - 3600, T - 2700, 0, 0)) == [("accepted", "1")]
    # keys 1 → 2 → … → 20; two rotations share a block (same retired-at time)
    for n in range(2, 20, 2):
        _ok(driver, alice, dc.rotate_key("pv-1", _pub(n)), dc.rotate_key("pv-1", _pub(n + 1)))
    _ok(driver, alice, dc.rotate_key("pv-1", _pub(20)))
    # newest first; keys retired in the same block in descending key order
    tied = sorted((15, 16), key=_pub, reverse=True)
    newest = [19, *sorted((17, 18), key=_pub, reverse=True), tied[0]]
    assert devices.recent_retired(driver.app.state, "pv-1") == [_pub(n) for n in newest]
    nxt = Reading("pv-1", 2, T - 2700, T - 1800, 0, 100)
    retired = str(int(DevicesCode.RETIRED_KEY))
    bad = str(int(DevicesCode.BAD_READING_SIGNATURE))
    # the 4 most recent retired keys answer RETIRED_KEY, older ones (still refused) a bad signature
    outcomes = [_submit(driver, alice, _key(n), nxt)[0] for n in (*newest, tied[1], 1)]
    assert outcomes == [("rejected", retired)] * 4 + [("rejected", bad)] * 2
    # no retired key, however old, can come back
    for n in (1, 15, 19):
        assert _run(driver, alice, dc.rotate_key("pv-1", _pub(n)))[0] == DevicesCode.KEY_NOT_NEW

    # a batch of forged readings costs at most 1 + RECENT_RETIRED_KEYS verifications each
    calls: list[int] = []

    def counting(key: bytes, signature: bytes, message: bytes) -> bool:
        calls.append(1)
        return verify_cached(key, signature, message)

    monkeypatch.setattr(handlers, "verify_cached", counting)
    forged = [Reading("pv-1", 2 + i, T - 2700, T - 1800, 0, i) for i in range(50)]
    assert {o for o, _ in _submit(driver, alice, _key(99), *forged)} == {"rejected"}
    runs = 2  # ProcessProposal and FinalizeBlock may both execute the tx
    assert len(calls) <= runs * len(forged) * (1 + devices.RECENT_RETIRED_KEYS)
    monkeypatch.undo()
    assert _submit(driver, alice, _key(20), nxt) == [("accepted", "2")]

    # the index follows from the retired keys: a genesis round trip rebuilds it byte for byte
    _exported, fresh = export_and_import(driver.app.state, chain_id=driver.chain_id)
    assert differences(DOMAIN, driver.app.state, fresh) == []
    assert devices.recent_retired(fresh, "pv-1") == devices.recent_retired(driver.app.state, "pv-1")


# ---- 2. devices on a site: its owner registers them, they are where the site is ------------


def test_only_the_site_owner_registers_devices_on_a_site(driver: AppDriver, consortium: Consortium) -> None:
    driver.block([])
    alice = consortium.member("community-a/alice")
    bob = consortium.member("community-a/bob")
    gateway = consortium.member("community-a/gateway")
    _site(driver, alice)
    meter = dc.register_device("m-evil", "site-a", "meter", _pub(1), 20_000)
    # bob cannot put a meter (billed to alice, the site's owner) on alice's site, not even
    # through his org's gateway, nor by naming alice's site in a gateway registration for bob
    assert _run(driver, bob, meter)[0] == DevicesCode.NOT_SITE_OWNER
    meter.owner = bob.address
    assert _run(driver, gateway, meter)[0] == DevicesCode.NOT_SITE_OWNER
    assert driver.query("/device/m-evil").value == b""
    # alice may, and so may her org's gateway on her behalf
    meter.owner = alice.address
    _ok(driver, gateway, meter)
    _ok(driver, alice, dc.register_device("pv-1", "site-a", "pv", _pub(2), 5_000))
    for device_id in ("m-evil", "pv-1"):
        assert devices_pb2.Device.FromString(driver.query(f"/device/{device_id}").value).owner == alice.address


def test_a_device_is_on_its_sites_feeder_and_region(driver: AppDriver, consortium: Consortium) -> None:
    driver.block([])
    alice = consortium.member("community-a/alice")
    operator = consortium.member("gridop/control")
    _site(driver, alice, feeder="feeder-1", region="nl")
    wrong_feeder = dc.register_device("pv-1", "site-a", "pv", _pub(1), 5_000, feeder="feeder-9")
    wrong_region = dc.register_device("pv-1", "site-a", "pv", _pub(1), 5_000, grid_region="de")
    assert _run(driver, alice, wrong_feeder)[0] == DevicesCode.SITE_MISMATCH
    assert _run(driver, alice, wrong_region)[0] == DevicesCode.SITE_MISMATCH
    # empty means the site's; the site's own values may be repeated
    _ok(driver, alice, dc.register_device("pv-1", "site-a", "pv", _pub(1), 5_000))
    _ok(driver, alice, dc.register_device("pv-2", "site-a", "pv", _pub(2), 5_000, feeder="feeder-1", grid_region="nl"))
    for device_id in ("pv-1", "pv-2"):
        dev = devices_pb2.Device.FromString(driver.query(f"/device/{device_id}").value)
        assert (dev.feeder, dev.grid_region) == ("feeder-1", "nl")
    # the grid operator moving the site moves its devices
    _ok(driver, operator, devices_pb2.MoveSite(site_id="site-a", feeder="feeder-2"))
    for device_id in ("pv-1", "pv-2"):
        assert devices_pb2.Device.FromString(driver.query(f"/device/{device_id}").value).feeder == "feeder-2"


def test_a_leased_battery_is_registered_by_the_site_owner_then_transferred(
    driver: AppDriver, consortium: Consortium
) -> None:
    driver.block([])
    alice = consortium.member("community-a/alice")  # the site's owner
    bob = consortium.member("community-a/bob")  # the battery's lessor
    _site(driver, alice)
    battery = dc.register_device(
        "bat-1", "site-a", "battery", _pub(5), 5_000,
        capacity_wh=10_000, max_charge_w=5_000, max_discharge_w=5_000, efficiency_bp=10_000,
    )  # fmt: skip
    assert _run(driver, bob, battery)[0] == DevicesCode.NOT_SITE_OWNER
    _ok(driver, alice, battery)
    _ok(driver, alice, devices_pb2.TransferDevice(device_id="bat-1", new_owner=bob.address))
    dev = devices_pb2.Device.FromString(driver.query("/device/bat-1").value)
    assert (dev.owner, dev.site_id) == (bob.address, "site-a")
    # the lessor now runs it: relays its readings, sets its rules; the site owner no longer can
    _until_t(driver)
    first = Reading("bat-1", 1, T - 1800, T - 900, 0, 0, soc_wh=1_000)
    second = Reading("bat-1", 2, T - 900, T, 0, 0, charged_wh=500, soc_wh=1_500)
    assert _submit(driver, bob, _key(5), first, second) == [("accepted", "1"), ("accepted", "2")]
    _ok(driver, bob, dc.battery_rules("bat-1", 10, 30))
    assert _run(driver, alice, dc.battery_rules("bat-1", 10, 30))[0] == DevicesCode.NOT_DEVICE_OWNER


# ---- 3. readings after a gap: the delta covers [last end, end) --------------------------------


def _pv(driver: AppDriver, consortium: Consortium) -> Identity:
    """alice's 5 kW PV panel pv-1 (key 1) on site-a, with a baseline reading [T − 7200, T − 6300)."""
    driver.block([])
    alice = consortium.member("community-a/alice")
    _site(driver, alice)
    _ok(driver, alice, dc.register_device("pv-1", "site-a", "pv", _pub(1), 5_000, energy_source="solar"))
    _until_t(driver)
    assert _submit(driver, alice, _key(1), Reading("pv-1", 1, T - 7200, T - 6300, 0, 0)) == [("accepted", "1")]
    return alice


def _energy(driver: AppDriver, device: str, interval: int) -> int:
    e = devices.get_energy(driver.app.state, device, interval)
    return 0 if e is None else e.export_wh


def test_a_reading_after_a_rejected_one_spreads_its_energy_over_the_gap(
    driver: AppDriver, consortium: Consortium
) -> None:
    """The next reading is refused (forged), the one after carries 6000 Wh since the baseline's
    end: over [T − 6300, T − 900), 5400 s, within 5 kW (7500 Wh; the old rule, 900 s, refused
    anything above 1250 forever); each of the 6 intervals gets 1000 Wh, each hour its share."""
    alice = _pv(driver, consortium)
    bad = str(int(DevicesCode.BAD_READING_SIGNATURE))
    assert _submit(driver, alice, _key(9), Reading("pv-1", 2, T - 6300, T - 5400, 0, 900)) == [("rejected", bad)]
    r = Reading("pv-1", 3, T - 1800, T - 900, 0, 6_000)
    evs = _ok(driver, alice, dc.submit_readings([dc.sign_reading(_key(1), driver.chain_id, r)]))
    ((kind, attrs),) = [(t, a) for t, a in evs if t.startswith("reading_")]
    assert (kind, attrs["span_start"], attrs["start"]) == ("reading_accepted", str(T - 6300), str(T - 1800))
    assert [_energy(driver, "pv-1", T - 6300 + 900 * i) for i in range(6)] == [1_000] * 6
    assert _energy(driver, "pv-1", T - 7200) == 0  # the baseline's own interval counts nothing
    # hours [T − 7200, T − 3600) (2700 s of the span) and [T − 3600, T) (2700 s)
    state = driver.app.state
    assert devices.hour_generation(state, "pv-1", T - 7200) == 3_000
    assert devices.hour_generation(state, "pv-1", T - 3600) == 3_000


def test_nameplate_is_checked_over_the_whole_span(driver: AppDriver, consortium: Consortium) -> None:
    """A suspension makes the gap: over [T − 6300, T − 900), 5 kW produce 5000 × 5400 / 3600 =
    7500 Wh; a register delta D passes exactly when 3600 × (D − 1) < 5000 × 5400: 7501 (which
    needs the whole 7500 Wh and a full tick more) is above nameplate, 7500 is accepted."""
    alice = _pv(driver, consortium)
    _ok(driver, alice, devices_pb2.SuspendDevice(device_id="pv-1", reason="maintenance"))
    suspended = str(int(DevicesCode.DEVICE_SUSPENDED))
    assert _submit(driver, alice, _key(1), Reading("pv-1", 2, T - 6300, T - 5400, 0, 10)) == [("rejected", suspended)]
    _ok(driver, alice, devices_pb2.ReinstateDevice(device_id="pv-1"))
    above = str(int(DevicesCode.ABOVE_NAMEPLATE))
    assert _submit(driver, alice, _key(1), Reading("pv-1", 3, T - 1800, T - 900, 0, 7_501)) == [("rejected", above)]
    assert _submit(driver, alice, _key(1), Reading("pv-1", 3, T - 1800, T - 900, 0, 7_500)) == [("accepted", "3")]
    assert sum(_energy(driver, "pv-1", T - 6300 + 900 * i) for i in range(6)) == 7_500


def test_only_the_last_day_of_a_longer_span_is_recorded(driver: AppDriver, consortium: Consortium) -> None:
    """Two days and a quarter of an hour after the baseline: the span is S = 2 days + 900 s; its
    last day gets floor(D × 1 day / S) of the delta (split over its intervals and hours), the
    older part of the gap nothing: the writes per reading stay bounded by a day's intervals."""
    driver.block([])
    alice = consortium.member("community-a/alice")
    _site(driver, alice)
    _ok(driver, alice, dc.register_device("pv-1", "site-a", "pv", _pub(1), 5_000, energy_source="solar"))
    _until_t(driver)
    day = handlers.MAX_SPAN_RECORDED_SECONDS
    assert day == 86_400
    base = T - 2 * day - 1800
    assert _submit(driver, alice, _key(1), Reading("pv-1", 1, base, base + 900, 0, 0)) == [("accepted", "1")]
    span = T - 900 - (base + 900)
    assert _submit(driver, alice, _key(1), Reading("pv-1", 2, T - 1800, T - 900, 0, 100_000)) == [("accepted", "2")]
    share = 100_000 * day // span
    window = range(T - 900 - day, T - 900, 900)
    assert sum(_energy(driver, "pv-1", k) for k in window) == share
    assert _energy(driver, "pv-1", T - 900 - day - 900) == 0
    state = driver.app.state
    hours = range(T - 3600 - day, T, 3600)
    assert sum(devices.hour_generation(state, "pv-1", h) for h in hours) == share
    assert devices.hour_generation(state, "pv-1", T - 3600 - day - 3600) == 0
    assert devices.get_reading(state, "pv-1").export_wh == 100_000  # type: ignore[union-attr]


def test_a_gap_into_a_settled_interval_is_recorded_but_not_settled_again(
    driver: AppDriver, consortium: Consortium
) -> None:
    """carol's meter skips interval iv, which settles (bob's meter had energy in it); her next
    reading, for iv + L, carries 2000 Wh since her baseline over [iv, iv + 2L): 1000 land in iv's
    energy record (its settlement is not reopened: no statement, no money), 1000 in iv + L,
    settled at retail (30 per kWh) as usual."""
    m = Market(driver, consortium)
    m.setup()
    iv = m.upcoming()
    m.until(iv + L + 10)
    m.reading(m.bob, "meter-b", 2, iv - L, iv, 5_000, 0)
    m.reading(m.carol, "meter-c", 3, iv - L, iv, 7_000, 0)
    m.reading(m.bob, "meter-b", 2, iv, iv + L, 5_100, 0)
    m.until(iv + L + GRACE)
    assert m.statement(m.bob, iv).retail_wh == 100
    m.until(iv + 2 * L + 10)
    m.reading(m.carol, "meter-c", 3, iv + L, iv + 2 * L, 9_000, 0)
    state = driver.app.state
    assert [devices.get_energy(state, "meter-c", k).import_wh for k in (iv, iv + L)] == [1_000, 1_000]  # type: ignore[union-attr]
    m.until(iv + 2 * L + GRACE + 10)
    assert driver.query(f"/statement/{m.carol.address.hex()}/{iv}").value == b""
    c = m.statement(m.carol, iv + L)
    assert (c.retail_wh, c.retail_paid) == (1_000, 30)
