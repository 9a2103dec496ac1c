"""Fuzzing queries, tx sizes around the limit, replays, and the ABCI framing."""

from __future__ import annotations

import pytest
from gridledger.identity.v1 import identity_pb2
from hypothesis import given, settings
from hypothesis import strategies as st

from abci_app.errors import Code
from abci_app.framing import FrameError, split_frames
from abci_app.params import Params
from abci_app.pb import abci
from abci_app.registry import ERROR_NAMES
from clients.tx import sign_tx
from tests.fuzz.strategies import CONSORTIUM, STRING_EDGES
from tests.support.driver import AppDriver
from tests.unit.helpers import signed, transfer

KNOWN_CODES = set(ERROR_NAMES) - {int(Code.INTERNAL)}  # any registered code but a caught crash
PATH_HEADS = ["org", "orgs", "member", "members", "proposal", "proposals", "validators", "params", "balance"]
PATH_HEADS += ["account", "supply", "store", "nope", ""]
ALICE = CONSORTIUM.members["community-a/alice"]
BOB = CONSORTIUM.members["community-a/bob"]


@pytest.fixture(scope="module")
def driver() -> AppDriver:
    d = AppDriver(CONSORTIUM)
    d.block([signed(d, ALICE, transfer(BOB, 1))])
    return d


segment_st = st.one_of(
    st.sampled_from(PATH_HEADS),
    st.sampled_from(STRING_EDGES),
    st.text(max_size=30),
    st.binary(max_size=25).map(bytes.hex),
    st.sampled_from([ALICE.address.hex(), ALICE.address.hex().upper(), "0" * 40, "0" * 41]),
    st.integers(-5, 2**70).map(str),
)


@settings(max_examples=400, deadline=None)
@given(
    segments=st.lists(segment_st, max_size=5),
    data=st.binary(max_size=64),
    height=st.sampled_from([0, 1, 2, 3, -1, 2**62]),
    prove=st.booleans(),
)
def test_any_query_gets_a_known_code(
    driver: AppDriver, segments: list[str], data: bytes, height: int, prove: bool
) -> None:
    """Any query path, data, height and prove flag gets an answer with a known code, never a crash."""
    resp = driver.app.query(abci.RequestQuery(path="/" + "/".join(segments), data=data, height=height, prove=prove))
    assert resp.code in KNOWN_CODES
    if resp.code != 0:
        assert resp.codespace == "gridledger"


@settings(max_examples=60, deadline=None)
@given(delta=st.integers(-3, 3))
def test_size_limit_is_exact(driver: AppDriver, delta: int) -> None:
    """A tx one byte over max_tx_bytes is TX_TOO_LARGE, one at the limit is not; proposals drop
    oversized txs and a proposal carrying one is rejected."""
    limit = Params().max_tx_bytes
    target = limit + delta

    def tx_with_padding(pad: int) -> bytes:
        enroll = identity_pb2.EnrollMember(certificate_der=b"\x30" * pad)
        return sign_tx(ALICE.key, driver.chain_id, 10**9, [enroll])

    first = tx_with_padding(target - 200)  # near the limit every length prefix has 3 bytes,
    raw = tx_with_padding(target - 200 + target - len(first))  # so the size is linear in the padding
    assert len(raw) == target
    code = driver.app.check_tx(abci.RequestCheckTx(tx=raw, type=abci.NEW)).code
    if target > limit:
        assert code == Code.TX_TOO_LARGE
        prep = driver.app.prepare_proposal(abci.RequestPrepareProposal(txs=[raw], max_tx_bytes=10**7, height=5))
        assert list(prep.txs) == []
        proc = driver.app.process_proposal(abci.RequestProcessProposal(txs=[raw], height=5))
        assert proc.status == abci.ResponseProcessProposal.REJECT
    else:
        assert code not in (0, Code.TX_TOO_LARGE)  # garbage certificate: refused for that instead


@settings(max_examples=50, deadline=None)
@given(order=st.permutations([0, 1, 2, 3]), again=st.booleans())
def test_replays_execute_once(order: list[int], again: bool) -> None:
    """However a signer's txs and their duplicates are ordered in blocks, each nonce executes at
    most once and a replay in a later block fails with NONCE_TOO_LOW."""
    d = AppDriver(CONSORTIUM)
    txs = [signed(d, ALICE, transfer(BOB, 10 + k), nonce=k + 1) for k in range(4)]
    block = [txs[k] for k in order] + [txs[order[0]]]  # the first one twice
    first = d.block(block, check=False)
    ok = sum(1 for c in first.codes if c == 0)
    assert first.codes[-1] == Code.NONCE_TOO_LOW
    assert set(first.codes) <= {0, Code.NONCE_TOO_LOW}
    if again:
        later = d.block(txs, check=False)
        assert set(later.codes) == {Code.NONCE_TOO_LOW}
    # Nonces only go up: exactly the increasing run through the order executed.
    run, top = 0, 0
    for k in order:
        if k + 1 > top:
            run, top = run + 1, k + 1
    assert ok == run


@settings(max_examples=300, deadline=None)
@given(chunks=st.lists(st.binary(max_size=40), max_size=8), limit=st.sampled_from([16, 1024, 256 * 1024 * 1024]))
def test_framing_never_fails_except_with_frame_error(chunks: list[bytes], limit: int) -> None:
    """Feeding arbitrary chunks to the frame splitter yields frames or a FrameError, and every
    byte is either returned in a frame or still buffered."""
    buf = bytearray()
    total_in = 0
    out = 0
    for chunk in chunks:
        buf += chunk
        total_in += len(chunk)
        try:
            frames = split_frames(buf, limit)
        except FrameError:
            return
        out += sum(len(f) for f in frames)
        assert all(len(f) <= limit for f in frames)
    assert out + len(buf) <= total_in
