"""A mempool flood against a real 4-validator localnet: valid txs from many signers and junk
of every kind, offered far faster than the chain commits. The apps never crash, their
memory stays bounded, and an honest signer's txs still commit."""

from __future__ import annotations

import threading
import time

import pytest

from abci_app.errors import Code
from abci_app.params import Params
from clients.rpc import RPCError
from clients.tx import sign_tx
from tests.chaos.chain import tx_hash_hex
from tests.chaos.flood import RssSampler, build_flood, send_flood
from tests.chaos.load import account_nonce, fund_members
from tests.fault.conftest import NetFactory
from tests.unit.helpers import transfer

pytestmark = pytest.mark.integration

FLOOD_RATE = 2_500  # offered txs a second (the localnet on 2 cores commits a few hundred)
VALID = 8_000
JUNK = 12_000
HONEST_TXS = 6
# The app's RSS may grow by at most this much over its pre-flood size. Bounded by design: the
# mempool (50,000 txs) and the app's verified-tx cache (200,000 entries) are capped.
RSS_GROWTH_LIMIT = 256 * 1024 * 1024


def test_flood_apps_survive_memory_bounded_honest_txs_commit(make_net: NetFactory) -> None:
    """Under a flood of 20,000 txs at ~2,500 tx/s (valid transfers from 14 signers, random
    bytes, garbage protobuf, bad signatures, wrong chain id, replays, oversized and re-encoded
    txs), no app or node process dies, each app's RSS stays within the bound, the chain keeps
    committing, and every one of an honest signer's txs commits with code 0."""
    net = make_net("flood")
    c = net.consortium()
    rpc = net.rpc(0, timeout=30)
    funding = fund_members(rpc, net.chain_id, dict(c.members), "utility/treasury")
    honest = c.member("community-a/alice")
    flooders = [m for ref, m in sorted(c.members.items()) if ref != "community-a/alice"]
    start_nonces = {m.public_key: account_nonce(rpc, m.address) for m in flooders}
    txs = build_flood(
        chain_id=net.chain_id,
        signers=flooders,
        recipient=c.member("community-b/dave").address,
        start_nonces=start_nonces,
        valid=VALID,
        junk=JUNK,
        replayable=[funding],
        max_tx_bytes=Params().max_tx_bytes,
    )
    sampler = RssSampler(lambda: {i: p.pid for i, p in net.apps.items()})
    sampler.start()
    time.sleep(3)
    baseline = {i: min(s) for i, s in sampler.samples.items()}
    height_before = net.height(0) or 0

    honest_nonce = account_nonce(rpc, honest.address)
    honest_txs = [
        sign_tx(honest.key, net.chain_id, honest_nonce + k + 1, [transfer(c.member("community-a/bob"), 1)])
        for k in range(HONEST_TXS)
    ]
    honest_codes: dict[int, int] = {}

    def send_honest() -> None:
        """During the flood, one tx a second, each resent (same bytes) until a mempool takes it."""
        for k, raw in enumerate(honest_txs):
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline:
                try:
                    r = net.rpc(k % net.n, timeout=10).broadcast_sync(raw)
                except RPCError as exc:
                    if "already exists in cache" in str(exc):
                        honest_codes[k] = 0
                        break
                    time.sleep(1)
                    continue
                honest_codes[k] = r.code
                if r.code == 0:
                    break
                time.sleep(1)
            time.sleep(1)

    honest_thread = threading.Thread(target=send_honest, daemon=True)
    urls = [net.rpc(i).url for i in range(net.n)]
    try:
        honest_thread.start()
        stats = send_flood(urls, txs, rate=FLOOD_RATE)
        honest_thread.join(timeout=300)
        # Every honest tx commits with code 0.
        for raw in honest_txs:
            found = net.rpc(0, timeout=10).wait_tx(tx_hash_hex(raw), timeout=300)
            assert int(found["tx_result"].get("code", 0)) == Code.OK
        height_after = net.height(0) or 0
    finally:
        sampler.stop()
    assert honest_codes == dict.fromkeys(range(HONEST_TXS), 0), honest_codes

    # Nobody crashed.
    for i in range(net.n):
        assert net.apps[i].poll() is None, f"app {i} exited with {net.apps[i].returncode}"
        assert net.nodes[i].poll() is None, f"node {i} exited"
    assert height_after > height_before
    # The flood reached the chain: barely any request was refused, and every flooding signer
    # got valid txs committed (its nonce moved).
    assert sum(stats.rpc_errors.values()) < stats.total // 4, stats.rpc_errors
    moved = [m for m in flooders if account_nonce(rpc, m.address) > start_nonces[m.public_key]]
    assert len(moved) == len(flooders)
    # Memory stayed bounded.
    peaks = {i: sampler.peak(i) for i in baseline}
    for i, peak in peaks.items():
        assert peak - baseline[i] <= RSS_GROWTH_LIMIT, f"app {i}: {baseline[i] >> 20} MiB → {peak >> 20} MiB"
    print(
        f"\nflood: offered {stats.total} txs in {stats.seconds:.1f}s ({stats.total / stats.seconds:.0f}/s) "
        f"{dict(stats.offered)}; rpc errors {dict(stats.rpc_errors)}; heights {height_before}→{height_after}; "
        f"app RSS MiB baseline→peak { ({i: (baseline[i] >> 20, peaks[i] >> 20) for i in peaks}) }"
    )
