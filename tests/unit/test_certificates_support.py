"""Builders shared by the certificates tests (no tests here): a PV device, a battery and readings."""

from __future__ import annotations

from collections.abc import Sequence

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from google.protobuf.message import Message
from gridwire.reading import Reading

from clients import devices as dc
from clients.ops.consortium import Consortium
from clients.pki import Identity
from tests.support.devices import certify, commission
from tests.support.driver import GENESIS_TIME, AppDriver
from tests.unit.helpers import signed

__all__ = ["H0", "Events", "device_key", "events_of", "ok", "run", "setup_devices", "submit"]

H0 = GENESIS_TIME + 3600  # an hour boundary (2026-01-01T01:00:00Z), an hour after the devices' registration
Events = list[tuple[str, dict[str, str]]]


def device_key(n: int) -> Ed25519PrivateKey:
    return Ed25519PrivateKey.from_private_bytes(bytes([n]) * 32)


def events_of(driver: AppDriver, raw: bytes, seconds: int = 1) -> tuple[int, str, Events, Events]:
    """Run one block with one tx: (code, log, tx events, block events)."""
    result = driver.block([raw], check=False, seconds=seconds)
    tx = result.tx_results[0]
    evs = [(e.type, {a.key: a.value for a in e.attributes}) for e in tx.events]
    block = [(e.type, {a.key: a.value for a in e.attributes}) for e in result.response.events]
    return tx.code, tx.log, evs, block


def run(driver: AppDriver, who: Identity, *msgs: Message, seconds: int = 1) -> int:
    return events_of(driver, signed(driver, who, *msgs), seconds)[0]


def ok(driver: AppDriver, who: Identity, *msgs: Message, seconds: int = 1) -> Events:
    code, log, evs, _ = events_of(driver, signed(driver, who, *msgs), seconds)
    assert code == 0, log
    return evs


def setup_devices(
    driver: AppDriver,
    consortium: Consortium,
    *,
    battery: bool = False,
    extra: Sequence[Message] = (),
    commissioned: Sequence[str] = (),
) -> None:
    """alice: site-a (region nl-north) with pv-1 (5 kW, key 1), meter m-1 (key 3) and, with
    `battery`, bat-1 (10 kWh, 5 kW, 81 % round trip, key 2), and the `extra` devices alice
    registers, all before H0 - 60; pv-1, bat-1 and the `commissioned` extras are certified by
    the test device CA and commissioned by the certifier (one more block); the clock is then
    an hour past the registration blocks."""
    driver.block([])
    alice = consortium.member("community-a/alice")
    ok(driver, alice, dc.register_site("site-a", "feeder-1", "nl-north"))
    msgs: list[Message] = [
        dc.register_device(
            "pv-1", "site-a", "pv", dc.device_public_key(device_key(1)), 5_000,
            energy_source="solar", technology="pv-mono", commissioning_date=1_600_000_000, country="NL",
        ),
        dc.register_device("m-1", "site-a", "meter", dc.device_public_key(device_key(3)), 20_000),
    ]  # fmt: skip
    if battery:
        msgs.append(
            dc.register_device(
                "bat-1", "site-a", "battery", dc.device_public_key(device_key(2)), 5_000,
                capacity_wh=10_000, max_charge_w=5_000, max_discharge_w=5_000, efficiency_bp=8_100,
            )
        )  # fmt: skip
    msgs[0] = certify(consortium, msgs[0])  # type: ignore[arg-type]
    if battery:
        msgs[2] = certify(consortium, msgs[2])  # type: ignore[arg-type]
    ok(driver, alice, *msgs, *extra)
    commission(driver, "pv-1", *(["bat-1"] if battery else []), *commissioned)
    # no reading may start before its device's registration: the tests read from H0 - 60 on,
    # so the clock moves an hour on (to what it was before H0 moved an hour later)
    driver.block([], seconds=H0 - GENESIS_TIME)


def submit(driver: AppDriver, who: Identity, key_n: int, *readings: Reading, seconds: int = 1) -> Events:
    batch = dc.submit_readings([dc.sign_reading(device_key(key_n), driver.chain_id, r) for r in readings])
    evs = ok(driver, who, batch, seconds=seconds)
    assert all(t != "reading_rejected" for t, _ in evs), evs
    return evs
