"""Certificates pruning: final records leave live state after their retention and stay provable."""

from __future__ import annotations

import copy
import datetime as dt
import json
from dataclasses import replace
from typing import Any

import pytest
from google.protobuf.json_format import MessageToDict
from gridledger.certificates.v1 import certificates_pb2 as pb
from gridledger.grid.v1 import grid_pb2
from gridwire.archive import audit_path, leaf_hash, merkle_root, root_from_path
from gridwire.contract.certificates import (
    ARCHIVE_COMMITMENT_PREFIX,
    CERTIFICATES_ARCHIVED,
    CertificatesCode,
    bundle_key,
    history_key,
    retirement_key,
)

from abci_app.certificates import invariants, keeper, keys
from abci_app.certificates.params import PRUNE_PER_BLOCK, RETENTION, RETIRED_BUNDLE_RETENTION
from abci_app.certificates.prune import ARCHIVE_RETIRED_BUNDLE, ARCHIVE_TALLY
from abci_app.certificates.records import RETIRED
from abci_app.devices import keeper as devices_keeper
from abci_app.devices.prune import retention
from abci_app.domain import GenesisError
from abci_app.genesis import apply_genesis
from abci_app.governance.keeper import iter_validators
from abci_app.params import DOMAIN_PARAMS, domain_param
from abci_app.registry import DOMAINS, check_invariants
from abci_app.store.backend import MemoryBackend, prefix_end
from abci_app.store.branch import Branch
from abci_app.types import BlockInfo, ValidatorUpdate
from clients import archive
from clients import certificates as cc
from clients.certificates import retire
from clients.ops.consortium import Consortium
from clients.proof import ProofError
from tests.support.driver import AppDriver, BlockResult
from tests.support.genesis_roundtrip import differences, export_and_import, import_exported
from tests.unit.helpers import signed
from tests.unit.test_certificates import pv_day_start
from tests.unit.test_certificates_support import H0, ok

DAY = 86_400
RETAIN = 90 * DAY  # the governed default
CERTIFICATES = next(d for d in DOMAINS if d.name == "certificates")


def _archived(result: BlockResult) -> list[dict[str, str]]:
    return [{a.key: a.value for a in e.attributes} for e in result.response.events if e.type == CERTIFICATES_ARCHIVED]


def _span(prefix: bytes) -> tuple[bytes, bytes | None]:
    return prefix, prefix_end(prefix)


def _retired_chain(driver: AppDriver, consortium: Consortium, pieces: int = 1) -> bytes:
    """pv-1's hour H0 (3000 Wh) issued to alice; alice retires `pieces` single Wh of it for bob. Returns
    retirement 1's stored bytes."""
    pv_day_start(driver, consortium)
    alice, bob = consortium.member("community-a/alice"), consortium.member("community-a/bob")
    (bundle,) = keeper.owner_hour_bundles(driver.app.state, alice.address, H0)
    msgs = [retire(bundle.bundle_id, 1, bob.address, (H0, H0 + 3600)) for _ in range(pieces)]
    for i in range(0, pieces, 50):
        ok(driver, alice, *msgs[i : i + 50])
    value = driver.query("/retirement/1").value
    assert value
    return value


