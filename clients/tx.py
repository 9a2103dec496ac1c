"""Build and sign transactions (clients sign; the bridge and nodes never hold user keys)."""

from __future__ import annotations

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from abci_app.pb import tx_pb2

__all__ = ["envelope", "msg", "sign_tx", "tx_body"]


def msg(**kind: object) -> tx_pb2.Msg:
    """`msg(transfer=tx_pb2.Transfer(to=..., amount=5))` → a `Msg` with that one field set."""
    return tx_pb2.Msg(**kind)  # type: ignore[arg-type]


def tx_body(
    chain_id: str,
    signer: bytes,
    nonce: int,
    messages: list[tx_pb2.Msg],
    *,
    timeout_height: int = 0,
    memo: str = "",
) -> bytes:
    """The serialised `TxBody`: the exact bytes the signer signs."""
    return tx_pb2.TxBody(
        chain_id=chain_id,
        signer=signer,
        nonce=nonce,
        messages=messages,
        timeout_height=timeout_height,
        memo=memo,
    ).SerializeToString()


def envelope(body: bytes, signature: bytes) -> bytes:
    """The raw tx: `Tx{body, signature}` in its canonical encoding."""
    return tx_pb2.Tx(body=body, signature=signature).SerializeToString()


def sign_tx(
    key: Ed25519PrivateKey,
    chain_id: str,
    nonce: int,
    messages: list[tx_pb2.Msg],
    *,
    timeout_height: int = 0,
    memo: str = "",
) -> bytes:
    signer = key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    body = tx_body(chain_id, signer, nonce, messages, timeout_height=timeout_height, memo=memo)
    return envelope(body, key.sign(body))
