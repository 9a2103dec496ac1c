"""Load generator: funded bench members, pre-signed mixed transactions, a websocket submitter.

Three parts, usable on their own (the benchmark in `tests/bench` and fault runs use them):

- `Population` creates bench members (certificates issued by the consortium's org CAs,
  self-enrolment txs), funds them (mints by an issuer), opens governance proposals, and then
  pre-signs a mixed workload (`Mix`: transfers, enrolments of new members, governance votes)
  with a strictly increasing nonce per signer. Every tx carries a *lane* (its signer): txs of
  one lane must reach the chain in order, so a lane always goes through one connection.
- `Submitter` holds websocket connections to every node's JSON-RPC endpoint
  (`ws://127.0.0.1:<rpc>/websocket`) and submits txs open loop at a target rate, or at
  saturation (as fast as the chain commits, with at most `inflight` txs outstanding). It
  records each tx's submit time and answer, and detects commits through a `tm.event='NewBlock'`
  subscription by matching SHA-256 of every tx in each block (the block event also carries the
  tx result codes). It samples each node's mempool size once a second.
- `kvstore_txs` makes the same load shape for CometBFT's built-in kvstore app (`key=value`).

The client is kept cheap: txs are signed and JSON-encoded before the clock starts, the
submitter uses one connection per node and `broadcast_tx_async` by default (CometBFT's ABCI
socket client batches CheckTx requests on a 20 ms flush timer, so a `broadcast_tx_sync`
connection waits for it on every tx: use several connections per node with that method).

    python -m clients.ops.loadgen --home .localnet --rate 300 --seconds 30   # against `make localnet`
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import hashlib
import json
import random
import secrets
import sys
import time
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat
from google.protobuf.message import Message
from gridledger.accounts.v1 import accounts_pb2
from gridledger.governance.v1 import governance_pb2
from gridledger.identity.v1 import identity_pb2
from gridledger.state.v1 import state_pb2
from gridwire.address import address_of
from gridwire.contract.accounts import Paths as AccountsPaths
from gridwire.contract.governance import Paths as GovernancePaths
from nacl.signing import SigningKey
from websockets.asyncio.client import ClientConnection, connect

from clients.ops.consortium import Consortium
from clients.pki import Identity
from clients.tx import envelope, tx_body

__all__ = [
    "BlockSeen",
    "LoadTx",
    "Mix",
    "PhaseResult",
    "Population",
    "Sent",
    "Signer",
    "Submitter",
    "account_nonce",
    "kvstore_txs",
    "param_value",
    "ws_url",
]

BENCH_ROLE = "prosumer"
MEMBER_ORGS = ("community-a", "community-b")
ISSUER = "utility/treasury"
MINTS_PER_TX = 50  # below the default max_msgs_per_tx (64)
PROPOSER = "utility/admin"
VOTERS = ("gridop/admin", "certissuer/admin", "community-a/admin", "community-b/admin")


def ws_url(rpc_port: int) -> str:
    return f"ws://127.0.0.1:{rpc_port}/websocket"


@dataclass(frozen=True, slots=True)
class Mix:
    """Shares of each kind of tx in the workload (normalised; votes fall back to transfers
    once every open proposal has had all its votes)."""

    transfer: float = 0.95
    enroll: float = 0.03
    vote: float = 0.02

    def as_dict(self) -> dict[str, float]:
        return {"transfer": self.transfer, "enroll": self.enroll, "vote": self.vote}


@dataclass(frozen=True, slots=True)
class LoadTx:
    raw: bytes
    hash: bytes  # SHA-256 of raw, what CometBFT identifies a tx by
    lane: int  # the signer: a lane's txs must reach the chain in order
    kind: str


class Signer:
    """An Ed25519 key with its next nonce (libsodium signs deterministically, like any Ed25519)."""

    __slots__ = ("address", "key", "lane", "nonce", "public_key")

    def __init__(self, seed: bytes, lane: int, nonce: int = 0) -> None:
        self.key = SigningKey(seed)
        self.public_key = bytes(self.key.verify_key)
        self.address = address_of(self.public_key)
        self.lane = lane
        self.nonce = nonce  # the last nonce used

    @staticmethod
    def from_identity(identity: Identity, lane: int, nonce: int = 0) -> Signer:
        seed = identity.key.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
        return Signer(seed, lane, nonce)

    def sign(self, chain_id: str, messages: list[Message], kind: str) -> LoadTx:
        self.nonce += 1
        body = tx_body(chain_id, self.public_key, self.nonce, messages)
        raw = envelope(body, self.key.sign(body).signature)
        return LoadTx(raw, hashlib.sha256(raw).digest(), self.lane, kind)


class Population:
    """Bench members and the consortium's admins, and the transactions they sign.

    Setup, in order (each step must be committed before the next): `enrol_txs` (every bench
    member enrols itself), `funding_txs` (the issuer mints `funding` to each) and
    `proposal_txs` (an admin opens proposals that the other orgs' admins vote on in the
    workload). Then `workload(n)` signs n mixed txs; it can be called again for more.
    """

    def __init__(
        self,
        consortium: Consortium,
        chain_id: str,
        members: int,
        *,
        seed: int = 1,
        funding: int = 1_000_000_000,
        nonces: Callable[[bytes], int] | None = None,
    ) -> None:
        self.consortium = consortium
        self.chain_id = chain_id
        self.funding = funding
        self.rng = random.Random(seed)  # noqa: S311 - the load's shape (mix, recipients, amounts), never keys
        self._lanes = 0
        nonce_of = nonces or (lambda _address: 0)
        self.members = [self._new_member(i) for i in range(members)]
        self.issuer = self._known(ISSUER, nonce_of)
        self.proposer = self._known(PROPOSER, nonce_of)
        self.voters = [self._known(ref, nonce_of) for ref in VOTERS]
        self.proposal_ids: list[int] = []
        self._votes: deque[tuple[Signer, int]] = deque()  # (voter, proposal id) still to sign
        self._rr = 0  # round-robin position over the members (senders)
        self._enrolled = 0  # workload enrolments signed so far

    # -- members -----------------------------------------------------------------------------

    def _lane(self) -> int:
        self._lanes += 1
        return self._lanes - 1

    def _new_member(self, i: int) -> tuple[Signer, bytes]:
        """A fresh key and its member certificate (DER) from a community org's CA."""
        seed = secrets.token_bytes(32)
        org = MEMBER_ORGS[i % len(MEMBER_ORGS)]
        identity = self.consortium.cas[org].issue(
            f"bench-{self._lanes}.{org}", [BENCH_ROLE], key=Ed25519PrivateKey.from_private_bytes(seed)
        )
        return Signer(seed, self._lane()), identity.cert_der

    def _known(self, ref: str, nonce_of: Callable[[bytes], int]) -> Signer:
        identity = self.consortium.member(ref)
        return Signer.from_identity(identity, self._lane(), nonce_of(identity.address))

    # -- setup -------------------------------------------------------------------------------

    def _enrol(self, signer: Signer, cert_der: bytes) -> LoadTx:
        m = identity_pb2.EnrollMember(certificate_der=cert_der)
        return signer.sign(self.chain_id, [m], "enroll")

    def enrol_txs(self) -> list[LoadTx]:
        return [self._enrol(s, der) for s, der in self.members]

    def funding_txs(self) -> list[LoadTx]:
        """One Mint per member, MINTS_PER_TX to a tx (the issuer signs them all: one tx per
        member would exceed its mempool share for the full run's 2,000 members)."""
        mints = [accounts_pb2.Mint(to=s.address, amount=self.funding) for s, _der in self.members]
        return [
            self.issuer.sign(self.chain_id, list(mints[i : i + MINTS_PER_TX]), "mint")
            for i in range(0, len(mints), MINTS_PER_TX)
        ]

    def proposal_txs(self, count: int, param: str, value: int) -> list[LoadTx]:
        """`count` proposals to set `param` to `value` (its current value: passing changes nothing)."""
        action = governance_pb2.ChangeParam(name=param, value=value)
        return [
            self.proposer.sign(
                self.chain_id,
                [governance_pb2.SubmitProposal(title=f"bench {i}", change_param=action)],
                "propose",
            )
            for i in range(count)
        ]

    def open_votes(self, proposal_ids: Iterable[int]) -> None:
        """Proposals the workload's votes go to: each gets one yes vote from each voter org."""
        ids = sorted(proposal_ids)
        self.proposal_ids.extend(ids)
        self._votes.extend((v, pid) for pid in ids for v in self.voters)

    # -- workload ----------------------------------------------------------------------------

    def workload(self, n: int, mix: Mix | None = None) -> list[LoadTx]:
        mix = mix or Mix()
        total = mix.transfer + mix.enroll + mix.vote
        p_enroll = mix.enroll / total
        p_vote = p_enroll + mix.vote / total
        out: list[LoadTx] = []
        rng = self.rng
        for _ in range(n):
            r = rng.random()
            if r < p_enroll:
                out.append(self._workload_enrol())
            elif r < p_vote and self._votes:
                voter, pid = self._votes.popleft()
                m = governance_pb2.Vote(proposal_id=pid, approve=True)
                out.append(voter.sign(self.chain_id, [m], "vote"))
            else:
                out.append(self._transfer())
        return out

    def _workload_enrol(self) -> LoadTx:
        signer, der = self._new_member(self._enrolled)
        self._enrolled += 1
        return self._enrol(signer, der)

    def _transfer(self) -> LoadTx:
        members = self.members
        sender = members[self._rr % len(members)][0]
        self._rr += 1
        j = self.rng.randrange(len(members) - 1)
        recipient = members[j if members[j][0] is not sender else len(members) - 1][0]
        m = accounts_pb2.Transfer(to=recipient.address, amount=self.rng.randint(1, 9))
        return sender.sign(self.chain_id, [m], "transfer")


