"""FinalizeBlock's shortcuts in the work meter (issue 16): ProcessProposal's per-tx costs reused
for the same block, and the per-tx meter skipped when the block meter proves it within the
limit, never change a result: honest nodes, replaying nodes and Byzantine blocks agree."""

from __future__ import annotations

from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from google.protobuf.timestamp_pb2 import Timestamp
from gridwire.reading import Reading
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from abci_app.codec import decode_tx
from abci_app.devices.params import SETTLEMENT_INTERVAL
from abci_app.errors import Code
from abci_app.executor import execute
from abci_app.params import set_domain_param
from abci_app.pb import abci
from abci_app.store.branch import Branch, KVReader
from abci_app.types import BlockInfo
from abci_app.work import DAY, BlockMeter, tx_work
from clients import devices as dc
from clients.ops.consortium import Consortium
from tests.bench.worst_block import ATTACKER, AttackDevices
from tests.support.driver import AppDriver
from tests.unit.helpers import signed, transfer

N_DEVICES = 3


def _chain(consortium: Consortium) -> tuple[AppDriver, list[tuple[str, Ed25519PrivateKey]]]:
    """A chain whose attacker owns three PV devices with a committed first reading, a day later."""
    driver = AppDriver(consortium)
    driver.block([])
    attack = AttackDevices(driver, consortium.member(ATTACKER), N_DEVICES, prefix="r")
    return driver, attack.keys


def _readings_tx(driver: AppDriver, keys: list[tuple[str, Ed25519PrivateKey]], spec: list[tuple[int, int, int]],
                 seqs: dict[str, int], nonce: int) -> bytes:  # fmt: skip
    """A SubmitReadings of (device index, start relative to the block time, length) readings."""
    readings = []
    for index, start, length in spec:
        device, key = keys[index]
        seqs[device] = seqs.get(device, 1) + 1
        s = driver.time + start
        readings.append(dc.sign_reading(key, driver.chain_id, Reading(device, seqs[device], s, s + length, 0, 1)))
    return signed(driver, driver.consortium.member(ATTACKER), dc.submit_readings(readings), nonce=nonce)


def _finalize(driver: AppDriver, txs: list[bytes], *, propose: bool) -> abci.ResponseFinalizeBlock:
    """One block of `txs` as given (a Byzantine proposer's), with or without ProcessProposal first
    (without: a node replaying the chain), committed."""
    driver.height += 1
    driver.time += 5
    ts = Timestamp(seconds=driver.time)
    if propose:
        proc = abci.RequestProcessProposal(txs=txs, height=driver.height)
        proc.time.CopyFrom(ts)
        driver.app.process_proposal(proc)
    fin = abci.RequestFinalizeBlock(txs=txs, height=driver.height)
    fin.time.CopyFrom(ts)
    resp = driver.app.finalize_block(fin)
    driver.app.commit(abci.RequestCommit())
    return resp


def _results(resp: abci.ResponseFinalizeBlock) -> list[tuple[int, str]]:
    return [(r.code, r.log) for r in resp.tx_results]


def test_proposed_and_replayed_blocks_agree(consortium: Consortium) -> None:
    """The same blocks (readings of one device across txs, a stale nonce in the middle, a tx
    over the per-tx limit, day-long readings) give the same codes, logs and app hashes on a node
    that ran ProcessProposal first and on one that replays them."""
    proposer, keys = _chain(consortium)
    replayer, _ = _chain(consortium)
    assert proposer.app.state.app_hash == replayer.app.state.app_hash
    seqs: dict[str, int] = {}
    t = -DAY + 600
    blocks = [
        [
            _readings_tx(proposer, keys, [(0, t, 900), (1, t, 900)], seqs, 100),
            _readings_tx(proposer, keys, [(0, t + 900, 900)], seqs, 100),  # stale nonce: never metered
            _readings_tx(proposer, keys, [(0, t + 900, 900), (2, t + 300, DAY - 400)], seqs, 101),
            _readings_tx(proposer, keys, [(1, t + 900, 900), (1, t + 1800, 900)], seqs, 102),
        ],
        [_readings_tx(proposer, keys, [(i % N_DEVICES, -DAY + 3600 * (i + 1), 3600) for i in range(20)], seqs, 103)],
    ]
    codes = []
    for txs in blocks:
        proposed = _finalize(proposer, txs, propose=True)
        replayed = _finalize(replayer, txs, propose=False)
        assert _results(proposed) == _results(replayed)
        assert proposed.app_hash == replayed.app_hash
        codes += [c for c, _log in _results(proposed)]
    assert Code.NONCE_TOO_LOW in codes
    assert 0 in codes


def test_costs_of_another_proposal_are_never_reused(consortium: Consortium) -> None:
    """ProcessProposal's costs are keyed by the exact txs: a FinalizeBlock of other txs at the
    same height (another round's block) gets the results of a fresh meter."""
    driver, keys = _chain(consortium)
    fresh, _ = _chain(consortium)
    seqs: dict[str, int] = {}
    a = _readings_tx(driver, keys, [(0, -DAY + 600, 900)], seqs, 100)
    b = _readings_tx(driver, keys, [(0, -DAY + 600, DAY - 700), (1, -DAY + 600, 900)], {}, 100)
    proc = abci.RequestProcessProposal(txs=[a], height=driver.height + 1)
    proc.time.CopyFrom(Timestamp(seconds=driver.time + 5))
    assert driver.app.process_proposal(proc).status == abci.ResponseProcessProposal.ACCEPT
    reused = _finalize(driver, [b], propose=False)
    replayed = _finalize(fresh, [b], propose=False)
    assert _results(reused) == _results(replayed)
    assert reused.app_hash == replayed.app_hash


