"""Issuance queued with a per-block cap (issue 19, attack 6): at most
`certificates.max_issuance_per_block` device-hours per block, oldest first, the rest carried
over in durable state that genesis export/import keeps byte for byte."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from google.protobuf.message import Message

from abci_app.certificates import issuance, issuance_queue
from abci_app.certificates import keeper as certificates_keeper
from abci_app.certificates import keys as certificates_keys
from abci_app.certificates.domain import DOMAIN as CERTIFICATES
from abci_app.certificates.params import EXPIRY, MAX_ISSUANCE
from abci_app.devices import keeper as devices_keeper
from abci_app.devices.domain import DOMAIN as DEVICES
from abci_app.params import set_domain_param
from abci_app.store.branch import Branch
from abci_app.types import BlockInfo
from clients import devices as dc
from clients.ops.consortium import TEST_DEVICE_CA, Consortium
from tests.bench.worst_block import ATTACKER, NAMEPLATE_W, AttackDevices
from tests.support.devices import commission
from tests.support.driver import AppDriver
from tests.support.genesis_roundtrip import differences, export_and_import
from tests.unit.helpers import signed

CAP = 10
FAR = 1 << 40  # a block time after every hour


def _pending(driver: AppDriver) -> list[tuple[int, str]]:
    return list(devices_keeper.iter_pending_hours(driver.app.state, FAR))


def _commissioned(driver: AppDriver, attack: AttackDevices) -> None:
    """Make the attack's PVs eligible for issuance: AttackDevices registers them without a
    device certificate, so each rotates to a new key the test device CA certifies (a
    certificate given for an uncertified device certifies it), then the certifier commissions
    them (two blocks); the day's readings are signed with the new keys."""
    ca = driver.consortium.device_ca(TEST_DEVICE_CA)
    rotated = [(d, Ed25519PrivateKey.from_private_bytes(b"R" + k.private_bytes_raw()[1:])) for d, k in attack.keys]
    msgs: list[Message] = []
    for device_id, new in rotated:
        public = dc.device_public_key(new)
        msgs.append(dc.rotate_key(device_id, public, ca.issue_device_cert(device_id, "pv", public, NAMEPLATE_W)))
    result = driver.block([signed(driver, attack.owner, *msgs)])
    assert result.codes == (0,), [r.log for r in result.tx_results]
    commission(driver, *(d for d, _k in rotated))
    attack.keys = rotated


def _issued(result_events: list[tuple[str, dict[str, str]]]) -> list[tuple[int, str]]:
    return [(int(a["hour"]), a["device"]) for t, a in result_events if t == "bundle_issued"]


def test_issuance_is_capped_per_block_and_carried_over(consortium: Consortium) -> None:
    """Three 1 GW PVs' day-long readings make 72 device-hours ready at once: each block issues
    at most the cap, oldest hour first, the rest stay queued (and a genesis export taken
    mid-queue rebuilds the queue byte for byte) until every ready Wh is issued once."""
    driver = AppDriver(consortium, params={MAX_ISSUANCE: CAP})
    driver.block([])
    alice = consortium.member(ATTACKER)
    attack = AttackDevices(driver, alice, 3, prefix="q")
    _commissioned(driver, attack)
    (raw,) = attack.txs(3)
    result = driver.block([raw])
    assert result.codes == (0,)
    issued: list[tuple[int, str]] = []
    per_block = []
    events = [(e.type, {a.key: a.value for a in e.attributes}) for e in result.response.events]
    per_block.append(_issued(events))
    queued = len(_pending(driver))
    assert queued == 3 * 25 - CAP  # 25 device-hours each, the last one still open
    exported, fresh = export_and_import(driver.app.state)
    assert len(exported["devices"]["pending_hours"]) == queued
    assert differences(DEVICES, driver.app.state, fresh) == []
    assert differences(CERTIFICATES, driver.app.state, fresh) == []
    while len(per_block) < 20:
        result = driver.block([])
        events = [(e.type, {a.key: a.value for a in e.attributes}) for e in result.response.events]
        per_block.append(_issued(events))
    for batch in per_block:
        issued += batch
    assert all(len(batch) <= CAP for batch in per_block)
    assert [len(b) for b in per_block[:8]] == [10] * 7 + [2]
    assert issued == sorted(issued)  # oldest hour first, then device id: the queue's order
    assert len(set(issued)) == 72  # every ready device-hour once
    state = driver.app.state
    for hour, device in issued:
        assert certificates_keeper.issued_wh(state, device, hour) == devices_keeper.hour_generation(state, device, hour)
    assert len(_pending(driver)) == 3  # each device's open hour waits for its data (or the grace)


