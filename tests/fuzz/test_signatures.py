"""Signature edge cases: wrong lengths, S ≥ L, non-canonical points, small-order keys and R.

The rules are consensus, so they are pinned here rather than left to the OpenSSL version:
strict Ed25519 (S < L; A and R canonical and not of small order).
"""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given, settings
from hypothesis import strategies as st

from abci_app import crypto
from abci_app.errors import Code
from abci_app.pb import abci, tx_pb2
from clients.tx import pack
from tests.fuzz.strategies import CONSORTIUM
from tests.support.driver import AppDriver
from tests.unit.helpers import signed, transfer

P = 2**255 - 19
L = 2**252 + 27742317777372353535851937790883648493
IDENTITY = (1).to_bytes(32, "little")
ORDER8_Y = 0x7A03AC9277FDC74EC6CC392CFA53202A0F67100D760B3CBA4FD84D3D706A17C7  # an order-8 point's y
ALICE = CONSORTIUM.members["community-a/alice"]
BOB = CONSORTIUM.members["community-a/bob"]


def _enc(y: int, sign: int = 0) -> bytes:
    return (y | sign << 255).to_bytes(32, "little")


SMALL_ORDER_KEYS = {
    "identity": _enc(1),
    "identity-signed-x": _enc(1, 1),
    "all-zero (order 4)": _enc(0),
    "order-4-other-x": _enc(0, 1),
    "order-2": _enc(P - 1),
    "order-8": _enc(ORDER8_Y),
    "order-8-neg-x": _enc(ORDER8_Y, 1),
    "order-8-neg-y": _enc(P - ORDER8_Y),
    "non-canonical identity (p+1)": _enc(P + 1),
    "non-canonical zero (p)": _enc(P),
}


def _check(driver: AppDriver, raw: bytes) -> abci.ResponseCheckTx:
    return driver.app.check_tx(abci.RequestCheckTx(tx=raw, type=abci.NEW))


def _tx_signed_as(driver: AppDriver, public_key: bytes, signature: bytes) -> bytes:
    body = tx_pb2.TxBody(
        chain_id=driver.chain_id,
        signer=public_key,
        nonce=1,
        messages=[pack(transfer(BOB, 1))],
    ).SerializeToString()
    return tx_pb2.Tx(body=body, signature=signature).SerializeToString()


@pytest.mark.parametrize("name", sorted(SMALL_ORDER_KEYS))
def test_small_order_key_with_trivial_signature_is_refused(name: str) -> None:
    """A small-order (or non-canonical) public key never verifies, not even with the signature
    (R = identity, S = 0) that such keys would accept for every message."""
    key = SMALL_ORDER_KEYS[name]
    hits = [m for m in range(64) if crypto.verify(key, IDENTITY + bytes(32), bytes([m]))]
    assert hits == []


def test_identity_key_tx_gets_bad_signature(driver: AppDriver) -> None:
    """A tx whose signer is the identity point and whose signature is trivial fails as
    BAD_SIGNATURE (not later, as an unknown signer)."""
    resp = _check(driver, _tx_signed_as(driver, SMALL_ORDER_KEYS["identity"], IDENTITY + bytes(32)))
    assert resp.code == Code.BAD_SIGNATURE


def _valid(driver: AppDriver) -> tuple[bytes, bytes, bytes]:
    raw = signed(driver, ALICE, transfer(BOB, 1), nonce=10**7)
    env = tx_pb2.Tx.FromString(raw)
    assert crypto.verify(ALICE.public_key, env.signature, env.body)
    return raw, env.body, env.signature


def _reenvelope(body: bytes, signature: bytes) -> bytes:
    return tx_pb2.Tx(body=body, signature=signature).SerializeToString()


def test_signature_with_s_plus_l_is_refused(driver: AppDriver) -> None:
    """The malleated signature (R, S + L) of a valid one is refused: S must be below L."""
    _raw, body, sig = _valid(driver)
    s = int.from_bytes(sig[32:], "little")
    malleated = sig[:32] + (s + L).to_bytes(32, "little")
    assert not crypto.verify(ALICE.public_key, malleated, body)
    assert _check(driver, _reenvelope(body, malleated)).code == Code.BAD_SIGNATURE


@pytest.mark.parametrize("s", [L, L + 1, 2**256 - 1], ids=["L", "L+1", "max"])
def test_s_at_or_above_l_is_refused(s: int) -> None:
    """Any S ≥ L is refused before the curve arithmetic."""
    key = Ed25519PrivateKey.generate()
    sig = key.sign(b"m")
    assert not crypto.verify(crypto.public_key_bytes(key), sig[:32] + s.to_bytes(32, "little"), b"m")


@pytest.mark.parametrize("r", [_enc(P), _enc(P + 5), _enc(2**255 - 1), IDENTITY, _enc(ORDER8_Y)])
def test_non_canonical_or_small_order_r_is_refused(r: bytes) -> None:
    """A signature whose R is non-canonical (y ≥ p) or of small order is refused."""
    key = Ed25519PrivateKey.generate()
    sig = key.sign(b"m")
    assert not crypto.verify(crypto.public_key_bytes(key), r + sig[32:], b"m")


@pytest.mark.parametrize("length", [0, 1, 32, 63, 65, 128])
def test_signature_of_wrong_length_is_bad_signature(driver: AppDriver, length: int) -> None:
    """A signature of any length but 64 bytes is BAD_SIGNATURE."""
    _raw, body, sig = _valid(driver)
    wrong = (sig * 2)[:length]
    assert _check(driver, _reenvelope(body, wrong)).code == Code.BAD_SIGNATURE


def test_all_zero_signature_is_refused(driver: AppDriver) -> None:
    """64 zero bytes are no signature of a real key."""
    _raw, body, _sig = _valid(driver)
    assert _check(driver, _reenvelope(body, bytes(64))).code == Code.BAD_SIGNATURE


@settings(max_examples=300, deadline=None)
@given(signature=st.binary(min_size=64, max_size=64))
def test_random_signature_never_verifies(driver: AppDriver, signature: bytes) -> None:
    """Random 64-byte signatures on a member's tx are BAD_SIGNATURE."""
    _raw, body, sig = _valid(driver)
    if signature == sig:
        return
    assert _check(driver, _reenvelope(body, signature)).code == Code.BAD_SIGNATURE


@settings(max_examples=300, deadline=None)
@given(key=st.binary(max_size=40), signature=st.binary(max_size=80), message=st.binary(max_size=64))
def test_verify_never_raises(key: bytes, signature: bytes, message: bytes) -> None:
    """verify() answers False for arbitrary bytes of any length instead of raising."""
    assert crypto.verify(key, signature, message) in (True, False)
    if len(key) != 32 or len(signature) != 64:
        assert not crypto.verify(key, signature, message)


def test_valid_signatures_still_verify() -> None:
    """The strict rules keep every honest signature: 200 fresh keys sign and verify."""
    for i in range(200):
        key = Ed25519PrivateKey.generate()
        message = i.to_bytes(4, "big") * 10
        assert crypto.verify(crypto.public_key_bytes(key), key.sign(message), message)
