"""The ABCI 2.0 application: lifecycle, mempool checks, block execution, queries.

Lifecycle (CometBFT's kvstore pattern): FinalizeBlock executes the block on a branch of
the committed state and stages its writes, returning the app hash; Commit is the only
writer, persisting state, trie, height and app hash in one atomic write. CheckTx runs on
its own branch, reset after every Commit; RECHECK reuses the decoded, signature-checked
tx from the cache instead of verifying again.
"""

from __future__ import annotations

import time
from collections import Counter, OrderedDict
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import structlog
from google.protobuf.timestamp_pb2 import Timestamp
from gridwire.contract import chain as chain_contract
from gridwire.contract.all import INDEXED_ATTRIBUTES

from abci_app import chain, crypto, faults, metrics, read_access
from abci_app.codec import DecodedTx, tx_hash
from abci_app.domain import BlockHook, QueryResult
from abci_app.errors import CODESPACE, Code, TxError
from abci_app.executor import TxOutcome, check_envelope, check_limits, execute
from abci_app.executor import recheck as recheck_envelope
from abci_app.framing import encode_uvarint
from abci_app.genesis import apply_genesis
from abci_app.governance.params import SNAPSHOT_INTERVAL, SNAPSHOT_KEEP_RECENT
from abci_app.params import Params, domain_param, load_params
from abci_app.pb import abci, crypto_keys, crypto_proof, state_pb2
from abci_app.registry import DOMAINS, QUERIES, TABLES
from abci_app.statesync.restore import Restorer
from abci_app.statesync.store import SnapshotStore
from abci_app.store.backend import Backend
from abci_app.store.branch import Branch, KVReader
from abci_app.store.state import CommittedState
from abci_app.types import BlockInfo, Event, ValidatorUpdate
from abci_app.upgrades.migration import Migration
from abci_app.upgrades.registry import migrations as registered_migrations
from abci_app.upgrades.runner import refuse_unrunnable, run_due_upgrade
from abci_app.work import BlockMeter, Cost

__all__ = ["APP_VERSION", "GridLedgerApp", "RequestRefusedError"]

APP_VERSION = 1
PROOF_OP_TYPE = "gridledger:trie16"
VERIFIED_CACHE_LIMIT = 200_000
PROPOSAL_COSTS_KEPT = 4  # accepted proposals whose work-meter costs FinalizeBlock may reuse
MAX_QUERY_PATH = 1_024

log = structlog.get_logger("gridledger.app")
MAX_TIME_NS = (1 << 63) - 1


class RequestRefusedError(Exception):
    """A consensus request this app cannot take at all (e.g. FinalizeBlock before InitChain,
    a block time before 1970): answered with a clear exception response, nothing applied,
    and the process keeps running."""


def _domain_of(tx: DecodedTx | None) -> str:
    """The domain that handles a tx's first message: "invalid" when the tx did not decode,
    "none" when it has no messages."""
    if tx is None:
        return "invalid"
    if not tx.messages:
        return "none"
    return TABLES.record_domains.get(type(tx.messages[0]), "unknown")


# Attributes kept in the block results but not in CometBFT's event index: the archive a block's
# pruning publishes (certificates_archived and market_archived `archive`, up to a few hundred kB) is
# read by height.
_UNINDEXED = frozenset({"archive"})


def _add_events(target: Any, events: tuple[Event, ...] | list[Event]) -> None:
    """Append `events` to a repeated `abci.Event` field, building the messages in place
    (about half the cost of constructing them and copying them in). An attribute is indexed
    unless it is `_UNINDEXED` or its event type indexes only others (INDEXED_ATTRIBUTES)."""
    for e in events:
        attributes = target.add(type=e.type).attributes
        only = INDEXED_ATTRIBUTES.get(e.type)
        if only is None:
            for k, v in e.attributes:
                attributes.add(key=k, value=v, index=k not in _UNINDEXED)
        else:
            for k, v in e.attributes:
                attributes.add(key=k, value=v, index=k in only)