def test_known_costs_stop_at_the_first_tx_not_counted(consortium: Consortium) -> None:
    """A meter takes a known cost only while every earlier tx of the sequence was committed."""
    driver = AppDriver(consortium)
    driver.block([])
    meter = BlockMeter(driver.app.state, known=[(111, {}), (222, {}), (333, {})])
    tx = decode_tx(signed(driver, consortium.member(ATTACKER), transfer(bytes(20), 1), nonce=1))
    meter.at(0)
    assert meter.cost(tx) == (111, {})
    meter.commit(111, {})
    meter.at(1)
    assert meter.cost(tx) == (222, {})  # not committed: this tx failed before the meter
    meter.at(2)
    assert meter.cost(tx)[0] != 333


reading_st = st.tuples(st.integers(0, N_DEVICES - 1), st.integers(-3 * DAY, DAY // 2), st.integers(1, DAY + 900))


class _Spy:
    """Wraps BlockMeter.covers: every time it vouches for a tx, the tx's own meter on the branch
    must be within the limit, and it must never vouch for a limit just below that meter."""

    def __init__(self, meter: BlockMeter) -> None:
        self.meter = meter
        self.vouched = 0
        self.calls = 0
        covers = meter.covers

        def checked(store: KVReader, tx: Any, pending: Any, limit: int) -> bool:
            self.calls += 1
            own = tx_work(store, tx)
            assert not covers(store, tx, pending, own - 1)
            vouched = covers(store, tx, pending, limit)
            if vouched:
                assert own <= limit
                self.vouched += 1
            return vouched

        meter.covers = checked  # type: ignore[method-assign]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(txs=st.lists(st.lists(reading_st, min_size=1, max_size=6), min_size=1, max_size=5))
def test_the_block_meter_bounds_every_tx_meter(consortium: Consortium, txs: list[list[tuple[int, int, int]]]) -> None:
    """For any readings in a block (gaps, overlaps, day-long, rejected, the same device in several
    txs), whenever the block meter vouches for a tx its own meter on the branch is within the limit."""
    driver, keys = _CHAIN.get(consortium)
    seqs: dict[str, int] = {}
    raws = [_readings_tx(driver, keys, spec, seqs, 10_000 + n) for n, spec in enumerate(txs)]
    branch = Branch(driver.app.state)
    block = BlockInfo(driver.chain_id, driver.height + 1, (driver.time + 1) * 1_000_000_000)
    meter = BlockMeter(driver.app.state, bounds_tx_work=True)
    spy = _Spy(meter)
    for position, raw in enumerate(raws):
        meter.at(position)
        out = execute(branch, block, raw, block_meter=meter)
        assert out.code in (0, Code.WORK_LIMIT_EXCEEDED)
    assert spy.calls == len(raws)  # every tx reached the meter, and its bound was checked


class _Chains:
    """One committed chain per test session for the property test (set up once)."""

    def __init__(self) -> None:
        self._chain: tuple[AppDriver, list[tuple[str, Ed25519PrivateKey]]] | None = None

    def get(self, consortium: Consortium) -> tuple[AppDriver, list[tuple[str, Ed25519PrivateKey]]]:
        if self._chain is None:
            self._chain = _chain(consortium)
        return self._chain


_CHAIN = _Chains()


def test_no_bound_when_the_branch_periods_differ_or_a_migration_ran(consortium: Consortium) -> None:
    """The block meter never vouches for a readings tx when the branch's settlement interval
    differs from the state before the block (a vote inside the block), nor when a migration ran."""
    driver, keys = _chain(consortium)
    raw = _readings_tx(driver, keys, [(0, -DAY + 600, 900)], {}, 100)
    tx = decode_tx(raw)
    meter = BlockMeter(driver.app.state, bounds_tx_work=True)
    _added, pending = meter.cost(tx)
    branch = Branch(driver.app.state)
    assert meter.covers(branch, tx, pending, 10_000)
    set_domain_param(branch, SETTLEMENT_INTERVAL, 300)
    assert not meter.covers(branch, tx, pending, 10_000)
    migrated = BlockMeter(driver.app.state, bounds_tx_work=False)
    assert not migrated.covers(Branch(driver.app.state), tx, migrated.cost(tx)[1], 10_000)


def test_finalize_block_meters_nothing_again_after_process_proposal(
    consortium: Consortium, monkeypatch: pytest.MonkeyPatch
) -> None:
    """After ProcessProposal accepted a block of readings, its FinalizeBlock reads no device for the
    work meter (costs reused, per-tx meter vouched for); a replaying node's reads each device once."""
    proposer, keys = _chain(consortium)
    replayer, _ = _chain(consortium)
    seqs: dict[str, int] = {}
    txs = [_readings_tx(proposer, keys, [(i, -DAY + 600, 900)], seqs, 100 + i) for i in range(N_DEVICES)]
    reads = [0]
    device = BlockMeter._device

    def counted(self: BlockMeter, r: Any, pending: Any) -> Any:
        reads[0] += 1
        return device(self, r, pending)

    proc = abci.RequestProcessProposal(txs=txs, height=proposer.height + 1)
    proc.time.CopyFrom(Timestamp(seconds=proposer.time + 5))
    assert proposer.app.process_proposal(proc).status == abci.ResponseProcessProposal.ACCEPT
    monkeypatch.setattr(BlockMeter, "_device", counted)
    proposed = _finalize(proposer, txs, propose=False)  # ProcessProposal ran just above
    assert reads[0] == 0
    replayed = _finalize(replayer, txs, propose=False)
    assert reads[0] == N_DEVICES  # the block meter only: each tx's own meter was vouched for
    assert _results(proposed) == _results(replayed) == [(0, "")] * N_DEVICES
    assert proposed.app_hash == replayed.app_hash
