"""Fuzzing the transaction decoder and CheckTx with bytes that are not (quite) transactions."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from abci_app.codec import decode_tx
from abci_app.errors import Code, TxError
from abci_app.pb import abci, tx_pb2
from abci_app.registry import ERROR_NAMES
from tests.fuzz.strategies import CONSORTIUM, protobuf_wire_st
from tests.support.driver import AppDriver
from tests.unit.helpers import signed, transfer

FAST = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
KNOWN_CODES = set(ERROR_NAMES)  # every code of the chain and of every registered domain
ALICE = CONSORTIUM.members["community-a/alice"]
BOB = CONSORTIUM.members["community-a/bob"]


def _check(driver: AppDriver, raw: bytes) -> abci.ResponseCheckTx:
    return driver.app.check_tx(abci.RequestCheckTx(tx=raw, type=abci.NEW))


def _decode_outcome(raw: bytes) -> int:
    try:
        decode_tx(raw)
    except TxError as exc:
        return int(exc.code)
    return 0


@FAST
@given(raw=st.binary(max_size=512))
def test_arbitrary_bytes_get_a_known_code(driver: AppDriver, raw: bytes) -> None:
    """Any byte string decodes to a tx or fails with a stable error code; CheckTx never accepts it."""
    assert _decode_outcome(raw) in KNOWN_CODES
    resp = _check(driver, raw)
    assert resp.code in KNOWN_CODES - {0}
    assert resp.codespace == "gridledger"


@FAST
@given(body=protobuf_wire_st(), signature=st.one_of(st.binary(min_size=64, max_size=64), st.binary(max_size=80)))
def test_protobuf_shaped_garbage_in_a_valid_envelope(driver: AppDriver, body: bytes, signature: bytes) -> None:
    """Protobuf-shaped bodies (wrong wire types, lying lengths, unknown fields, deep nesting)
    inside a well-formed envelope are rejected with a known code, never a crash."""
    raw = tx_pb2.Tx(body=body, signature=signature).SerializeToString()
    assert _decode_outcome(raw) in KNOWN_CODES
    resp = _check(driver, raw)
    assert resp.code in KNOWN_CODES - {0}


@FAST
@given(raw=protobuf_wire_st())
def test_protobuf_shaped_garbage_as_the_envelope(driver: AppDriver, raw: bytes) -> None:
    """Protobuf-shaped bytes as the whole tx are rejected with a known code."""
    resp = _check(driver, raw)
    assert resp.code in KNOWN_CODES - {0}


@settings(max_examples=200, deadline=None)
@given(data=st.data())
def test_mutated_valid_tx_is_never_accepted(driver: AppDriver, data: st.DataObject) -> None:
    """Flipping, cutting, inserting or appending bytes of a valid signed tx never yields a tx
    that passes CheckTx: the signature covers the body and the envelope must be canonical."""
    raw = signed(driver, ALICE, transfer(BOB, 7), nonce=10**6)  # a nonce far ahead: never used
    assert _check(driver, raw).code == 0
    driver.app.check_state.writes.clear()  # forget it again: only the mutants are under test
    mutated = bytearray(raw)
    kind = data.draw(st.sampled_from(["flip", "truncate", "insert", "append", "delete"]))
    if kind == "flip":
        i = data.draw(st.integers(0, len(raw) - 1))
        mutated[i] ^= data.draw(st.integers(1, 255))
    elif kind == "truncate":
        del mutated[data.draw(st.integers(0, len(raw) - 1)) :]
    elif kind == "insert":
        i = data.draw(st.integers(0, len(raw)))
        mutated[i:i] = data.draw(st.binary(min_size=1, max_size=8))
    elif kind == "append":
        mutated += data.draw(st.binary(min_size=1, max_size=16))
    else:
        i = data.draw(st.integers(0, len(raw) - 1))
        del mutated[i : i + data.draw(st.integers(1, 4))]
    resp = _check(driver, bytes(mutated))
    assert resp.code != 0, f"{kind} produced an accepted tx"
    assert resp.code in KNOWN_CODES


@pytest.mark.parametrize(
    "reencode",
    [
        pytest.param(lambda env, raw: raw + b"\x1a\x03abc", id="unknown-field-appended"),
        pytest.param(lambda env, raw: raw + b"\x18\x01", id="unknown-varint-appended"),
        pytest.param(
            lambda env, raw: (
                tx_pb2.Tx(signature=env.signature).SerializeToString() + tx_pb2.Tx(body=env.body).SerializeToString()
            ),
            id="fields-reordered",
        ),
        pytest.param(lambda env, raw: tx_pb2.Tx(body=env.body).SerializeToString() + raw, id="body-repeated"),
        pytest.param(
            lambda env, raw: (
                b"\x0a"
                + bytes((0x80 | len(env.body) & 0x7F, len(env.body) >> 7 | 0x80, 0x00))
                + env.body
                + tx_pb2.Tx(signature=env.signature).SerializeToString()
            ),
            id="overlong-length-varint",
        ),
    ],
)
def test_reencoded_envelope_is_rejected(driver: AppDriver, reencode) -> None:
    """Re-encoding a valid tx's envelope (same body and signature, other bytes, another tx
    hash) gives TX_MALFORMED, so nobody relaying a tx can make it commit under another hash."""
    raw = signed(driver, ALICE, transfer(BOB, 3), nonce=2 * 10**6)
    env = tx_pb2.Tx.FromString(raw)
    other = reencode(env, raw)
    assert other != raw
    parsed = tx_pb2.Tx.FromString(other)  # protobuf itself reads the same body and signature
    assert (parsed.body, parsed.signature) == (env.body, env.signature)
    resp = _check(driver, other)
    assert resp.code == Code.TX_MALFORMED, resp.log
    assert _check(driver, raw).code == 0
    driver.app.check_state.writes.clear()
