"""Bounded work per tx and per block (issue 19, attack 6 and item 8): the work meter, the block
budget, the governance floors, and the proof that the meter bounds the store writes."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from gridledger.forecasts.v1 import forecasts_pb2
from gridledger.governance.v1 import governance_pb2
from gridwire.reading import Reading
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from abci_app.codec import decode_tx
from abci_app.devices import keeper as devices_keeper
from abci_app.devices.params import SETTLEMENT_INTERVAL
from abci_app.errors import Code, TxError
from abci_app.executor import execute
from abci_app.params import DOMAIN_PARAMS, PARAM_BOUNDS, Params, load_params, set_domain_param
from abci_app.pb import abci
from abci_app.store.branch import Branch
from abci_app.types import BlockInfo
from abci_app.work import (
    DAY,
    HOUR_WORK,
    INTERVAL_WORK,
    ITEM_WORK,
    MESSAGE_WORK,
    READING_WORK,
    TX_WORK,
    BlockMeter,
    periods,
    tx_work,
)
from clients import devices as dc
from clients.ops.consortium import Consortium
from tests.bench.worst_block import ATTACKER, EXTREME_PARAMS, AttackDevices, worst_block
from tests.support.driver import AppDriver
from tests.unit.helpers import account_nonce, balance, signed, submit


@contextmanager
def counted_writes() -> Iterator[list[int]]:
    """Count every Branch.set and Branch.delete call (each store write, at any branch level)."""
    count = [0]
    original_set, original_delete = Branch.set, Branch.delete

    def counting_set(self: Branch, key: bytes, value: bytes) -> None:
        count[0] += 1
        original_set(self, key, value)

    def counting_delete(self: Branch, key: bytes) -> None:
        count[0] += 1
        original_delete(self, key)

    Branch.set = counting_set  # type: ignore[method-assign]
    Branch.delete = counting_delete  # type: ignore[method-assign]
    try:
        yield count
    finally:
        Branch.set = original_set  # type: ignore[method-assign]
        Branch.delete = original_delete  # type: ignore[method-assign]


def _writes_of(driver: AppDriver, txs: list[bytes]) -> tuple[int, list[int]]:
    """Store writes of executing `txs` in order on a branch of the committed state (nothing is
    committed), and each tx's result code."""
    branch = Branch(driver.app.state)
    block = BlockInfo(driver.chain_id, driver.height + 1, (driver.time + 1) * 1_000_000_000)
    with counted_writes() as count:
        codes = [execute(branch, block, raw).code for raw in txs]
    return count[0], codes


def _meter(driver: AppDriver, txs: list[bytes]) -> int:
    meter = BlockMeter(driver.app.state)
    for raw in txs:
        meter.add(decode_tx(raw))
    return meter.total


# ---- attack 6: one tx of 400 day-long readings from 400 fresh devices -----------------------------


def test_day_long_readings_from_fresh_devices_are_refused(consortium: Consortium) -> None:
    """The issue's 38 KB SubmitReadings of 400 day-long readings is refused by CheckTx with
    WORK_LIMIT_EXCEEDED, and, put straight into a block, fails with the same code before its
    nonce is used: no reading is recorded and the block's work is only the envelope checks."""
    driver = AppDriver(consortium)
    driver.block([])
    alice = consortium.member(ATTACKER)
    attack = AttackDevices(driver, alice, 400)
    (raw,) = attack.txs(400)
    assert 30_000 < len(raw) < 65_536
    work = tx_work(driver.app.state, decode_tx(raw))
    assert work > load_params(driver.app.state).max_tx_work
    nonce, money = account_nonce(driver, alice), balance(driver, alice)
    refused = driver.block([raw])
    assert refused.check_codes == (Code.WORK_LIMIT_EXCEEDED,)
    assert refused.codes == ()
    byzantine = driver.block([raw], check=False)
    assert not byzantine.accepted  # ProcessProposal: the proposal's work is above the block budget
    assert byzantine.codes == (Code.WORK_LIMIT_EXCEEDED,)
    assert "limit per tx" in byzantine.tx_results[0].log
    assert account_nonce(driver, alice) == nonce
    assert balance(driver, alice) == money
    last = devices_keeper.get_reading(driver.app.state, "atk-0")
    assert last is not None
    assert last.seq == 1


