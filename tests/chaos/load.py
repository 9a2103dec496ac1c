"""Steady signed load: one worker per signer, sequential nonces, idempotent resubmission.

Each worker keeps a small window of txs in flight, all sent to its "home" node so that
node's mempool (and its gossip) sees them in nonce order. A tx not seen committed within
`resubmit_after` seconds is resubmitted with the same bytes (same nonce: a duplicate can
never execute twice) — to another node if the home node stopped answering.

Every tx gets a `TxRecord`: where it was sent, whether a mempool accepted it (CheckTx code
0 from `broadcast_tx_sync`), and whether the chain follower saw it in a block.
"""

from __future__ import annotations

import base64
import random
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from google.protobuf.message import Message
from gridledger.accounts.v1 import accounts_pb2

from abci_app.errors import Code
from clients.pki import Identity
from clients.rpc import CometRPC, RPCError
from clients.tx import sign_tx
from tests.chaos.chain import tx_hash_hex

__all__ = ["LoadGenerator", "TokenBucket", "TxRecord", "account_nonce", "fund_members"]


@dataclass
class TxRecord:
    hash: str
    signer: str
    nonce: int
    raw: bytes
    created: float
    kind: str = "transfer"  # or the energy driver's kind (readings, order, rule, resend), mint, burn
    sent_to: list[int] = field(default_factory=list)  # every node it was submitted to
    accepted_by: set[int] = field(default_factory=set)  # nodes whose CheckTx returned 0
    accepted_at: float | None = None
    check_codes: Counter[int] = field(default_factory=Counter)  # non-zero CheckTx codes seen
    rpc_errors: Counter[str] = field(default_factory=Counter)
    committed_height: int | None = None
    committed_code: int | None = None
    seen_on: int | None = None  # node the follower read the block from
    gave_up: str | None = None  # why the worker stopped resubmitting (without a commit)


def account_nonce(rpc: CometRPC, address: bytes) -> int:
    """The last nonce the chain consumed for `address` (0 if none)."""
    r = rpc.abci_query(f"/account/{address.hex()}")
    return int(accounts_pb2.AccountView.FromString(base64.b64decode(r.get("value") or "")).nonce)


def fund_members(rpc: CometRPC, chain_id: str, members: dict[str, Identity], issuer: str) -> bytes:
    """The issuer mints a float of 1,000,000 to every member (one tx, waited for), so every
    member can sign transfers. Returns the committed tx (handy to replay later)."""
    treasury = members[issuer]
    nonce = account_nonce(rpc, treasury.address) + 1
    mints = [accounts_pb2.Mint(to=m.address, amount=1_000_000) for _ref, m in sorted(members.items())]
    raw = sign_tx(treasury.key, chain_id, nonce, mints)
    r = rpc.broadcast_commit(raw)
    if r.code != 0:
        raise RuntimeError(f"funding tx failed: {r.code} {r.log}")
    return raw


class TokenBucket:
    """A shared rate limit: `rate` tokens a second, at most `burst` saved up."""

    def __init__(self, rate: float, burst: float | None = None) -> None:
        self.rate = rate
        self.burst = burst if burst is not None else max(1.0, rate / 5)
        self._tokens = 0.0
        self._last = time.monotonic()
        self._lock = threading.Lock()

    def take(self) -> bool:
        with self._lock:
            now = time.monotonic()
            self._tokens = min(self.burst, self._tokens + (now - self._last) * self.rate)
            self._last = now
            if self._tokens >= 1:
                self._tokens -= 1
                return True
            return False


def _classify_rpc_error(text: str) -> str:
    lowered = text.lower()
    if "already exists in cache" in lowered:
        return "in_cache"
    if "mempool is full" in lowered:
        return "mempool_full"
    if "timed out" in lowered or "timeout" in lowered:
        return "timeout"
    if "refused" in lowered or "reset" in lowered or "remote end closed" in lowered:
        return "unreachable"
    return "other"


