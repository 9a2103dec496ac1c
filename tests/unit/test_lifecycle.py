"""The ABCI lifecycle driven call by call: mempool, proposals, execution, commit, queries, restarts."""

from __future__ import annotations

from pathlib import Path

import pytest
from google.protobuf.timestamp_pb2 import Timestamp
from gridledger.identity.v1 import identity_pb2

from abci_app import crypto
from abci_app.accounts import keys as account_keys
from abci_app.accounts.errors import AccountsCode
from abci_app.app import GridLedgerApp
from abci_app.errors import Code
from abci_app.framing import encode_uvarint
from abci_app.pb import abci
from abci_app.store.backend import MemoryBackend
from abci_app.store.commitment import verify_proof
from abci_app.store.sqlite import SQLiteBackend
from clients.ops.consortium import Consortium
from tests.support.driver import AppDriver
from tests.unit.helpers import balance, proof_of, signed, transfer

MAX_TX_BYTES = 65_536  # the default chain parameter


def _ts(seconds: int) -> Timestamp:
    return Timestamp(seconds=seconds)


def _proto_size(txs: list[bytes]) -> int:
    """How CometBFT measures a proposal's txs: the protobuf `Data{repeated bytes txs = 1}` size."""
    return sum(1 + len(encode_uvarint(len(t))) + len(t) for t in txs)


def _check(app: GridLedgerApp, raw: bytes, kind: abci.CheckTxType = abci.NEW) -> abci.ResponseCheckTx:
    return app.check_tx(abci.RequestCheckTx(tx=raw, type=kind))


def _finalize(app: GridLedgerApp, height: int, seconds: int, txs: list[bytes]) -> abci.ResponseFinalizeBlock:
    req = abci.RequestFinalizeBlock(txs=txs, height=height)
    req.time.CopyFrom(_ts(seconds))
    return app.finalize_block(req)


def _info(app: GridLedgerApp) -> abci.ResponseInfo:
    return app.info(abci.RequestInfo())


def test_full_lifecycle(driver: AppDriver, consortium: Consortium) -> None:
    """CheckTx → Prepare → Process → FinalizeBlock → Commit → Info → Query with a proof, each answering correctly."""
    app = driver.app
    alice, bob, carol = (consortium.member(r) for r in ("community-a/alice", "community-a/bob", "community-b/carol"))
    driver.block([])  # commit genesis, so queries see the genesis balances
    bob_before = balance(driver, bob)
    assert bob_before == consortium.balances["community-a/bob"]
    t1 = signed(driver, alice, transfer(bob, 250))
    t2 = signed(driver, carol, transfer(bob, 7))
    bad = signed(driver, alice, transfer(bob, 10**12))  # passes CheckTx only if funds are not checked there
    assert _check(app, t1).code == 0
    assert _check(app, t2).code == 0
    assert _check(app, bad).code != 0
    oversized = b"\x00" * (MAX_TX_BYTES + 1)
    assert _check(app, oversized).code != 0

    height, seconds = 2, driver.time + 1
    # PrepareProposal: drops txs over the params' limit, and keeps the proposal within max_tx_bytes.
    limit = _proto_size([t1, t2]) + 10  # room for t1 and t2, not for a third small tx
    t3 = signed(driver, carol, transfer(alice, 1))
    prep = abci.RequestPrepareProposal(txs=[t1, oversized, t2, t3], max_tx_bytes=limit, height=height)
    prep.time.CopyFrom(_ts(seconds))
    proposal = list(app.prepare_proposal(prep).txs)
    assert oversized not in proposal
    assert _proto_size(proposal) <= limit
    assert proposal == [t1, t2]
    # The proto overhead counts: a limit equal to the raw byte total cannot hold both txs.
    tight = abci.RequestPrepareProposal(txs=[t1, t2], max_tx_bytes=len(t1) + len(t2), height=height)
    tight_txs = list(app.prepare_proposal(tight).txs)
    assert _proto_size(tight_txs) <= len(t1) + len(t2)
    assert tight_txs == [t1]

    # ProcessProposal: accepts the prepared block, rejects one carrying an over-limit tx.
    proc = abci.RequestProcessProposal(txs=proposal, height=height)
    proc.time.CopyFrom(_ts(seconds))
    assert app.process_proposal(proc).status == abci.ResponseProcessProposal.ACCEPT
    bad_proc = abci.RequestProcessProposal(txs=[*proposal, oversized], height=height)
    assert app.process_proposal(bad_proc).status == abci.ResponseProcessProposal.REJECT

    # FinalizeBlock: one result per tx (a failing one included), and the app hash to commit.
    fin = _finalize(app, height, seconds, [*proposal, bad])
    assert [r.code for r in fin.tx_results][:2] == [0, 0]
    assert fin.tx_results[2].code != 0
    assert len(fin.tx_results) == 3
    assert len(fin.app_hash) == 32
    assert fin.app_hash != driver.genesis_hash
    # Nothing is visible before Commit.
    assert _info(app).last_block_height == height - 1
    assert balance(driver, bob) == bob_before

    app.commit(abci.RequestCommit())
    info = _info(app)
    assert info.last_block_height == height
    assert info.last_block_app_hash == fin.app_hash

    # Query: the committed value, with a proof against the committed app hash.
    resp = driver.query(f"/balance/{bob.address.hex()}", prove=True)
    assert resp.code == 0
    assert resp.height == height
    assert int.from_bytes(resp.value, "big") == bob_before + 257
    assert resp.key == account_keys.balance(bob.address)
    proof = proof_of(resp)
    assert verify_proof(info.last_block_app_hash, resp.key, resp.value, proof)
    assert not verify_proof(info.last_block_app_hash, resp.key, (bob_before + 258).to_bytes(8, "big"), proof)
    # An absent key is provably absent.
    nobody = b"\x42" * 20
    missing = driver.query(f"/balance/{nobody.hex()}", prove=True)
    assert missing.code != 0
    assert verify_proof(info.last_block_app_hash, account_keys.balance(nobody), None, proof_of(missing))
    # Only the latest height can be queried.
    assert app.query(abci.RequestQuery(path="/supply", height=height + 5)).code != 0


