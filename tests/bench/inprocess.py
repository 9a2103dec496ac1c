"""In-process costs of the app, without CometBFT: CheckTx, RECHECK, FinalizeBlock, Commit, trie.

Two apps on SQLite state databases run the same blocks: the *node* sees every tx through
CheckTx first (so FinalizeBlock finds their signatures verified), the *follower* only gets
FinalizeBlock (a replaying node: every signature is verified in the block). Both must end
at the same app hash, which the benchmark checks.
"""

from __future__ import annotations

import cProfile
import hashlib
import io
import json
import pstats
import shutil
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from google.protobuf.timestamp_pb2 import Timestamp
from gridledger.governance.v1 import governance_pb2

from abci_app.app import GridLedgerApp
from abci_app.params import Params
from abci_app.pb import abci, crypto_keys
from abci_app.store.backend import MemoryBackend
from abci_app.store.commitment import Trie
from abci_app.store.sqlite import SQLiteBackend
from clients.ops.consortium import Consortium, demo_consortium
from clients.ops.loadgen import LoadTx, Mix, Population

__all__ = ["InProcessConfig", "run_inprocess", "trie_costs"]

CHAIN_ID = "gridledger-bench"
GENESIS_TIME = 1_767_225_600


@dataclass(frozen=True)
class InProcessConfig:
    members: int
    block_txs: int  # txs per measured block
    blocks: int  # measured blocks
    trie_sizes: tuple[int, ...]
    trie_block: int  # writes per block in the trie measurement
    mix: Mix
    profile_dir: Path | None = None


class _Chain:
    """One app on its own SQLite file, driven block by block with integer block times."""

    def __init__(self, folder: Path, consortium: Consortium) -> None:
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        self.backend = SQLiteBackend(folder / "state.sqlite")
        self.app = GridLedgerApp(self.backend)
        self.height = 0
        req = abci.RequestInitChain(
            chain_id=CHAIN_ID,
            app_state_bytes=json.dumps(consortium.app_state()).encode(),
            initial_height=1,
            validators=[abci.ValidatorUpdate(pub_key=crypto_keys.PublicKey(ed25519=b"\x01" * 32), power=10)],
        )
        req.time.CopyFrom(Timestamp(seconds=GENESIS_TIME))
        self.app.init_chain(req)

    def check(self, txs: Sequence[bytes], kind: abci.CheckTxType = abci.NEW) -> list[int]:
        check_tx = self.app.check_tx
        return [check_tx(abci.RequestCheckTx(tx=raw, type=kind)).code for raw in txs]

    def finalize(self, txs: Sequence[bytes]) -> abci.ResponseFinalizeBlock:
        self.height += 1
        req = abci.RequestFinalizeBlock(txs=txs, height=self.height)
        req.time.CopyFrom(Timestamp(seconds=GENESIS_TIME + self.height))
        return self.app.finalize_block(req)

    def commit(self) -> None:
        self.app.commit(abci.RequestCommit())

    def block(self, txs: Sequence[bytes], *, check: bool) -> abci.ResponseFinalizeBlock:
        if check:
            self.check(txs)
        resp = self.finalize(txs)
        self.commit()
        return resp

    def query(self, path: str) -> bytes:
        return bytes(self.app.query(abci.RequestQuery(path=path)).value)

    def close(self) -> None:
        self.backend.close()


def _raws(txs: Sequence[LoadTx]) -> list[bytes]:
    return [t.raw for t in txs]


def _require_ok(resp: abci.ResponseFinalizeBlock, what: str) -> None:
    bad = [r.code for r in resp.tx_results if r.code != 0]
    if bad:
        raise RuntimeError(f"{what}: {len(bad)} txs failed (codes {sorted(set(bad))}); the benchmark is broken")


def _timed(fn: Callable[[], Any], profile: Path | None) -> tuple[float, Any]:
    """CPU seconds `fn` took (this process's, so other load on a shared machine counts less
    than in wall time), optionally under cProfile with the top functions written to `profile`."""
    if profile is None:
        t = time.process_time()
        out = fn()
        return time.process_time() - t, out
    prof = cProfile.Profile(time.process_time)
    t = time.process_time()
    prof.enable()
    out = fn()
    prof.disable()
    elapsed = time.process_time() - t
    buf = io.StringIO()
    pstats.Stats(prof, stream=buf).sort_stats("tottime").print_stats(30)
    buf.write("\n---- by cumulative time ----\n")
    pstats.Stats(prof, stream=buf).sort_stats("cumulative").print_stats(40)
    profile.write_text(buf.getvalue())
    return elapsed, out


