"""Helpers for the integration tests: signing with tracked nonces, balances, waiting, light load."""

from __future__ import annotations

import base64
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

from google.protobuf.message import Message
from gridledger.accounts.v1 import accounts_pb2
from gridledger.governance.v1 import governance_pb2

from abci_app.errors import Code
from abci_app.governance.errors import GovernanceCode
from clients.ops.localnet import Localnet
from clients.pki import Identity
from clients.rpc import BroadcastResult, CometRPC, RPCError
from clients.tx import sign_tx

__all__ = [
    "COMETBFT",
    "LoadGenerator",
    "Wallet",
    "abci_info",
    "assert_same_app_hashes",
    "balance",
    "heal",
    "log_tails",
    "max_height",
    "proposal",
    "submit_proposal",
    "vote_until_passed",
    "wait_until",
]

REPO = Path(__file__).resolve().parents[2]
COMETBFT = REPO / "bin" / "cometbft"

T = TypeVar("T")


def wait_until(predicate: Callable[[], T | None], *, timeout: float, what: str, interval: float = 0.2) -> T:
    """Poll `predicate` until it returns something truthy (returned), or fail with `what`."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            value = predicate()
        except RPCError:
            value = None
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)


class Wallet:
    """Signs transactions for consortium identities, tracking each signer's next nonce (thread-safe)."""

    def __init__(self, chain_id: str) -> None:
        self.chain_id = chain_id
        self._nonces: dict[bytes, int] = {}
        self._lock = threading.Lock()

    def next_nonce(self, who: Identity) -> int:
        with self._lock:
            n = self._nonces.get(who.public_key, 0) + 1
            self._nonces[who.public_key] = n
            return n

    def last_nonce(self, who: Identity) -> int:
        with self._lock:
            return self._nonces.get(who.public_key, 0)

    def sign(self, who: Identity, *messages: Message, nonce: int | None = None, memo: str = "") -> bytes:
        n = self.next_nonce(who) if nonce is None else nonce
        return sign_tx(who.key, self.chain_id, n, list(messages), memo=memo)

    def transfer(self, who: Identity, to: bytes, amount: int, *, nonce: int | None = None, memo: str = "") -> bytes:
        return self.sign(who, accounts_pb2.Transfer(to=to, amount=amount), nonce=nonce, memo=memo)


def balance(rpc: CometRPC, address: bytes) -> int:
    """The committed balance of `address` as the node's app answers `/balance/<hex>`."""
    r = rpc.abci_query(f"/balance/{address.hex()}")
    code = int(r.get("code", 0))
    if code == Code.QUERY_NOT_FOUND:
        return 0
    assert code == 0, f"balance query failed: {r}"
    return int.from_bytes(base64.b64decode(r.get("value") or ""), "big")


def abci_info(rpc: CometRPC) -> tuple[int, bytes]:
    """(last committed height, app hash) straight from the node's app, via `abci_info`."""
    r = rpc.call("abci_info")["response"]
    return int(r.get("last_block_height", 0)), base64.b64decode(r.get("last_block_app_hash") or "")


def max_height(net: Localnet, nodes: Iterable[int]) -> int:
    return max(h for h in (net.height(i) for i in nodes) if h is not None)


def assert_same_app_hashes(net: Localnet, nodes: Iterable[int], upto: int) -> None:
    """Every node's header at every height 1..`upto` carries the same app hash."""
    wanted = list(nodes)
    for h in range(1, upto + 1):
        hashes = net.app_hashes(h, wanted)
        assert len(set(hashes.values())) == 1, f"app hashes differ at height {h}: {hashes}"


def assert_app_agrees(net: Localnet, i: int, reference: int) -> None:
    """Node i's app reports, for its last committed height, the app hash the reference node's next header holds."""
    height, app_hash = abci_info(net.rpc(i))
    assert height > 0
    net.wait_height(height + 1, [reference], timeout=30)
    assert app_hash == net.rpc(reference).app_hash_at(height + 1), f"node{i}'s app disagrees at height {height}"


def heal(net: Localnet) -> None:
    """Restart every pair whose node or app is not running (leaves the net whole for the next test)."""
    for i in range(net.n):
        if not net.pair_alive(i):
            net.stop_pair(i, kill=True)
            net.start_pair(i)


