"""The benchmark's parts and the hot-path changes it drove: load generator, summaries, the
indexed range scans of big branches, CheckTx's per-commit block info, and the server's
response framing."""

from __future__ import annotations

import math
from collections import defaultdict
from typing import Any

import pytest
from gridledger.accounts.v1 import accounts_pb2
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from abci_app.app import _add_events
from abci_app.codec import decode_tx
from abci_app.crypto import verify
from abci_app.errors import Code
from abci_app.framing import encode_uvarint, split_frames
from abci_app.pb import abci
from abci_app.server import AbciProtocol, _dispatch_table
from abci_app.store.backend import CommitBatch, CommitMeta, MemoryBackend
from abci_app.store.branch import Branch
from abci_app.types import Event
from clients.ops.consortium import Consortium
from clients.ops.loadgen import BlockSeen, LoadTx, Mix, PhaseResult, Population, Sent, kvstore_txs
from clients.tx import sign_tx
from tests.bench.localnet_bench import summarize
from tests.bench.run import rows
from tests.support.driver import AppDriver

# -- the load generator --------------------------------------------------------------------------


def _population(driver: AppDriver, members: int, proposals: int) -> Population:
    pop = Population(driver.consortium, driver.chain_id, members, seed=3)
    for batch in (pop.enrol_txs(), pop.funding_txs(), pop.proposal_txs(proposals, "max_memo_bytes", 256)):
        assert set(driver.block([t.raw for t in batch]).codes) == {0}
    pop.open_votes(range(1, proposals + 1))
    return pop


def test_workload_commits_every_tx_with_one_nonce_sequence_per_lane(consortium: Consortium) -> None:
    """Setup and a mixed workload from the load generator all commit with code 0, and each
    lane (signer) carries strictly increasing nonces under a single key."""
    driver = AppDriver(consortium, chain_id="bench-test")
    pop = _population(driver, members=12, proposals=3)
    txs = pop.workload(300, Mix(transfer=0.8, enroll=0.1, vote=0.1))
    kinds = {t.kind for t in txs}
    assert kinds == {"transfer", "enroll", "vote"}
    lanes: dict[int, list[tuple[bytes, int]]] = defaultdict(list)
    for t in txs:
        tx = decode_tx(t.raw)
        assert verify(tx.signer, tx.signature, tx.body)
        lanes[t.lane].append((tx.signer, tx.nonce))
    for seq in lanes.values():
        assert len({signer for signer, _n in seq}) == 1
        nonces = [n for _s, n in seq]
        assert nonces == sorted(set(nonces))
    result = driver.block([t.raw for t in txs])
    assert set(result.codes) == {0}
    assert set(result.check_codes) == {0}


def test_votes_run_out_into_transfers(consortium: Consortium) -> None:
    """Once every open proposal has had one vote per voter org, the workload signs transfers
    instead of votes that could only fail."""
    driver = AppDriver(consortium, chain_id="bench-test")
    pop = _population(driver, members=4, proposals=1)
    txs = pop.workload(60, Mix(transfer=0.0, enroll=0.0, vote=1.0))
    assert [t.kind for t in txs[:4]] == ["vote"] * 4
    assert {t.kind for t in txs[4:]} == {"transfer"}
    assert set(driver.block([t.raw for t in txs]).codes) == {0}


def test_kvstore_txs_keep_the_shape_and_are_valid_kvstore_txs() -> None:
    """Each kvstore tx has the size and lane of its model tx, exactly one '=' inside it, and
    no two are equal (the mempool cache would drop duplicates)."""
    like = [LoadTx(b"x" * n, b"", lane, "transfer") for lane, n in enumerate([20, 150, 151, 700, 1])]
    txs = kvstore_txs(like * 3)
    assert [len(t.raw) for t in txs] == [max(len(t.raw), 12) for t in like * 3]
    assert [t.lane for t in txs] == [t.lane for t in like * 3]
    for t in txs:
        assert t.raw.count(b"=") == 1
        assert not t.raw.startswith(b"=")
        assert not t.raw.endswith(b"=")
    assert len({t.raw for t in txs}) == len(txs)


