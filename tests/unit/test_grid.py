"""Grid operation: only the grid operator sets tariffs, fees and limits; demand response
rewards measured reductions against the documented baseline, from an escrowed budget."""

from __future__ import annotations

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from google.protobuf.message import Message
from gridledger.grid.v1 import grid_pb2
from gridwire.reading import Reading

from abci_app.errors import Code
from abci_app.grid.errors import GridCode
from abci_app.grid.messages import UNLIMITED_WH
from clients import devices as dc
from clients.ops.consortium import Consortium
from clients.pki import Identity
from tests.support.driver import GENESIS_TIME, AppDriver
from tests.unit.helpers import balance, signed

T0 = GENESIS_TIME + 3600  # a settlement-interval boundary
DAY = 86_400
METER_KEY = Ed25519PrivateKey.from_private_bytes(b"\x07" * 32)


def _code(driver: AppDriver, who: Identity, *msgs: Message, seconds: int = 1) -> int:
    return driver.block([signed(driver, who, *msgs)], check=False, seconds=seconds).codes[0]


def _until(driver: AppDriver, t: int) -> None:
    """Commit an empty block at block time `t`."""
    driver.block([], seconds=t - driver.time)


def test_only_the_grid_operator_sets_prices_fees_and_limits(driver: AppDriver, consortium: Consortium) -> None:
    driver.block([])
    operator = consortium.member("gridop/control")
    alice = consortium.member("community-a/alice")
    supplier = consortium.member("utility/treasury")
    tariffs = grid_pb2.SetTariffs(
        supplier=supplier.address,
        retail_per_kwh=300,
        feed_in_per_kwh=80,
        imbalance_short_per_kwh=400,
        imbalance_long_per_kwh=50,
    )
    fees = grid_pb2.SetGridFees(intra_feeder_per_kwh=10, inter_feeder_per_kwh=30)
    limit = grid_pb2.SetFeederLimit(feeder="feeder-1", import_wh=5_000, export_wh=4_000)
    for msg in (tariffs, fees, limit):
        assert _code(driver, alice, msg) == Code.UNAUTHORIZED
        assert _code(driver, consortium.member("community-a/admin"), msg) == Code.UNAUTHORIZED
        assert _code(driver, operator, msg) == 0
    inverted = grid_pb2.SetGridFees(intra_feeder_per_kwh=40, inter_feeder_per_kwh=30)
    assert _code(driver, operator, inverted) == GridCode.FEES_INVERTED
    nobody = grid_pb2.SetTariffs(supplier=b"\x09" * 20)
    assert _code(driver, operator, nobody) == GridCode.UNKNOWN_SUPPLIER
    stored = grid_pb2.FeederLimit.FromString(driver.query("/feeder/feeder-1").value)
    assert (stored.import_wh, stored.export_wh) == (5_000, 4_000)
    assert grid_pb2.GridFees.FromString(driver.query("/fees").value).inter_feeder_per_kwh == 30
    assert grid_pb2.Tariffs.FromString(driver.query("/tariffs").value).operator == operator.address


def _meter_site(driver: AppDriver, consortium: Consortium) -> Identity:
    alice = consortium.member("community-a/alice")
    site = dc.register_site("home-a", "feeder-1", "nl")
    meter = dc.register_device("meter-a", "home-a", "meter", dc.device_public_key(METER_KEY), 10_000)
    join = grid_pb2.JoinDrProgramme(device_id="meter-a")
    assert _code(driver, alice, site, meter, join) == 0
    return alice


def _read(driver: AppDriver, alice: Identity, *readings: Reading) -> None:
    batch = dc.submit_readings([dc.sign_reading(METER_KEY, driver.chain_id, r) for r in readings])
    result = driver.block([signed(driver, alice, batch)], check=False)
    assert result.codes == (0,)
    kinds = [e.type for e in result.tx_results[0].events if e.type.startswith("reading_")]
    assert kinds == ["reading_accepted"] * len(readings)


