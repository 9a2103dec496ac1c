"""Canonical transaction bytes: what a client signs and what a validator accepts.

A tx is `Tx{body, signature}` in its canonical encoding (those two fields only, in order);
`body` is a serialised `TxBody` whose messages are typed `Any`s with type URL
"/<full protobuf name>" (e.g. "/gridledger.accounts.v1.Transfer").
"""

from __future__ import annotations

from collections.abc import Sequence

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from google.protobuf import any_pb2
from google.protobuf.message import Message
from gridledger.tx.v1 import tx_pb2

__all__ = ["envelope", "pack", "sign_tx", "tx_body", "type_url"]


def type_url(message: Message | type[Message]) -> str:
    """The `Any` type URL of a message (or message class)."""
    return "/" + message.DESCRIPTOR.full_name


def pack(message: Message) -> any_pb2.Any:
    """A domain message as the typed `Any` the envelope carries."""
    return any_pb2.Any(type_url=type_url(message), value=message.SerializeToString(deterministic=True))


def tx_body(
    chain_id: str,
    signer: bytes,
    nonce: int,
    messages: Sequence[Message],
    *,
    timeout_height: int = 0,
    memo: str = "",
) -> bytes:
    """The serialised `TxBody`: the exact bytes the signer signs. `messages` are domain
    messages (packed here) or already packed `Any`s."""
    packed = [m if isinstance(m, any_pb2.Any) else pack(m) for m in messages]
    return tx_pb2.TxBody(
        chain_id=chain_id,
        signer=signer,
        nonce=nonce,
        messages=packed,
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
    messages: Sequence[Message],
    *,
    timeout_height: int = 0,
    memo: str = "",
) -> bytes:
    """A signed raw tx of `messages` by `key`."""
    signer = key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    body = tx_body(chain_id, signer, nonce, messages, timeout_height=timeout_height, memo=memo)
    return envelope(body, key.sign(body))