def kvstore_txs(like: Sequence[LoadTx], *, tag: str = "k") -> list[LoadTx]:
    """The same load shape for CometBFT's kvstore app: one `key=value` tx of the same size
    (and lane) per tx of `like`; keys are unique, values are hex padding."""
    out = []
    for i, tx in enumerate(like):
        head = f"{tag}{i:09d}=".encode()
        pad = hashlib.sha256(head).hexdigest().encode() * (len(tx.raw) // 64 + 1)
        raw = head + pad[: max(1, len(tx.raw) - len(head))]
        out.append(LoadTx(raw, hashlib.sha256(raw).digest(), tx.lane, "kv"))
    return out


# -- submitting -------------------------------------------------------------------------------


@dataclass(slots=True)
class Sent:
    """What happened to one submitted tx (times are `time.monotonic()` seconds)."""

    submitted: float
    ack: int | None = None  # None: no answer yet; 0 accepted; >0 CheckTx code; -1 RPC error
    committed: float | None = None
    height: int = 0
    code: int = -1  # the block's result code once committed


@dataclass(frozen=True, slots=True)
class BlockSeen:
    arrived: float
    height: int
    txs: int  # all txs in the block
    ours: int  # txs of the phase running when it arrived


@dataclass
class PhaseResult:
    """One submission phase: per-tx records aligned with the txs that were sent."""

    txs: Sequence[LoadTx]
    sent: list[Sent]
    started: float
    window: tuple[float, float]  # the measurement window (after warm-up)
    submit_ended: float
    ended: float
    blocks: list[BlockSeen]
    mempool: list[tuple[float, list[int]]]  # (time, size per node)
    errors: dict[str, int]
    client_cpu_s: float
    exhausted: bool  # the pre-signed txs ran out before the phase's duration


@dataclass
class _Phase:
    pending: dict[bytes, Sent] = field(default_factory=dict)
    blocks: list[BlockSeen] = field(default_factory=list)
    mempool: list[tuple[float, list[int]]] = field(default_factory=list)
    errors: dict[str, int] = field(default_factory=dict)
    done: int = 0  # committed or rejected


class Submitter:
    """Websocket connections to every node, a NewBlock watcher and a mempool sampler.

    `async with Submitter(rpc_ports) as s: result = await s.run(txs, rate=..., ...)`.
    """

    def __init__(
        self,
        rpc_ports: Sequence[int],
        *,
        method: str = "broadcast_tx_async",
        connections_per_node: int = 1,
        watch_node: int = 0,
        mempool_interval: float = 1.0,
    ) -> None:
        if method not in ("broadcast_tx_async", "broadcast_tx_sync"):
            raise ValueError(f"unsupported broadcast method {method!r}")
        self.ports = list(rpc_ports)
        self.method = method
        self.per_node = connections_per_node
        self.watch_node = watch_node
        self.mempool_interval = mempool_interval
        self._conns: list[ClientConnection] = []
        self._watch: ClientConnection | None = None
        self._samplers: list[ClientConnection] = []
        self._tasks: list[asyncio.Task[None]] = []
        self._ids: dict[int, Sent] = {}  # JSON-RPC request id → the tx's record
        self._next_id = 1
        self._phase = _Phase()
        self.height = 0
        self.block_event = asyncio.Event()

    async def __aenter__(self) -> Submitter:
        await self.open()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def _connect(self, port: int) -> ClientConnection:
        return await connect(
            ws_url(port), max_size=None, compression=None, ping_interval=None, open_timeout=20, close_timeout=2
        )

    async def open(self) -> None:
        for _ in range(self.per_node):
            for port in self.ports:
                self._conns.append(await self._connect(port))
        self._watch = await self._connect(self.ports[self.watch_node])
        await self._watch.send(
            json.dumps({"jsonrpc": "2.0", "id": 0, "method": "subscribe", "params": {"query": "tm.event='NewBlock'"}})
        )
        self._samplers = [await self._connect(port) for port in self.ports]
        self._tasks = [asyncio.create_task(self._read_acks(c)) for c in self._conns]
        self._tasks.append(asyncio.create_task(self._read_blocks(self._watch)))
        self._tasks.append(asyncio.create_task(self._sample_mempools()))

    async def close(self) -> None:
        for t in self._tasks:
            t.cancel()
        for t in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await t
        for c in [*self._conns, *self._samplers, *([self._watch] if self._watch else [])]:
            with contextlib.suppress(Exception):
                await c.close()
        self._tasks, self._conns, self._samplers, self._watch = [], [], [], None

    # -- background readers ----------------------------------------------------------------------

    async def _read_acks(self, conn: ClientConnection) -> None:
        async for message in conn:
            reply = json.loads(message)
            sent = self._ids.pop(reply.get("id"), None)
            if sent is None:
                continue
            phase = self._phase
            if "error" in reply:
                sent.ack = -1
                text = str(reply["error"].get("data") or reply["error"].get("message"))[:80]
                phase.errors[text] = phase.errors.get(text, 0) + 1
            else:
                sent.ack = int(reply["result"].get("code", 0))
                if sent.ack:
                    phase.errors[f"CheckTx code {sent.ack}"] = phase.errors.get(f"CheckTx code {sent.ack}", 0) + 1
            if sent.ack and sent.committed is None:
                phase.done += 1

    async def _read_blocks(self, conn: ClientConnection) -> None:
        sha256 = hashlib.sha256
        b64decode = base64.b64decode
        async for message in conn:
            now = time.monotonic()
            reply = json.loads(message)
            if "error" in reply:  # e.g. the node cancelled the subscription: say so in the phase's errors
                text = "NewBlock subscription: " + str(reply["error"].get("data") or reply["error"].get("message"))[:80]
                self._phase.errors[text] = self._phase.errors.get(text, 0) + 1
                continue
            value = ((reply.get("result") or {}).get("data") or {}).get("value")
            if not value:
                continue
            block = value["block"]
            txs = block["data"]["txs"] or []
            results = value["result_finalize_block"].get("tx_results") or []
            height = int(block["header"]["height"])
            phase = self._phase
            pending = phase.pending
            ours = 0
            for i, tx in enumerate(txs):
                sent = pending.pop(sha256(b64decode(tx)).digest(), None)
                if sent is None:
                    continue
                ours += 1
                sent.committed = now
                sent.height = height
                sent.code = int(results[i].get("code", 0)) if i < len(results) else -1
                if not sent.ack:
                    phase.done += 1
            phase.blocks.append(BlockSeen(now, height, len(txs), ours))
            self.height = height
            self.block_event.set()
            self.block_event = asyncio.Event()

    async def _sample_mempools(self) -> None:
        while True:
            sizes = []
            for conn in self._samplers:
                await conn.send('{"jsonrpc":"2.0","id":1,"method":"num_unconfirmed_txs","params":{}}')
                reply = json.loads(await conn.recv())
                sizes.append(int(reply["result"]["total"]))
            self._phase.mempool.append((time.monotonic(), sizes))
            await asyncio.sleep(self.mempool_interval)

    # -- a phase ---------------------------------------------------------------------------------

    async def wait_blocks(self, n: int, timeout: float = 60.0) -> None:
        target = self.height + n
        deadline = time.monotonic() + timeout
        while self.height < target:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"no new block for {timeout}s (height {self.height})")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.block_event.wait(), remaining)

    async def run(
        self,
        txs: Sequence[LoadTx],
        *,
        rate: float | None,
        duration: float,
        warmup: float = 0.0,
        inflight: int | None = 10_000,
        inflight_seconds: float | None = None,
        drain_timeout: float = 30.0,
        drain_stall: float | None = None,
        tick: float = 0.002,
    ) -> PhaseResult:
        """Submit `txs` in order, open loop at `rate` tx/s (None: saturation), for `warmup +
        duration` seconds or until the txs run out; then wait for the outstanding ones to
        commit. `inflight` caps the txs submitted but neither committed nor rejected (needed
        at saturation; None: no cap); with `inflight_seconds` the cap grows to that many
        seconds' worth of the commit rate over the last 3 s, so a faster chain is kept busy.
        With `drain_stall` the wait for the outstanding txs lasts while they keep committing (up to
        `drain_timeout`), ending once none has for `drain_stall` seconds: a saturated chain's
        backlog drains, and a stuck one is not waited on."""
        if rate is None and inflight is None:
            raise ValueError("saturation needs an inflight cap")
        phase = self._phase = _Phase()
        sent_list: list[Sent] = []
        conns = self._conns
        n_conns = len(conns)
        method = self.method
        cpu0 = time.process_time()
        t0 = time.monotonic()
        window = (t0 + warmup, t0 + warmup + duration)
        end = window[1]
        i = 0
        n = len(txs)
        exhausted = False
        cap = inflight
        progress: deque[tuple[float, int]] = deque([(t0, 0)])
        while True:
            now = time.monotonic()
            if now >= end:
                break
            if i >= n:
                exhausted = True
                break
            if inflight is not None and inflight_seconds and now - progress[-1][0] >= 0.5:
                progress.append((now, phase.done))
                while len(progress) > 7:
                    progress.popleft()
                t_old, done_old = progress[0]
                recent = (phase.done - done_old) / max(1e-3, now - t_old)
                cap = max(inflight, int(inflight_seconds * recent))
            due = n if rate is None else int((now - t0) * rate) + 1
            if cap is not None:
                due = min(due, phase.done + cap)
            due = min(due, n)
            while i < due:
                tx = txs[i]
                sent = Sent(time.monotonic())
                rid = self._next_id
                self._next_id += 1
                self._ids[rid] = sent
                phase.pending[tx.hash] = sent
                sent_list.append(sent)
                payload = '{"jsonrpc":"2.0","id":%d,"method":"%s","params":{"tx":"%s"}}' % (  # noqa: UP031
                    rid,
                    method,
                    base64.b64encode(tx.raw).decode(),
                )
                await conns[tx.lane % n_conns].send(payload)
                i += 1
            await asyncio.sleep(tick)
        submit_ended = time.monotonic()
        await self._drain(phase, submit_ended, drain_timeout, drain_stall)
        return PhaseResult(
            txs=txs[: len(sent_list)],
            sent=sent_list,
            started=t0,
            window=window,
            submit_ended=submit_ended,
            ended=time.monotonic(),
            blocks=list(phase.blocks),
            mempool=list(phase.mempool),
            errors=dict(phase.errors),
            client_cpu_s=time.process_time() - cpu0,
            exhausted=exhausted,
        )

    async def _drain(self, phase: _Phase, since: float, timeout: float, stall: float | None = None) -> None:
        """Wait until every accepted tx is committed, the mempools stay empty, `timeout`, or (with
        `stall`) `stall` seconds in which no tx committed or was rejected."""
        deadline = time.monotonic() + timeout
        done, moved = phase.done, time.monotonic()
        while (now := time.monotonic()) < deadline:
            if not any(s.ack is None or s.ack == 0 for s in phase.pending.values()):
                return
            samples = [sizes for t, sizes in phase.mempool if t > since][-2:]
            if len(samples) == 2 and not any(sum(sizes) for sizes in samples):
                return  # nothing left anywhere: the rest was dropped (CheckTx rejections unseen by async)
            if phase.done != done:
                done, moved = phase.done, now
            elif stall is not None and now - moved >= stall:
                return
            await asyncio.sleep(0.1)