def test_summary_counts_uncommitted_txs_as_slowest_and_rates_over_the_window() -> None:
    """Throughput counts only blocks inside the window; a tx that never commits makes the
    top percentiles infinite instead of vanishing from them."""
    sent = [Sent(10.0 + i * 0.01, ack=0, committed=11.0 + i * 0.01, height=3, code=0) for i in range(98)]
    sent += [Sent(10.5, ack=0), Sent(10.6, ack=0)]
    txs = [LoadTx(b"t", b"", 0, "transfer")] * len(sent)
    res = PhaseResult(
        txs=txs,
        sent=sent,
        started=9.0,
        window=(10.0, 12.0),
        submit_ended=12.0,
        ended=13.0,
        blocks=[BlockSeen(9.5, 1, 50, 50), BlockSeen(11.0, 2, 60, 60), BlockSeen(11.9, 3, 38, 38)],
        mempool=[(10.5, [5, 6, 7, 8])],
        errors={},
        client_cpu_s=0.4,
        exhausted=False,
    )
    out = summarize(res, None)
    assert out["committed_tps"] == 49.0  # (60 + 38) txs over the 2 s window
    assert out["never_committed"] == 2
    assert out["latency_ms"]["p50"] == 1000.0
    assert out["latency_ms"]["p99"] == math.inf
    assert out["mempool"]["max"] == [5, 6, 7, 8]


# -- indexed range scans over big branches --------------------------------------------------------

