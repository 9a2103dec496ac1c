"""Reading the chain over RPC: block times, headers, the follower that sees txs commit."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from clients.rpc import CometRPC, RPCError

__all__ = [
    "BlockRecord",
    "ChainFollower",
    "Event",
    "app_info",
    "block_hashes",
    "fetch_block",
    "parse_rfc3339_ns",
    "tx_hash_hex",
]


def tx_hash_hex(raw: bytes) -> str:
    """CometBFT's tx hash: upper-case hex SHA-256 of the raw tx."""
    return hashlib.sha256(raw).hexdigest().upper()


def parse_rfc3339_ns(text: str) -> int:
    """`2026-01-01T00:00:00.123456789Z` → nanoseconds since the epoch (independent of TZ)."""
    main, _, rest = text.partition(".")
    frac = ""
    if rest:
        frac = rest.rstrip("Z")
    else:
        main = main.rstrip("Z")
    seconds = int(dt.datetime.fromisoformat(main + "+00:00").timestamp())
    return seconds * 1_000_000_000 + int((frac + "000000000")[:9])


Event = tuple[str, tuple[tuple[str, str], ...]]


def _events(raw: list[dict[str, Any]] | None) -> tuple[Event, ...]:
    return tuple(
        (
            str(e.get("type", "")),
            tuple((str(a.get("key", "")), str(a.get("value", ""))) for a in e.get("attributes") or []),
        )
        for e in raw or []
    )


@dataclass(frozen=True)
class BlockRecord:
    height: int
    block_hash: str
    app_hash: str  # header app hash: the state after block height-1
    time: str
    txs: tuple[bytes, ...]
    codes: tuple[int, ...]
    evidence: int
    # per tx: its events (type, attributes); and FinalizeBlock's own (end-block) events
    tx_events: tuple[tuple[Event, ...], ...] = ()
    block_events: tuple[Event, ...] = ()
    logs: tuple[str, ...] = ()  # per tx: its result's log

    def tx_hashes(self) -> list[str]:
        return [tx_hash_hex(t) for t in self.txs]


def fetch_block(rpc: CometRPC, height: int, *, results: bool = True) -> BlockRecord:
    b = rpc.call("block", height=str(height))
    header = b["block"]["header"]
    txs = tuple(base64.b64decode(t) for t in b["block"]["data"]["txs"] or [])
    codes: tuple[int, ...] = ()
    tx_events: tuple[tuple[Event, ...], ...] = ()
    block_events: tuple[Event, ...] = ()
    logs: tuple[str, ...] = ()
    if results:
        r = rpc.call("block_results", height=str(height))
        codes = tuple(int(x.get("code", 0)) for x in r.get("txs_results") or [])
        logs = tuple(str(x.get("log", "")) for x in r.get("txs_results") or [])
        tx_events = tuple(_events(x.get("events")) for x in r.get("txs_results") or [])
        block_events = _events(r.get("finalize_block_events"))
    return BlockRecord(
        height=int(header["height"]),
        block_hash=b["block_id"]["hash"],
        app_hash=header["app_hash"],
        time=header["time"],
        txs=txs,
        codes=codes,
        evidence=len(b["block"]["evidence"]["evidence"] or []),
        tx_events=tx_events,
        block_events=block_events,
        logs=logs,
    )


@dataclass
class ChainFollower:
    """Follows the chain on whichever node answers, recording every block and the txs in it.

    `on_tx(hash, height, code)` is called for every committed tx. A block hash that differs
    between two nodes at one height is recorded as a fork (it must never happen).
    """

    rpcs: dict[int, CometRPC]
    on_tx: Callable[[str, int, int, int], None]
    available: Callable[[], Iterable[int]]
    on_block: Callable[[BlockRecord], None] | None = None  # called once per block, in height order
    blocks: dict[int, BlockRecord] = field(default_factory=dict)
    forks: list[str] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def height(self) -> int:
        with self._lock:
            return max(self.blocks, default=0)

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="chain-follower", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)

    def _best_node(self) -> tuple[int, int] | None:
        best: tuple[int, int] | None = None
        for i in self.available():
            try:
                h = int(self.rpcs[i].status()["sync_info"]["latest_block_height"])
            except (RPCError, KeyError, ValueError):
                continue
            if best is None or h > best[1]:
                best = (i, h)
        return best

    def _run(self) -> None:
        while not self._stop.is_set():
            best = self._best_node()
            if best is None:
                self._stop.wait(0.5)
                continue
            node, tip = best
            progressed = False
            next_h = self.height + 1
            while next_h <= tip and not self._stop.is_set():
                try:
                    rec = fetch_block(self.rpcs[node], next_h)
                except (RPCError, KeyError, ValueError):
                    break
                self.record(rec, node)
                next_h += 1
                progressed = True
            if not progressed:
                self._stop.wait(0.3)

    def record(self, rec: BlockRecord, node: int) -> None:
        with self._lock:
            known = self.blocks.get(rec.height)
            if known is not None:
                if known.block_hash != rec.block_hash:
                    self.forks.append(f"height {rec.height}: {known.block_hash} vs {rec.block_hash} (node{node})")
                return
            self.blocks[rec.height] = rec
        if self.on_block is not None:
            self.on_block(rec)
        for i, raw in enumerate(rec.txs):
            code = rec.codes[i] if i < len(rec.codes) else -1
            self.on_tx(tx_hash_hex(raw), rec.height, code, node)

    def wait_height(self, height: int, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.height >= height:
                return True
            time.sleep(0.2)
        return False


def block_hashes(rpc: CometRPC, low: int, high: int) -> dict[int, tuple[str, str]]:
    """height → (block hash, header app hash) for low..high, 20 headers per call."""
    out: dict[int, tuple[str, str]] = {}
    top = high
    while top >= low:
        bottom = max(low, top - 19)
        r = rpc.call("blockchain", minHeight=str(bottom), maxHeight=str(top))
        for meta in r["block_metas"]:
            h = int(meta["header"]["height"])
            out[h] = (meta["block_id"]["hash"], meta["header"]["app_hash"])
        top = bottom - 1
    return out


def app_info(rpc: CometRPC) -> tuple[int, str]:
    """The app's own last committed height and app hash (upper-case hex), via abci_info."""
    r: dict[str, Any] = rpc.call("abci_info")["response"]
    raw = base64.b64decode(r.get("last_block_app_hash") or "")
    return int(r.get("last_block_height", 0)), raw.hex().upper()
