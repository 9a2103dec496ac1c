"""State sync: a snapshot of a chain holding every domain's state (the SimBench LV day) restores
to the same app hash, the same key/values and the same query answers; hostile chunks and lying
metadata are answered with ABCI's refusals and never change the restoring node's state."""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
import structlog
from gridledger.governance.v1 import governance_pb2
from gridledger.snapshot.v1 import snapshot_pb2

from abci_app.app import GridLedgerApp
from abci_app.framing import encode_uvarint
from abci_app.governance.params import SNAPSHOT_INTERVAL, SNAPSHOT_KEEP_RECENT
from abci_app.pb import abci
from abci_app.statesync import format as fmt
from abci_app.statesync.store import SnapshotStore
from abci_app.store.backend import MemoryBackend
from abci_app.store.sqlite import SQLiteBackend
from clients.ops.consortium import Consortium
from tests.scenario.lv_day import LvRun, lv_consortium
from tests.support.driver import AppDriver
from tests.support.simbench_day import load_grid_day
from tests.unit.helpers import signed, submit

Offer = abci.ResponseOfferSnapshot
Apply = abci.ResponseApplySnapshotChunk
CHUNK = 64 * 1024  # small chunks, so the day's state spans many


@pytest.fixture(scope="module")
def day() -> Iterator[LvRun]:
    """A whole SimBench LV day (identity, accounts, devices, grid, market, forecasts,
    certificates) plus an open governance proposal, run in-process."""
    old = structlog.get_config()
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    grid_day = load_grid_day("1-LV-rural1--0-sw", dt.date(2016, 5, 20))
    run = LvRun(lv_consortium(grid_day.sites()), [grid_day])
    run.run()
    d = run.driver
    change = governance_pb2.ChangeParam(name="max_memo_bytes", value=128)
    d.block([signed(d, run.consortium.member("utility/admin"), submit("memo", change_param=change))])
    yield run
    structlog.configure(**old)


@pytest.fixture(scope="module")
def snap(day: LvRun, tmp_path_factory: pytest.TempPathFactory) -> tuple[SnapshotStore, abci.Snapshot]:
    store = SnapshotStore(tmp_path_factory.mktemp("snapshots"), chunk_bytes=CHUNK)
    taken = store.take(day.driver.app.state, 2)
    assert taken is not None
    assert taken.chunks > 3
    (listed,) = store.list()
    snapshot = abci.Snapshot(
        height=listed.height, format=listed.format, chunks=listed.chunks, hash=listed.hash, metadata=listed.metadata
    )
    return store, snapshot


def _chunks(store: SnapshotStore, s: abci.Snapshot) -> list[bytes]:
    return [store.chunk(s.height, s.format, i) for i in range(s.chunks)]


def _restore(app: GridLedgerApp, s: abci.Snapshot, app_hash: bytes, chunks: list[bytes]) -> list[int]:
    """Offer `s` and apply `chunks` in order; the results of every call."""
    out = [int(app.offer_snapshot(abci.RequestOfferSnapshot(snapshot=s, app_hash=app_hash)).result)]
    for i, c in enumerate(chunks):
        out.append(int(app.apply_snapshot_chunk(abci.RequestApplySnapshotChunk(index=i, chunk=c, sender="p1")).result))
    return out


QUERIES = (
    "/params",
    "/proposal/1",
    "/clearing/{iv}",
    "/upstream/{iv}",
)