class LoadGenerator:
    def __init__(
        self,
        *,
        chain_id: str,
        signers: dict[str, Identity],
        recipients: list[bytes],
        issuers: set[str],
        rpcs: dict[int, CometRPC],
        available: Callable[[], Iterable[int]],
        start_nonces: dict[str, int],
        rate: float,
        window: int = 6,
        resubmit_after: float = 8.0,
        seed: int = 0,
        energy: Callable[[str, random.Random], tuple[str, list[Message]] | None] | None = None,
    ) -> None:
        self.chain_id = chain_id
        self.signers = signers
        self.recipients = recipients
        self.issuers = issuers
        self.rpcs = rpcs
        self.available = available
        self.start_nonces = start_nonces
        self.bucket = TokenBucket(rate)
        self.window = window
        self.resubmit_after = resubmit_after
        self.seed = seed
        self.energy = energy  # a signer's energy tx (kind, messages), or None for the usual mix
        self.records: dict[str, TxRecord] = {}
        self.lock = threading.Lock()
        self._stop = threading.Event()
        self._paused = threading.Event()
        self._threads: list[threading.Thread] = []
        self.errors: list[str] = []

    # -- the follower reports commits here ----------------------------------------------

    def on_committed(self, tx_hash: str, height: int, code: int, node: int) -> None:
        with self.lock:
            rec = self.records.get(tx_hash)
            if rec is not None and rec.committed_height is None:
                rec.committed_height = height
                rec.committed_code = code
                rec.seen_on = node

    # -- lifecycle -------------------------------------------------------------------------

    def start(self) -> None:
        for k, name in enumerate(sorted(self.signers)):
            t = threading.Thread(target=self._worker, args=(name, k), name=f"load-{name}", daemon=True)
            self._threads.append(t)
            t.start()

    def stop_submitting(self) -> None:
        """No new txs; workers keep resubmitting what is in flight until `stop`."""
        self._paused.set()

    def stop(self) -> None:
        self._stop.set()
        for t in self._threads:
            t.join(timeout=30)

    # -- one worker per signer ---------------------------------------------------------------

    def _make_tx(self, name: str, nonce: int, rnd: random.Random) -> tuple[bytes, str]:
        ident = self.signers[name]
        others = [a for a in self.recipients if a != ident.address]
        to = rnd.choice(others)
        made = self.energy(name, rnd) if self.energy is not None else None
        if made is not None:
            kind, messages = made
        elif name in self.issuers and nonce % 3 == 0:
            kind, messages = "mint", [accounts_pb2.Mint(to=to, amount=rnd.randint(1, 50))]
        elif name in self.issuers and nonce % 3 == 1:
            kind, messages = "burn", [accounts_pb2.Burn(amount=rnd.randint(1, 20))]
        else:
            kind, messages = "transfer", [accounts_pb2.Transfer(to=to, amount=rnd.randint(1, 9))]
        return sign_tx(ident.key, self.chain_id, nonce, messages, memo=f"chaos {name} #{nonce}"), kind

    def _pick_node(self, rnd: random.Random, avoid: set[int]) -> int | None:
        nodes = [i for i in self.available() if i not in avoid]
        if not nodes:
            nodes = list(self.available())
        return rnd.choice(nodes) if nodes else None

    def _submit(self, rec: TxRecord, node: int) -> str:
        """Send `rec` to `node`; returns "ok", "consumed", "rejected", "in_cache" or an RPC error kind."""
        rec.sent_to.append(node)
        try:
            r = self.rpcs[node].broadcast_sync(rec.raw)
        except RPCError as exc:
            kind = _classify_rpc_error(str(exc))
            with self.lock:
                rec.rpc_errors[kind] += 1
            return kind
        with self.lock:
            if r.code == 0:
                rec.accepted_by.add(node)
                if rec.accepted_at is None:
                    rec.accepted_at = time.monotonic()
                return "ok"
            rec.check_codes[r.code] += 1
        if r.code == Code.NONCE_TOO_LOW:
            return "consumed"
        return "rejected"

    def _worker(self, name: str, k: int) -> None:
        rnd = random.Random(self.seed * 1000 + k)
        nonce = self.start_nonces.get(name, 0)
        home = self._pick_node(rnd, set())
        pending: list[TxRecord] = []
        last_send: dict[str, float] = {}
        last_result: dict[str, str] = {}
        bad_nodes: dict[int, float] = {}  # node → until when to avoid it
        while not self._stop.is_set():
            now = time.monotonic()
            for i, until in list(bad_nodes.items()):
                if until < now:
                    del bad_nodes[i]
            with self.lock:
                pending = [r for r in pending if r.committed_height is None and r.gave_up is None]
            # A tx a mempool took but the chain has not committed for `resubmit_after` seconds:
            # its node may be cut off, so the signer moves to another node.
            stale = any(
                now - last_send.get(r.hash, 0.0) >= self.resubmit_after
                and last_result.get(r.hash) in ("ok", "in_cache")
                for r in pending
            )
            if home is None or stale or home in bad_nodes or home not in set(self.available()):
                home = self._pick_node(rnd, set(bad_nodes) | ({home} if stale and home is not None else set()))
                if home is None:
                    self._stop.wait(0.5)
                    continue
                # A new home gets everything in flight, in nonce order.
                for rec in pending:
                    last_send[rec.hash] = 0.0
                    last_result.pop(rec.hash, None)
            # Resubmit, oldest nonce first, what a new home has not seen, what is stale, and
            # every second what no mempool has taken yet.
            failed = False
            for rec in pending:
                since = now - last_send.get(rec.hash, 0.0)
                settled = last_result.get(rec.hash) in ("ok", "in_cache")
                if since < (self.resubmit_after if settled else 1.0):
                    continue
                result = self._submit(rec, home)
                last_send[rec.hash] = time.monotonic()
                last_result[rec.hash] = result
                if result == "consumed":
                    # The nonce is used: the tx committed (the follower will see it) or a later
                    # nonce committed first. Stop resubmitting; the final report decides which.
                    rec.gave_up = "nonce consumed (committed, or superseded by a later nonce)"
                elif result == "rejected":
                    rec.gave_up = f"rejected by CheckTx {dict(rec.check_codes)}"
                elif result in ("unreachable", "timeout", "other"):
                    bad_nodes[home] = time.monotonic() + 3.0
                    failed = True
                    break
                elif result == "mempool_full":
                    break
            if failed:
                continue
            # New txs, within the window and the shared rate.
            if not self._paused.is_set() and len(pending) < self.window and self.bucket.take():
                nonce += 1
                raw, kind = self._make_tx(name, nonce, rnd)
                rec = TxRecord(tx_hash_hex(raw), name, nonce, raw, time.monotonic(), kind)
                with self.lock:
                    self.records[rec.hash] = rec
                pending.append(rec)
                result = self._submit(rec, home)
                last_send[rec.hash] = time.monotonic()
                last_result[rec.hash] = result
                if result in ("unreachable", "timeout", "other"):
                    bad_nodes[home] = time.monotonic() + 3.0
                elif result == "rejected":
                    rec.gave_up = f"rejected by CheckTx {dict(rec.check_codes)}"
                    self.errors.append(f"{name} nonce {nonce}: CheckTx {dict(rec.check_codes)}")
                continue
            self._stop.wait(0.02)

    # -- summary -------------------------------------------------------------------------------

    def snapshot(self) -> list[TxRecord]:
        with self.lock:
            return list(self.records.values())
