"""The API refuses a transaction for its shape exactly where every validator would.

`gridwire.tx.envelope_problem` is what the gRPC TxApi checks before it broadcasts anything:
Hypothesis mutates a valid signed transaction (flipped, cut and inserted bytes, a re-encoded
envelope, other signature and signer lengths, no messages) and random bytes; whatever it
refuses, the real app's CheckTx refuses too, with a shape code (or the chain id's, when the
mutation moved bytes into the chain id field); every honestly signed tx passes.
"""

from __future__ import annotations

import pytest
from gridledger.accounts.v1 import accounts_pb2
from gridledger.tx.v1 import tx_pb2
from gridwire.tx import envelope_problem, sign_tx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from abci_app.errors import Code
from abci_app.pb import abci
from clients.ops.consortium import Consortium
from tests.support.driver import AppDriver

SHAPE_CODES = {Code.TX_MALFORMED, Code.BAD_SIGNATURE, Code.NO_MESSAGES}
# A flipped tag byte can move the messages into another body field: the shape check sees no
# messages, while the app, which checks the chain id before the messages, refuses it for the chain
# id the moved bytes became (found by Hypothesis: byte 55 ^ 0x28 turns field 4 into field 1).
REFUSAL_CODES = SHAPE_CODES | {Code.WRONG_CHAIN_ID}


@pytest.fixture(scope="module")
def app(consortium: Consortium) -> AppDriver:
    driver = AppDriver(consortium)
    driver.block([])
    return driver


@pytest.fixture(scope="module")
def valid(app: AppDriver, consortium: Consortium) -> bytes:
    bob = consortium.member("community-a/bob")
    return sign_tx(bob.key, app.chain_id, 1, [accounts_pb2.Transfer(to=b"\x01" * 20, amount=5)])


@st.composite
def mutations(draw: st.DrawFn, raw: bytes) -> bytes:
    kind = draw(st.sampled_from(["flip", "cut", "insert", "reencode", "signature", "signer", "empty", "random"]))
    tx = tx_pb2.Tx.FromString(raw)
    body = tx_pb2.TxBody.FromString(tx.body)
    if kind == "flip":
        i = draw(st.integers(0, len(raw) - 1))
        return raw[:i] + bytes([raw[i] ^ draw(st.integers(1, 255))]) + raw[i + 1 :]
    if kind == "cut":
        return raw[: draw(st.integers(0, len(raw) - 1))]
    if kind == "insert":
        i = draw(st.integers(0, len(raw)))
        return raw[:i] + draw(st.binary(min_size=1, max_size=8)) + raw[i:]
    if kind == "reencode":  # the same fields, another encoding (an unknown field appended)
        return raw + b"\x18\x01"
    if kind == "signature":
        return tx_pb2.Tx(body=tx.body, signature=draw(st.binary(max_size=80))).SerializeToString()
    if kind == "signer":
        body.signer = draw(st.binary(max_size=40))
        return tx_pb2.Tx(body=body.SerializeToString(), signature=tx.signature).SerializeToString()
    if kind == "empty":
        del body.messages[:]
        return tx_pb2.Tx(body=body.SerializeToString(), signature=tx.signature).SerializeToString()
    return draw(st.binary(max_size=200))


def test_an_honest_tx_has_no_shape_problem(valid: bytes) -> None:
    """A tx signed by the client library passes the shape check."""
    assert envelope_problem(valid) is None


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_whatever_the_api_refuses_for_shape_every_validator_refuses(
    app: AppDriver, valid: bytes, data: st.DataObject
) -> None:
    """A mutated or random tx the shape check refuses is refused by CheckTx with a shape code,
    and the refusal names the field."""
    raw = data.draw(mutations(valid))
    problem = envelope_problem(raw)
    if problem is None:
        return
    assert problem.split(":")[0] in {"signed_tx", "body.signer", "signature", "body.messages"}
    code = app.app.check_tx(abci.RequestCheckTx(tx=raw, type=abci.NEW)).code
    assert code in REFUSAL_CODES, (problem, code)
