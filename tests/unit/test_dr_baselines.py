"""Issue 19, item 2: a demand-response baseline cannot be written after the fact, and a short
budget is shared pro rata. Attacks are signed txs, sent through the mempool and, as a
Byzantine proposer would, straight into FinalizeBlock; money is conserved and the driver
checks every invariant after each block."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from google.protobuf.message import Message
from gridledger.devices.v1 import devices_pb2
from gridledger.grid.v1 import grid_pb2
from gridwire.reading import Reading

from abci_app.grid.errors import GridCode
from abci_app.grid.keys import DR_ESCROW
from clients import devices as dc
from clients.ops.consortium import Consortium
from clients.pki import Identity
from tests.support.driver import GENESIS_TIME, AppDriver
from tests.unit.helpers import balance, signed

DAY = 86_400
L = 900
T0 = GENESIS_TIME + 3600  # a settlement-interval boundary
S = T0 + 6 * DAY  # the event's start: 5 baseline days fit between registration and announcement
ANNOUNCED = S - 3600
MW = 1_000_000
KEYS = {name: Ed25519PrivateKey.from_private_bytes(bytes([0x30 + n]) * 32) for n, name in enumerate(
    ("carol-meter", "dave-meter", "bob-sleeper", "bob-load")
)}  # fmt: skip


@dataclass
class World:
    driver: AppDriver
    inject: bool  # True: txs go straight into FinalizeBlock (a Byzantine proposer's block)
    operator: Identity
    carol: Identity
    dave: Identity
    bob: Identity

    def send(self, who: Identity, *msgs: Message) -> int:
        """One signed tx in its own block; its code (CheckTx's when the mempool refuses it)."""
        result = self.driver.block([signed(self.driver, who, *msgs)], check=not self.inject)
        if not self.inject and result.check_codes[0]:
            return result.check_codes[0]
        return result.tx_results[0].code

    def until(self, t: int) -> None:
        self.driver.block([], seconds=t - self.driver.time)

    def read(self, who: Identity, device: str, *readings: Reading) -> list[str]:
        """Submit signed readings; the reading events' types (accepted or rejected)."""
        batch = dc.submit_readings([dc.sign_reading(KEYS[device], self.driver.chain_id, r) for r in readings])
        result = self.driver.block([signed(self.driver, who, batch)], check=not self.inject)
        if not result.tx_results:
            return []
        return [e.type for e in result.tx_results[0].events if e.type.startswith("reading_")]

    def registered_at(self, device: str) -> int:
        return int(devices_pb2.Device.FromString(self.driver.query(f"/device/{device}").value).registered_at)

    def money(self) -> int:
        who = (self.operator, self.carol, self.dave, self.bob)
        return sum(balance(self.driver, w) for w in who) + balance(self.driver, DR_ESCROW)


def _world(consortium: Consortium, inject: bool, params: dict[str, int] | None = None) -> World:
    driver = AppDriver(consortium, params=params)
    driver.block([])
    w = World(
        driver,
        inject,
        consortium.member("gridop/control"),
        consortium.member("community-b/carol"),
        consortium.member("community-b/dave"),
        consortium.member("community-a/bob"),
    )
    for who, site, devices in (
        (w.carol, "carol-home", ("carol-meter",)),
        (w.dave, "dave-home", ("dave-meter",)),
        (w.bob, "bob-home", ("bob-sleeper",)),
    ):
        msgs: list[Message] = [dc.register_site(site, "feeder-1", "nl")]
        for device in devices:
            kind, power = ("appliance", MW) if device.startswith("bob") else ("meter", 10_000)
            msgs += [
                dc.register_device(device, site, kind, dc.device_public_key(KEYS[device]), power),
                grid_pb2.JoinDrProgramme(device_id=device),
            ]
        assert w.send(who, *msgs) == 0
    w.until(T0)
    # Honest meters report every day's event-window interval as it happens: carol imports 100 Wh
    # in it each day, dave 60 Wh (their first reading starts at registration and counts nothing).
    for device, who in (("carol-meter", w.carol), ("dave-meter", w.dave)):
        assert w.read(who, device, Reading(device, 1, w.registered_at(device), T0, 0, 0)) == ["reading_accepted"]
    # bob's 1 MW "sleeper" appliance sends its first reading and then nothing
    assert w.read(w.bob, "bob-sleeper", Reading("bob-sleeper", 1, w.registered_at("bob-sleeper"), T0, 0, 0)) == [
        "reading_accepted"
    ]
    for d in range(5, 0, -1):
        s = S - d * DAY
        w.until(s + L)
        for device, who, wh in (("carol-meter", w.carol, 100), ("dave-meter", w.dave, 60)):
            seq = 2 * (5 - d) + 2
            total = wh * (5 - d + 1)
            prev = total - wh
            gap = Reading(device, seq, s - DAY + L if d < 5 else T0, s, prev, 0)
            readings = (gap, Reading(device, seq + 1, s, s + L, total, 0))
            assert w.read(who, device, *readings) == ["reading_accepted"] * 2
    return w


def _publish(w: World, requested_wh: int, reward_per_kwh: int) -> None:
    w.until(ANNOUNCED)
    event = grid_pb2.PublishDrEvent(
        event_id="peak", feeder="feeder-1", start=S, end=S + L, requested_reduction_wh=requested_wh,
        reward_per_kwh=reward_per_kwh,
    )  # fmt: skip
    assert w.send(w.operator, event) == 0


def _honest_event_reports(w: World) -> None:
    """During the event carol and dave import 20 Wh each (reductions of 80 and 40 Wh)."""
    w.until(S + L)
    for device, who, wh in (("carol-meter", w.carol, 100), ("dave-meter", w.dave, 60)):
        total = wh * 5
        readings = (Reading(device, 12, S - DAY + L, S, total, 0), Reading(device, 13, S, S + L, total + 20, 0))
        assert w.read(who, device, *readings) == ["reading_accepted"] * 2


def _enrolments(w: World) -> dict[str, grid_pb2.DrEnrolment]:
    raw = w.driver.query("/dr_enrolments/peak").value
    return {e.device_id: e for e in grid_pb2.DrEnrolmentList.FromString(raw).enrolments}


def _energy(w: World, device: str, interval: int) -> int:
    raw = w.driver.query(f"/energy/{device}/{interval}").value
    return int(devices_pb2.IntervalEnergy.FromString(raw).import_wh) if raw else 0


def _backdate(w: World, device: str, first_seq: int, after: int) -> list[str]:
    """The attacker's signed readings for the five days before the event: 1 MW (250,000 Wh) in
    each day's event-window interval, reaching back over the device's silence."""
    readings, seq, reg, prev = [], first_seq, 0, after
    for d in range(5, 0, -1):
        s = S - d * DAY
        readings += [Reading(device, seq, prev, s, reg, 0), Reading(device, seq + 1, s, s + L, reg + 250_000, 0)]
        seq, reg, prev = seq + 2, reg + 250_000, s + L
    return w.read(w.bob, device, *readings)


@pytest.mark.parametrize("inject", [False, True], ids=["mempool", "finalize-block"])
def test_a_baseline_cannot_be_written_after_the_announcement(consortium: Consortium, inject: bool) -> None:
    """The issue's attack and its sleeper variant take nothing; an honest meter with a real 80 Wh
    reduction is paid in full, and money is conserved."""
    w = _world(consortium, inject)
    money = w.money()
    _publish(w, 5_000, 1_000)  # budget 5,000, as in the issue
    # A 1 MW appliance registered minutes before the event, with readings for the five days
    # before it: not in the programme at the announcement, and too new anyway.
    w.until(S - 600)
    key = dc.device_public_key(KEYS["bob-load"])
    assert w.send(w.bob, dc.register_device("bob-load", "bob-home", "appliance", key, MW)) == 0
    _backdate(w, "bob-load", 1, S - 6 * DAY)  # whatever the devices domain makes of them
    assert w.send(w.bob, grid_pb2.EnrolDr(event_id="peak", device_id="bob-load")) == GridCode.DR_NOT_IN_PROGRAMME
    # The sleeper: registered at genesis and in the programme, silent until the announcement;
    # its backdated readings are accepted by the devices domain (they follow its last reading)...
    assert _backdate(w, "bob-sleeper", 2, T0) == ["reading_accepted"] * 10
    assert _energy(w, "bob-sleeper", S - DAY) == 250_000
    assert w.send(w.bob, grid_pb2.EnrolDr(event_id="peak", device_id="bob-sleeper")) == 0
    for device, who in (("carol-meter", w.carol), ("dave-meter", w.dave)):
        assert w.send(who, grid_pb2.EnrolDr(event_id="peak", device_id=device)) == 0
    enrolled = _enrolments(w)
    # ...but they arrived after the announcement, so its baseline is zero.
    assert (enrolled["bob-sleeper"].baseline_wh, enrolled["bob-sleeper"].sealed_until) == (0, T0)
    assert (enrolled["carol-meter"].baseline_wh, enrolled["dave-meter"].baseline_wh) == (100, 60)
    bob_before, carol_before, operator_before = (
        balance(w.driver, w.bob),
        balance(w.driver, w.carol),
        balance(w.driver, w.operator),
    )
    _honest_event_reports(w)
    w.until(S + L + 900 + 1)  # the grace period has passed
    settled = _enrolments(w)
    assert [(d, e.reduction_wh, e.reward) for d, e in sorted(settled.items())] == [
        ("bob-sleeper", 0, 0),
        ("carol-meter", 80, 80),
        ("dave-meter", 40, 40),
    ]
    assert balance(w.driver, w.bob) == bob_before
    assert balance(w.driver, w.carol) == carol_before + 80
    assert balance(w.driver, w.operator) == operator_before + 5_000 - 120
    assert grid_pb2.DrEvent.FromString(w.driver.query("/dr/peak").value).settled
    assert balance(w.driver, DR_ESCROW) == 0
    assert w.money() == money


@pytest.mark.parametrize("inject", [False, True], ids=["mempool", "finalize-block"])
def test_a_fresh_device_in_the_programme_is_refused(consortium: Consortium, inject: bool) -> None:
    """A device registered less than the baseline window (5 days) before the announcement is
    DR_DEVICE_TOO_NEW even when it joined the programme before the announcement."""
    w = _world(consortium, inject)
    w.until(ANNOUNCED - 600)
    key = dc.device_public_key(KEYS["bob-load"])
    register = dc.register_device("bob-load", "bob-home", "appliance", key, MW)
    assert w.send(w.bob, register, grid_pb2.JoinDrProgramme(device_id="bob-load")) == 0
    _backdate(w, "bob-load", 1, S - 6 * DAY)
    _publish(w, 5_000, 1_000)
    assert w.send(w.bob, grid_pb2.EnrolDr(event_id="peak", device_id="bob-load")) == GridCode.DR_DEVICE_TOO_NEW
    assert w.send(w.carol, grid_pb2.EnrolDr(event_id="peak", device_id="carol-meter")) == 0


@pytest.mark.parametrize("inject", [False, True], ids=["mempool", "finalize-block"])
def test_a_short_budget_is_shared_pro_rata(consortium: Consortium, inject: bool) -> None:
    """Claims of 80 and 40 against a budget of 50 are paid 80×50÷120 = 33 and 40×50÷120 = 16
    (floor), whatever the device ids; the remaining 1 returns to the operator."""
    w = _world(consortium, inject)
    money = w.money()
    _publish(w, 50, 1_000)
    for device, who in (("dave-meter", w.dave), ("carol-meter", w.carol)):
        assert w.send(who, grid_pb2.EnrolDr(event_id="peak", device_id=device)) == 0
    carol_before, dave_before, operator_before = (balance(w.driver, x) for x in (w.carol, w.dave, w.operator))
    _honest_event_reports(w)
    w.until(S + L + 900 + 1)
    settled = _enrolments(w)
    assert (settled["carol-meter"].claim, settled["carol-meter"].reward) == (80, 33)
    assert (settled["dave-meter"].claim, settled["dave-meter"].reward) == (40, 16)
    assert balance(w.driver, w.carol) == carol_before + 33
    assert balance(w.driver, w.dave) == dave_before + 16
    assert balance(w.driver, w.operator) == operator_before + 1
    event = grid_pb2.DrEvent.FromString(w.driver.query("/dr/peak").value)
    assert (event.settled, event.paid, event.total_claim) == (True, 49, 120)
    assert w.money() == money


@pytest.mark.parametrize("inject", [False, True], ids=["mempool", "finalize-block"])
def test_a_reward_is_not_paid_to_an_enroller_who_handed_the_device_on(consortium: Consortium, inject: bool) -> None:
    """carol enrols her meter and transfers it to bob before the event starts; bob's household
    curtails (80 Wh). The enrolment was carol's commitment for a device she no longer holds and
    bob never enrolled: the 80 of its claim go to neither (dr_rewarded reward 0, forfeited) and
    return to the operator; dave, who kept his meter, is paid his 40."""
    w = _world(consortium, inject)
    money = w.money()
    _publish(w, 1_000, 1_000)  # a budget of 1,000: every claim fits
    for device, who in (("dave-meter", w.dave), ("carol-meter", w.carol)):
        assert w.send(who, grid_pb2.EnrolDr(event_id="peak", device_id=device)) == 0
    handover = devices_pb2.TransferDevice(device_id="carol-meter", new_owner=w.bob.address)
    assert w.send(w.carol, handover) == 0
    before = {x.address: balance(w.driver, x) for x in (w.carol, w.dave, w.bob, w.operator)}
    w.until(S + L)
    for (device, who), wh in zip((("carol-meter", w.bob), ("dave-meter", w.dave)), (100, 60), strict=True):
        total = wh * 5
        readings = (Reading(device, 12, S - DAY + L, S, total, 0), Reading(device, 13, S, S + L, total + 20, 0))
        assert w.read(who, device, *readings) == ["reading_accepted"] * 2
    result = w.driver.block([], seconds=S + L + 900 + 1 - w.driver.time)
    rewarded = {
        a["device"]: (a["reward"], a["forfeited"])
        for e in result.response.events
        if e.type == "dr_rewarded"
        for a in [{x.key: x.value for x in e.attributes}]
    }
    assert rewarded == {"carol-meter": ("0", "device_transferred"), "dave-meter": ("40", "")}
    settled = _enrolments(w)
    assert (settled["carol-meter"].claim, settled["carol-meter"].reward) == (80, 0)
    assert (settled["dave-meter"].claim, settled["dave-meter"].reward) == (40, 40)
    assert balance(w.driver, w.carol) == before[w.carol.address]
    assert balance(w.driver, w.bob) == before[w.bob.address]
    assert balance(w.driver, w.dave) == before[w.dave.address] + 40
    assert balance(w.driver, w.operator) == before[w.operator.address] + 1_000 - 40
    event = grid_pb2.DrEvent.FromString(w.driver.query("/dr/peak").value)
    assert (event.settled, event.paid, event.total_claim) == (True, 40, 120)
    assert w.money() == money


def test_programme_membership_rules(consortium: Consortium) -> None:
    """Only the owner joins or leaves; a second join is DR_ALREADY_MEMBER, leaving twice
    DR_NOT_MEMBER, and a full programme DR_PROGRAMME_FULL; a device that left before the
    announcement cannot enrol."""
    driver = AppDriver(consortium, params={"grid.max_dr_members_per_feeder": 1})
    driver.block([])
    w = World(driver, False, *(consortium.member(m) for m in ("gridop/control", "community-b/carol",
                                                                "community-b/dave", "community-a/bob")))  # fmt: skip
    key = dc.device_public_key(KEYS["carol-meter"])
    site = dc.register_site("carol-home", "feeder-1", "nl")
    meter = dc.register_device("carol-meter", "carol-home", "meter", key, 10_000)
    assert w.send(w.carol, site, meter) == 0
    other = dc.device_public_key(KEYS["dave-meter"])
    dave_site = dc.register_site("dave-home", "feeder-1", "nl")
    assert w.send(w.dave, dave_site, dc.register_device("dave-meter", "dave-home", "meter", other, 10_000)) == 0
    join = grid_pb2.JoinDrProgramme(device_id="carol-meter")
    assert w.send(w.bob, join) == GridCode.NOT_DEVICE_OWNER
    assert w.send(w.carol, join) == 0
    assert w.send(w.carol, join) == GridCode.DR_ALREADY_MEMBER
    assert w.send(w.dave, grid_pb2.JoinDrProgramme(device_id="dave-meter")) == GridCode.DR_PROGRAMME_FULL
    leave = grid_pb2.LeaveDrProgramme(device_id="carol-meter")
    assert w.send(w.bob, leave) == GridCode.NOT_DEVICE_OWNER
    assert w.send(w.carol, leave) == 0
    assert w.send(w.carol, leave) == GridCode.DR_NOT_MEMBER
    assert w.send(w.dave, grid_pb2.JoinDrProgramme(device_id="dave-meter")) == 0
    w.until(GENESIS_TIME + 6 * DAY)
    start = (driver.time // L + 2) * L
    event = grid_pb2.PublishDrEvent(
        event_id="peak", feeder="feeder-1", start=start, end=start + L, requested_reduction_wh=1, reward_per_kwh=1
    )
    assert w.send(w.operator, event) == 0
    assert w.send(w.carol, grid_pb2.EnrolDr(event_id="peak", device_id="carol-meter")) == GridCode.DR_NOT_IN_PROGRAMME
    assert w.send(w.dave, grid_pb2.EnrolDr(event_id="peak", device_id="dave-meter")) == 0


def test_settlement_is_carried_over_blocks(consortium: Consortium) -> None:
    """With one step per block the same event settles over several blocks to the same rewards,
    the escrow holding what is left of the budget in between (the driver checks it)."""
    w = _world(consortium, False, {"grid.dr_settlements_per_block": 1})
    _publish(w, 50, 1_000)
    for device, who in (("dave-meter", w.dave), ("carol-meter", w.carol)):
        assert w.send(who, grid_pb2.EnrolDr(event_id="peak", device_id=device)) == 0
    _honest_event_reports(w)
    w.until(S + L + 900 + 1)
    stages = []
    for _ in range(8):
        event = grid_pb2.DrEvent.FromString(w.driver.query("/dr/peak").value)
        stages.append((event.stage, event.settled))
        if event.settled:
            break
        w.driver.block([])
    assert stages[0] == (1, False)  # one step: measuring, only the unused snapshot dropped
    assert (2, False) in stages
    assert stages[-1][1]
    assert len(stages) >= 5  # snapshot, two measurements, two payments: one a block
    settled = _enrolments(w)
    assert (settled["carol-meter"].reward, settled["dave-meter"].reward) == (33, 16)
