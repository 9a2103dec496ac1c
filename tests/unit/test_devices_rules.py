"""Devices: bounded work for readings signed by retired keys, who may register a device on a
site (and where it is), and readings after a gap."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from google.protobuf.message import Message
from gridwire.reading import Reading

from abci_app.crypto import verify_cached
from abci_app.devices import handlers
from abci_app.devices import keeper as devices
from abci_app.devices.domain import DOMAIN
from abci_app.devices.errors import DevicesCode
from clients import devices as dc
from clients.consortium import Consortium
from clients.pki import Identity
from tests.support.driver import GENESIS_TIME, AppDriver
from tests.support.genesis_roundtrip import differences, export_and_import
from tests.unit.helpers import signed

T = GENESIS_TIME  # readings end at or before genesis time: never in the future
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