def test_an_auditor_verifies_a_pruned_retirement_from_the_archive_and_the_commitment(
    driver: AppDriver, consortium: Consortium
) -> None:
    """A day after its retirement the retired bundle leaves live state (record, indexes, history) and
    the retirement record stays; after the retention the retirement leaves too. Each block's archive
    event proves what it removed against the app hash."""
    record = _retired_chain(driver, consortium)
    state = driver.app.state
    (piece,) = [b for b in keeper.iter_bundles(state) if b.status == RETIRED]
    piece_bytes, history_bytes = state.get(keys.bundle(piece.bundle_id)), state.get(keys.history(piece.bundle_id))
    assert piece_bytes
    assert history_bytes
    young = driver.block([], seconds=DAY - 3 * 3600)  # not yet: nothing archived, nothing written
    assert _archived(young) == []
    commitments = driver.app.state.iter_range(ARCHIVE_COMMITMENT_PREFIX, prefix_end(ARCHIVE_COMMITMENT_PREFIX))
    assert not any(True for _ in commitments)
    day = driver.block([], seconds=3 * 3600)
    (first,) = _archived(day)
    assert (first["retirements"], first["bundles"], first["issued"]) == ("0", "1", "0")
    state = driver.app.state
    assert keeper.get_bundle(state, piece.bundle_id) is None
    assert keeper.get_history(state, piece.bundle_id) is None
    assert not list(state.iter_range(*_span(keys.by_status_prefix(RETIRED))))
    assert driver.query("/retirement/1").value == record  # the provable claim stays
    assert keeper.pruned_wh(state, "pv-1", H0) == 1  # live 2999 + pruned 1 = issued 3000
    assert check_invariants(state) == []
    first_block = archive.archived_block(CERTIFICATES_ARCHIVED, first)
    first_commitment = MessageToDict(driver.query(f"/archive_commitment/{first_block.height}", prove=True))
    for key, value in ((keys.bundle(piece.bundle_id), piece_bytes), (keys.history(piece.bundle_id), history_bytes)):
        proof = archive.prove_record(first_block, key)
        assert archive.verify_archived_record(proof, first_commitment, day.app_hash) == value

    result = driver.block([], seconds=RETAIN - DAY)
    (event,) = _archived(result)
    assert (event["retirements"], event["bundles"]) == ("1", "0")
    assert driver.app.state.get(retirement_key(1)) is None
    answer = driver.query("/retirement/1")
    assert answer.code == CertificatesCode.RECORD_ARCHIVED
    assert "archived" in answer.log

    block = archive.archived_block(CERTIFICATES_ARCHIVED, event)
    proof = archive.prove_record(block, retirement_key(1))
    commitment = MessageToDict(driver.query(f"/archive_commitment/{block.height}", prove=True))
    value = archive.verify_archived_record(proof, commitment, result.app_hash)
    assert value == record
    assert pb.Retirement.FromString(value).retirement_id == 1

    tampered_record = pb.Retirement.FromString(record)
    tampered_record.wh += 1
    forged = archive.ArchiveProof(
        proof.height, proof.key, tampered_record.SerializeToString(), proof.position, proof.count, proof.path
    )
    with pytest.raises(ProofError, match="does not lead to the commitment"):
        archive.verify_archived_record(forged, commitment, result.app_hash)
    moved = archive.ArchiveProof(proof.height, proof.key, proof.value, proof.position + 1, proof.count, proof.path)
    with pytest.raises(ProofError):
        archive.verify_archived_record(moved, commitment, result.app_hash)
    with pytest.raises(ProofError, match="does not match app hash"):
        archive.verify_archived_record(proof, commitment, b"\x00" * 32)
    with pytest.raises(ProofError, match="own count and root"):
        archive.archived_block(CERTIFICATES_ARCHIVED, {**event, "root": "00" * 32})


def test_pruned_state_round_trips_through_genesis_and_keeps_its_invariants(
    driver: AppDriver, consortium: Consortium
) -> None:
    """The pruned tally, the cursor and the commitment travel in the export, byte for byte."""
    _retired_chain(driver, consortium)
    driver.block([], seconds=RETAIN + DAY)
    state = driver.app.state
    assert keeper.pruned_wh(state, "pv-1", H0) == 1  # the retired Wh left; 2999 stay live
    exported, fresh = export_and_import(state)
    section: dict[str, Any] = exported["certificates"]
    assert [x.get("pruned_wh") for x in section["issued"] if x["hour_start"] == str(H0)] == ["1"]
    assert len(section["archive_commitments"]) == 1
    assert section["counters"]["archive_retirement"] == "1"
    assert differences(CERTIFICATES, state, fresh) == []
    assert check_invariants(fresh) == []


