"""Relaying a transaction the member signed in the page: the dashboard holds no keys and cannot
sign; it checks the envelope's shape (gridwire.tx.envelope_problem, the check every validator
makes first), hands the bytes to a node (broadcast_tx_sync, with failover) and waits a while for
the commit, so the page can say plainly whether the chain accepted it."""

from __future__ import annotations

import base64
import binascii
import time
from typing import Any

from gridwire.tx import envelope_problem

from clients.rpc import RPCError
from clients.servers.dashboard.inputs import BadInputError
from clients.servers.dashboard.nodes import NodePool, Rpc

__all__ = ["MAX_TX_BYTES", "relay"]

MAX_TX_BYTES = 64 * 1024
COMMIT_WAIT_SECONDS = 20.0


def _committed(rpc: Rpc, tx_hash: str) -> Any | None:
    """The `tx` answer for `tx_hash` (hex), None while it is not committed (not a node failure)."""
    try:
        return rpc.call("tx", hash=base64.b64encode(bytes.fromhex(tx_hash)).decode())
    except RPCError as exc:
        if "not found" in str(exc):
            return None
        raise


def relay(pool: NodePool, tx_b64: str) -> dict[str, Any]:
    """Broadcast the signed tx `tx_b64` (base64) and wait up to COMMIT_WAIT_SECONDS for its commit:
    {hash, code, log, height (0: not committed yet), committed}. BadInputError for bytes that are
    not a well-formed signed transaction (nothing is sent then)."""
    try:
        raw = base64.b64decode(tx_b64, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise BadInputError("the signed transaction is not base64") from exc
    if not raw or len(raw) > MAX_TX_BYTES:
        raise BadInputError(f"the signed transaction must be 1 to {MAX_TX_BYTES} bytes")
    problem = envelope_problem(raw)
    if problem is not None:
        raise BadInputError(f"not a signed transaction: {problem}")
    sent = pool.call("broadcast_tx_sync", tx=base64.b64encode(raw).decode())
    tx_hash, code = str(sent.get("hash", "")), int(sent.get("code", 0))
    if code != 0:
        return {"hash": tx_hash, "code": code, "log": str(sent.get("log", ""))[:500], "height": 0, "committed": False}
    deadline = time.monotonic() + COMMIT_WAIT_SECONDS
    while time.monotonic() < deadline:
        found = pool.with_node(lambda rpc: _committed(rpc, tx_hash))
        if found is not None:
            result = found.get("tx_result") or {}
            return {
                "hash": tx_hash,
                "code": int(result.get("code", 0)),
                "log": str(result.get("log", ""))[:500],
                "height": int(found.get("height", 0)),
                "committed": True,
            }
        time.sleep(0.3)
    return {
        "hash": tx_hash,
        "code": 0,
        "log": "accepted into the mempool; not committed yet",
        "height": 0,
        "committed": False,
    }
