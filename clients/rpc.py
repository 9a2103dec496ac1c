"""A small synchronous CometBFT JSON-RPC client (stdlib only), for the CLI, tests and tools."""

from __future__ import annotations

import base64
import json
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any

__all__ = ["BroadcastResult", "CometRPC", "RPCError"]


class RPCError(RuntimeError):
    """The node answered with a JSON-RPC error, or could not be reached."""


@dataclass(frozen=True)
class BroadcastResult:
    code: int
    log: str
    hash: str
    height: int = 0  # set once committed


class CometRPC:
    def __init__(self, url: str, *, timeout: float = 10.0) -> None:
        if not url.startswith(("http://", "https://")):
            raise ValueError(f"RPC url must be http(s), got {url!r}")
        self.url = url.rstrip("/")
        self.timeout = timeout
        self._id = 0

    def call(self, method: str, **params: Any) -> Any:
        self._id += 1
        payload = json.dumps({"jsonrpc": "2.0", "id": self._id, "method": method, "params": params}).encode()
        # The scheme is checked in __init__ (http/https only).
        req = urllib.request.Request(self.url, data=payload, headers={"Content-Type": "application/json"})  # noqa: S310
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as resp:  # noqa: S310
                body = json.loads(resp.read())
        except (urllib.error.URLError, OSError, ValueError) as exc:
            raise RPCError(f"{method} on {self.url}: {exc}") from exc
        if body.get("error"):
            err = body["error"]
            raise RPCError(f"{method}: {err.get('message')} {err.get('data', '')}".strip())
        return body["result"]

    # -- common calls ------------------------------------------------------------------

    def status(self) -> dict[str, Any]:
        return dict(self.call("status"))

    def height(self) -> int:
        return int(self.status()["sync_info"]["latest_block_height"])

    def broadcast_sync(self, tx: bytes) -> BroadcastResult:
        r = self.call("broadcast_tx_sync", tx=base64.b64encode(tx).decode())
        return BroadcastResult(int(r["code"]), r.get("log", ""), r["hash"])

    def broadcast_commit(self, tx: bytes) -> BroadcastResult:
        r = self.call("broadcast_tx_commit", tx=base64.b64encode(tx).decode())
        check = r["check_tx"]
        if int(check["code"]) != 0:
            return BroadcastResult(int(check["code"]), check.get("log", ""), r["hash"])
        result = r["tx_result"]
        return BroadcastResult(int(result["code"]), result.get("log", ""), r["hash"], int(r["height"]))

    def tx(self, tx_hash_hex: str) -> dict[str, Any] | None:
        try:
            return dict(self.call("tx", hash=base64.b64encode(bytes.fromhex(tx_hash_hex)).decode()))
        except RPCError as exc:
            if "not found" in str(exc):
                return None
            raise

    def wait_tx(self, tx_hash_hex: str, *, timeout: float = 30.0) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = self.tx(tx_hash_hex)
            if found is not None:
                return found
            time.sleep(0.1)
        raise RPCError(f"tx {tx_hash_hex} not committed within {timeout}s")

    def abci_query(self, path: str, data: bytes = b"", *, height: int = 0, prove: bool = False) -> dict[str, Any]:
        r = self.call("abci_query", path=path, data=data.hex(), height=str(height), prove=prove)
        return dict(r["response"])

    def block(self, height: int | None = None) -> dict[str, Any]:
        return dict(self.call("block", **({"height": str(height)} if height else {})))

    def block_results(self, height: int) -> dict[str, Any]:
        """The results of block `height`: `txs_results` (code, log, events) and `finalize_block_events`."""
        return dict(self.call("block_results", height=str(height)))

    def app_hash_at(self, height: int) -> bytes:
        """The app hash in the header of block `height` (the state after block `height`-1)."""
        return bytes.fromhex(self.block(height)["block"]["header"]["app_hash"])

    def validators(self, height: int | None = None) -> list[dict[str, Any]]:
        params: dict[str, Any] = {"per_page": "100"}
        if height:
            params["height"] = str(height)
        return list(self.call("validators", **params)["validators"])

    def commit(self, height: int) -> dict[str, Any]:
        return dict(self.call("commit", height=str(height)))

    def num_unconfirmed_txs(self) -> int:
        return int(self.call("num_unconfirmed_txs")["n_txs"])