def test_demand_response_rewards_the_measured_reduction(consortium: Consortium) -> None:
    """Baseline = yesterday's import in the event interval (N = 1 day here); the owner is paid
    reduction × reward ÷ 1000 from the escrowed budget, the operator gets the rest back."""
    driver = AppDriver(consortium, params={"grid.dr_baseline_days": 1})
    driver.block([])
    operator = consortium.member("gridop/control")
    alice = _meter_site(driver, consortium)
    _until(driver, T0 + 900)
    # Day 0: 2,000 Wh imported in the interval that will be the event's tomorrow.
    _read(driver, alice, Reading("meter-a", 1, T0 - 900, T0, 0, 0), Reading("meter-a", 2, T0, T0 + 900, 2_000, 0))

    start = T0 + DAY
    _until(driver, start - 1800)  # the meter was registered a baseline window (1 day) before
    event = grid_pb2.PublishDrEvent(
        event_id="peak-1",
        feeder="feeder-1",
        start=start,
        end=start + 900,
        requested_reduction_wh=3_000,
        reward_per_kwh=100,
    )
    operator_before, alice_before = balance(driver, operator), balance(driver, alice)
    assert _code(driver, operator, event) == 0
    assert balance(driver, operator) == operator_before - 300  # budget 3,000 Wh × 100 / 1000
    assert _code(driver, alice, grid_pb2.EnrolDr(event_id="peak-1", device_id="meter-a")) == 0
    again = grid_pb2.EnrolDr(event_id="peak-1", device_id="meter-a")
    assert _code(driver, alice, again) == GridCode.DR_ALREADY_ENROLLED

    _until(driver, start + 900)
    # Day 1: only 500 Wh in the event interval → 1,500 Wh reduced → 150 paid, 150 back.
    _read(
        driver,
        alice,
        Reading("meter-a", 3, T0 + 900, start, 2_000, 0),
        Reading("meter-a", 4, start, start + 900, 2_500, 0),
    )
    assert not grid_pb2.DrEvent.FromString(driver.query("/dr/peak-1").value).settled  # within the grace period
    _until(driver, start + 900 + 900)
    enrolment = grid_pb2.DrEnrolmentList.FromString(driver.query("/dr_enrolments/peak-1").value).enrolments[0]
    assert (enrolment.baseline_wh, enrolment.actual_wh, enrolment.reduction_wh, enrolment.reward) == (
        2_000,
        500,
        1_500,
        150,
    )
    assert balance(driver, alice) == alice_before + 150
    assert balance(driver, operator) == operator_before - 150
    settled = grid_pb2.DrEvent.FromString(driver.query("/dr/peak-1").value)
    assert settled.settled
    assert settled.paid == 150


def test_demand_response_enrolment_rules(driver: AppDriver, consortium: Consortium) -> None:
    """Unknown events, other owners' devices, other feeders and started events are refused."""
    driver.block([])
    operator = consortium.member("gridop/control")
    alice = _meter_site(driver, consortium)
    bob = consortium.member("community-a/bob")
    start = T0 + 1800
    bad_window = grid_pb2.PublishDrEvent(
        event_id="xx", feeder="feeder-1", start=start + 1, end=start + 900, requested_reduction_wh=1, reward_per_kwh=1
    )
    assert _code(driver, operator, bad_window) == GridCode.DR_BAD_WINDOW
    other = grid_pb2.PublishDrEvent(
        event_id="other", feeder="feeder-9", start=start, end=start + 900, requested_reduction_wh=1, reward_per_kwh=1
    )
    here = grid_pb2.PublishDrEvent(
        event_id="here", feeder="feeder-1", start=start, end=start + 900, requested_reduction_wh=1, reward_per_kwh=1
    )
    assert _code(driver, operator, other, here) == 0
    assert _code(driver, alice, grid_pb2.EnrolDr(event_id="nope", device_id="meter-a")) == GridCode.UNKNOWN_DR_EVENT
    assert _code(driver, bob, grid_pb2.EnrolDr(event_id="here", device_id="meter-a")) == GridCode.NOT_DEVICE_OWNER
    assert _code(driver, alice, grid_pb2.EnrolDr(event_id="other", device_id="meter-a")) == GridCode.DR_WRONG_FEEDER
    _until(driver, start)
    late = grid_pb2.EnrolDr(event_id="here", device_id="meter-a")
    assert _code(driver, alice, late) == GridCode.DR_ENROLMENT_CLOSED


def programme_meters(driver: AppDriver, consortium: Consortium) -> tuple[Identity, Identity]:
    """Alice's meters meter-a, meter-2 and meter-3 on feeder-1, all in its DR programme and
    registered 10 s ago (a baseline window when `grid.dr_baseline_period_seconds` is 10 and
    `grid.dr_baseline_days` 1); returns the grid operator and alice."""
    driver.block([])
    operator = consortium.member("gridop/control")
    alice = _meter_site(driver, consortium)
    for n in (2, 3):
        key = dc.device_public_key(Ed25519PrivateKey.from_private_bytes(bytes([0x70 + n]) * 32))
        register = dc.register_device(f"meter-{n}", "home-a", "meter", key, 10_000)
        assert _code(driver, alice, register, grid_pb2.JoinDrProgramme(device_id=f"meter-{n}")) == 0
    _until(driver, driver.time + 10)
    return operator, alice