def _time_ns(ts: Timestamp) -> int:
    return int(ts.seconds) * 1_000_000_000 + int(ts.nanos)


class GridLedgerApp:
    def __init__(self, backend: Backend, *, snapshots: SnapshotStore | None = None) -> None:
        self.state = CommittedState(backend)
        # state sync: where this node keeps the snapshots it serves (None: it serves none)
        self.snapshots = snapshots
        self._restorer = Restorer(self.state, vet=self._vet_restored)
        self._genesis: Branch | None = None  # InitChain's writes until the first Commit
        self._initial_height = 1  # the chain's first height (an exported chain's next height)
        self._block: Branch | None = None
        self._block_height = 0
        self._block_txs = 0
        self._block_failed = 0
        # The domain of each tx of the last finalized block (its first message's; "invalid" when
        # it did not decode), for the metrics, which would otherwise decode every tx again.
        self.block_tx_domains: list[str] = []
        self._block_started = 0.0
        self.check_state = Branch(self.state)
        self._check_block_cache: tuple[Branch, BlockInfo] | None = None
        # tx hash → decoded tx whose signature this node verified (CheckTx); FinalizeBlock and
        # RECHECK skip signature checks for these. Only a cache: a miss re-verifies.
        self._verified: OrderedDict[bytes, DecodedTx] = OrderedDict()
        # signer address → txs of it in this node's mempool (rebuilt by RECHECK after each
        # Commit), so one member flooding valid txs cannot crowd out the others.
        self._pending: Counter[bytes] = Counter()
        # Refuse households' data on the plain query path (abci_app/read_access.py): a node setting
        # (on by default; `--public-queries` turns it off), not consensus (queries change no state).
        # /signed is always served.
        self.private_queries = True
        # The upgrades this app implements (abci_app/upgrades/registry.py; `--upgrades` adds staged
        # ones), and where it tells its supervisor which upgrade it stopped for (None: nowhere).
        self.migrations: Mapping[str, Migration] = registered_migrations()
        self.upgrade_info_path: Path | None = None
        # ProcessProposal's work-meter costs per tx of the proposals it accepted, keyed by
        # (state epoch, height, txs), for FinalizeBlock of the same block (BlockMeter `known`).
        # The epoch changes whenever the committed state does (Commit, InitChain, a restored
        # snapshot), so a cost is reused only for the same txs against the same state.
        self._state_epoch = 0
        # (A list compared by ==, not a dict keyed by the txs: no hashing of whole blocks.)
        self._proposal_costs: list[tuple[int, int, tuple[bytes, ...], list[Cost]]] = []

    # -- connection: info ----------------------------------------------------------------

    def info(self, req: abci.RequestInfo) -> abci.ResponseInfo:
        return abci.ResponseInfo(
            data="gridledger",
            version="0.1.0",
            app_version=APP_VERSION,
            last_block_height=self.state.height,
            last_block_app_hash=self.state.app_hash,
        )

    def query(self, req: abci.RequestQuery) -> abci.ResponseQuery:
        height = self.state.height
        if req.height not in (0, height):
            return abci.ResponseQuery(
                code=Code.QUERY_HEIGHT_UNAVAILABLE,
                log=f"only the latest committed height ({height}) can be queried",
                height=height,
                codespace=CODESPACE,
            )
        try:
            if len(req.path) > MAX_QUERY_PATH:
                raise TxError(Code.QUERY_BAD_REQUEST, f"query path is longer than {MAX_QUERY_PATH} characters")
            path, _, query_string = req.path.partition("?")
            parts = [p for p in path.split("/") if p]
            options = dict(parse_qsl(query_string, keep_blank_values=True))
            if parts and parts[0] == chain_contract.Paths.SIGNED.root:
                parts = parts[1:]
                inner = "/" + req.path.partition("/signed/")[2]
                if not parts or not read_access.is_private(parts[0]):
                    raise TxError(Code.QUERY_BAD_REQUEST, f"/signed serves the private roots only: {inner[:100]}")
                read_access.authorise_signed_read(self.state, parts, inner, int(req.height), req.data)
            elif parts and self.private_queries and read_access.is_private(parts[0]):
                raise TxError(
                    Code.QUERY_PRIVATE, f"/{parts[0]} is private: query /signed/... with a signed read request"
                )
            result = self._route_query(parts, options, req.data)
        except TxError as exc:
            return abci.ResponseQuery(code=exc.code, log=exc.log, height=height, codespace=CODESPACE)
        except Exception as exc:  # a query bug answers an error; it never reaches the event loop
            log.warning("query_internal_error", path=req.path[:200], error=type(exc).__name__, detail=str(exc)[:200])
            return abci.ResponseQuery(
                code=Code.QUERY_BAD_REQUEST,
                log=f"query failed: {type(exc).__name__}",
                height=height,
                codespace=CODESPACE,
            )
        resp = abci.ResponseQuery(height=height, value=result.value or b"")
        if result.key is not None:
            resp.key = result.key
            if result.value is None:
                resp.code = Code.QUERY_NOT_FOUND
                resp.codespace = CODESPACE
                resp.log = "not found"
            if req.prove:
                proof = self.state.prove(result.key)
                data = state_pb2.TrieProof(
                    levels=list(proof.levels),
                    other_key_hash=proof.other_key_hash,
                    other_value_hash=proof.other_value_hash,
                ).SerializeToString()
                resp.proof_ops.CopyFrom(
                    crypto_proof.ProofOps(ops=[crypto_proof.ProofOp(type=PROOF_OP_TYPE, key=result.key, data=data)])
                )
        return resp

    def _route_query(self, parts: list[str], options: dict[str, str], data: bytes) -> QueryResult:
        if not parts:
            raise TxError(Code.QUERY_UNKNOWN_PATH, f"empty query path; paths: {sorted(QUERIES)} and store")
        if parts[0] == chain_contract.Paths.STORE.root:
            key = data
            if len(parts) == 2:
                try:
                    key = bytes.fromhex(parts[1])
                except ValueError as exc:
                    raise TxError(Code.QUERY_BAD_REQUEST, "store key must be hex") from exc
            return QueryResult(self.state.get(key), key)
        handler = QUERIES.get(parts[0])
        if handler is None:
            raise TxError(Code.QUERY_UNKNOWN_PATH, f"unknown query path /{parts[0]}; paths: {sorted(QUERIES)}")
        result: QueryResult = handler(self.state, parts[1:], options)
        return result

    # -- connection: mempool ---------------------------------------------------------------

    def check_tx(self, req: abci.RequestCheckTx) -> abci.ResponseCheckTx:
        raw = req.tx
        digest = tx_hash(raw)
        # RECHECK finds the tx here and skips decoding and the signature; a cache miss (never
        # seen, or evicted) decodes and verifies.
        verified = self._verified.get(digest)
        recheck = req.type == abci.CheckTxType.RECHECK
        signer = verified.signer_address if verified is not None else None
        if not recheck and signer is not None and self._over_share(signer):
            return self._share_exceeded(signer)
        block = self._check_block()
        branch = self.check_state.branch()
        if recheck and verified is not None:
            # Only what a block can have changed about the envelope (executor.recheck).
            out = recheck_envelope(branch, block, len(raw), verified)
        else:
            out = execute(branch, block, raw, verified=verified, digest=digest, events=False, admission=True)
        if not out.ok:
            if verified is not None:
                del self._verified[digest]
            return abci.ResponseCheckTx(code=out.code, log=out.log, codespace=CODESPACE)
        if out.tx is not None:
            address = out.tx.signer_address
            if not recheck and signer is None and self._over_share(address):
                return self._share_exceeded(address)
            self._pending[address] += 1
        branch.merge_into(self.check_state)
        if verified is None and out.tx is not None:
            self._remember(out.tx)
        return abci.ResponseCheckTx(code=0, gas_wanted=1, gas_used=1)

    def _over_share(self, address: bytes) -> bool:
        return self._pending[address] >= load_params(self.check_state).max_pending_txs_per_signer

    def _share_exceeded(self, address: bytes) -> abci.ResponseCheckTx:
        limit = load_params(self.check_state).max_pending_txs_per_signer
        return abci.ResponseCheckTx(
            code=Code.MEMPOOL_SHARE_EXCEEDED,
            log=f"MEMPOOL_SHARE_EXCEEDED: signer {address.hex()} already has {limit} txs pending; retry after a block",
            codespace=CODESPACE,
        )

    def _check_block(self) -> BlockInfo:
        """The block CheckTx judges txs against (next height, last block's time), read once per
        `check_state`: it only changes when Commit or InitChain replaces that branch."""
        cached = self._check_block_cache
        if cached is None or cached[0] is not self.check_state:
            state = self.check_state
            height = self.state.height + 1 if self.state.height else self._initial_height
            block = BlockInfo(chain.chain_id(state), height, chain.block_time_ns(state))
            cached = self._check_block_cache = (self.check_state, block)
        return cached[1]

    def _remember(self, tx: DecodedTx) -> None:
        self._verified[tx.hash] = tx
        while len(self._verified) > VERIFIED_CACHE_LIMIT:
            self._verified.popitem(last=False)

    # -- connection: consensus ---------------------------------------------------------------

    def init_chain(self, req: abci.RequestInitChain) -> abci.ResponseInitChain:
        if self.state.height > 0:
            # A chain already committed blocks: a second InitChain would replace its genesis.
            raise RequestRefusedError(
                f"InitChain on a chain already at height {self.state.height}: this app has its genesis; refusing"
            )
        self.state.discard_staged()
        branch = Branch(self.state)
        chain.set_chain_id(branch, req.chain_id)
        time_ns = _time_ns(req.time)
        chain.set_block_time_ns(branch, time_ns)
        block = BlockInfo(req.chain_id, req.initial_height, time_ns)
        validators = [ValidatorUpdate(v.pub_key.ed25519, v.power) for v in req.validators]
        apply_genesis(branch, block, req.app_state_bytes, validators)
        self._genesis = branch
        self._new_state_epoch()
        self._initial_height = max(1, req.initial_height)
        self.check_state = Branch(branch)
        app_hash = self.state.stage(branch.writes)
        log.info("init_chain", chain_id=req.chain_id, validators=len(validators), app_hash=app_hash.hex()[:16])
        return abci.ResponseInitChain(app_hash=app_hash)

    def prepare_proposal(self, req: abci.RequestPrepareProposal) -> abci.ResponsePrepareProposal:
        """The mempool's txs in order, leaving out those that fail the stateless checks or
        would take the block's work (work.py, on the committed state) above max_block_work,
        up to CometBFT's byte limit."""
        params, chain_id = self._committed_params()
        meter = BlockMeter(self._committed(), params)
        total = 0
        txs = []
        for tx in req.txs:
            decoded = self._stateless_ok(tx, params, chain_id, req.height)
            if decoded is None:
                continue
            added, seen = meter.cost(decoded)
            if meter.total + added > meter.budget:
                continue  # a smaller tx behind it may still fit
            # CometBFT measures the list as its protobuf `Data{txs}` encoding (a tag byte and
            # a varint length per tx) and panics if the proposal exceeds `max_tx_bytes`.
            total += 1 + len(encode_uvarint(len(tx))) + len(tx)
            if total > req.max_tx_bytes:
                break
            meter.commit(added, seen)
            txs.append(tx)
        txs = faults.proposal_txs(txs)
        return abci.ResponsePrepareProposal(txs=txs)

    def process_proposal(self, req: abci.RequestProcessProposal) -> abci.ResponseProcessProposal:
        """Reject a proposal holding a tx that fails the stateless checks (size, canonical
        decoding, chain id, limits, timeout, signature), or whose work (work.py, on the
        committed state, as PrepareProposal counts it) is above max_block_work: such a
        proposal can only come from a faulty or Byzantine proposer. Stateful failures (nonce,
        funds) are left to FinalizeBlock, which records them as failed results."""
        params, chain_id = self._committed_params()
        meter = BlockMeter(self._committed(), params)
        ok = True
        txs = tuple(req.txs)
        costs: list[Cost] = []
        for raw in txs:
            decoded = self._stateless_ok(raw, params, chain_id, req.height)
            if decoded is None:
                ok = False
                break
            cost = meter.cost(decoded)
            meter.commit(*cost)
            costs.append(cost)
            if meter.total > meter.budget:
                ok = False
                break
        if not ok:
            log.warning("proposal_rejected", height=req.height, txs=len(req.txs), work=meter.total)
        else:
            del self._proposal_costs[: 1 - PROPOSAL_COSTS_KEPT]  # keep a few rounds of one height
            self._proposal_costs.append((self._state_epoch, req.height, txs, costs))
        status = abci.ResponseProcessProposal.ACCEPT if ok else abci.ResponseProcessProposal.REJECT
        return abci.ResponseProcessProposal(status=status)

    def _stateless_ok(self, raw: bytes, params: Params, chain_id: str, height: int) -> DecodedTx | None:
        """`raw` decoded if it passes every check that does not read state, else None; a
        verified signature is remembered so FinalizeBlock does not verify it again."""
        digest = tx_hash(raw)
        known = self._verified.get(digest)
        if known is not None:
            # Signature already verified here; the limits are judged as for any other tx, so
            # every honest node answers alike whatever its cache holds.
            try:
                check_limits(known, len(raw), params, chain_id, height)
            except TxError:
                return None
            return known
        try:
            tx = check_envelope(raw, params, chain_id, height, digest)
        except TxError:
            return None
        except Exception:  # hostile bytes never raise out of a proposal check
            return None
        if not crypto.verify(tx.signer, tx.signature, tx.body):
            return None
        self._remember(tx)
        return tx

    def finalize_block(self, req: abci.RequestFinalizeBlock) -> abci.ResponseFinalizeBlock:
        self._block_started = time.perf_counter()
        if self._genesis is None and self.state.height == 0:
            raise RequestRefusedError(
                "FinalizeBlock before InitChain: this app has no chain yet (send InitChain first)"
            )
        if not 0 <= _time_ns(req.time) <= MAX_TIME_NS:
            raise RequestRefusedError(f"block time {req.time.seconds}s is outside 1970..2262; refusing the block")
        faults.set_height(req.height)
        self.state.discard_staged()
        base = self._genesis if self._genesis is not None else self.state
        branch = Branch(base)
        time_ns = _time_ns(req.time)
        block = BlockInfo(chain.chain_id(base), req.height, time_ns)
        chain.set_block_time_ns(branch, time_ns)

        # A planned upgrade due at this height runs first (or raises UpgradeNeeded: nothing staged).
        block_events: list[Event] = run_due_upgrade(branch, block, self.migrations)
        upgraded = bool(block_events)
        for d in DOMAINS:
            if d.begin_block is not None:
                block_events.extend(_run_hook(d.name, "begin_block", d.begin_block, branch, block))

        resp = abci.ResponseFinalizeBlock()
        results = resp.tx_results
        # The state before the block, as ProcessProposal judged it; its costs are reused when
        # ProcessProposal accepted exactly these txs on this state (never for another block,
        # nor on replay, where it did not run). A migration in the block may rewrite readings
        # or parameters, so then every tx's own meter is computed (BlockMeter.covers).
        known = self._known_costs(req.height, tuple(req.txs))
        meter = BlockMeter(base, known=known, bounds_tx_work=not upgraded)
        updates: list[ValidatorUpdate] = []
        failed = 0
        tx_domains: list[str] = []
        verified = self._verified
        for position, raw in enumerate(req.txs):
            digest = tx_hash(raw)
            meter.at(position)
            out: TxOutcome = execute(
                branch, block, raw, verified=verified.pop(digest, None), digest=digest, block_meter=meter
            )
            result = results.add()
            tx_domains.append(_domain_of(out.tx))
            if out.ok:
                _add_events(result.events, out.events)
                updates.extend(out.validator_updates)
            else:
                failed += 1
                result.code = out.code
                result.log = out.log
                result.codespace = CODESPACE

        for d in DOMAINS:
            if d.end_block is not None:
                block_events.extend(_run_hook(d.name, "end_block", d.end_block, branch, block))

        writes = branch.writes
        if self._genesis is not None:
            # InitChain's writes plus this block's, without changing the genesis branch: a
            # repeated FinalizeBlock of the first height must start from genesis again.
            writes = {**self._genesis.writes, **branch.writes}
        app_hash = self.state.stage(writes)
        self._block = branch
        self._block_height = req.height
        self._block_txs = len(req.txs)
        self._block_failed = failed
        self.block_tx_domains = tx_domains
        faults.fault_point("after_finalize_block")
        _add_events(resp.events, block_events)
        for u in _last_update_per_key(updates):
            resp.validator_updates.add(pub_key=crypto_keys.PublicKey(ed25519=u.pub_key), power=u.power)
        resp.app_hash = app_hash
        return resp

    def commit(self, req: abci.RequestCommit) -> abci.ResponseCommit:
        if self._block is None:
            # Out of order on the socket (abci-cli's `commit`, a confused client): nothing is
            # staged, so there is nothing to write; answer an exception and keep serving.
            raise RequestRefusedError("Commit without a finalized block: send FinalizeBlock for the next height first")
        faults.fault_point("commit_before_write")
        app_hash = self.state.commit(self._block_height)
        faults.fault_point("commit_after_write")
        self._genesis = None
        self._block = None
        self._new_state_epoch()
        self.check_state = Branch(self.state)
        # RECHECK re-admits (and recounts) every tx still in the mempool.
        self._pending.clear()
        log.info(
            "block",
            height=self._block_height,
            txs=self._block_txs,
            failed=self._block_failed,
            ms=round((time.perf_counter() - self._block_started) * 1000, 1),
            app_hash=app_hash.hex()[:16],
        )
        self._maybe_snapshot()
        return abci.ResponseCommit(retain_height=0)

    def _maybe_snapshot(self) -> None:
        """After committing a multiple of the governed snapshot interval, snapshot the committed
        state on a worker thread, from a view pinned at this commit (statesync/store.py): Commit
        returns at once, and the blocks that follow never wait for the snapshot."""
        if self.snapshots is None:
            return
        interval = domain_param(self.state, SNAPSHOT_INTERVAL)
        if interval > 0 and self.state.height % interval == 0:
            try:
                view = self.state.pinned()
            except Exception as exc:  # the block is committed; only this snapshot is lost
                log.error("snapshot_failed", height=self.state.height, error=type(exc).__name__, detail=str(exc)[:200])
                return
            self.snapshots.start(view, domain_param(self.state, SNAPSHOT_KEEP_RECENT))

    # -- vote extensions (not used: empty, and only empty ones are accepted) -------------------

    def extend_vote(self, req: abci.RequestExtendVote) -> abci.ResponseExtendVote:
        return abci.ResponseExtendVote(vote_extension=b"")

    def verify_vote_extension(self, req: abci.RequestVerifyVoteExtension) -> abci.ResponseVerifyVoteExtension:
        ok = not req.vote_extension
        status = abci.ResponseVerifyVoteExtension.ACCEPT if ok else abci.ResponseVerifyVoteExtension.REJECT
        return abci.ResponseVerifyVoteExtension(status=status)

    # -- connection: snapshot (state sync: abci_app/statesync) -----------------------------------

    def list_snapshots(self, req: abci.RequestListSnapshots) -> abci.ResponseListSnapshots:
        resp = abci.ResponseListSnapshots()
        for snap in self.snapshots.list() if self.snapshots is not None else []:
            resp.snapshots.add(
                height=snap.height, format=snap.format, chunks=snap.chunks, hash=snap.hash, metadata=snap.metadata
            )
        return resp

    def load_snapshot_chunk(self, req: abci.RequestLoadSnapshotChunk) -> abci.ResponseLoadSnapshotChunk:
        chunk = b"" if self.snapshots is None else self.snapshots.chunk(req.height, req.format, req.chunk)
        return abci.ResponseLoadSnapshotChunk(chunk=chunk)

    def offer_snapshot(self, req: abci.RequestOfferSnapshot) -> abci.ResponseOfferSnapshot:
        return abci.ResponseOfferSnapshot(result=self._restorer.offer(req.snapshot, req.app_hash))  # type: ignore[arg-type]

    def apply_snapshot_chunk(self, req: abci.RequestApplySnapshotChunk) -> abci.ResponseApplySnapshotChunk:
        resp = self._restorer.apply(req.index, req.chunk, req.sender)
        if resp.result == abci.ResponseApplySnapshotChunk.ACCEPT and self.state.height > 0:
            self._genesis = None
            self._new_state_epoch()
            self.check_state = Branch(self.state)  # the restored state is the committed state now
        return resp

    # -- helpers -------------------------------------------------------------------------------

    def _vet_restored(self, restored: KVReader, height: int) -> None:
        """Refuse (RefusedState) a verified snapshot this version must not run on, before it is
        written: the same rule as at start (an upgrade it lacks ran, or is due next; or one it
        implements is still ahead)."""
        refuse_unrunnable(restored, height, self.migrations)

    def _known_costs(self, height: int, txs: tuple[bytes, ...]) -> list[Cost] | None:
        """ProcessProposal's costs of exactly these txs at this height on the current committed
        state, or None (never processed here: replay, another block, another state)."""
        for epoch, h, proposed, costs in reversed(self._proposal_costs):
            if epoch == self._state_epoch and h == height and proposed == txs:
                return costs
        return None

    def _new_state_epoch(self) -> None:
        """The committed state changed: no cost ProcessProposal measured on the old one is reused."""
        self._state_epoch += 1
        self._proposal_costs.clear()

    def _committed(self) -> KVReader:
        # Committed state, never the mempool's branch: a governance vote checked into the
        # mempool may already have changed parameters there, and proposals must be judged the
        # same way on every node.
        return self._genesis if self._genesis is not None else self.state

    def _committed_params(self) -> tuple[Params, str]:
        committed = self._committed()
        return load_params(committed), chain.chain_id(committed)


def _run_hook(domain: str, name: str, hook: BlockHook, branch: Branch, block: BlockInfo) -> list[Event]:
    """Run a block hook on its own branch: its writes are kept only if it returns; a hook
    that raises leaves no writes, a `hook_failed` event records it, and the block goes on."""
    hook_branch = branch.branch()
    started = time.perf_counter()
    try:
        events = hook(hook_branch, block)
    except Exception as exc:  # a hook bug must not halt the chain
        log.error("hook_failed", domain=domain, hook=name, error=type(exc).__name__, detail=str(exc)[:200])
        return [Event.of("hook_failed", domain=domain, hook=name, error=f"{type(exc).__name__}: {str(exc)[:200]}")]
    metrics.hook_ran(domain, name, time.perf_counter() - started, events)
    hook_branch.merge_into(branch)
    return events


def _last_update_per_key(updates: list[ValidatorUpdate]) -> list[ValidatorUpdate]:
    """CometBFT rejects two updates of one key in a block: keep the last, in first-seen order."""
    last: dict[bytes, ValidatorUpdate] = {}
    for u in updates:
        last[u.pub_key] = u
    return list(last.values())
