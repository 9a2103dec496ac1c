"""The chaos run's energy bookkeeping (tests.chaos.energy), on made-up blocks: no localnet."""

from __future__ import annotations

import random

from clients.ops.loadgen import Signer
from tests.bench.energy_load import EnergyLoad
from tests.chaos.chain import BlockRecord, Event, tx_hash_hex
from tests.chaos.energy import PROSUMERS, READING_SECONDS, EnergyDriver
from tests.chaos.load import TxRecord


def _driver() -> EnergyDriver:
    members = [Signer(bytes([k + 1]) * 32, lane=k) for k in range(len(PROSUMERS))]
    load = EnergyLoad("chaos-test", members, Signer(b"\x09" * 32, lane=9), 2, 1_000, supplier=b"\x01" * 20)
    load.reading_seconds = READING_SECONDS
    return EnergyDriver(load, PROSUMERS)


def _accepted(device: str, seq: int, end: int, export: int) -> Event:
    attrs = {"device": device, "seq": str(seq), "end": str(end), "export_wh": str(export), "start": str(end - 10)}
    return ("reading_accepted", tuple(attrs.items()))


def _block(height: int, txs: list[bytes], events: list[tuple[Event, ...]]) -> BlockRecord:
    return BlockRecord(height, f"H{height}", "", "", tuple(txs), (0,) * len(txs), 0, tuple(events), ())


def test_due_readings_come_first_and_are_remembered() -> None:
    """A prosumer whose next readings have ended gets a readings tx, and its signed readings are kept for resends."""
    driver = _driver()
    kind, msgs = driver.make(PROSUMERS[0], random.Random(1)) or ("", [])
    assert kind == "readings"
    assert {(r.device_id, r.seq) for r in msgs[0].readings} == {("e0-pv", 1), ("e0-m1", 1)}  # type: ignore[attr-defined]
    assert driver.make("utility/treasury", random.Random(1)) is None


def test_a_reading_accepted_twice_is_doubled_and_a_seen_one_missing_is_lost() -> None:
    """The final check reports a reading accepted in two blocks as doubled, and one the follower saw but the final
    chain lacks as lost."""
    driver = _driver()
    driver.on_block(_block(5, [b"a"], [(_accepted("e0-pv", 1, 1_010, 3),)]))
    driver.on_block(_block(6, [b"b"], [(_accepted("e0-pv", 1, 1_010, 3),)]))
    assert driver.stats.doubled
    final = {7: _block(7, [b"c"], [(_accepted("e0-pv", 1, 1_010, 3), _accepted("e0-pv", 1, 1_010, 3))])}
    driver.accepted["e0-m1"].append(driver.accepted["e0-pv"][0].__class__(5, 4, 1_040, 0))
    problems = driver.check_final(final, [])
    assert any("lost: e0-m1 seq 4" in p for p in problems)
    assert any("doubled: e0-pv seq 1" in p for p in problems)


def test_a_committed_resend_must_come_back_as_a_duplicate() -> None:
    """A resend answered reading_accepted (not reading_duplicate) is a problem; one answered duplicate is counted."""
    driver = _driver()
    good, bad = b"resend-1", b"resend-2"
    records = [
        TxRecord(tx_hash_hex(good), PROSUMERS[0], 3, good, 0.0, "resend"),
        TxRecord(tx_hash_hex(bad), PROSUMERS[0], 4, bad, 0.0, "resend"),
    ]
    dup: Event = ("reading_duplicate", (("device", "e0-pv"), ("seq", "1")))
    message: Event = ("message", (("action", "submit_readings"),))
    final = {9: _block(9, [good, bad], [(message, dup), (message, _accepted("e0-pv", 2, 1_020, 6))])}
    problems = driver.check_final(final, records)
    assert driver.stats.resends_committed == 2
    assert driver.stats.resends_duplicate == 1
    assert len([p for p in problems if "not reading_duplicate" in p]) == 1