def run_inprocess(cfg: InProcessConfig, work: Path, log: Callable[[str], None]) -> dict[str, Any]:
    consortium = demo_consortium()
    node = _Chain(work / "node", consortium)
    follower = _Chain(work / "follower", consortium)
    try:
        return _run(cfg, consortium, node, follower, log)
    finally:
        node.close()
        follower.close()
        shutil.rmtree(work, ignore_errors=True)


def _run(
    cfg: InProcessConfig, consortium: Consortium, node: _Chain, follower: _Chain, log: Callable[[str], None]
) -> dict[str, Any]:
    pop = Population(consortium, CHAIN_ID, cfg.members, seed=7)
    voting_param = "voting_period_seconds"
    raw_params = node.query("/params")
    current = getattr(Params.decode(raw_params) if raw_params else Params(), voting_param)
    # Under cProfile, one extra first block is profiled and left out of the figures.
    profiled = 1 if cfg.profile_dir is not None else 0
    n_blocks = cfg.blocks + profiled
    n_votes = int(cfg.block_txs * n_blocks * 2 * cfg.mix.vote) + 8
    setup = [pop.enrol_txs(), pop.funding_txs(), pop.proposal_txs(n_votes // 4 + 1, voting_param, current)]
    for batch in setup:
        raws = _raws(batch)
        _require_ok(node.block(raws, check=True), "setup")
        _require_ok(follower.block(raws, check=False), "setup (follower)")
    proposals = governance_pb2.ProposalList.FromString(node.query("/proposals")).proposals
    pop.open_votes(p.id for p in proposals if p.status == governance_pb2.PROPOSAL_STATUS_VOTING)
    log(f"  in-process: {cfg.members} members enrolled and funded, {len(proposals)} proposals open")

    prof = cfg.profile_dir
    n = cfg.block_txs
    workload = [pop.workload(n, cfg.mix) for _ in range(n_blocks + 1)]
    kinds: dict[str, int] = {}
    for tx in (t for w in workload[profiled:n_blocks] for t in w):
        kinds[tx.kind] = kinds.get(tx.kind, 0) + 1
    blocks = [_raws(w) for w in workload]
    rows: dict[str, list[float]] = {
        k: [] for k in ("check", "recheck", "finalize", "commit", "replay", "replay_commit")
    }
    failed = 0
    # The mempool receives each block's txs (CheckTx NEW) while the previous block is built.
    if any(node.check(blocks[0])):
        raise RuntimeError("CheckTx rejected bench txs")
    for b in range(n_blocks):
        this, nxt = blocks[b], blocks[b + 1]
        p = (lambda name: prof / f"{name}.prof.txt") if prof is not None and b == 0 else (lambda _name: None)
        t, codes = _timed(lambda: node.check(nxt), p("checktx"))  # noqa: B023 - called at once
        if any(codes):
            raise RuntimeError(f"CheckTx rejected {sum(1 for c in codes if c)} bench txs: {sorted(set(codes))}")
        rows["check"].append(len(nxt) / t)
        t, resp = _timed(lambda: node.finalize(this), p("finalize_verified"))  # noqa: B023
        rows["finalize"].append(len(this) / t)
        failed += sum(1 for r in resp.tx_results if r.code)
        t, _ = _timed(node.commit, p("commit"))
        rows["commit"].append(t * 1000)
        # RECHECK of what is left in the mempool (the next block's txs) after the commit.
        t, codes = _timed(lambda: node.check(nxt, abci.RECHECK), p("recheck"))  # noqa: B023
        if any(codes):
            raise RuntimeError(f"RECHECK rejected {sum(1 for c in codes if c)} bench txs: {sorted(set(codes))}")
        rows["recheck"].append(len(nxt) / t)
        # The follower replays the block: every signature verified inside FinalizeBlock.
        t, fresp = _timed(lambda: follower.finalize(this), p("finalize_replay"))  # noqa: B023
        rows["replay"].append(len(this) / t)
        t, _ = _timed(follower.commit, None)
        rows["replay_commit"].append(t * 1000)
        if fresp.app_hash != resp.app_hash:
            raise RuntimeError(f"app hash mismatch at block {b}: the replay diverged from the node")
        log(
            f"  block {b + 1}/{n_blocks}{' (profiled)' if b < profiled else ''}: {len(this)} txs, "
            f"check {rows['check'][-1]:.0f}/s, "
            f"finalize {rows['finalize'][-1]:.0f}/s, replay {rows['replay'][-1]:.0f}/s, "
            f"recheck {rows['recheck'][-1]:.0f}/s, commit {rows['commit'][-1]:.0f} ms"
        )
    state_keys = node.backend._db.execute("SELECT COUNT(*) FROM kv").fetchone()[0]
    rows = {k: v[profiled:] for k, v in rows.items()}
    return {
        "block_txs": n,
        "blocks": cfg.blocks,
        "members": cfg.members,
        "state_keys": state_keys,
        "failed_txs": failed,
        "tx_kinds": dict(sorted(kinds.items())),
        "checktx_tps": _median(rows["check"]),
        "recheck_tps": _median(rows["recheck"]),
        "finalize_verified_tps": _median(rows["finalize"]),
        "finalize_replay_tps": _median(rows["replay"]),
        "commit_ms": _median(rows["commit"]),
        "commit_ms_per_1k_txs": _median(rows["commit"]) * 1000 / n,
        "samples": {k: [round(x, 1) for x in v] for k, v in rows.items()},
    }


def _median(xs: Sequence[float]) -> float:
    s = sorted(xs)
    return s[len(s) // 2] if s else float("nan")


def trie_costs(sizes: Sequence[int], block: int, log: Callable[[str], None]) -> list[dict[str, Any]]:
    """Cost of staging a block of `block` writes (half updates, half new keys) and computing
    the new root, for tries of each size; plus serialising the changed nodes for Commit.

    Each trie is built in 256 blocks, one per first byte of the key hash (each block touches
    only its own subtree, so 10 M keys build in about a minute; the shape depends only on the
    set of keys). A block writes each touched node once, and each written node is hashed once:
    `node_hashes_per_write` is the structural part of the cost, which grows with the size."""
    out = []
    for size in sizes:
        backend = MemoryBackend()
        trie = Trie(backend.get_node)
        nodes: dict[bytes, bytes] = backend._nodes
        t = time.perf_counter()
        by_head: list[list[int]] = [[] for _ in range(256)]
        for i in range(size):
            by_head[hashlib.sha256(_key(i)).digest()[0]].append(i)
        for indices in by_head:
            trie.apply({_key(i): _key(i)[:8] for i in indices})
            nodes.update({p: n for p, n in trie.take_staged().items() if n is not None})  # a build never deletes
        del by_head
        build = time.perf_counter() - t
        runs = []
        for r in range(3):
            updates = {_key(i * 7919 % size): b"u%d" % r for i in range(block // 2)}
            inserts = {_key(size + r * block + i): b"n" for i in range(block - len(updates))}
            writes = {**updates, **inserts}
            t = time.process_time()
            trie.apply(writes)
            t_apply = time.process_time() - t
            t = time.process_time()
            staged = trie.take_staged()
            t_take = time.process_time() - t
            nodes.update({p: n for p, n in staged.items() if n is not None})
            runs.append((t_apply, t_take, len(staged)))
        runs.sort()
        t_apply, t_take, n_nodes = runs[1]
        row = {
            "keys": size,
            "block_writes": block,
            "apply_root_ms": round(t_apply * 1000, 1),
            "us_per_write": round(t_apply * 1e6 / block, 2),
            "serialise_ms": round(t_take * 1000, 1),
            "nodes_written": n_nodes,
            "node_hashes_per_write": round(n_nodes / block, 2),
            "build_s": round(build, 1),
        }
        log(
            f"  trie {size:>10,} keys: {row['apply_root_ms']} ms per {block}-write block "
            f"({row['us_per_write']} µs/write, {row['node_hashes_per_write']} node hashes/write), "
            f"serialise {row['serialise_ms']} ms, built in {row['build_s']} s"
        )
        out.append(row)
    return out


def _key(i: int) -> bytes:
    return b"\x07" + hashlib.sha256(i.to_bytes(8, "big")).digest()[:20]