def log_tails(home: Path, lines: int = 40) -> str:
    """The last lines of every process log under `home/logs`, for failure reports."""
    out = []
    for path in sorted((home / "logs").glob("*.log")):
        tail = path.read_text(errors="replace").splitlines()[-lines:]
        out.append(f"----- {path.name} (last {len(tail)} lines) -----")
        out.extend(tail)
    return "\n".join(out)


@dataclass
class LoadGenerator:
    """A background thread sending small transfers at a light, steady rate to one node.

    One sender through one node, so its nonces reach the proposer in order. Every tx the
    mempool accepted (CheckTx code 0) is remembered, so a test can check that none was lost.
    """

    net: Localnet
    wallet: Wallet
    sender: Identity
    recipient: bytes
    node: int
    rate: float = 10.0  # txs per second
    accepted: list[str] = field(default_factory=list)
    sent: int = 0
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def __enter__(self) -> LoadGenerator:
        self._thread = threading.Thread(target=self._run, name="load", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def _run(self) -> None:
        while not self._stop.is_set():
            tx = self.wallet.transfer(self.sender, self.recipient, 1)
            try:
                r = self.net.rpc(self.node, timeout=5).broadcast_sync(tx)
            except RPCError:
                r = None
            self.sent += 1
            if r is not None and r.code == 0:
                self.accepted.append(r.hash)
            self._stop.wait(1.0 / self.rate)

    def assert_all_committed(self, rpc: CometRPC, *, timeout: float = 30.0) -> None:
        """Every accepted tx is in a block, with result code 0."""
        assert self.accepted, "the load generator got no tx accepted"
        for tx_hash in self.accepted:
            found = rpc.wait_tx(tx_hash, timeout=timeout)
            assert int(found["tx_result"]["code"]) == 0, found["tx_result"]


# -- governance through the chain (the admission flow the localnet and namespace tests share) --------------------


def proposal(rpc: CometRPC, pid: int) -> governance_pb2.Proposal:
    """Proposal `pid` as the node's app answers `/proposal/<id>`."""
    r = rpc.abci_query(f"/proposal/{pid}")
    assert int(r.get("code", 0)) == 0, r
    return governance_pb2.Proposal.FromString(base64.b64decode(r["value"]))


def submit_proposal(
    net: Localnet, wallet: Wallet, who: Identity, title: str, *, nodes: list[int] | None = None, **action: object
) -> int:
    """Submit a proposal through node 0; its id, read from the committed tx's events, once every
    one of `nodes` (default: all) has its block (so votes sent through them find it)."""
    sp = governance_pb2.SubmitProposal(title=title, **action)  # type: ignore[arg-type]
    rpc = net.rpc(0)
    r = rpc.broadcast_commit(wallet.sign(who, sp))
    assert r.code == 0, r.log
    found = rpc.wait_tx(r.hash)
    (event,) = [e for e in found["tx_result"]["events"] if e["type"] == "proposal_submitted"]
    attrs = {a["key"]: a["value"] for a in event["attributes"]}
    net.wait_height(r.height + 1, nodes, timeout=30)
    return int(attrs["proposal_id"])


def vote_until_passed(
    net: Localnet, wallet: Wallet, voters: list[Identity], pid: int, needed: int, *, nodes: list[int] | None = None
) -> None:
    """Voters approve in turn: the proposal stays open until the `needed`-th yes, passes with it, then closes.

    Each vote goes through the next of `nodes` (default: every node), whose state is then read
    (it has committed the vote's block when broadcast_tx_commit returns); at the end node 0 has
    the passing block too.
    """
    via = nodes if nodes is not None else list(range(net.n))
    passed_at = 0
    for k, voter in enumerate(voters, start=1):
        node = via[k % len(via)]
        vote = governance_pb2.Vote(proposal_id=pid, approve=True)
        r: BroadcastResult = net.rpc(node).broadcast_commit(wallet.sign(voter, vote))
        status = proposal(net.rpc(node), pid).status
        if k < needed:
            assert r.code == 0, r.log
            assert status == governance_pb2.PROPOSAL_STATUS_VOTING, k
        elif k == needed:
            assert r.code == 0, r.log
            assert status == governance_pb2.PROPOSAL_STATUS_PASSED
            passed_at = r.height
        else:
            assert r.code == GovernanceCode.PROPOSAL_CLOSED, r
    assert passed_at > 0
    net.wait_height(passed_at + 1, [0], timeout=30)  # block H+1 exists only once H is committed