def test_demand_response_enrolments_per_event_are_capped(consortium: Consortium) -> None:
    """grid.max_enrolments_per_event bounds the settlement hook's work: the enrolment beyond
    it is DR_TOO_MANY_ENROLMENTS, another event still has room, and settlement rewards the
    enrolled devices only."""
    driver = AppDriver(
        consortium,
        params={"grid.max_enrolments_per_event": 2, "grid.dr_baseline_days": 1, "grid.dr_baseline_period_seconds": 10},
    )
    operator, alice = programme_meters(driver, consortium)
    start = T0 + 1800
    events = [
        grid_pb2.PublishDrEvent(
            event_id=e, feeder="feeder-1", start=start, end=start + 900, requested_reduction_wh=1, reward_per_kwh=1
        )
        for e in ("one", "two")
    ]
    assert _code(driver, operator, *events) == 0
    for device in ("meter-a", "meter-2"):
        assert _code(driver, alice, grid_pb2.EnrolDr(event_id="one", device_id=device)) == 0
    third = grid_pb2.EnrolDr(event_id="one", device_id="meter-3")
    assert _code(driver, alice, third) == GridCode.DR_TOO_MANY_ENROLMENTS
    assert _code(driver, alice, grid_pb2.EnrolDr(event_id="two", device_id="meter-3")) == 0
    _until(driver, start + 900 + 900)
    enrolled = grid_pb2.DrEnrolmentList.FromString(driver.query("/dr_enrolments/one").value).enrolments
    assert sorted(e.device_id for e in enrolled) == ["meter-2", "meter-a"]
    assert all(e.settled for e in enrolled)


def test_feeder_and_region_names_keep_their_case(driver: AppDriver, consortium: Consortium) -> None:
    """`F1` and `f1` are two feeders, a CIM-style `_SS12:F3` and region `NL-North` are accepted
    by SetFeederLimit and RegisterSite alike (one validator), and names with a space or a slash
    are INVALID_ARGUMENT."""
    driver.block([])
    operator = consortium.member("gridop/control")
    alice = consortium.member("community-a/alice")
    for feeder, wh in (("F1", 100), ("f1", 200), ("_SS12:F3", 300)):
        assert _code(driver, operator, grid_pb2.SetFeederLimit(feeder=feeder, import_wh=wh, export_wh=wh)) == 0
    assert grid_pb2.FeederLimit.FromString(driver.query("/feeder/F1").value).import_wh == 100
    assert grid_pb2.FeederLimit.FromString(driver.query("/feeder/f1").value).import_wh == 200
    assert _code(driver, alice, dc.register_site("home-up", "_SS12:F3", "NL-North")) == 0
    for bad in ("F 1", "a/b", "-F1", ""):
        assert _code(driver, operator, grid_pb2.SetFeederLimit(feeder=bad, import_wh=1)) == Code.INVALID_ARGUMENT
        assert _code(driver, alice, dc.register_site("home-x", bad, "nl")) == Code.INVALID_ARGUMENT
    assert _code(driver, alice, dc.register_site("home-y", "F1", "NL North")) == Code.INVALID_ARGUMENT


def test_a_feeder_limit_side_can_be_left_unlimited(driver: AppDriver, consortium: Consortium) -> None:
    """import_unlimited stores the import side as UNLIMITED_WH while export_wh = 0 still means
    zero; an unlimited side with a non-zero amount is INVALID_ARGUMENT."""
    driver.block([])
    operator = consortium.member("gridop/control")
    limit = grid_pb2.SetFeederLimit(feeder="F1", import_unlimited=True, export_wh=0)
    assert _code(driver, operator, limit) == 0
    stored = grid_pb2.FeederLimit.FromString(driver.query("/feeder/F1").value)
    assert (stored.import_wh, stored.export_wh) == (UNLIMITED_WH, 0)
    both = grid_pb2.SetFeederLimit(feeder="F1", import_wh=5, import_unlimited=True)
    assert _code(driver, operator, both) == Code.INVALID_ARGUMENT