def test_claims_leave_with_their_hours_consumption_and_matching_refuses_those_hours(
    driver: AppDriver, consortium: Consortium
) -> None:
    """Bob's claim on hour H0 lives while the hour's metered consumption does. Once the devices'
    pruning passes the hour, /matching and /score of it answer RECORD_ARCHIVED (they answered 0
    consumption before, as if bob had used nothing), the claim leaves live state with its index
    entry (claims=1) and is proven from the archive, and a later retirement for the hour adds no
    claim; a recent hour still answers."""
    # tariffs: the market settles the intervals, so the devices' pruning is not held back for them
    tariffs = grid_pb2.SetTariffs(supplier=consortium.member("utility/treasury").address, retail_per_kwh=30)
    ok(driver, consortium.member("gridop/control"), tariffs)
    _retired_chain(driver, consortium)
    alice, bob = consortium.member("community-a/alice"), consortium.member("community-a/bob")
    state = driver.app.state
    assert keeper.claimed(state, bob.address, H0) == 1
    assert list(keeper.iter_claim_ages(state)) == [(H0, bob.address)]
    assert driver.query(f"/matching/{bob.address.hex()}/{H0}").code == 0
    _exported, fresh = export_and_import(state)  # the claim travels; its index is rebuilt on import
    assert differences(CERTIFICATES, state, fresh) == []

    results = [driver.block([], seconds=retention(state) + 3 * 3600)]
    while len(results) < 6 and any(True for _ in keeper.iter_claim_ages(driver.app.state)):
        results.append(driver.block([]))  # pruning is bounded per block
    state = driver.app.state
    assert devices_keeper.pruned_before(state) >= H0 + 3600
    assert keeper.claimed(state, bob.address, H0) == 0
    assert list(keeper.iter_claim_ages(state)) == []
    events = [(r, e) for r in results for e in _archived(r)]
    assert sum(int(e["claims"]) for _r, e in events) == 1
    for path in (f"/matching/{bob.address.hex()}/{H0}", f"/score/{bob.address.hex()}/{H0}/{H0 + 3600}"):
        answer = driver.query(path)
        assert answer.code == CertificatesCode.RECORD_ARCHIVED, path
        assert "watermark" in answer.log
    recent = (driver.time // 3600) * 3600
    assert driver.query(f"/matching/{bob.address.hex()}/{recent}").code == 0

    ((result, event),) = [(r, e) for r, e in events if int(e["claims"])]
    block = archive.archived_block(CERTIFICATES_ARCHIVED, event)
    assert block.height == result.height
    last = driver.block([])
    commitment = MessageToDict(driver.query(f"/archive_commitment/{block.height}", prove=True))
    proof = archive.prove_record(block, keys.claim(bob.address, H0))
    assert archive.verify_archived_record(proof, commitment, last.app_hash) == (1).to_bytes(8, "big")

    (bundle,) = keeper.owner_hour_bundles(driver.app.state, alice.address, H0)
    ok(driver, alice, retire(bundle.bundle_id, 1, bob.address, (H0, H0 + 3600)))
    assert keeper.claimed(driver.app.state, bob.address, H0) == 0
    assert list(keeper.iter_claim_ages(driver.app.state)) == []
    assert check_invariants(driver.app.state) == []


def test_the_default_batch_keeps_up_with_a_million_pv_devices(driver: AppDriver) -> None:
    """A million PV devices issue about 12 million hourly bundles a day, which leave as
    retirements (each examined three times: its bundle leaves, the watermark passes it, it
    leaves) or aged-out bundles: at most 36 million rows a day; the default batch examines more
    than twice that per block at a block a second."""
    batch = domain_param(driver.app.state, PRUNE_PER_BLOCK)
    assert batch == DOMAIN_PARAMS[PRUNE_PER_BLOCK].default == 1_000
    assert batch >= 2 * -(-36_000_000 // DAY)
    assert (DOMAIN_PARAMS[PRUNE_PER_BLOCK].low, DOMAIN_PARAMS[PRUNE_PER_BLOCK].high) == (50, 10_000)


def test_a_blocks_pruning_is_bounded_and_resumes_in_order(consortium: Consortium) -> None:
    """More retirements than `certificates.prune_per_block` due at once are archived over
    several blocks, oldest first, their retired bundles before them."""
    batch = 120
    driver = AppDriver(consortium, params={PRUNE_PER_BLOCK: batch})
    pieces = batch + 50
    _retired_chain(driver, consortium, pieces)
    events = _archived(driver.block([], seconds=RETAIN + DAY))
    while len(events) < 6 and (more := _archived(driver.block([]))):
        events += more
    # the retired bundles' sweep goes first and shares the budget with the retirements'
    assert [(e["bundles"], e["retirements"]) for e in events] == [
        (str(batch), "0"),
        ("50", str(batch - 50)),
        ("0", str(pieces - (batch - 50))),
    ]
    assert keeper.peek_counter(driver.app.state, "archive_retired_bundle") == pieces
    assert keeper.peek_counter(driver.app.state, "archive_retirement") == pieces
    assert not any(True for _ in keeper.iter_retirements(driver.app.state))


def test_aged_out_bundles_leave_after_expiry_and_retention(consortium: Consortium) -> None:
    """An expired bundle is archived once its hour is past expiry + retention; its Wh stay in the tally."""
    driver = AppDriver(consortium, params={"certificates.expiry_seconds": 4 * 3600, RETENTION: 3600})
    pv_day_start(driver, consortium)
    (bundle,) = [b for b in keeper.iter_bundles(driver.app.state) if b.hour_start == H0]
    driver.block([], seconds=H0 + 3600 + 4 * 3600 - driver.time + 10)  # expired now
    assert keeper.get_bundle(driver.app.state, bundle.bundle_id).status == pb.BUNDLE_STATUS_EXPIRED  # type: ignore[union-attr]
    (event,) = _archived(driver.block([], seconds=3600))
    assert event["bundles"] == "1"
    state = driver.app.state
    assert keeper.get_bundle(state, bundle.bundle_id) is None
    assert keeper.get_history(state, bundle.bundle_id) is None
    assert keeper.pruned_wh(state, "pv-1", H0) == keeper.issued_wh(state, "pv-1", H0) == 3000
    assert driver.query(f"/bundle/{bundle.bundle_id}").code != 0


def test_the_merkle_tree_proves_every_position_and_nothing_else() -> None:
    """Every leaf of trees of 1..17 leaves leads to the root through its path; a neighbour's leaf does not."""
    for n in range(1, 18):
        leaves = [leaf_hash(bytes([i]), b"v") for i in range(n)]
        root = merkle_root(leaves)
        for i in range(n):
            path = audit_path(leaves, i)
            assert root_from_path(leaves[i], i, n, path) == root
            if n > 1:
                assert root_from_path(leaves[(i + 1) % n], i, n, path) != root


def test_commitment_queries_refuse_bad_arguments_without_failing(driver: AppDriver) -> None:
    """A malformed /archive_commitment answers a bad-request code; an unknown height is not found."""
    assert driver.query("/archive_commitment/abc").code != 0
    assert driver.query("/archive_commitment/1/2").code != 0
    missing = driver.query("/archive_commitment/99", prove=True)
    assert missing.code != 0
    assert missing.proof_ops.ops
    assert keys.archive_commitment(5) == keys.counter(keys.ARCHIVE) + (5).to_bytes(8, "big")


class _NodeOf:
    """The RPC calls fetch_archived makes, answered from an in-process chain (an untrusted node)."""

    def __init__(self, driver: AppDriver, results: dict[int, BlockResult]) -> None:
        self.driver, self.results = driver, results

    def block_results(self, height: int) -> dict[str, Any]:
        events = self.results[height].response.events
        return {"finalize_block_events": [MessageToDict(e, preserving_proto_field_name=True) for e in events]}

    def abci_query(self, path: str, data: bytes = b"", *, height: int = 0, prove: bool = False) -> dict[str, Any]:
        return MessageToDict(self.driver.query(path, prove=prove))


class _Headers:
    def __init__(self, app_hash: bytes) -> None:
        self.app_hash = app_hash

    def committing_app_hash(self, height: int, *, timeout: float = 10.0) -> bytes:
        return self.app_hash


def test_fetch_archived_proves_a_retirement_from_a_node_and_refuses_a_block_that_archived_nothing(
    driver: AppDriver, consortium: Consortium
) -> None:
    """The client proves an archived retirement from block results and the commitment, later on."""
    record = _retired_chain(driver, consortium)
    pruning = driver.block([], seconds=RETAIN + DAY)
    later = driver.block([])  # the commitment stays in state: proven at the latest height
    node = _NodeOf(driver, {pruning.height: pruning, later.height: later})
    proof = archive.fetch_archived(node, pruning.height, retirement_key(1), _Headers(later.app_hash))  # type: ignore[arg-type]
    assert proof.value == record
    with pytest.raises(ProofError, match="archived nothing"):
        archive.fetch_archived(node, later.height, retirement_key(1), _Headers(later.app_hash))  # type: ignore[arg-type]
    with pytest.raises(ProofError):
        archive.fetch_archived(node, pruning.height, retirement_key(1), _Headers(pruning.app_hash))  # type: ignore[arg-type]


def test_claiming_an_archived_retirement_fails_with_a_clear_code_even_from_a_hostile_proposer(
    driver: AppDriver, consortium: Consortium
) -> None:
    """A claim of a pruned retirement, proposed as is, fails RECORD_ARCHIVED and the block archives nothing more."""
    _retired_chain(driver, consortium)
    driver.block([], seconds=RETAIN + DAY)
    bob = consortium.member("community-a/bob")
    result = driver.block([signed(driver, bob, cc.claim(1)), b"\xff" * 40], check=False)
    assert result.tx_results[0].code == CertificatesCode.RECORD_ARCHIVED
    assert result.tx_results[1].code != 0  # the garbage tx fails on its own
    assert "archived" in result.tx_results[0].log
    assert _archived(result) == []
    assert check_invariants(driver.app.state) == []


def _retire_whole_hour(driver: AppDriver, consortium: Consortium) -> int:
    """pv-1's hour H0 (3000 Wh), issued to alice, all retired for bob; tariffs are set, so the market
    settles its intervals and the devices' pruning is not held back. Returns the retired bundle's id."""
    tariffs = grid_pb2.SetTariffs(supplier=consortium.member("utility/treasury").address, retail_per_kwh=30)
    ok(driver, consortium.member("gridop/control"), tariffs)
    pv_day_start(driver, consortium)
    alice, bob = consortium.member("community-a/alice"), consortium.member("community-a/bob")
    (bundle,) = keeper.owner_hour_bundles(driver.app.state, alice.address, H0)
    ok(driver, alice, retire(bundle.bundle_id, 3000, bob.address, (H0, H0 + 3600)))
    return bundle.bundle_id


def test_a_fully_retired_hours_tally_leaves_once_the_watermark_passes_its_retirement(
    driver: AppDriver, consortium: Consortium
) -> None:
    """The retired bundle leaves after a day, while its hour's readings may still come: the tally
    stays (issued 3000, pruned 3000) so the hour is never issued twice. Once the devices' pruning
    watermark passes the retirement (and so the hour), the tally leaves, provably, while the
    retirement stays until the retention (before, a bundle that left before the watermark left
    its tally in state for ever)."""
    bundle_id = _retire_whole_hour(driver, consortium)
    issued_key = keys.issued("pv-1", H0)
    retired_at = driver.time
    driver.block([], seconds=DAY + 3600)
    state = driver.app.state
    assert keeper.get_bundle(state, bundle_id) is None
    assert state.get(issued_key) == (3000).to_bytes(8, "big") * 2
    assert driver.query(f"/cert_issued/pv-1/{H0}").value == (3000).to_bytes(8, "big") * 2
    assert check_invariants(state) == []

    results = [driver.block([], seconds=retired_at + retention(state) + 3 * 3600 - driver.time)]
    while len(results) < 8 and driver.app.state.get(issued_key) is not None:
        results.append(driver.block([]))
    state = driver.app.state
    assert devices_keeper.pruned_before(state) >= retired_at
    assert state.get(issued_key) is None
    assert state.get(retirement_key(1)) is not None  # within the retention
    assert driver.query(f"/cert_issued/pv-1/{H0}").value == b""
    ((result, event),) = [(r, e) for r in results for e in _archived(r) if int(e["issued"])]
    assert (event["retirements"], event["issued"], event["bundles"]) == ("0", "1", "0")
    block = archive.archived_block(CERTIFICATES_ARCHIVED, event)
    assert result.height == block.height
    proof = archive.prove_record(block, issued_key)
    commitment = MessageToDict(driver.query(f"/archive_commitment/{block.height}", prove=True))
    last = results[-1].app_hash  # the state the query answered from
    assert archive.verify_archived_record(proof, commitment, last) == (3000).to_bytes(8, "big") * 2
    assert keeper.peek_counter(state, ARCHIVE_TALLY) == 1
    assert check_invariants(state) == []

    late = driver.block([], seconds=RETAIN)
    (event,) = _archived(late)
    assert (event["retirements"], event["issued"]) == ("1", "0")
    assert check_invariants(driver.app.state) == []


def test_at_zero_a_retired_bundle_leaves_in_its_retirements_block(consortium: Consortium) -> None:
    """With `certificates.retired_bundle_retention_seconds` at 0 no retired bundle is ever committed:
    the block that retires it archives it, and its retirement record stays."""
    driver = AppDriver(consortium, params={RETIRED_BUNDLE_RETENTION: 0})
    tariffs = grid_pb2.SetTariffs(supplier=consortium.member("utility/treasury").address, retail_per_kwh=30)
    ok(driver, consortium.member("gridop/control"), tariffs)
    pv_day_start(driver, consortium)
    alice, bob = consortium.member("community-a/alice"), consortium.member("community-a/bob")
    (bundle,) = keeper.owner_hour_bundles(driver.app.state, alice.address, H0)
    result = driver.block([signed(driver, alice, retire(bundle.bundle_id, 1000, bob.address, (H0, H0 + 3600)))])
    (event,) = _archived(result)
    assert (event["bundles"], event["retirements"]) == ("1", "0")
    state = driver.app.state
    (r,) = keeper.iter_retirements(state)
    assert keeper.get_bundle(state, r.bundle_id) is None
    assert keeper.get_bundle(state, bundle.bundle_id) is not None  # the 2000 Wh left with alice
    assert keeper.pruned_wh(state, "pv-1", H0) == 1000
    assert keeper.claimed(state, bob.address, H0) == 1000  # matching is unchanged
    assert check_invariants(state) == []


def test_a_retirement_without_its_bundle_travels_in_genesis_only_behind_the_cursor(
    driver: AppDriver, consortium: Consortium
) -> None:
    """The state between the two sweeps (bundle archived, retirement live) exports and imports byte for
    byte; a genesis naming a retirement whose bundle is missing ahead of the cursor, or a retired
    bundle the cursor has passed, is refused."""
    _retire_whole_hour(driver, consortium)
    driver.block([], seconds=DAY + 3600)
    state = driver.app.state
    exported, fresh = export_and_import(state)
    assert exported["certificates"]["counters"]["archive_retired_bundle"] == "1"
    assert differences(CERTIFICATES, state, fresh) == []
    assert check_invariants(fresh) == []

    validators = [ValidatorUpdate(k, p) for k, p in iter_validators(state)]

    def refused(edit: Any) -> str:
        app_state = copy.deepcopy(exported)
        edit(app_state["certificates"])
        with pytest.raises(GenesisError) as err:
            apply_genesis(Branch(MemoryBackend()), BlockInfo("c", 1, 0), json.dumps(app_state).encode(), validators)
        return str(err.value)

    assert "is not a retired bundle" in refused(lambda c: c["counters"].pop("archive_retired_bundle"))
    retired = copy.deepcopy(exported)
    (alive,) = [b for b in retired["certificates"]["bundles"] if b["hourStart"] == str(H0 + 3600)]
    assert alive["status"] == "BUNDLE_STATUS_ACTIVE"

    def retire_behind_cursor(c: dict[str, Any]) -> None:
        (r,) = c["retirements"]
        for b in c["bundles"]:
            if b["bundleId"] == alive["bundleId"]:
                b.update(status="BUNDLE_STATUS_RETIRED", retirementId=r["retirementId"])

    assert "pruning has archived" in refused(retire_behind_cursor)


def test_the_invariant_catches_a_retired_bundle_left_behind_by_pruning(
    driver: AppDriver, consortium: Consortium
) -> None:
    """A retired bundle still live once the cursor passed its retirement (it would never leave) breaks
    retired_bundles_ahead_of_pruning."""
    _retire_whole_hour(driver, consortium)
    state = Branch(driver.app.state)
    assert invariants.retired_bundles_ahead_of_pruning(state) is None
    keeper.set_counter(state, ARCHIVE_RETIRED_BUNDLE, 1)
    assert "pruning passed its retirement 1" in (invariants.retired_bundles_ahead_of_pruning(state) or "")


class _ArchiveNode(_NodeOf):
    """An untrusted node keeping the blocks from `earliest` on: headers (their times), results, queries."""

    def __init__(self, driver: AppDriver, blocks: dict[int, tuple[int, BlockResult]]) -> None:
        super().__init__(driver, {h: r for h, (_t, r) in blocks.items()})
        self.times = {h: t for h, (t, _r) in blocks.items()}

    def status(self) -> dict[str, Any]:
        return {"sync_info": {"earliest_block_height": str(min(self.times))}}

    def height(self) -> int:
        return max(self.times)

    def block(self, height: int) -> dict[str, Any]:
        stamp = dt.datetime.fromtimestamp(self.times[height], dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.123Z")
        return {"block": {"header": {"time": stamp}}}


def test_an_auditor_finds_and_proves_a_retired_bundle_from_when_it_was_due(
    driver: AppDriver, consortium: Consortium
) -> None:
    """From the retirement's time + the retired bundles' retention, the client finds the block that
    archived the bundle (header times, then that block's archive) and proves the bundle and its
    history against the app hash; a search from after it finds nothing."""
    _retired_chain(driver, consortium)
    state = driver.app.state
    (piece,) = [b for b in keeper.iter_bundles(state) if b.status == RETIRED]
    (r,) = keeper.iter_retirements(state)
    piece_bytes = state.get(keys.bundle(piece.bundle_id))
    blocks: dict[int, tuple[int, BlockResult]] = {}
    for seconds in (60, DAY // 2, DAY // 2, 600, 600, 600):
        result = driver.block([], seconds=seconds)
        blocks[result.height] = (driver.time, result)
    node = _ArchiveNode(driver, blocks)
    (archiving,) = [h for h, (_t, res) in blocks.items() if _archived(res)]
    assert archiving == max(blocks) - 3
    found = archive.find_archiving_block(node, bundle_key(piece.bundle_id), r.time + DAY)  # type: ignore[arg-type]
    assert found == archiving
    assert archive.find_archiving_block(node, history_key(piece.bundle_id), r.time + 60) == archiving  # type: ignore[arg-type]
    headers = _Headers(blocks[max(blocks)][1].app_hash)
    proof = archive.fetch_archived(node, found, bundle_key(piece.bundle_id), headers)  # type: ignore[arg-type]
    assert proof.value == piece_bytes
    assert pb.Bundle.FromString(proof.value).retirement_id == r.retirement_id
    with pytest.raises(ProofError, match="archived the record"):
        archive.find_archiving_block(node, bundle_key(piece.bundle_id), r.time + DAY + 1200)  # type: ignore[arg-type]


def test_the_residual_mix_is_the_same_after_retired_bundles_leave(driver: AppDriver, consortium: Consortium) -> None:
    """/residual of an hour counts a retired bundle that left live state by its archived Wh, so its
    answer is the same before and after; once the devices' watermark passes the hour those Wh leave
    too (provably) and /residual answers RECORD_ARCHIVED, as /matching does, not a wrong mix."""
    _retire_whole_hour(driver, consortium)
    path = f"/residual/nl-north/{H0}"
    before = pb.Residual.FromString(driver.query(path).value)
    assert (before.issued_wh, before.claimed_wh, before.residual_wh) == (3000, 3000, 0)
    retired_at = driver.time
    driver.block([], seconds=DAY + 3600)
    state = driver.app.state
    assert not list(state.iter_range(*_span(keys.by_status_prefix(RETIRED))))
    assert list(keeper.iter_residual_retired(state)) == [(H0, "nl-north", 3000)]
    assert pb.Residual.FromString(driver.query(path).value) == before
    exported, fresh = export_and_import(state)
    assert exported["certificates"]["residual_retired"] == [{"hour_start": str(H0), "region": "nl-north", "wh": "3000"}]
    assert differences(CERTIFICATES, state, fresh) == []

    results = [driver.block([], seconds=retired_at + retention(state) + 3 * 3600 - driver.time)]
    while len(results) < 8 and any(True for _ in keeper.iter_residual_retired(driver.app.state)):
        results.append(driver.block([]))
    assert list(keeper.iter_residual_retired(driver.app.state)) == []
    (event,) = [e for r in results for e in _archived(r) if int(e["residuals"])]
    assert event["residuals"] == "1"
    proof = archive.prove_record(
        archive.archived_block(CERTIFICATES_ARCHIVED, event), keys.residual_retired(H0, "nl-north")
    )
    assert proof.value == (3000).to_bytes(8, "big")
    answer = driver.query(path)
    assert answer.code == CertificatesCode.RECORD_ARCHIVED
    assert "watermark" in answer.log
    assert check_invariants(driver.app.state) == []


def test_an_owners_retirements_are_listed_for_their_retention(consortium: Consortium) -> None:
    """/retirements/owner/<address>[/<hour>] pages the owner's retirements in (hour, id) order while
    they are live, also after their retired bundles left; once a retirement leaves at the retention,
    so does its index entry (archived with it); bad arguments are refused."""
    driver = AppDriver(consortium)
    _retired_chain(driver, consortium, pieces=5)
    alice = consortium.member("community-a/alice").address.hex()

    def listed(path: str) -> tuple[list[int], str]:
        answer = driver.query(path)
        assert answer.code == 0, answer.log
        page = pb.RetirementList.FromString(answer.value)
        return [r.retirement_id for r in page.retirements], page.next

    first, cursor = listed(f"/retirements/owner/{alice}?limit=3")
    assert first == [1, 2, 3]
    rest, end = listed(f"/retirements/owner/{alice}?limit=3&after={cursor}")
    assert (rest, end) == ([4, 5], "")
    driver.block([], seconds=DAY + 60)  # the retired bundles leave; the retirements stay listed
    assert not [b for b in keeper.iter_bundles(driver.app.state) if b.status == RETIRED]
    assert listed(f"/retirements/owner/{alice}/{H0}")[0] == [1, 2, 3, 4, 5]
    assert listed(f"/retirements/owner/{alice}/{H0 + 3600}")[0] == []
    for bad in (f"/retirements/device/{alice}", f"/retirements/owner/{alice}/{H0 + 1}", "/retirements/owner/zz"):
        assert driver.query(bad).code != 0, bad
    (event,) = _archived(driver.block([], seconds=RETAIN))
    assert event["retirements"] == "5"
    block = archive.archived_block(CERTIFICATES_ARCHIVED, event)
    assert keys.retirement_by_owner(bytes.fromhex(alice), H0, 5) in dict(block.records)
    assert listed(f"/retirements/owner/{alice}")[0] == []
    assert check_invariants(driver.app.state) == []


def test_a_retirement_names_the_wh_it_retired_and_no_two_name_the_same(
    driver: AppDriver, consortium: Consortium
) -> None:
    """Three single-Wh retirements of one hour name three adjacent Wh, each its retired bundle's range,
    and keep naming them after the bundles left live state; the invariant retired_ranges_disjoint
    refuses a retirement naming Wh another names, Wh the hour never issued, or a range that is not
    its live bundle's; genesis refuses a retirement whose range is not its bundle's."""
    _retired_chain(driver, consortium, pieces=3)
    state = driver.app.state
    retirements = list(keeper.iter_retirements(state))
    pieces = {b.bundle_id: b for b in keeper.iter_bundles(state) if b.status == RETIRED}
    assert sorted(r.end_wh for r in retirements) == [1, 2, 3]
    assert all(
        (r.start_wh, r.end_wh) == (pieces[r.bundle_id].start_wh, pieces[r.bundle_id].end_wh) for r in retirements
    )
    assert invariants.retired_ranges_disjoint(state) is None

    first, second = retirements[0], retirements[1]
    twice = Branch(state)
    keeper.put_retirement(twice, replace(second, end_wh=first.end_wh))
    twice.delete(keys.bundle(second.bundle_id))  # (as once it left live state)
    assert "both retired Wh from" in (invariants.retired_ranges_disjoint(twice) or "")
    beyond = Branch(state)
    keeper.put_retirement(beyond, replace(first, end_wh=3_001))
    assert "are not all issued" in (invariants.retired_ranges_disjoint(beyond) or "")
    moved = Branch(state)
    keeper.put_retirement(moved, replace(first, end_wh=first.end_wh + 10))
    assert "is not its retired bundle" in (invariants.retired_ranges_disjoint(moved) or "")

    exported, _fresh = export_and_import(state)
    exported["certificates"]["retirements"][0]["endWh"] = "7"
    with pytest.raises(GenesisError, match=r"certificates\.retirements\[0\]: .* device-hour, owner and range"):
        import_exported(state, exported)

    driver.block([], seconds=DAY + 60)  # the retired bundles leave live state; the retirements stay
    state = driver.app.state
    assert not [b for b in keeper.iter_bundles(state) if b.status == RETIRED]
    assert sorted(r.end_wh for r in keeper.iter_retirements(state)) == [1, 2, 3]
    assert invariants.retired_ranges_disjoint(state) is None