def test_the_split_attack_fills_at_most_one_budget_per_block(consortium: Consortium) -> None:
    """Split into txs under the per-tx limit, the same readings pass CheckTx but an honest
    proposer takes them only up to max_block_work per block; the counted work of every
    block stays within the budget and the store writes of its txs within that work."""
    driver = AppDriver(consortium)
    driver.block([])
    alice = consortium.member(ATTACKER)
    attack = AttackDevices(driver, alice, 300)
    budget = load_params(driver.app.state).max_block_work
    txs = attack.txs(50)
    assert all(tx_work(driver.app.state, decode_tx(raw)) <= load_params(driver.app.state).max_tx_work for raw in txs)
    assert _meter(driver, txs) > budget  # the whole attack does not fit in one block
    writes, _codes = _writes_of(driver, txs[:1])
    assert writes <= _meter(driver, txs[:1])
    first = worst_block(driver, txs)
    assert first["failed"] == 0
    assert 0 < first["txs_in_block"] < len(txs)
    assert first["work"] <= budget
    rest = txs[first["txs_in_block"] :]
    second = worst_block(driver, rest)
    assert second["work"] <= budget
    assert second["failed"] == 0
    assert first["txs_in_block"] + second["txs_in_block"] == len(txs)  # carried over, none lost


def test_a_byzantine_block_over_the_budget_does_the_budget_only(consortium: Consortium) -> None:
    """Every split tx injected into one FinalizeBlock: ProcessProposal rejects the proposal,
    and FinalizeBlock fails (WORK_LIMIT_EXCEEDED) each tx that would take the block above
    max_block_work, so the work done stays within the budget; the chain goes on."""
    driver = AppDriver(consortium)
    driver.block([])
    alice = consortium.member(ATTACKER)
    attack = AttackDevices(driver, alice, 300)
    budget = load_params(driver.app.state).max_block_work
    txs = attack.txs(50)
    fits = 0
    while _meter(driver, txs[: fits + 1]) <= budget:
        fits += 1
    result = driver.block(txs, check=False)
    assert not result.accepted
    assert result.codes[:fits] == (0,) * fits
    assert set(result.codes[fits:]) == {Code.WORK_LIMIT_EXCEEDED}
    assert "budget" in result.tx_results[fits].log
    assert driver.block([]).height == result.height + 1


# ---- the meter bounds the writes ------------------------------------------------------------------

N_DEVICES = 3
Metered = tuple[AppDriver, list[tuple[str, Ed25519PrivateKey]]]


@pytest.fixture(scope="module")
def metered(consortium: Consortium) -> Metered:
    """A chain whose attacker owns three PV devices (two with a committed reading, one without)
    and one battery, a day after the first readings."""
    driver = AppDriver(consortium)
    driver.block([])
    alice = consortium.member(ATTACKER)
    attack = AttackDevices(driver, alice, N_DEVICES, prefix="m")
    key = Ed25519PrivateKey.from_private_bytes(b"B" * 32)
    battery = dc.register_device(
        "m-bat", "m-site", "battery", dc.device_public_key(key), 10_000_000,
        capacity_wh=10_000_000, max_charge_w=10_000_000, max_discharge_w=10_000_000, efficiency_bp=9_000,
    )  # fmt: skip
    assert driver.block([signed(driver, alice, battery)]).codes == (0,)
    keys = [*attack.keys, ("m-bat", key)]
    # device m-2 keeps no committed reading: the meter must bound it from its readings alone
    return driver, keys


