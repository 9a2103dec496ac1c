"""Decode raw transaction bytes into a frozen `DecodedTx` (protobuf stays at this edge).

Messages are typed `Any`s; the type URL selects the registered domain message, whose
converter checks every bound and returns the domain's frozen record.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from google.protobuf.message import DecodeError

from abci_app.crypto import PUBLIC_KEY_SIZE, SIGNATURE_SIZE, address_of
from abci_app.errors import Code, TxError
from abci_app.pb import tx_pb2
from abci_app.registry import MESSAGES
from abci_app.types import Address

__all__ = ["DecodedTx", "decode_tx", "tx_hash"]


@dataclass(frozen=True, slots=True)
class DecodedTx:
    hash: bytes
    body: bytes
    signature: bytes
    chain_id: str
    signer: bytes
    signer_address: Address
    nonce: int
    messages: tuple[object, ...]
    timeout_height: int
    memo: str


def tx_hash(raw: bytes) -> bytes:
    """SHA-256 of the raw tx, the same hash CometBFT indexes transactions by."""
    return hashlib.sha256(raw).digest()


def decode_tx(raw: bytes, digest: bytes | None = None) -> DecodedTx:
    try:
        envelope = tx_pb2.Tx.FromString(raw)
        body = tx_pb2.TxBody.FromString(envelope.body)
    except (DecodeError, ValueError) as exc:
        raise TxError(Code.TX_MALFORMED, f"not a gridledger transaction: {exc}") from exc
    # The signature covers only the body: without this check anyone relaying a tx could
    # re-encode its envelope (add an unknown field, repeat or reorder fields) into other
    # bytes — another tx hash — that still execute, and the signer's own tx would then fail.
    if tx_pb2.Tx(body=envelope.body, signature=envelope.signature).SerializeToString() != raw:
        raise TxError(Code.TX_MALFORMED, "tx envelope is not in canonical encoding (Tx{body, signature} only)")
    if len(body.signer) != PUBLIC_KEY_SIZE:
        raise TxError(Code.TX_MALFORMED, f"signer must be a {PUBLIC_KEY_SIZE}-byte Ed25519 public key")
    if len(envelope.signature) != SIGNATURE_SIZE:
        raise TxError(Code.BAD_SIGNATURE, f"signature must be {SIGNATURE_SIZE} bytes, got {len(envelope.signature)}")
    messages = []
    for i, m in enumerate(body.messages):
        spec = MESSAGES.get(m.type_url)
        if spec is None:
            raise TxError(Code.UNKNOWN_MESSAGE, f"message {i} has unknown type {m.type_url[:100]!r}")
        try:
            inner = spec.proto.FromString(m.value)
        except (DecodeError, ValueError, RuntimeError) as exc:
            raise TxError(Code.TX_MALFORMED, f"message {i} ({spec.action}) does not decode: {exc}") from exc
        try:
            messages.append(spec.convert(inner))
        except TxError as exc:
            raise TxError(exc.code, f"message {i} ({spec.action}): {exc.log}") from exc
    signer = bytes(body.signer)
    return DecodedTx(
        hash=digest if digest is not None else tx_hash(raw),
        body=envelope.body,
        signature=envelope.signature,
        chain_id=body.chain_id,
        signer=signer,
        signer_address=address_of(signer),
        nonce=body.nonce,
        messages=tuple(messages),
        timeout_height=body.timeout_height,
        memo=body.memo,
    )