def test_restored_state_has_the_same_app_hash_keys_and_query_answers(
    day: LvRun, snap: tuple[SnapshotStore, abci.Snapshot], tmp_path: Path
) -> None:
    """Restoring the day's snapshot into an empty SQLite app rebuilds the same app hash, every
    key/value, the same query answers, and the next block hashes alike on both nodes."""
    store, s = snap
    src = day.driver
    restored = GridLedgerApp(SQLiteBackend(tmp_path / "state.sqlite"))
    restored.private_queries = src.app.private_queries  # compare answers as the harness reads them
    results = _restore(restored, s, src.app.state.app_hash, _chunks(store, s))
    assert results == [Offer.ACCEPT] + [Apply.ACCEPT] * s.chunks
    info = restored.info(abci.RequestInfo())
    assert (info.last_block_height, info.last_block_app_hash) == (src.height, src.app.state.app_hash)
    assert list(restored.state.iter_range(b"", None)) == list(src.app.state.iter_range(b"", None))
    assert restored.state.verify() > 20_000 - 1_000
    iv = day.interval(48)
    paths = [p.format(iv=iv) for p in QUERIES]
    for site in day.sites:
        paths += [f"/rules/{site.member.address.hex()}", f"/balance/{site.member.address.hex()}"]
        paths += [f"/statement/{site.member.address.hex()}/{iv}", f"/device/{site.meter_id}"]
    for path in paths:
        want = src.query(path)
        got = restored.query(abci.RequestQuery(path=path))
        assert (got.code, got.value) == (want.code, want.value), path
    assert sum(1 for p in paths if src.query(p).code == 0 and src.query(p).value) > len(paths) // 2
    follower = AppDriver(day.consortium, backend=restored.state.backend, genesis_time=0)
    at = src.time + 300
    assert src.block([], at=at).app_hash == follower.block([], at=at).app_hash


def test_a_snapshot_is_a_function_of_the_committed_state(day: LvRun, snap: tuple[SnapshotStore, abci.Snapshot]) -> None:
    """Rebuilding the snapshot of the restored state gives byte-identical metadata and chunks."""
    store, s = snap
    app = GridLedgerApp(MemoryBackend())
    assert _restore(app, s, fmt.decode_metadata(s.metadata).app_hash, _chunks(store, s))[-1] == Apply.ACCEPT
    again = fmt.build(app.state.iter_range(b"", None), app.state.height, app.state.app_hash, chunk_bytes=CHUNK)
    assert again.metadata == s.metadata
    assert list(again.chunks) == _chunks(store, s)


def _apply(app: GridLedgerApp, index: int, chunk: bytes) -> abci.ResponseApplySnapshotChunk:
    return app.apply_snapshot_chunk(abci.RequestApplySnapshotChunk(index=index, chunk=chunk, sender="evil"))