reading_st = st.tuples(
    st.integers(0, N_DEVICES),  # device index (N_DEVICES = the battery)
    st.integers(-3 * DAY, DAY // 2),  # start relative to a day after the first readings
    st.integers(1, DAY + 900),  # length (over a day is rejected)
    st.integers(0, 5_000_000),  # register increase
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(txs=st.lists(st.lists(reading_st, min_size=1, max_size=8), min_size=1, max_size=4))
def test_the_meter_is_an_upper_bound_of_the_store_writes(
    metered: Metered, txs: list[list[tuple[int, int, int, int]]]
) -> None:
    """For any readings (first ones, gaps, overlaps, day-long, rejected, batteries), the store
    writes of executing a block's txs are at most the block meter on the state before it,
    and each tx's at most its own meter."""
    driver, keys = metered
    alice = driver.consortium.member(ATTACKER)
    origin = driver.time - 100
    seqs = dict.fromkeys((d for d, _k in keys), 2)
    registers = dict.fromkeys((d for d, _k in keys), 0)
    raws: list[bytes] = []
    for tx in txs:
        readings = []
        for index, start, length, increase in tx:
            device, key = keys[index]
            registers[device] += increase
            seqs[device] += 1
            s = origin + start
            r = Reading(device, seqs[device], s, s + length, 0, registers[device], registers[device], 0, 1_000)
            readings.append(dc.sign_reading(key, driver.chain_id, r))
        raws.append(signed(driver, alice, dc.submit_readings(readings), nonce=10_000 + len(raws)))
    writes, codes = _writes_of(driver, raws)
    assert all(c in (0, Code.WORK_LIMIT_EXCEEDED) for c in codes)
    assert writes <= _meter(driver, raws)
    for raw in raws:
        assert _writes_of(driver, [raw])[0] <= tx_work(driver.app.state, decode_tx(raw))


def test_the_work_of_a_reading_is_its_intervals_and_hours(
    metered: Metered,
) -> None:
    """One day-long reading off the boundaries costs its 97 intervals and 25 hours at the
    default periods; a 15-minute reading following its device's last one, the (at most two)
    intervals and hours it overlaps; a reading after a gap, its whole span from the last end."""
    driver, keys = metered
    alice = driver.consortium.member(ATTACKER)
    device, key = keys[0]
    last = devices_keeper.get_reading(driver.app.state, device)
    assert last is not None

    def work(start: int, end: int) -> int:
        r = Reading(device, last.seq + 1, start, end, 0, last.export_wh + 1)
        raw = signed(driver, alice, dc.submit_readings([dc.sign_reading(key, driver.chain_id, r)]), nonce=1)
        return tx_work(driver.app.state, decode_tx(raw))

    envelope = TX_WORK + MESSAGE_WORK + READING_WORK
    assert work(last.end, last.end + DAY) == envelope + 97 * INTERVAL_WORK + 25 * HOUR_WORK
    e = last.end
    quarter = envelope + INTERVAL_WORK * periods(e, e + 900, 900) + HOUR_WORK * periods(e, e + 900, 3600)
    assert work(e, e + 900) == quarter <= envelope + 2 * INTERVAL_WORK + 2 * HOUR_WORK
    # a reading after a gap: its span reaches back to the last end (up to a day), charged too
    assert work(e + 10, e + 910) == work(e, e + 910)


# ---- governance keeps the worst legal block within the budget -------------------------------------


def test_governance_cannot_vote_the_periods_down(driver: AppDriver, consortium: Consortium) -> None:
    """ChangeParam to a 10 s settlement interval is refused (INVALID_PROPOSAL): governance keeps
    it >= 300 s and the certificate period >= 900 s; only a genesis (a demonstration on an
    accelerated clock) may go down to 10 s."""
    driver.block([])
    admin = consortium.member("community-a/admin")
    change = governance_pb2.ChangeParam(name=SETTLEMENT_INTERVAL, value=10)
    result = driver.block([signed(driver, admin, submit(change_param=change))], check=False)
    assert result.codes == (43,)  # GovernanceCode.INVALID_PROPOSAL
    assert "[300, 86400]" in result.tx_results[0].log
    store = Branch(driver.app.state)
    with pytest.raises(TxError):
        set_domain_param(store, "certificates.period_seconds", 60)
    set_domain_param(store, "certificates.period_seconds", 60, genesis=True)
    assert DOMAIN_PARAMS[SETTLEMENT_INTERVAL].low == 300
    assert DOMAIN_PARAMS["certificates.period_seconds"].low == 900


def test_at_the_extreme_parameters_the_worst_block_is_within_its_budget(consortium: Consortium) -> None:
    """At the extreme legal parameters (shortest governed periods, largest budgets), one
    day-long reading still fits in the smallest legal per-tx limit, every tx an honest node
    admits is within the per-tx limit, the worst block PrepareProposal builds is within
    max_block_work (and one more tx is rejected by ProcessProposal), and its txs' store writes
    are at most its counted work."""
    driver = AppDriver(consortium, params=EXTREME_PARAMS)
    driver.block([])
    params: Params = load_params(driver.app.state)
    assert params.max_block_work == PARAM_BOUNDS["max_block_work"][1]
    worst_reading = READING_WORK + INTERVAL_WORK * (DAY // 300 + 1) + HOUR_WORK * (DAY // 900 + 1)
    assert TX_WORK + MESSAGE_WORK + worst_reading <= PARAM_BOUNDS["max_tx_work"][0]
    alice = consortium.member(ATTACKER)
    attack = AttackDevices(driver, alice, 240)
    one = tx_work(driver.app.state, decode_tx(attack.txs(1)[0]))
    assert one == TX_WORK + MESSAGE_WORK + worst_reading
    txs = attack.txs(params.max_tx_work // one)
    assert all(tx_work(driver.app.state, decode_tx(raw)) <= params.max_tx_work for raw in txs)
    assert _meter(driver, txs) > params.max_block_work
    fits = 0
    while _meter(driver, txs[: fits + 1]) <= params.max_block_work:
        fits += 1
    writes, codes = _writes_of(driver, txs[:fits])
    assert codes == [0] * fits
    assert _meter(driver, txs[:fits]) // 2 <= writes <= _meter(driver, txs[:fits]) <= params.max_block_work
    request = abci.RequestProcessProposal(txs=txs[: fits + 1], height=driver.height + 1)
    assert driver.app.process_proposal(request).status == abci.ResponseProcessProposal.REJECT


def test_a_message_is_charged_for_the_items_of_its_lists(metered: Metered) -> None:
    """A PostForecast's slots are each charged (a stored forecast and its index entry), and
    its store writes stay within the meter."""
    driver, keys = metered
    alice = driver.consortium.member(ATTACKER)
    device = keys[0][0]
    length = 900
    first = (driver.time // length + 2) * length
    slots = [forecasts_pb2.ForecastSlot(export_wh=1, import_wh=0) for _ in range(96)]
    msg = forecasts_pb2.PostForecast(device_id=device, first_interval=first, slots=slots)
    raw = signed(driver, alice, msg, nonce=20_000)
    work = tx_work(driver.app.state, decode_tx(raw))
    assert work == TX_WORK + MESSAGE_WORK + 96 * ITEM_WORK
    writes, codes = _writes_of(driver, [raw])
    assert codes == [0]
    assert 96 * 2 <= writes <= work


def test_ordinary_readings_stay_cheap(consortium: Consortium) -> None:
    """Honest traffic is not held back: 300 devices' next 15-minute readings in one tx cost at
    most 17 units each (two intervals and two hours at worst), pass CheckTx and are applied."""
    driver = AppDriver(consortium)
    driver.block([])
    alice = consortium.member(ATTACKER)
    attack = AttackDevices(driver, alice, 300, prefix="h")
    start = attack.first_end
    readings = [dc.sign_reading(k, driver.chain_id, Reading(d, 2, start, start + 900, 0, 100)) for d, k in attack.keys]
    raw = signed(driver, alice, dc.submit_readings(readings))
    work = tx_work(driver.app.state, decode_tx(raw))
    assert work <= TX_WORK + MESSAGE_WORK + 300 * (READING_WORK + 2 * INTERVAL_WORK + 2 * HOUR_WORK)
    result = driver.block([raw])
    assert result.check_codes == (0,)
    assert result.codes == (0,)
    assert sum(1 for e in result.tx_results[0].events if e.type == "reading_accepted") == 300