# -- a small CLI against a running localnet ------------------------------------------------------


def account_nonce(rpc: Any, address: bytes) -> int:
    """The last nonce `address` used, from a node's `/account` query (`rpc`: a `CometRPC`)."""
    resp = rpc.abci_query(AccountsPaths.ACCOUNT(address.hex()))
    value = base64.b64decode(resp.get("value") or "")
    return int(accounts_pb2.AccountView.FromString(value).nonce) if value else 0


def param_value(rpc: Any, name: str) -> int:
    """The chain's current value of parameter `name`."""
    raw = base64.b64decode(rpc.abci_query(GovernancePaths.PARAMS()).get("value") or "")
    if not raw:
        raise LookupError("the chain stores no parameters (genesis always does)")
    return int(getattr(state_pb2.Params.FromString(raw), name))


async def _cli_run(args: argparse.Namespace) -> int:
    from clients.ops.localnet import Localnet  # noqa: PLC0415 - only the CLI needs the localnet

    meta = json.loads((args.home / "localnet.json").read_text())
    net = Localnet(args.home, n=meta["n"], base_port=meta["base_port"], chain_id=meta["chain_id"])
    rpc = net.rpc(0)
    pop = Population(
        net.consortium(), net.chain_id, args.members, seed=args.seed, nonces=lambda a: account_nonce(rpc, a)
    )
    ports = [net.ports(i).rpc for i in range(net.n)]
    out = sys.stdout
    async with Submitter(ports) as sub:
        for name, batch in (("enrol", pop.enrol_txs()), ("fund", pop.funding_txs())):
            res = await sub.run(batch, rate=None, duration=300)
            ok = sum(1 for s in res.sent if s.code == 0)
            out.write(f"{name}: {ok}/{len(batch)} committed ok\n")
        txs = pop.workload(int(args.rate * args.seconds) + 1, Mix(vote=0.0))
        res = await sub.run(txs, rate=args.rate, duration=args.seconds)
        lat = sorted(s.committed - s.submitted for s in res.sent if s.committed is not None)
        committed = sum(b.ours for b in res.blocks)
        out.write(f"sent {len(res.sent)}, committed {committed}, client cpu {res.client_cpu_s:.1f}s\n")
        if lat:
            out.write(
                f"latency p50 {lat[len(lat) // 2] * 1000:.0f} ms, p99 {lat[int(len(lat) * 0.99)] * 1000:.0f} ms\n"
            )
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m clients.ops.loadgen", description="open-loop load on a localnet")
    parser.add_argument("--home", type=Path, default=Path(".localnet"))
    parser.add_argument("--members", type=int, default=200)
    parser.add_argument("--rate", type=float, default=200.0)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--seed", type=int, default=int(time.time()))
    args = parser.parse_args(argv)
    args.home = args.home.resolve()
    return asyncio.run(_cli_run(args))


if __name__ == "__main__":
    sys.exit(main())
