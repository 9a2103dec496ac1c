"""Drive the real app in-process through the whole ABCI lifecycle, without CometBFT.

One helper per block: CheckTx each tx → PrepareProposal → ProcessProposal →
FinalizeBlock → Commit, exactly the calls a node makes, with integer block times: by default
the chain starts at GENESIS_TIME and each block is one second later; `genesis_time` starts it
at a chosen time and `block(at=…)` runs a block at an absolute time (so a day's scenario need
not patch the clock).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

from google.protobuf.timestamp_pb2 import Timestamp

from abci_app.app import GridLedgerApp
from abci_app.pb import abci, crypto_keys
from abci_app.registry import check_invariants
from abci_app.store.backend import Backend, MemoryBackend
from clients.ops.consortium import Consortium

__all__ = ["AppDriver", "BlockResult"]

GENESIS_TIME = 1_767_225_600  # 2026-01-01T00:00:00Z
BLOCK_SECONDS = 1


@dataclass(frozen=True)
class BlockResult:
    height: int
    check_codes: tuple[int, ...]
    tx_results: tuple[abci.ExecTxResult, ...]
    app_hash: bytes
    response: abci.ResponseFinalizeBlock
    accepted: bool = True  # what ProcessProposal answered

    @property
    def codes(self) -> tuple[int, ...]:
        return tuple(r.code for r in self.tx_results)


class AppDriver:
    def __init__(
        self,
        consortium: Consortium,
        *,
        backend: Backend | None = None,
        chain_id: str = "gridledger-test",
        params: dict[str, int] | None = None,
        validators: Sequence[bytes] = (b"\x01" * 32,),
        init: bool = True,
        genesis_time: int = GENESIS_TIME,
    ) -> None:
        self.consortium = consortium
        self.genesis_time = genesis_time
        self.chain_id = chain_id
        self.backend = backend or MemoryBackend()
        self.app = GridLedgerApp(self.backend)
        # Domain tests read state through `query` as the harness, not as a member: households' data is
        # answered on its plain path here. Tests of who reads what switch privacy back on (the app's
        # and every node's default): tests/unit/test_read_access_chain.py, test_read_grants_bridge.py.
        self.app.private_queries = False
        self.height = self.app.state.height
        self.time = genesis_time + self.height * BLOCK_SECONDS
        self.nonces: dict[bytes, int] = {}
        if init and self.height == 0:
            req = abci.RequestInitChain(
                chain_id=chain_id,
                app_state_bytes=json.dumps(consortium.app_state(params)).encode(),
                initial_height=1,
                validators=[
                    abci.ValidatorUpdate(pub_key=crypto_keys.PublicKey(ed25519=v), power=10) for v in validators
                ],
            )
            req.time.CopyFrom(Timestamp(seconds=genesis_time))
            self.genesis_hash = self.app.init_chain(req).app_hash

    def next_nonce(self, public_key: bytes) -> int:
        n = self.nonces.get(public_key, 0) + 1
        self.nonces[public_key] = n
        return n

    def block(
        self, txs: Sequence[bytes], *, check: bool = True, seconds: int = BLOCK_SECONDS, at: int | None = None
    ) -> BlockResult:
        """Run one block `seconds` after the last (or at the absolute block time `at`, which
        must be later than the last block's); with `check`, only txs that pass CheckTx are
        proposed (like a mempool) and the proposal is prepared and must be accepted, as an
        honest node's is. Without it, the txs are the proposal as given, as a Byzantine proposer
        may send it: FinalizeBlock runs it whatever ProcessProposal answers (`accepted` records
        the answer)."""
        if at is not None:
            if at <= self.time:
                raise ValueError(f"block time {at} is not after the last block's {self.time}")
            seconds = at - self.time
        app = self.app
        check_codes: list[int] = []
        proposed = []
        for raw in txs:
            if check:
                code = app.check_tx(abci.RequestCheckTx(tx=raw, type=abci.NEW)).code
                check_codes.append(code)
                if code != 0:
                    continue
            proposed.append(raw)
        self.height += 1
        self.time += seconds
        ts = Timestamp(seconds=self.time)
        prep = abci.RequestPrepareProposal(txs=proposed, max_tx_bytes=22_020_096, height=self.height)
        prep.time.CopyFrom(ts)
        block_txs = list(app.prepare_proposal(prep).txs) if check else proposed
        proc = abci.RequestProcessProposal(txs=block_txs, height=self.height)
        proc.time.CopyFrom(ts)
        accepted = app.process_proposal(proc).status == abci.ResponseProcessProposal.ACCEPT
        assert accepted or not check, "an honest node's own proposal was rejected"
        fin = abci.RequestFinalizeBlock(txs=block_txs, height=self.height)
        fin.time.CopyFrom(ts)
        resp = app.finalize_block(fin)
        app.commit(abci.RequestCommit())
        violations = check_invariants(app.state)
        assert not violations, f"invariants violated after block {self.height}: {violations}"
        return BlockResult(self.height, tuple(check_codes), tuple(resp.tx_results), resp.app_hash, resp, accepted)

    def query(self, path: str, *, prove: bool = False, data: bytes = b"") -> abci.ResponseQuery:
        return self.app.query(abci.RequestQuery(path=path, prove=prove, data=data))
