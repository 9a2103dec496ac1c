"""Checks the chaos run makes on live nodes: money invariant, app hashes, the final chains."""

from __future__ import annotations

import base64
import time
from dataclasses import dataclass, field

from gridledger.accounts.v1 import accounts_pb2

from abci_app.errors import Code
from clients.rpc import CometRPC, RPCError
from tests.chaos.chain import BlockRecord, app_info, block_hashes, fetch_block

__all__ = ["ChainCheck", "app_hash_mismatch", "final_chain_check", "money_invariant"]


def _query(rpc: CometRPC, path: str) -> tuple[int, int, bytes]:
    r = rpc.abci_query(path)
    return int(r.get("code", 0)), int(r.get("height", 0)), base64.b64decode(r.get("value") or "")


def money_invariant(rpc: CometRPC, accounts: list[bytes], *, attempts: int = 8) -> str | None:
    """minted − burned = the sum of every known account's balance, all read at one height.

    Returns None when it holds, else a description. Queries answer at the latest height
    only, so the reads are retried until they all came from the same height.
    """
    last = "no consistent read"
    for _ in range(attempts):
        try:
            code, height, value = _query(rpc, "/supply")
            if code != 0:
                return f"/supply answered code {code}"
            supply = accounts_pb2.SupplyView.FromString(value)
            total = 0
            same_height = True
            for address in accounts:
                code, h, value = _query(rpc, f"/balance/{address.hex()}")
                if h != height:
                    same_height = False
                    break
                if code == Code.QUERY_NOT_FOUND:
                    continue
                if code != 0:
                    return f"/balance/{address.hex()} answered code {code}"
                total += int.from_bytes(value, "big")
        except RPCError as exc:
            last = f"query failed: {exc}"
            time.sleep(0.3)
            continue
        if not same_height:
            continue
        if supply.minted - supply.burned != total:
            return f"height {height}: minted {supply.minted} - burned {supply.burned} != balances {total}"
        return None
    return f"could not check the money invariant: {last}"


def app_hash_mismatch(rpcs: dict[int, CometRPC], node: int, *, timeout: float = 15.0) -> tuple[bool, str | None]:
    """Compare the app's own last committed app hash (abci_info) with the header of the next
    block, read from any node. Returns (mismatch, description): (False, None) when equal,
    (False, why) when it could not be compared, (True, what) when they differ."""
    try:
        height, own = app_info(rpcs[node])
    except RPCError as exc:
        return False, f"abci_info on node{node} failed: {exc}"
    if height == 0:
        return False, f"node{node}'s app has committed nothing"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for rpc in rpcs.values():
            try:
                header = rpc.call("header", height=str(height + 1))["header"]
            except RPCError:
                continue
            if header["app_hash"].upper() != own:
                theirs = header["app_hash"][:16]
                return True, f"node{node} app hash at {height} is {own[:16]}, header {height + 1} says {theirs}"
            return False, None
        time.sleep(0.5)
    return False, f"node{node}: no node served header {height + 1} within {timeout:.0f}s to compare its app hash"


@dataclass
class ChainCheck:
    height: int
    reference: int
    blocks: dict[int, BlockRecord]
    problems: list[str] = field(default_factory=list)
    app_hash_mismatches: int = 0
    evidence: int = 0


def _earliest_block(rpc: CometRPC) -> int:
    try:
        return max(1, int(rpc.status()["sync_info"]["earliest_block_height"]))
    except (RPCError, KeyError, ValueError):
        return 1


def final_chain_check(rpcs: dict[int, CometRPC], height: int, reference: int) -> ChainCheck:
    """Every block 1..height from the reference node (which must hold them all); every other
    node must hold the same block hashes (hence the same txs and header app hashes) from its
    earliest block (1, or a state-synced node's snapshot height), and each app's own last app
    hash must match the chain."""
    blocks = {h: fetch_block(rpcs[reference], h) for h in range(1, height + 1)}
    check = ChainCheck(height, reference, blocks)
    check.evidence = sum(b.evidence for b in blocks.values())
    for i, rpc in rpcs.items():
        # A node that joined by state sync holds blocks from its snapshot's height on (its
        # state below is the snapshot's, verified against the header app hash it restored to).
        low = 1 if i == reference else _earliest_block(rpc)
        try:
            theirs = block_hashes(rpc, low, height)
        except RPCError as exc:
            check.problems.append(f"node{i}: cannot read its chain: {exc}")
            continue
        for h in range(low, height + 1):
            if h not in theirs:
                check.problems.append(f"node{i}: missing block {h}")
                break
            block_hash, app_hash = theirs[h]
            if block_hash != blocks[h].block_hash:
                check.problems.append(
                    f"node{i}: block {h} is {block_hash[:16]}, reference has {blocks[h].block_hash[:16]}"
                )
            if app_hash != blocks[h].app_hash:
                check.app_hash_mismatches += 1
                check.problems.append(f"node{i}: header {h} app hash differs from the reference")
        mismatch, problem = app_hash_mismatch(rpcs, i)
        if mismatch:
            check.app_hash_mismatches += 1
        if problem:
            check.problems.append(problem)
    return check
