"""Prove a record that pruning removed from live state (abci_app/certificates/prune.py,
abci_app/market/prune.py, abci_app/grid/prune.py).

Each pruning domain is an `ArchiveSource`: CERTIFICATES, MARKET or GRID. The archive of block H is its
`<domain>_archived` event (CometBFT's block results of H): the removed records, packed in removal
order. The commitment of H is in state under the domain's commitment key of H: the Merkle root
and count of those records (gridwire/archive.py).
An auditor checks, for one record:

1. the record is at `position` of the archive, and its audit path leads from its leaf to a root;
2. that root and the archive's count are the commitment's, as stored;
3. the commitment is what the state under a verified app hash holds at its key (a trie proof,
   `/archive_commitment/<H>`, `/market_archive_commitment/<H>` or `/grid_archive_commitment/<H>`
   with prove=true, against the app hash of a header the auditor trusts: clients.lightclient, or
   the retirement export's chain of signatures).

A changed record, position, path, count, commitment or app hash fails one of these steps.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from gridwire.archive import audit_path, decode_commitment, leaf_hash, merkle_root, root_from_path, unpack_records
from gridwire.contract import certificates, grid, market
from gridwire.contract.paths import QueryRoot

from clients.lightclient import header_seconds
from clients.proof import HeaderVerifier, ProofError, verify_query_response
from clients.rpc import CometRPC

__all__ = [
    "CERTIFICATES",
    "GRID",
    "MARKET",
    "ArchiveProof",
    "ArchiveSource",
    "ArchivedBlock",
    "archived_block",
    "fetch_archived",
    "find_archiving_block",
    "prove_record",
    "verify_archived_record",
]


@dataclass(frozen=True, slots=True)
class ArchiveSource:
    """A domain whose pruning archives records: its event, its commitment query and key."""

    event_type: str
    commitment_query: QueryRoot
    commitment_key: Callable[[int], bytes]


CERTIFICATES = ArchiveSource(
    certificates.CERTIFICATES_ARCHIVED, certificates.Paths.ARCHIVE_COMMITMENT, certificates.archive_commitment_key
)
MARKET = ArchiveSource(market.MARKET_ARCHIVED, market.Paths.ARCHIVE_COMMITMENT, market.archive_commitment_key)
GRID = ArchiveSource(grid.GRID_ARCHIVED, grid.Paths.ARCHIVE_COMMITMENT, grid.archive_commitment_key)


@dataclass(frozen=True, slots=True)
class ArchivedBlock:
    """What block `height` removed from live state: its records in removal order."""

    height: int
    records: tuple[tuple[bytes, bytes], ...]

    def root(self) -> bytes:
        """The Merkle root of the records (what the block's commitment must hold)."""
        return merkle_root([leaf_hash(k, v) for k, v in self.records])


@dataclass(frozen=True, slots=True)
class ArchiveProof:
    """One archived record with its place in its block's commitment."""

    height: int
    key: bytes
    value: bytes
    position: int
    count: int
    path: tuple[bytes, ...]


def archived_block(
    event_type: str, attributes: Mapping[str, str], source: ArchiveSource = CERTIFICATES
) -> ArchivedBlock:
    """The archive carried by the source's `<domain>_archived` event (its attributes as strings);
    ProofError when it is another event, or its records do not match its own count and root."""
    if event_type != source.event_type:
        raise ProofError(f"expected a {source.event_type} event, got {event_type!r}")
    try:
        height = int(attributes["height"])
        records = tuple(unpack_records(bytes.fromhex(attributes["archive"])))
        count, root = int(attributes["count"]), bytes.fromhex(attributes["root"])
    except (KeyError, ValueError) as exc:
        raise ProofError(f"malformed archive event: {exc}") from exc
    block = ArchivedBlock(height, records)
    if len(records) != count or not records or block.root() != root:
        raise ProofError(f"the archive of block {height} does not match its own count and root")
    return block


def prove_record(block: ArchivedBlock, key: bytes) -> ArchiveProof:
    """The proof of the last record under `key` the block archived; ProofError when it archived none."""
    positions = [i for i, (k, _v) in enumerate(block.records) if k == key]
    if not positions:
        raise ProofError(f"block {block.height} archived no record under key {key.hex()}")
    i = positions[-1]
    leaves = [leaf_hash(k, v) for k, v in block.records]
    k, v = block.records[i]
    return ArchiveProof(block.height, k, v, i, len(leaves), tuple(audit_path(leaves, i)))


def verify_archived_record(
    proof: ArchiveProof, commitment_answer: dict[str, Any], app_hash: bytes, source: ArchiveSource = CERTIFICATES
) -> bytes:
    """Check an archived record against its block's commitment and the commitment against `app_hash`
    (the verified app hash the commitment answer was given at: the header after its height). Returns
    the record's value. `commitment_answer` is the JSON `abci_query` answer to
    source's commitment query of `height` with prove=true. Raises ProofError when any step fails."""
    proven = verify_query_response(commitment_answer, app_hash, source.commitment_key(proof.height))
    if proven.value is None:
        raise ProofError(f"block {proof.height} has no archive commitment under that app hash")
    try:
        root, count = decode_commitment(proven.value)
    except ValueError as exc:
        raise ProofError(str(exc)) from exc
    if count != proof.count:
        raise ProofError(f"the commitment covers {count} records, the proof says {proof.count}")
    if root_from_path(leaf_hash(proof.key, proof.value), proof.position, count, _path(proof.path)) != root:
        raise ProofError(f"record {proof.key.hex()} at position {proof.position} does not lead to the commitment")
    return proof.value


def _path(path: Sequence[bytes]) -> list[bytes]:
    return [bytes(p) for p in path]


def fetch_archived(
    rpc: CometRPC, height: int, key: bytes, verifier: HeaderVerifier, source: ArchiveSource = CERTIFICATES
) -> ArchiveProof:
    """Prove the record under `key` that block `height` archived, from an untrusted node: its archive
    from the block results, its commitment with a trie proof at the node's latest height (commitments
    stay in state), checked against the app hash `verifier` verified. ProofError when any step fails."""
    block = _archive_of(rpc, height, source)
    if block is None:
        raise ProofError(f"block {height} archived nothing (no {source.event_type} event in its results)")
    proof = prove_record(block, key)
    answer = rpc.abci_query(source.commitment_query(height), prove=True)
    at = int(answer.get("height") or 0)
    if at <= 0:
        raise ProofError(f"the commitment answer names no height (code {answer.get('code')}: {answer.get('log')})")
    verify_archived_record(proof, answer, verifier.committing_app_hash(at), source)
    return proof


def _archive_of(rpc: CometRPC, height: int, source: ArchiveSource) -> ArchivedBlock | None:
    """Block `height`'s archive, from its results' `<domain>_archived` event (None: it archived nothing)."""
    results = rpc.block_results(height)
    for e in results.get("finalize_block_events") or []:
        if e.get("type") == source.event_type:
            attributes = {str(a.get("key")): str(a.get("value")) for a in e.get("attributes") or []}
            return archived_block(source.event_type, attributes, source)
    return None


def find_archiving_block(
    rpc: CometRPC, key: bytes, since: int, *, scan: int = 200, source: ArchiveSource = CERTIFICATES
) -> int:
    """The block that archived the record under `key`, found from unix time `since` (when it became
    due: a retired bundle at its retirement's time + certificates.retired_bundle_retention_seconds,
    a market record at its interval's end + grace + correction window + market.retention_seconds,
    a retirement at its time + certificates.retention_seconds): the first block the node keeps
    whose header time is at or after it (a binary search over headers), then forward through at
    most `scan` blocks' archives (pruning is bounded per block, so a backlog may delay it).
    Nothing here is trusted: a lying node can only make the search fail, since fetch_archived then
    proves the record against a verified app hash. ProofError when no block in reach archived it."""
    sync = rpc.status().get("sync_info") or {}
    low, high = max(1, int(sync.get("earliest_block_height") or 1)), rpc.height()

    def time_of(height: int) -> int:
        return header_seconds(str(rpc.block(height)["block"]["header"]["time"]))

    if low > high:
        raise ProofError("the node holds no blocks")
    while low < high:  # the first height at or after `since` (or the latest)
        mid = (low + high) // 2
        if time_of(mid) < since:
            low = mid + 1
        else:
            high = mid
    for height in range(low, min(low + scan, rpc.height() + 1)):
        block = _archive_of(rpc, height, source)
        if block is not None and any(k == key for k, _v in block.records):
            return height
    raise ProofError(f"no block from {low} to {low + scan - 1} archived the record under key {key.hex()}")