def test_recheck_and_finalize_skip_verified_signatures(
    driver: AppDriver, consortium: Consortium, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A signature is verified once in CheckTx NEW, not again in RECHECK or FinalizeBlock; unseen txs are verified."""
    calls: list[bytes] = []
    real_verify = crypto.verify

    def counting_verify(public_key: bytes, signature: bytes, message: bytes) -> bool:
        calls.append(message)
        return real_verify(public_key, signature, message)

    monkeypatch.setattr(crypto, "verify", counting_verify)
    app = driver.app
    alice, bob = consortium.member("community-a/alice"), consortium.member("community-a/bob")
    seen = signed(driver, alice, transfer(bob, 1))
    unseen = signed(driver, bob, transfer(alice, 1))

    assert _check(app, seen).code == 0
    assert len(calls) == 1  # NEW verifies

    # An empty block commits; the mempool then rechecks the tx still waiting.
    _finalize(app, 1, 1_767_225_601, [])
    app.commit(abci.RequestCommit())
    calls.clear()
    assert _check(app, seen, abci.RECHECK).code == 0
    assert calls == []  # RECHECK does not verify again

    fin = _finalize(app, 2, 1_767_225_602, [seen])
    assert fin.tx_results[0].code == 0
    assert calls == []  # seen in CheckTx: not verified again
    app.commit(abci.RequestCommit())

    fin = _finalize(app, 3, 1_767_225_603, [unseen])
    assert fin.tx_results[0].code == 0
    assert len(calls) == 1  # never seen: verified in FinalizeBlock
    app.commit(abci.RequestCommit())

    # A forged tx that was never checked is rejected in FinalizeBlock by that verification.
    forged = bytearray(signed(driver, alice, transfer(bob, 2)))
    forged[-1] ^= 0x01  # the signature is the last field of the envelope
    calls.clear()
    fin = _finalize(app, 4, 1_767_225_604, [bytes(forged)])
    assert fin.tx_results[0].code != 0
    assert len(calls) == 1


def test_recheck_judges_the_envelope_against_the_new_state(driver: AppDriver, consortium: Consortium) -> None:
    """RECHECK evicts a tx whose nonce a block used, whose timeout passed or whose signer was revoked."""
    app = driver.app
    alice, bob = consortium.member("community-a/alice"), consortium.member("community-a/bob")
    carol = consortium.member("community-b/carol")
    driver.block([])
    waiting = signed(driver, alice, transfer(bob, 5), nonce=1)
    timing_out = signed(driver, carol, transfer(bob, 1), nonce=1, timeout_height=driver.height + 1)
    bob_waiting = signed(driver, bob, transfer(alice, 1), nonce=1)
    for raw in (waiting, timing_out, bob_waiting):
        assert _check(app, raw).code == 0
    # Another proposer's block uses alice's nonce 1 for a different tx, and bob is revoked.
    other = signed(driver, alice, transfer(carol, 6), nonce=1)
    revoke = identity_pb2.RevokeMember(member=bob.address, reason="lost device")
    admin = consortium.member("community-a/admin")
    assert driver.block([other, signed(driver, admin, revoke)], check=False).codes == (0, 0)
    assert _check(app, waiting, abci.RECHECK).code == Code.NONCE_TOO_LOW
    assert _check(app, bob_waiting, abci.RECHECK).code == Code.MEMBER_REVOKED
    driver.block([])  # one height more: carol's tx is past its timeout
    assert _check(app, timing_out, abci.RECHECK).code == Code.TX_TIMED_OUT
    # The mempool's state was reset to the committed one: a fresh nonce passes again.
    assert _check(app, signed(driver, alice, transfer(carol, 5), nonce=2)).code == 0


def test_recheck_runs_no_messages_and_the_block_judges_them(driver: AppDriver, consortium: Consortium) -> None:
    """RECHECK keeps a tx whose funds a block spent (its messages are not re-run); the block fails it with its code."""
    app = driver.app
    alice, bob = consortium.member("community-a/alice"), consortium.member("community-a/bob")
    driver.block([])
    spend_all = signed(driver, bob, transfer(alice, balance(driver, bob)), nonce=1)
    bob_waiting = signed(driver, bob, transfer(alice, 1), nonce=2)
    assert _check(app, bob_waiting).code == 0  # bob has the funds now
    assert driver.block([spend_all], check=False).codes == (0,)  # another node's mempool had this one
    assert _check(app, bob_waiting, abci.RECHECK).code == 0  # the envelope is still good: nonce 2, bob a member
    assert driver.block([bob_waiting], check=False).codes == (AccountsCode.INSUFFICIENT_FUNDS,)
    assert _check(app, bob_waiting, abci.RECHECK).code == Code.NONCE_TOO_LOW  # its nonce is consumed


def _run_blocks(driver: AppDriver, consortium: Consortium, n: int) -> list[bytes]:
    alice, carol = consortium.member("community-a/alice"), consortium.member("community-b/carol")
    hashes = []
    for i in range(n):
        result = driver.block(
            [signed(driver, alice, transfer(carol, 10 + i)), signed(driver, carol, transfer(alice, 3))]
        )
        assert result.codes == (0, 0)
        hashes.append(result.app_hash)
    return hashes


def test_restart_from_sqlite_reports_the_same_info_and_continues(tmp_path: Path, consortium: Consortium) -> None:
    """An app reopened on the same SQLite file reports the last commit in Info and continues to the same hashes."""
    path = tmp_path / "state.sqlite"
    reference = AppDriver(consortium)  # the same chain without a restart, in memory
    expected = _run_blocks(reference, consortium, 5)

    backend = SQLiteBackend(path)
    first = AppDriver(consortium, backend=backend)
    assert first.genesis_hash == reference.genesis_hash
    assert _run_blocks(first, consortium, 3) == expected[:3]
    info_before = _info(first.app)
    nonces = dict(first.nonces)
    backend.close()

    backend = SQLiteBackend(path)
    try:
        second = AppDriver(consortium, backend=backend)
        info = _info(second.app)
        assert info.last_block_height == info_before.last_block_height == 3
        assert info.last_block_app_hash == info_before.last_block_app_hash == expected[2]
        second.nonces = nonces
        for i in range(3, 5):  # the same txs the reference ran at these heights
            alice, carol = consortium.member("community-a/alice"), consortium.member("community-b/carol")
            result = second.block(
                [signed(second, alice, transfer(carol, 10 + i)), signed(second, carol, transfer(alice, 3))]
            )
            assert result.codes == (0, 0)
            assert result.app_hash == expected[i]
        assert balance(second, carol) == balance(reference, carol)
    finally:
        backend.close()


def test_crash_between_finalize_and_commit_replays_to_the_same_hash(tmp_path: Path, consortium: Consortium) -> None:
    """Discarding the app after FinalizeBlock (no Commit) and reopening replays the block to the same app hash."""
    path = tmp_path / "state.sqlite"
    backend = SQLiteBackend(path)
    driver = AppDriver(consortium, backend=backend)
    _run_blocks(driver, consortium, 2)
    committed = _info(driver.app)
    alice, bob = consortium.member("community-a/alice"), consortium.member("community-a/bob")
    txs = [signed(driver, alice, transfer(bob, 99)), signed(driver, bob, transfer(alice, 1))]
    for t in txs:
        assert _check(driver.app, t).code == 0
    fin = _finalize(driver.app, 3, 1_767_225_603, txs)
    assert [r.code for r in fin.tx_results] == [0, 0]
    del driver  # crash: the finalized block was never committed
    backend.close()

    backend = SQLiteBackend(path)
    try:
        app = GridLedgerApp(backend)
        info = _info(app)
        assert info.last_block_height == committed.last_block_height == 2
        assert info.last_block_app_hash == committed.last_block_app_hash
        # CometBFT replays the block; nothing was checked in this process, so signatures are verified.
        replay = _finalize(app, 3, 1_767_225_603, txs)
        assert replay.app_hash == fin.app_hash
        assert [r.code for r in replay.tx_results] == [0, 0]
        app.commit(abci.RequestCommit())
        assert _info(app).last_block_app_hash == fin.app_hash
        assert _info(app).last_block_height == 3
    finally:
        backend.close()


def test_crash_before_the_first_commit_reruns_init_chain(tmp_path: Path, consortium: Consortium) -> None:
    """A crash after InitChain and FinalizeBlock 1, before Commit, leaves height 0; rerunning gives the same hashes."""
    path = tmp_path / "state.sqlite"
    backend = SQLiteBackend(path)
    driver = AppDriver(consortium, backend=backend)
    genesis = driver.genesis_hash
    fin = _finalize(driver.app, 1, 1_767_225_601, [])
    del driver
    backend.close()

    backend = SQLiteBackend(path)
    try:
        again = AppDriver(consortium, backend=backend)  # height 0: InitChain runs again
        assert again.genesis_hash == genesis
        assert again.block([]).app_hash == fin.app_hash
    finally:
        backend.close()


def test_finalize_twice_at_the_same_height_is_idempotent(driver: AppDriver, consortium: Consortium) -> None:
    """FinalizeBlock re-run for the same height (e.g. after a round change) starts from the committed state."""
    alice, bob = consortium.member("community-a/alice"), consortium.member("community-a/bob")
    tx = signed(driver, alice, transfer(bob, 5))
    first = _finalize(driver.app, 1, 1_767_225_601, [tx])
    second = _finalize(driver.app, 1, 1_767_225_601, [tx])
    assert second.app_hash == first.app_hash
    assert second.tx_results[0].code == 0  # not a replay of the first attempt's nonce
    other = _finalize(driver.app, 1, 1_767_225_601, [])
    assert other.app_hash != first.app_hash
    driver.app.commit(abci.RequestCommit())
    assert _info(driver.app).last_block_app_hash == other.app_hash


def test_snapshot_and_vote_extension_methods(driver: AppDriver) -> None:
    """State sync is declined cleanly and vote extensions are empty, with non-empty ones rejected."""
    app = driver.app
    assert list(app.list_snapshots(abci.RequestListSnapshots()).snapshots) == []
    offer = app.offer_snapshot(abci.RequestOfferSnapshot(snapshot=abci.Snapshot(height=5, format=1)))
    assert offer.result == abci.ResponseOfferSnapshot.REJECT
    assert app.load_snapshot_chunk(abci.RequestLoadSnapshotChunk(height=5, format=1, chunk=0)).chunk == b""
    applied = app.apply_snapshot_chunk(abci.RequestApplySnapshotChunk(index=0, chunk=b"x"))
    assert applied.result == abci.ResponseApplySnapshotChunk.ABORT
    assert app.extend_vote(abci.RequestExtendVote(height=1)).vote_extension == b""
    accept = app.verify_vote_extension(abci.RequestVerifyVoteExtension(height=1, vote_extension=b""))
    assert accept.status == abci.ResponseVerifyVoteExtension.ACCEPT
    reject = app.verify_vote_extension(abci.RequestVerifyVoteExtension(height=1, vote_extension=b"junk"))
    assert reject.status == abci.ResponseVerifyVoteExtension.REJECT


def test_info_on_a_fresh_app(consortium: Consortium) -> None:
    """A brand-new app reports height 0 and an empty app hash, so CometBFT calls InitChain."""
    app = GridLedgerApp(MemoryBackend())
    info = _info(app)
    assert info.last_block_height == 0
    assert info.last_block_app_hash == b""
    assert info.app_version == 1
