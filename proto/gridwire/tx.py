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
from google.protobuf.message import DecodeError, Message
from gridledger.tx.v1 import tx_pb2

__all__ = [
    "MAX_TX_BYTES",
    "PUBLIC_KEY_SIZE",
    "SIGNATURE_SIZE",
    "envelope",
    "envelope_problem",
    "pack",
    "sign_tx",
    "tx_body",
    "type_url",
]


MAX_TX_BYTES = 1024 * 1024  # the largest signed tx a bridge forwards (CometBFT's default mempool.max_tx_bytes)


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


PUBLIC_KEY_SIZE = 32  # an Ed25519 public key, the tx's signer
SIGNATURE_SIZE = 64  # an Ed25519 signature over the body


def envelope_problem(raw: bytes) -> str | None:
    """What makes `raw` not a transaction by its shape alone (None: a well-formed envelope):
    the checks every validator makes before anything else, so a client or the API can refuse
    such bytes without asking a node. The message names the field."""
    try:
        tx = tx_pb2.Tx.FromString(raw)
        body = tx_pb2.TxBody.FromString(tx.body)
    except (DecodeError, ValueError) as exc:
        return f"signed_tx: not a gridledger.tx.v1.Tx with a TxBody ({exc})"
    if envelope(tx.body, tx.signature) != raw:
        return "signed_tx: not in canonical encoding (Tx{body, signature} only, in order)"
    if len(body.signer) != PUBLIC_KEY_SIZE:
        return f"body.signer: must be a {PUBLIC_KEY_SIZE}-byte Ed25519 public key, got {len(body.signer)} bytes"
    if len(tx.signature) != SIGNATURE_SIZE:
        return f"signature: must be {SIGNATURE_SIZE} bytes, got {len(tx.signature)}"
    if not body.messages:
        return "body.messages: a transaction carries at least one message"
    return None


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
