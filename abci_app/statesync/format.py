"""Snapshot format 1: the committed key/value state in key order, cut into hashed chunks.

A chunk is a `ChunkV1` protobuf (a run of `Entry{key, value}`), at most `chunk_bytes`
long unless a single entry is longer; keys ascend strictly within and across chunks, so a
state has exactly one encoding for a given chunk size. The metadata (`SnapshotMetadata`)
names the height, the app hash and every chunk's SHA-256; the ABCI snapshot hash is the
SHA-256 of the metadata bytes. The trie is not shipped: the restoring node rebuilds it from
the entries (its shape depends only on the set of keys), and the root must equal the app
hash the light client verified.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass

from google.protobuf.message import DecodeError
from gridledger.snapshot.v1 import snapshot_pb2

from abci_app.framing import encode_uvarint

__all__ = [
    "DEFAULT_CHUNK_BYTES",
    "FORMAT",
    "MAX_CHUNKS",
    "MAX_CHUNK_BYTES",
    "Built",
    "FormatError",
    "build",
    "decode_chunk",
    "decode_metadata",
    "entry_record",
    "snapshot_hash",
]

FORMAT = 1
DEFAULT_CHUNK_BYTES = 4 * 1024 * 1024
# A received chunk longer than this is refused before it is hashed (CometBFT's own p2p
# limit for a chunk message is 16 MB).
MAX_CHUNK_BYTES = 10 * 1024 * 1024
# At most this many chunks per snapshot (bounds the metadata to 128 KiB and a snapshot to
# MAX_CHUNKS x chunk size); a state too large for it is not snapshotted.
MAX_CHUNKS = 4_096
_ENTRY_TAG = b"\x0a"  # ChunkV1.entries: field 1, length-delimited
_KEY_TAG = b"\x0a"  # Entry.key: field 1, length-delimited
_VALUE_TAG = b"\x12"  # Entry.value: field 2, length-delimited
_ONE_BYTE = tuple(bytes((n,)) for n in range(0x80))  # the varints of 0..127


class FormatError(ValueError):
    """Bytes that are not a well-formed snapshot metadata or chunk."""


@dataclass(frozen=True, slots=True)
class Built:
    metadata: bytes
    chunks: tuple[bytes, ...]
    keys: int

    @property
    def total_bytes(self) -> int:
        return sum(len(c) for c in self.chunks)


def build(
    entries: Iterable[tuple[bytes, bytes]], height: int, app_hash: bytes, *, chunk_bytes: int = DEFAULT_CHUNK_BYTES
) -> Built:
    """The snapshot of `entries` (which must be in strictly ascending key order) at `height`:
    deterministic, a function of the entries, height, app hash and chunk size only. Raises
    FormatError if it would need more than MAX_CHUNKS chunks or the keys do not ascend."""
    chunks: list[bytes] = []
    current: list[bytes] = []
    size = 0
    count = 0
    last: bytes | None = None
    for key, value in entries:
        if last is not None and key <= last:
            raise FormatError(f"snapshot keys must ascend strictly: {key.hex()} after {last.hex()}")
        last = key
        record = entry_record(key, value)
        if current and size + len(record) > chunk_bytes:
            chunks.append(b"".join(current))
            current, size = [], 0
            if len(chunks) >= MAX_CHUNKS:
                raise FormatError(f"the state needs more than {MAX_CHUNKS} chunks of {chunk_bytes} bytes")
        current.append(record)
        size += len(record)
        count += 1
    if current or not chunks:
        chunks.append(b"".join(current))  # an empty state is one empty chunk
    meta = snapshot_pb2.SnapshotMetadata(
        format=FORMAT,
        height=height,
        app_hash=app_hash,
        chunk_hashes=[hashlib.sha256(c).digest() for c in chunks],
        keys=count,
        total_bytes=sum(len(c) for c in chunks),
    )
    return Built(meta.SerializeToString(deterministic=True), tuple(chunks), count)


def _varint(n: int) -> bytes:
    return _ONE_BYTE[n] if n < 0x80 else encode_uvarint(n)


def entry_record(key: bytes, value: bytes) -> bytes:
    """One `entries` field of a chunk holding Entry{key, value}: the bytes protobuf's encoder
    writes for it (an empty field, proto3's default, left out), built directly, because the
    message object cost more than half of a snapshot's time per key."""
    entry = b"".join(
        (
            _KEY_TAG + _varint(len(key)) + key if key else b"",
            _VALUE_TAG + _varint(len(value)) + value if value else b"",
        )
    )
    return _ENTRY_TAG + _varint(len(entry)) + entry


def snapshot_hash(metadata: bytes) -> bytes:
    """The ABCI snapshot hash: SHA-256 of the metadata bytes."""
    return hashlib.sha256(metadata).digest()


def decode_metadata(raw: bytes) -> snapshot_pb2.SnapshotMetadata:
    """The metadata, checked for shape: format 1, 32-byte hashes, 1..MAX_CHUNKS chunks."""
    try:
        meta = snapshot_pb2.SnapshotMetadata.FromString(raw)
    except DecodeError as exc:
        raise FormatError(f"snapshot metadata does not decode: {exc}") from exc
    if meta.format != FORMAT:
        raise FormatError(f"snapshot metadata format {meta.format}, expected {FORMAT}")
    if not 1 <= len(meta.chunk_hashes) <= MAX_CHUNKS:
        raise FormatError(f"snapshot metadata names {len(meta.chunk_hashes)} chunks (1..{MAX_CHUNKS})")
    if any(len(h) != 32 for h in meta.chunk_hashes) or len(meta.app_hash) != 32:
        raise FormatError("snapshot metadata hashes must be 32 bytes")
    return meta


def decode_chunk(raw: bytes, after: bytes | None) -> list[tuple[bytes, bytes]]:
    """The entries of one chunk whose hash has already been checked; raises FormatError
    unless it decodes and its keys ascend strictly (and follow `after`, the previous chunk's
    last key)."""
    try:
        chunk = snapshot_pb2.ChunkV1.FromString(raw)
    except DecodeError as exc:
        raise FormatError(f"snapshot chunk does not decode: {exc}") from exc
    out: list[tuple[bytes, bytes]] = []
    last = after
    for e in chunk.entries:
        if last is not None and e.key <= last:
            raise FormatError(f"snapshot chunk keys do not ascend: {e.key.hex()[:64]} after {last.hex()[:64]}")
        last = e.key
        out.append((e.key, e.value))
    return out
