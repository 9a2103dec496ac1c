"""Check an `abci_query` answer with `prove=true` against the app hash of a block header.

The state after block H is committed to by the app hash in the header of block H+1, so a
query answered at height H is checked against `header(H+1).app_hash`.
"""

from __future__ import annotations

import base64
import time
from dataclasses import dataclass
from typing import Any

from abci_app.pb import state_pb2
from abci_app.store.commitment import Proof, verify_proof
from clients.rpc import CometRPC, RPCError

__all__ = ["PROOF_OP_TYPE", "ProofError", "ProvenValue", "committing_app_hash", "fetch_proven", "verify_query_response"]

PROOF_OP_TYPE = "gridledger:trie16"


class ProofError(ValueError):
    """The answer does not carry a valid proof against the given app hash."""


@dataclass(frozen=True)
class ProvenValue:
    key: bytes
    value: bytes | None  # None: proven absent
    height: int


def _b64(text: str | None) -> bytes:
    return base64.b64decode(text or "")


def verify_query_response(response: dict[str, Any], app_hash: bytes) -> ProvenValue:
    """Verify a JSON `abci_query` response (CometBFT RPC form) against `app_hash`."""
    ops = (response.get("proofOps") or response.get("proof_ops") or {}).get("ops") or []
    if len(ops) != 1 or ops[0].get("type") != PROOF_OP_TYPE:
        raise ProofError(f"expected one {PROOF_OP_TYPE} proof op, got {[o.get('type') for o in ops]}")
    key = _b64(response.get("key"))
    if _b64(ops[0].get("key")) != key:
        raise ProofError("proof is for another key")
    pb = state_pb2.TrieProof.FromString(_b64(ops[0].get("data")))
    proof = Proof(tuple(pb.levels), pb.other_key_hash, pb.other_value_hash)
    code = int(response.get("code", 0))
    value = _b64(response.get("value")) if code == 0 else None
    if not verify_proof(app_hash, key, value, proof):
        raise ProofError(f"proof of key {key.hex()} does not match app hash {app_hash.hex()}")
    return ProvenValue(key, value, int(response.get("height", 0)))


def fetch_proven(rpc: CometRPC, path: str) -> ProvenValue:
    """Query `path` with a proof and verify it against the next block's header."""
    response = rpc.abci_query(path, prove=True)
    return verify_query_response(response, committing_app_hash(rpc, int(response["height"])))


def committing_app_hash(rpc: CometRPC, height: int, *, timeout: float = 10.0) -> bytes:
    """The app hash that commits to the state after block `height`: the one in the header
    of block `height`+1, waiting (up to `timeout`) for that block if it is not there yet."""
    deadline = time.monotonic() + timeout
    while rpc.height() <= height:
        if time.monotonic() > deadline:
            raise RPCError(f"block {height + 1} did not appear within {timeout}s")
        time.sleep(0.1)
    return rpc.app_hash_at(height + 1)
