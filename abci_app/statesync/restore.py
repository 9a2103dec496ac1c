"""Restoring a snapshot offered by CometBFT's state sync, chunk by chunk, verified twice:
each chunk against the hash the metadata names for it, and the rebuilt state's root against
the app hash CometBFT passed in OfferSnapshot (which its light client verified).

Answers follow ABCI's meaning: a chunk that does not match its hash (bit flip, truncation,
another chunk's bytes, oversized) is RETRY with that chunk refetched from another sender;
metadata that contradicts the offer is REJECT; a snapshot whose chunks match their hashes but
do not decode, or rebuild another app hash, is REJECT_SNAPSHOT (its metadata lied); a chunk
with no snapshot accepted, or a failure to write, is ABORT. Nothing a peer sends raises.

Before the verified state is written, `vet` (the app's) may refuse it: an old version restoring
a snapshot taken after an upgrade it lacks must stop as it would at start, not run on a state
it cannot read. Its exception propagates with nothing written.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable

import structlog

from abci_app.pb import abci
from abci_app.statesync import format as fmt
from abci_app.store.branch import Branch, KVReader
from abci_app.store.state import CommittedState

__all__ = ["Restorer"]

log = structlog.get_logger("gridledger.statesync")

Offer = abci.ResponseOfferSnapshot
Apply = abci.ResponseApplySnapshotChunk
Vet = Callable[[KVReader, int], None]  # raises if the restored state (at a height) must not be run


class Restorer:
    """The snapshot being restored (at most one); the state is written only once the last
    chunk has arrived and the rebuilt app hash matches."""

    def __init__(self, state: CommittedState, vet: Vet | None = None) -> None:
        self.state = state
        self._vet = vet
        self._reset()

    def _reset(self) -> None:
        self._active = False
        self._height = 0
        self._app_hash = b""
        self._hashes: list[bytes] = []
        self._keys = 0
        self._next = 0
        self._last_key: bytes | None = None
        self._writes: dict[bytes, bytes | None] = {}
        self._started = 0.0

    def offer(self, snapshot: abci.Snapshot, app_hash: bytes) -> int:
        """ACCEPT a snapshot whose metadata agrees with the offer and the trusted app hash;
        otherwise the ABCI result saying why not."""
        self._reset()
        if self.state.height > 0:
            log.error("snapshot_refused", reason=f"this app already has state at height {self.state.height}")
            return int(Offer.ABORT)
        if snapshot.format != fmt.FORMAT:
            log.warning("snapshot_refused", height=snapshot.height, reason=f"unknown format {snapshot.format}")
            return int(Offer.REJECT_FORMAT)
        try:
            meta = fmt.decode_metadata(snapshot.metadata)
        except fmt.FormatError as exc:
            log.warning("snapshot_refused", height=snapshot.height, reason=str(exc)[:200])
            return int(Offer.REJECT)
        problem = None
        if fmt.snapshot_hash(snapshot.metadata) != snapshot.hash:
            problem = "snapshot hash is not the SHA-256 of its metadata"
        elif meta.height != snapshot.height or meta.height <= 0:
            problem = f"metadata height {meta.height} is not the snapshot's height {snapshot.height}"
        elif len(meta.chunk_hashes) != snapshot.chunks:
            problem = f"metadata names {len(meta.chunk_hashes)} chunks, the snapshot {snapshot.chunks}"
        elif meta.app_hash != app_hash:
            problem = f"metadata app hash {meta.app_hash.hex()[:16]} is not the trusted {app_hash.hex()[:16]}"
        if problem is not None:
            log.warning("snapshot_refused", height=snapshot.height, reason=problem)
            return int(Offer.REJECT)
        self._active = True
        self._height = meta.height
        self._app_hash = bytes(app_hash)
        self._hashes = list(meta.chunk_hashes)
        self._keys = meta.keys
        self._started = time.perf_counter()
        log.info("snapshot_accepted", height=meta.height, chunks=len(self._hashes), bytes=meta.total_bytes)
        return int(Offer.ACCEPT)

    def apply(self, index: int, chunk: bytes, sender: str) -> abci.ResponseApplySnapshotChunk:
        """Check and take chunk `index`; after the last one, rebuild and commit the state."""
        if not self._active:
            log.warning("snapshot_chunk_refused", index=index, reason="no snapshot accepted")
            return Apply(result=Apply.ABORT)
        senders = [sender] if sender else []
        if not 0 <= index < len(self._hashes):
            log.warning("snapshot_chunk_refused", index=index, reason=f"index outside 0..{len(self._hashes) - 1}")
            self._reset()
            return Apply(result=Apply.REJECT_SNAPSHOT)
        if index < self._next:
            return Apply(result=Apply.ACCEPT)  # already applied (a retried delivery)
        if index > self._next:
            log.warning("snapshot_chunk_refused", index=index, reason=f"chunk {self._next} comes first")
            return Apply(result=Apply.RETRY, refetch_chunks=[self._next])
        if len(chunk) > fmt.MAX_CHUNK_BYTES or hashlib.sha256(chunk).digest() != self._hashes[index]:
            log.warning("snapshot_chunk_refused", index=index, bytes=len(chunk), sender=sender, reason="hash mismatch")
            return Apply(result=Apply.RETRY, refetch_chunks=[index], reject_senders=senders)
        try:
            entries = fmt.decode_chunk(chunk, self._last_key)
        except fmt.FormatError as exc:
            return self._reject(f"chunk {index}: {exc}")
        if len(self._writes) + len(entries) > self._keys:
            return self._reject(f"chunks hold more keys than the metadata's {self._keys}")
        for key, value in entries:
            self._writes[key] = value
        if entries:
            self._last_key = entries[-1][0]
        self._next += 1
        if self._next < len(self._hashes):
            return Apply(result=Apply.ACCEPT)
        return self._finish()

    def _finish(self) -> abci.ResponseApplySnapshotChunk:
        if len(self._writes) != self._keys:
            return self._reject(f"chunks hold {len(self._writes)} keys, the metadata says {self._keys}")
        self.state.discard_staged()
        root = self.state.stage(self._writes)
        if root != self._app_hash:
            self.state.discard_staged()
            return self._reject(
                f"restored state hashes to {root.hex()[:16]}, not the trusted {self._app_hash.hex()[:16]}"
            )
        if self._vet is not None:
            restored = Branch(self.state)  # the state is empty (`offer` refuses otherwise): the restored keys
            restored.writes.update(self._writes)
            try:
                self._vet(restored, self._height)
            except BaseException:
                self.state.discard_staged()
                self._reset()
                raise
        try:
            self.state.commit(self._height)
        except Exception as exc:  # a full disk: nothing usable was written (one transaction)
            log.error("snapshot_restore_failed", height=self._height, error=type(exc).__name__, detail=str(exc)[:200])
            self._reset()
            return Apply(result=Apply.ABORT)
        log.info(
            "state_restored",
            height=self._height,
            keys=len(self._writes),
            app_hash=self._app_hash.hex()[:16],
            ms=round((time.perf_counter() - self._started) * 1000, 1),
        )
        self._reset()
        return Apply(result=Apply.ACCEPT)

    def _reject(self, reason: str) -> abci.ResponseApplySnapshotChunk:
        log.warning("snapshot_rejected", height=self._height, reason=reason[:300])
        self._reset()
        return Apply(result=Apply.REJECT_SNAPSHOT)