def test_an_hours_batteries_wait_for_its_generators(consortium: Consortium) -> None:
    """When the cap cuts an hour's generators, that hour's battery is not accounted in the
    same block: it is taken once every ready generator of the hour is issued, so it still
    consumes the certificates of its hour as when everything was issued at once."""
    driver = AppDriver(consortium)
    driver.block([])
    alice = consortium.member(ATTACKER)
    attack = AttackDevices(driver, alice, 12, prefix="g")
    key = Ed25519PrivateKey.from_private_bytes(b"b" * 32)
    msgs: list[Message] = [
        dc.register_device(
            "a-battery", "g-site", "battery", dc.device_public_key(key), 10_000,
            capacity_wh=10_000, max_charge_w=10_000, max_discharge_w=10_000, efficiency_bp=9_000,
        )
    ]  # fmt: skip
    assert driver.block([signed(driver, alice, *msgs)]).codes == (0,)
    store = Branch(driver.app.state)
    set_domain_param(store, MAX_ISSUANCE, CAP)
    hour = 3600 * 1000
    for device_id, _k in [*attack.keys, ("a-battery", key)]:
        devices_keeper.add_hour_flow(store, device_id, hour, devices_keeper.HourFlow(1, 1, 0))
    block = BlockInfo(driver.chain_id, driver.height + 1, FAR * 1_000_000_000)
    first = issuance_queue.due(store, block, lambda _h, _d: True)
    assert len(first) == CAP
    assert "a-battery" not in {d for _h, d in first}  # sorts first, but waits for the generators
    for h, d in first:
        devices_keeper.clear_pending(store, h, d)
    second = issuance_queue.due(store, block, lambda _h, _d: True)
    assert [d for _h, d in second] == [*sorted(d for d, _k in attack.keys if (hour, d) not in first), "a-battery"]


def test_expiry_is_capped_per_block_and_resumes_inside_an_hour(
    consortium: Consortium, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A year after a busy hour its bundles all expire at once: the expiry step examines at
    most MAX_EXPIRY_PER_BLOCK bundles per block, resumes inside a cut hour where it stopped
    (a counter a genesis export carries byte for byte) and in the end expires every one once."""
    monkeypatch.setattr(issuance, "MAX_EXPIRY_PER_BLOCK", 5)
    driver = AppDriver(consortium, params={EXPIRY: 2 * 86_400})
    driver.block([])
    alice = consortium.member(ATTACKER)
    attack = AttackDevices(driver, alice, 3, prefix="x")
    _commissioned(driver, attack)
    (raw,) = attack.txs(3)
    result = driver.block([raw])
    issued = [e for e in result.response.events if e.type == "bundle_issued"]
    assert len(issued) == 72
    expired: list[str] = []
    cut_seen = False
    for i in range(20):
        result = driver.block([], seconds=3 * 86_400 if i == 0 else 1)  # then every hour is past the age
        batch = [
            next(a.value for a in e.attributes if a.key == "bundle")
            for e in result.response.events
            if e.type == "bundle_expired"
        ]
        assert len(batch) <= 5
        expired += batch
        if driver.app.state.get(certificates_keys.counter(issuance.EXPIRY_NEXT_ID)) is not None and not cut_seen:
            cut_seen = True
            _exported, fresh = export_and_import(driver.app.state)
            assert differences(CERTIFICATES, driver.app.state, fresh) == []
    assert cut_seen
    # the 72 active bundles, once each (each device's open hour is issued after the grace, already expired)
    assert len(expired) == len(set(expired)) == 72


def test_the_scan_examines_a_bounded_number_of_pending_entries(consortium: Consortium) -> None:
    """Right after an hour ends most device-hours are not ready: a block examines at most
    EXAMINE_FACTOR × the cap entries. With 12 PVs' 4 hours pending (48 entries) and the cap at
    10 (40 examined), ready entries behind 40 not-ready ones wait and the last 8 are not read;
    with 35 not-ready ones in front, the 5 ready ones within the bound are taken."""
    driver = AppDriver(consortium)
    driver.block([])
    attack = AttackDevices(driver, consortium.member(ATTACKER), 12, prefix="s")
    store = Branch(driver.app.state)
    set_domain_param(store, MAX_ISSUANCE, CAP)
    hours = [3600 * (1000 + k) for k in range(4)]
    for device_id, _k in attack.keys:
        for hour in hours:
            devices_keeper.add_hour_flow(store, device_id, hour, devices_keeper.HourFlow(1, 0, 0))
    queue = list(devices_keeper.iter_pending_hours(store, FAR))
    assert len(queue) == 48
    block = BlockInfo(driver.chain_id, driver.height + 1, FAR * 1_000_000_000)
    assert issuance_queue.EXAMINE_FACTOR * CAP == 40
    examined: list[tuple[int, str]] = []

    def late(n: int) -> Callable[[int, str], bool]:
        """The first `n` entries in queue order are not ready (their devices have not
        reported past the hour yet)."""

        def ready(h: int, device_id: str) -> bool:
            examined.append((h, device_id))
            return (h, device_id) not in queue[:n]

        return ready

    assert issuance_queue.due(store, block, late(40)) == []
    assert examined == queue[:40]  # the other 8 were not read at all
    examined.clear()
    assert issuance_queue.due(store, block, late(35)) == queue[35:40]
    assert examined == queue[:40]
    assert issuance_queue.due(store, block, late(0)) == queue[:CAP]