KEY = st.builds(lambda p, rest: bytes((p,)) + rest, st.integers(0, 5), st.binary(max_size=2))
OPS = st.lists(
    st.one_of(
        st.tuples(st.just("set"), KEY),
        st.tuples(st.just("delete"), KEY),
        st.tuples(st.just("merge"), st.lists(st.tuples(KEY, st.booleans()), min_size=1, max_size=4)),
        st.tuples(st.just("scan"), st.tuples(KEY | st.binary(max_size=2), st.none() | KEY | st.binary(max_size=2))),
        st.tuples(st.just("clear"), st.none()),
    ),
    min_size=1,
    max_size=120,
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(base=st.dictionaries(KEY, st.binary(max_size=3), max_size=30), filler=st.integers(64, 90), ops=OPS)
def test_big_branch_range_scans_match_a_model(
    base: dict[bytes, bytes], filler: int, ops: list[tuple[str, Any]]
) -> None:
    """A branch with enough writes to index them returns exactly the model's items, in key
    order, for any range, after any mix of sets, deletes, child merges and direct clears."""
    backend = MemoryBackend()
    backend.commit(CommitBatch(kv=base, nodes={}, meta=CommitMeta(1, b"")))
    block = Branch(backend)
    model = dict(base)
    for i in range(filler):  # past the size where the index is used
        k = b"\x09" + i.to_bytes(2, "big")
        block.set(k, b"f")
        model[k] = b"f"
    for op, arg in ops:
        if op == "set":
            block.set(arg, b"s")
            model[arg] = b"s"
        elif op == "delete":
            block.delete(arg)
            model.pop(arg, None)
        elif op == "merge":
            tx = block.branch()
            for k, keep in arg:
                if keep:
                    tx.set(k, b"m")
                else:
                    tx.delete(k)
            tx.merge_into(block)
            for k, keep in arg:
                if keep:
                    model[k] = b"m"
                else:
                    model.pop(k, None)
        elif op == "clear":
            block.writes.clear()
            model = dict(base)
        else:
            start, end = arg
            expected = sorted((k, v) for k, v in model.items() if k >= start and (end is None or k < end))
            assert list(block.iter_range(start, end)) == expected
    assert list(block.iter_range(b"", None)) == sorted(model.items())
    assert list(block.iter_range(b"\x02", b"\x03")) == sorted((k, v) for k, v in model.items() if k[:1] == b"\x02")
    assert len(block.writes) < 64 or block._index  # a big branch answered that from its index


# -- CheckTx's block info is re-read after every Commit --------------------------------------------


def test_checktx_judges_timeouts_against_the_height_after_the_last_commit(consortium: Consortium) -> None:
    """CheckTx accepts a tx whose timeout height is the next block, and after one more Commit
    rejects a new tx with that same timeout as timed out."""
    driver = AppDriver(consortium)
    alice = consortium.member("community-a/alice")
    bob = consortium.member("community-a/bob").address

    def tx(nonce: int, timeout: int) -> bytes:
        return sign_tx(alice.key, driver.chain_id, nonce, [_transfer(bob)], timeout_height=timeout)

    timeout = driver.height + 1
    first = driver.app.check_tx(abci.RequestCheckTx(tx=tx(1, timeout), type=abci.NEW))
    assert first.code == 0
    driver.block([tx(1, timeout)], check=False)
    late = driver.app.check_tx(abci.RequestCheckTx(tx=tx(2, timeout), type=abci.NEW))
    assert late.code == Code.TX_TIMED_OUT


def _transfer(to: bytes) -> accounts_pb2.Transfer:
    return accounts_pb2.Transfer(to=to, amount=1)


# -- the server writes each response as the serialised Response message ----------------------------


class _Transport:
    def __init__(self) -> None:
        self.written = bytearray()

    def write(self, data: bytes) -> None:
        self.written += data

    def get_extra_info(self, _name: str) -> str:
        return "test"

    def close(self) -> None:
        pass


def _frame(req: abci.Request) -> bytes:
    body = req.SerializeToString()
    return encode_uvarint(len(body)) + body


@pytest.mark.parametrize("with_txs", [False, True])
def test_server_answers_are_the_serialised_response_messages(consortium: Consortium, with_txs: bool) -> None:
    """What the server writes for Info, CheckTx and FinalizeBlock parses back as one `Response`
    per request, carrying exactly what the app returned."""
    driver = AppDriver(consortium)
    proto = AbciProtocol(driver.app, _dispatch_table(driver.app))
    transport = _Transport()
    proto._transport = transport  # type: ignore[assignment]
    alice = consortium.member("community-a/alice")
    raw = sign_tx(alice.key, driver.chain_id, 1, [_transfer(alice.address)])
    fin = abci.RequestFinalizeBlock(txs=[raw] if with_txs else [], height=driver.height + 1)
    fin.time.seconds = 1_767_226_000
    stream = b"".join(
        _frame(r)
        for r in (
            abci.Request(info=abci.RequestInfo()),
            abci.Request(check_tx=abci.RequestCheckTx(tx=b"junk", type=abci.NEW)),
            abci.Request(finalize_block=fin),
        )
    )
    proto.data_received(stream)
    frames = split_frames(bytearray(transport.written))
    kinds = [abci.Response.FromString(f).WhichOneof("value") for f in frames]
    assert kinds == ["info", "check_tx", "finalize_block"]
    check = abci.Response.FromString(frames[1]).check_tx
    assert check.code == Code.TX_MALFORMED
    finalized = abci.Response.FromString(frames[2]).finalize_block
    assert len(finalized.tx_results) == (1 if with_txs else 0)
    assert len(finalized.app_hash) == 32


def test_events_built_in_place_equal_events_built_as_messages() -> None:
    """`_add_events` produces the same `abci.Event` messages (types, attributes, all indexed)
    as constructing them one by one."""
    events = (Event.of("message", sender="ab", action="transfer"), Event.of("transfer", amount=5, memo=""))
    built = abci.ExecTxResult()
    _add_events(built.events, events)
    expected = abci.ExecTxResult(
        events=[
            abci.Event(
                type=e.type, attributes=[abci.EventAttribute(key=k, value=v, index=True) for k, v in e.attributes]
            )
            for e in events
        ]
    )
    assert built.SerializeToString(deterministic=True) == expected.SerializeToString(deterministic=True)
    assert [a.value for a in built.events[1].attributes] == ["5", ""]


def test_readings_load_batches_are_accepted_in_order(consortium: Consortium) -> None:
    """The bench's gateway batches register their devices and every reading is accepted, in
    sequence, so the localnet readings rate counts real readings."""
    from clients.ops.loadgen import Signer
    from tests.bench.readings import ReadingsLoad

    driver = AppDriver(consortium)
    driver.block([])
    signers = [Signer.from_identity(consortium.member(ref), lane) for lane, ref in enumerate(["community-a/alice"])]
    load = ReadingsLoad(driver.chain_id, signers, per_member=5, start=driver.time + 10)
    assert driver.block([t.raw for t in load.setup_txs()], check=False).codes == (0,)
    driver.block([], seconds=86_400)  # readings start after their devices' registration, and end in the past
    result = driver.block([t.raw for t in load.batches(3)], check=False)
    assert result.codes == (0, 0, 0)
    kinds = [e.type for r in result.tx_results for e in r.events if e.type.startswith("reading_")]
    assert kinds == ["reading_accepted"] * 15
    assert load.last_seq(0, 4) == 3


# -- the modes -------------------------------------------------------------------------------------


def test_every_mode_sizes_every_part_and_smoke_goes_through_several_setup_waves() -> None:
    """Every bench mode has sizes for every part, and smoke's member setup needs several waves."""
    from tests.bench import run

    for table in (run.READINGS, run.ENERGY, run.WORST_BLOCK, run.SITES, run.DR_STATE):
        assert set(table) == set(run.MODES)
    smoke = run.MODES["smoke"].net
    assert smoke.members > 2 * smoke.setup_wave  # the enrolments go in at least three waves
    assert run.WORST_BLOCK["smoke"][1]  # and the extreme parameters run, as in full


def test_the_dr_state_part_prunes_every_event_within_its_per_block_bound() -> None:
    """Three events' worth of settled enrolments leave live state in as many blocks as the steps need
    (enrolments + the events' marks, 100 a block), and what stays per event is far less than one
    event's enrolments."""
    from tests.bench.dr_state import dr_state_costs

    out = dr_state_costs(2_500, lambda _line: None, per_block=100)
    assert out["events"] == 3
    assert out["blocks"] == -(-(2_500 + 3) // 100)
    assert 80 < out["bytes_per_enrolment"] < 200
    assert out["bytes_left_per_event"] < 0.05 * 1_000 * out["bytes_per_enrolment"]
    assert out["million_devices_gb"] < out["million_devices_gb_year_unpruned"]


def test_the_utility_row_says_not_met_when_one_window_falls_short() -> None:
    """The utility-scale verdict comes from its `sustained` flag and every window is listed."""
    base: dict[str, Any] = {
        "target_readings_s": 1111.1,
        "meters": 5000,
        "gateways": 50,
        "duration_s": 600.0,
        "readings_s": 1050.0,
        "windows_readings_s": [1111.0, 980.0],
        "sustained": False,
        "latency_ms": {"p50": 900.0, "p99": 2500.0},
        "cpu_ms_per_reading_per_node": {"app": 0.3, "cometbft": 0.5},
        "failed_batches": 0,
        "never_committed_batches": 0,
        "devices_whose_last_seq_on_node0_differs": 0,
    }
    table = rows({"utility": base})
    head = next(r for r in table if r[0].startswith("utility scale"))
    assert head[3] == "NOT MET"
    assert any(r[1] == "1,111, 980" for r in table)
    met = rows({"utility": {**base, "windows_readings_s": [1111.0, 1100.0], "sustained": True}})
    assert next(r for r in met if r[0].startswith("utility scale"))[3] == "met"


# -- node profiles (--profile) ---------------------------------------------------------------------


def test_collapsed_stacks_summarize_own_and_inclusive_time_per_function() -> None:
    """py-spy's collapsed stacks add up per function (lines dropped), own time by the innermost frame."""
    from tests.bench.node_profile import summarize_collapsed

    text = "\n".join(
        [
            "main (/x/abci_app/server.py:10);check_tx (/x/abci_app/app.py:200);verify (/x/abci_app/crypto.py:81) 6",
            "main (/x/abci_app/server.py:10);check_tx (/x/abci_app/app.py:210);verify (/x/abci_app/crypto.py:82) 2",
            "main (/x/abci_app/server.py:12);select (/usr/lib/python3.11/selectors.py:468) 2",
            "garbage line",
        ]
    )
    out = summarize_collapsed(text)
    assert out["samples"] == 10
    assert out["own"][0] == ("verify (abci_app/crypto.py)", 80.0)
    assert ("select (lib/python3.11/selectors.py)", 20.0) in out["own"]
    inclusive = dict(out["inclusive"])
    assert "main (abci_app/server.py)" not in inclusive  # the plumbing around every request
    assert inclusive["check_tx (abci_app/app.py)"] == 80.0
    assert "select (lib/python3.11/selectors.py)" not in inclusive  # not the project's own
