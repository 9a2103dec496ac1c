"""A mempool flood: valid txs from many signers mixed with junk, at many times the chain's rate.

Junk kinds: random bytes, protobuf-shaped garbage, a valid body with a bad signature, the
wrong chain id, replays of already-committed txs, oversized txs and a re-encoded envelope.
Txs are signed up front and sent with `broadcast_tx_async` in JSON-RPC batches, so one
client process can offer thousands a second. App memory is sampled from /proc while it runs.
"""

from __future__ import annotations

import base64
import json
import random
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from gridledger.accounts.v1 import accounts_pb2

from abci_app.pb import tx_pb2
from clients.pki import Identity
from clients.tx import sign_tx

__all__ = ["FloodStats", "RssSampler", "build_flood", "rss_bytes", "send_flood"]


def rss_bytes(pid: int) -> int | None:
    """Resident set size of a process, from /proc/<pid>/status (None if it is gone)."""
    try:
        for line in open(f"/proc/{pid}/status").read().splitlines():  # noqa: SIM115 - tiny procfs file
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    except OSError:
        return None
    return None


@dataclass
class RssSampler:
    """Samples the RSS of some processes every `interval` seconds in a thread; `pids` is asked
    each time, so restarted processes are followed."""

    pids: Callable[[], dict[int, int]]  # node index → pid
    interval: float = 0.5
    samples: dict[int, list[int]] = field(default_factory=dict)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="rss-sampler", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            for i, pid in self.pids().items():
                rss = rss_bytes(pid)
                if rss is not None:
                    self.samples.setdefault(i, []).append(rss)
            self._stop.wait(self.interval)

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def peak(self, i: int) -> int:
        return max(self.samples.get(i, [0]))

    def summary_mib(self) -> dict[int, tuple[int, int, int]]:
        """node → (first, peak, last) RSS in MiB."""
        return {i: (s[0] >> 20, max(s) >> 20, s[-1] >> 20) for i, s in sorted(self.samples.items()) if s}


@dataclass
class FloodStats:
    offered: Counter[str] = field(default_factory=Counter)  # kind → txs sent
    rpc_errors: Counter[str] = field(default_factory=Counter)
    batches: int = 0
    seconds: float = 0.0

    @property
    def total(self) -> int:
        return sum(self.offered.values())


def build_flood(
    *,
    chain_id: str,
    signers: list[Identity],
    recipient: bytes,
    start_nonces: dict[bytes, int],
    valid: int,
    junk: int,
    replayable: list[bytes],
    max_tx_bytes: int,
    seed: int = 0,
) -> list[tuple[str, bytes]]:
    """`valid` signed transfers (sequential nonces per signer) and `junk` bad txs, interleaved."""
    rnd = random.Random(seed)
    txs: list[tuple[str, bytes]] = []
    nonces = {s.public_key: start_nonces.get(s.public_key, 0) for s in signers}
    per_signer: list[list[bytes]] = [[] for _ in signers]
    for k in range(valid):
        s = signers[k % len(signers)]
        nonces[s.public_key] += 1
        raw = sign_tx(s.key, chain_id, nonces[s.public_key], [accounts_pb2.Transfer(to=recipient, amount=1)])
        per_signer[k % len(signers)].append(raw)
    # Each signer's txs stay in nonce order; signers take turns.
    for j in range(max(len(col) for col in per_signer)):
        txs += [("valid", col[j]) for col in per_signer if j < len(col)]

    victim = signers[0]
    template = sign_tx(victim.key, chain_id, 10**12, [accounts_pb2.Transfer(to=recipient, amount=1)])
    env = tx_pb2.Tx.FromString(template)
    kinds = ["random", "garbage-protobuf", "bad-signature", "wrong-chain", "replay", "oversized", "reencoded"]
    for k in range(junk):
        kind = kinds[k % len(kinds)]
        if kind == "random":
            raw = rnd.randbytes(rnd.randint(1, 300))
        elif kind == "garbage-protobuf":
            raw = tx_pb2.Tx(body=rnd.randbytes(rnd.randint(0, 120)), signature=rnd.randbytes(64)).SerializeToString()
        elif kind == "bad-signature":
            sig = bytearray(env.signature)
            sig[rnd.randrange(64)] ^= 1 << rnd.randrange(8)
            raw = tx_pb2.Tx(body=env.body, signature=bytes(sig)).SerializeToString()
        elif kind == "wrong-chain":
            raw = sign_tx(victim.key, chain_id + "-other", 10**12 + k, [accounts_pb2.Burn(amount=1)])
        elif kind == "replay" and replayable:
            raw = replayable[k % len(replayable)]
        elif kind == "oversized" and k % 50 == 5:  # a few: each costs real bandwidth
            raw = tx_pb2.Tx(body=b"\x0a" + b"\xff" * (max_tx_bytes + 10), signature=b"s" * 64).SerializeToString()
        else:
            raw = template + rnd.randbytes(rnd.randint(1, 8))  # an unknown field's worth of bytes appended
            kind = "reencoded"
        txs.insert(rnd.randrange(len(txs) + 1), (kind, raw))
    return txs


def _post(url: str, payload: bytes, timeout: float) -> list[dict[str, object]]:
    req = urllib.request.Request(url, data=payload, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=timeout) as resp:
        body = json.loads(resp.read())
    return body if isinstance(body, list) else [body]


def send_flood(
    urls: list[str], txs: list[tuple[str, bytes]], *, rate: float, batch: int = 10, threads: int = 8
) -> FloodStats:
    """Send `txs` round-robin over the nodes at about `rate` txs a second, `batch` per request
    (CometBFT's default `rpc.max_request_batch_size` is 10)."""
    stats = FloodStats()
    lock = threading.Lock()
    batches = [txs[k : k + batch] for k in range(0, len(txs), batch)]
    started = time.monotonic()
    next_index = [0]

    def worker(w: int) -> None:
        while True:
            with lock:
                k = next_index[0]
                next_index[0] += 1
            if k >= len(batches):
                return
            due = started + k * batch / rate
            delay = due - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            chunk = batches[k]
            payload = json.dumps(
                [
                    {
                        "jsonrpc": "2.0",
                        "id": n,
                        "method": "broadcast_tx_async",
                        "params": {"tx": base64.b64encode(raw).decode()},
                    }
                    for n, (_kind, raw) in enumerate(chunk)
                ]
            ).encode()
            try:
                answers = _post(urls[k % len(urls)], payload, timeout=30)
            except (urllib.error.URLError, OSError, ValueError) as exc:
                with lock:
                    stats.rpc_errors[type(exc).__name__] += len(chunk)
                continue
            with lock:
                stats.batches += 1
                for kind, _raw in chunk:
                    stats.offered[kind] += 1
                for a in answers:
                    err = a.get("error")
                    if isinstance(err, dict):
                        text = str(err.get("data") or err.get("message"))
                        stats.rpc_errors[text.split(":", maxsplit=1)[0][:60]] += 1

    pool = [threading.Thread(target=worker, args=(w,), daemon=True) for w in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    stats.seconds = time.monotonic() - started
    return stats