def test_hostile_chunks_are_refetched_from_other_senders_and_the_honest_ones_still_restore(
    snap: tuple[SnapshotStore, abci.Snapshot],
) -> None:
    """Bit flips, truncation, another chunk's bytes, a huge chunk and a skipped index are each
    answered RETRY (refetch, sender rejected); then the honest chunks restore the state."""
    store, s = snap
    chunks = _chunks(store, s)
    app_hash = fmt.decode_metadata(s.metadata).app_hash
    app = GridLedgerApp(MemoryBackend())
    assert app.offer_snapshot(abci.RequestOfferSnapshot(snapshot=s, app_hash=app_hash)).result == Offer.ACCEPT
    flipped = bytearray(chunks[0])
    flipped[len(flipped) // 2] ^= 0x10
    for bad in (bytes(flipped), chunks[0][:-1], chunks[0] + b"\x00", chunks[1], b"\x0a" * (fmt.MAX_CHUNK_BYTES + 1)):
        resp = _apply(app, 0, bad)
        assert (resp.result, list(resp.refetch_chunks), list(resp.reject_senders)) == (Apply.RETRY, [0], ["evil"])
    skipped = _apply(app, 2, chunks[2])
    assert (skipped.result, list(skipped.refetch_chunks)) == (Apply.RETRY, [0])
    assert app.state.height == 0
    for i, c in enumerate(chunks):
        assert _apply(app, i, c).result == Apply.ACCEPT
    assert (app.state.height, app.state.app_hash) == (s.height, app_hash)


def _lying(entries: list[tuple[bytes, bytes]], height: int, app_hash: bytes) -> tuple[abci.Snapshot, list[bytes]]:
    """A self-consistent snapshot (chunk hashes match) of `entries` claiming `app_hash`."""
    built = fmt.build(entries, height, app_hash, chunk_bytes=CHUNK)
    s = abci.Snapshot(
        height=height,
        format=fmt.FORMAT,
        chunks=len(built.chunks),
        hash=fmt.snapshot_hash(built.metadata),
        metadata=built.metadata,
    )
    return s, list(built.chunks)


def test_metadata_that_contradicts_the_offer_is_rejected(snap: tuple[SnapshotStore, abci.Snapshot]) -> None:
    """Another app hash than the light client's, a hash that is not of the metadata, another
    height or chunk count, an unknown format and undecodable metadata are all refused."""
    _, s = snap
    trusted = fmt.decode_metadata(s.metadata).app_hash
    app = GridLedgerApp(MemoryBackend())

    def offer(snapshot: abci.Snapshot, app_hash: bytes = trusted) -> int:
        return int(app.offer_snapshot(abci.RequestOfferSnapshot(snapshot=snapshot, app_hash=app_hash)).result)

    def changed(**fields: object) -> abci.Snapshot:
        out = abci.Snapshot()
        out.CopyFrom(s)
        for k, v in fields.items():
            setattr(out, k, v)
        return out

    assert offer(s, hashlib.sha256(b"other").digest()) == Offer.REJECT
    assert offer(changed(hash=b"\x00" * 32)) == Offer.REJECT
    assert offer(changed(height=s.height + 1)) == Offer.REJECT
    assert offer(changed(chunks=s.chunks + 1)) == Offer.REJECT
    assert offer(changed(format=2)) == Offer.REJECT_FORMAT
    assert offer(changed(metadata=b"\xff\xff", hash=fmt.snapshot_hash(b"\xff\xff"))) == Offer.REJECT
    assert _apply(app, 0, b"").result == Apply.ABORT  # nothing accepted
    assert app.state.height == 0


def test_consistent_lies_are_caught_by_the_trusted_app_hash_and_leave_no_state(
    snap: tuple[SnapshotStore, abci.Snapshot],
) -> None:
    """A snapshot whose chunks match its own metadata but hold a changed balance, a dropped key,
    a wrong key count or unordered keys ends in REJECT_SNAPSHOT, with nothing written."""
    store, s = snap
    src = GridLedgerApp(MemoryBackend())
    meta = fmt.decode_metadata(s.metadata)
    _restore(src, s, meta.app_hash, _chunks(store, s))
    entries = list(src.state.iter_range(b"", None))
    tampered = list(entries)
    key, value = tampered[len(tampered) // 2]
    tampered[len(tampered) // 2] = (key, value + b"\x01")
    for lie in (tampered, entries[:-1]):
        app = GridLedgerApp(MemoryBackend())
        snapshot, chunks = _lying(lie, s.height, meta.app_hash)
        assert _restore(app, snapshot, meta.app_hash, chunks)[-1] == Apply.REJECT_SNAPSHOT
        assert (app.state.height, list(app.state.iter_range(b"", None))) == (0, [])
    # the right chunks but metadata claiming one key fewer
    wrong_count = snapshot_pb2.SnapshotMetadata.FromString(s.metadata)
    wrong_count.keys -= 1
    raw = wrong_count.SerializeToString(deterministic=True)
    lied = abci.Snapshot(height=s.height, format=1, chunks=s.chunks, hash=fmt.snapshot_hash(raw), metadata=raw)
    app = GridLedgerApp(MemoryBackend())
    assert _restore(app, lied, meta.app_hash, _chunks(store, s))[-1] == Apply.REJECT_SNAPSHOT
    # keys out of order inside a chunk whose hash the metadata vouches for
    swapped = [entries[1], entries[0], *entries[2:]]
    records = b"".join(
        b"\x0a" + bytes([len(e)]) + e
        for e in (snapshot_pb2.Entry(key=k, value=v).SerializeToString() for k, v in swapped[:2])
    )
    unordered = snapshot_pb2.SnapshotMetadata(
        format=1, height=s.height, app_hash=meta.app_hash, chunk_hashes=[hashlib.sha256(records).digest()], keys=2
    ).SerializeToString()
    bad = abci.Snapshot(height=s.height, format=1, chunks=1, hash=fmt.snapshot_hash(unordered), metadata=unordered)
    app = GridLedgerApp(MemoryBackend())
    assert _restore(app, bad, meta.app_hash, [records]) == [Offer.ACCEPT, Apply.REJECT_SNAPSHOT]
    assert app.state.height == 0


def test_a_node_with_state_refuses_to_restore_over_it(
    driver: AppDriver, snap: tuple[SnapshotStore, abci.Snapshot]
) -> None:
    """OfferSnapshot to an app that has committed blocks is ABORT: state sync never mixes states."""
    _, s = snap
    driver.block([])
    resp = driver.app.offer_snapshot(
        abci.RequestOfferSnapshot(snapshot=s, app_hash=fmt.decode_metadata(s.metadata).app_hash)
    )
    assert resp.result == Offer.ABORT


def test_the_app_snapshots_at_the_governed_interval_keeps_the_newest_and_serves_them(
    consortium: Consortium, tmp_path: Path
) -> None:
    """With interval 2 and keep 2, seven blocks leave snapshots at heights 6 and 4, listed
    newest first over ABCI with loadable chunks; with the interval at 0 none are taken."""
    d = AppDriver(consortium, params={SNAPSHOT_INTERVAL: 2, SNAPSHOT_KEEP_RECENT: 2})
    d.app.snapshots = store = SnapshotStore(tmp_path / "snaps")
    for _ in range(7):
        d.block([])
        assert store.wait(30)  # each is written on a worker thread
    listed = d.app.list_snapshots(abci.RequestListSnapshots()).snapshots
    assert [x.height for x in listed] == [6, 4]
    chunk = d.app.load_snapshot_chunk(abci.RequestLoadSnapshotChunk(height=6, format=1, chunk=0)).chunk
    assert hashlib.sha256(chunk).digest() == fmt.decode_metadata(listed[0].metadata).chunk_hashes[0]
    assert d.app.load_snapshot_chunk(abci.RequestLoadSnapshotChunk(height=5, format=1, chunk=0)).chunk == b""
    off = AppDriver(consortium)
    off.app.snapshots = off_store = SnapshotStore(tmp_path / "off")
    for _ in range(4):
        off.block([])
    assert off_store.wait(30)
    assert off.app.list_snapshots(abci.RequestListSnapshots()).snapshots == []


def test_a_snapshot_that_cannot_be_written_costs_the_snapshot_not_the_block(
    consortium: Consortium, tmp_path: Path
) -> None:
    """With the snapshot folder unwritable (a file in its place) the blocks still commit."""
    blocker = tmp_path / "snaps"
    blocker.write_text("not a folder")
    d = AppDriver(consortium, params={SNAPSHOT_INTERVAL: 1})
    d.app.snapshots = store = SnapshotStore(blocker)
    for _ in range(2):
        d.block([])
        assert store.wait(30)
    assert d.app.state.height == 2
    assert d.app.list_snapshots(abci.RequestListSnapshots()).snapshots == []


@pytest.mark.parametrize("key_len", [0, 1, 127, 128, 16_383, 16_384])
@pytest.mark.parametrize("value_len", [0, 1, 126, 127, 128, 300_000])
def test_a_chunk_entry_is_the_bytes_protobuf_writes(key_len: int, value_len: int) -> None:
    """The directly built chunk entry equals protobuf's encoding of Entry{key, value} in its
    ChunkV1 field, across the varint length boundaries and the empty (left out) fields, and
    decodes back to the same key and value."""
    key, value = bytes(range(256)) * (key_len // 256) + b"k" * (key_len % 256), b"\x00v" * (value_len // 2)
    value += b"v" * (value_len - len(value))
    entry = snapshot_pb2.Entry(key=key, value=value).SerializeToString(deterministic=True)
    assert fmt.entry_record(key, value) == snapshot_pb2.ChunkV1(
        entries=[snapshot_pb2.Entry(key=key, value=value)]
    ).SerializeToString(deterministic=True)
    assert fmt.entry_record(key, value) == b"\x0a" + encode_uvarint(len(entry)) + entry
    if key:
        assert fmt.decode_chunk(fmt.entry_record(key, value), None) == [(key, value)]
