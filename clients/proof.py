"""Check an `abci_query` answer with `prove=true` against the app hash of a verified header.

The state after block H is committed to by the app hash in the header of block H+1, so a
query answered at height H is checked against `header(H+1).app_hash`. A proof is accepted
only for the key the caller asked for, and only against an app hash from a header whose
commit a `HeaderVerifier` (normally `clients.lightclient.LightClient`) has checked.
"""

from __future__ import annotations

import base64
import time
from dataclasses import dataclass
from typing import Any, Protocol

from gridledger.state.v1 import state_pb2
from gridwire.proof import Proof, verify_proof

from clients.rpc import CometRPC, RPCError

__all__ = [
    "PROOF_OP_TYPE",
    "HeaderVerifier",
    "ProofError",
    "ProvenValue",
    "TrustedNodeHeaders",
    "fetch_proven",
    "verify_query_response",
]

PROOF_OP_TYPE = "gridledger:trie16"


class ProofError(ValueError):
    """The answer does not carry a valid proof of the asked key against a verified app hash."""


class HeaderVerifier(Protocol):
    def committing_app_hash(self, height: int, *, timeout: float = 10.0) -> bytes:
        """The verified app hash committing to the state after block `height`."""
        ...


@dataclass(frozen=True)
class TrustedNodeHeaders:
    """Takes the node's headers on trust: only for a service running beside its own node
    (the bridge without a genesis file). A client that does not run the node must use
    `clients.lightclient.LightClient`, which checks each header's commit signatures."""

    rpc: CometRPC

    def committing_app_hash(self, height: int, *, timeout: float = 10.0) -> bytes:
        """The app hash in the node's header `height`+1, waiting up to `timeout` for that block."""
        deadline = time.monotonic() + timeout
        while self.rpc.height() <= height:
            if time.monotonic() > deadline:
                raise RPCError(f"block {height + 1} did not appear within {timeout}s")
            time.sleep(0.1)
        return self.rpc.app_hash_at(height + 1)


@dataclass(frozen=True)
class ProvenValue:
    key: bytes
    value: bytes | None  # None: proven absent
    height: int


def _b64(text: str | None) -> bytes:
    try:
        return base64.b64decode(text or "", validate=True)
    except ValueError as exc:
        raise ProofError(f"bad base64 in the answer: {exc}") from exc


def verify_query_response(response: dict[str, Any], app_hash: bytes, expected_key: bytes) -> ProvenValue:
    """Verify a JSON `abci_query` response (CometBFT RPC form) for `expected_key` against
    `app_hash`. Guarantees: the answer is about `expected_key` (any other key raises), and
    its value (or its absence, for a non-zero code) is what the state under `app_hash` holds."""
    ops = (response.get("proofOps") or response.get("proof_ops") or {}).get("ops") or []
    if len(ops) != 1 or ops[0].get("type") != PROOF_OP_TYPE:
        raise ProofError(f"expected one {PROOF_OP_TYPE} proof op, got {[o.get('type') for o in ops]}")
    key = _b64(response.get("key"))
    if key != expected_key:
        raise ProofError(f"the answer is for key {key.hex()}, not the asked {expected_key.hex()}")
    if _b64(ops[0].get("key")) != key:
        raise ProofError("proof is for another key")
    try:
        pb = state_pb2.TrieProof.FromString(_b64(ops[0].get("data")))
    except Exception as exc:  # protobuf's DecodeError and friends
        raise ProofError(f"undecodable proof: {exc}") from exc
    proof = Proof(tuple(pb.levels), pb.other_key_hash, pb.other_value_hash)
    code = int(response.get("code", 0))
    value = _b64(response.get("value")) if code == 0 else None
    if not verify_proof(app_hash, key, value, proof):
        raise ProofError(f"proof of key {key.hex()} does not match app hash {app_hash.hex()}")
    return ProvenValue(key, value, int(response.get("height", 0)))


def fetch_proven(rpc: CometRPC, path: str, expected_key: bytes, verifier: HeaderVerifier) -> ProvenValue:
    """Query `path` with a proof from an untrusted node and verify it, for `expected_key`,
    against the app hash of the next block's header as verified by `verifier`."""
    response = rpc.abci_query(path, prove=True)
    height = int(response.get("height") or 0)
    if height <= 0:
        raise ProofError(f"the answer to {path} names no height (code {response.get('code')}: {response.get('log')})")
    return verify_query_response(response, verifier.committing_app_hash(height), expected_key)
