"""State sync snapshots are written on a worker thread from a view pinned at their commit: the
blocks after it commit without waiting, and the snapshot is still exactly the state at its
height (statesync/store.py, CommittedState.pinned)."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry

from abci_app.governance.params import SNAPSHOT_INTERVAL, SNAPSHOT_KEEP_RECENT
from abci_app.metrics import Metrics
from abci_app.pb import abci
from abci_app.statesync import format as fmt
from abci_app.statesync.store import SnapshotStore, Taken
from abci_app.store.backend import CommitView, CorruptStateError, MemoryBackend, PinnedView
from abci_app.store.sqlite import SQLiteBackend
from clients.ops.consortium import Consortium
from tests.support.driver import AppDriver
from tests.unit.helpers import signed, transfer


def _files(store: SnapshotStore, height: int) -> dict[str, bytes]:
    folder = store.root / str(height)
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def _transfers(driver: AppDriver, consortium: Consortium, n: int) -> None:
    alice, bob = consortium.member("community-a/alice"), consortium.member("community-a/bob")
    for i in range(n):
        driver.block([signed(driver, alice, transfer(bob, 1 + i))])


def test_a_view_pinned_at_a_commit_reads_that_commit_after_later_blocks_on_sqlite(
    consortium: Consortium, tmp_path: Path
) -> None:
    """A view pinned at height H, read only after three more blocks changed balances on the same
    SQLite database, makes byte for byte the snapshot taken inside H's commit; the live state
    moved on meanwhile (a view of the latest commit makes a different snapshot)."""
    driver = AppDriver(consortium, backend=SQLiteBackend(tmp_path / "state.sqlite"))
    _transfers(driver, consortium, 2)
    height, app_hash = driver.app.state.height, driver.app.state.app_hash
    inside = SnapshotStore(tmp_path / "inside", chunk_bytes=4096)
    assert inside.take(driver.app.state, 2) is not None
    view = driver.app.state.pinned()
    _transfers(driver, consortium, 3)
    assert driver.app.state.height == height + 3
    assert driver.app.state.app_hash != app_hash
    pinned = SnapshotStore(tmp_path / "pinned", chunk_bytes=4096)
    try:
        assert (view.height, view.app_hash) == (height, app_hash)
        taken = pinned.take(view, 2)
    finally:
        view.close()
    assert taken is not None
    assert taken.height == height
    assert _files(pinned, height) == _files(inside, height)
    meta = fmt.decode_metadata(_files(pinned, height)["metadata"])
    assert (meta.height, meta.app_hash) == (height, app_hash)
    latest = SnapshotStore(tmp_path / "latest", chunk_bytes=4096)
    assert latest.take(driver.app.state, 2) is not None
    assert _files(latest, height + 3)["0"] != _files(pinned, height)["0"]
    with pytest.raises(RuntimeError, match="closed"):
        next(view.iter_range(b"", None))


def test_commit_does_not_wait_for_a_snapshot_and_one_due_meanwhile_is_skipped(
    consortium: Consortium, tmp_path: Path
) -> None:
    """With a snapshot every block and the first one held on its worker, three more blocks commit
    while it is unfinished; the snapshots due meanwhile are skipped (one is written at a time) and
    counted in the metrics, and once released the first is listed, at its own height and app hash."""
    driver = AppDriver(
        consortium,
        backend=SQLiteBackend(tmp_path / "state.sqlite"),
        params={SNAPSHOT_INTERVAL: 1, SNAPSHOT_KEEP_RECENT: 5},
    )
    store = SnapshotStore(tmp_path / "snaps")
    release = threading.Event()
    began: list[int] = []
    take = store.take

    def held(state: CommitView, keep_recent: int) -> Taken | None:
        began.append(state.height)
        release.wait(30)
        return take(state, keep_recent)

    setattr(store, "take", held)  # noqa: B010 - hold this instance's worker
    driver.app.snapshots = store
    metrics = Metrics(CollectorRegistry())
    metrics.instrument(driver.app)  # counts the snapshots taken and skipped
    driver.block([])
    first, first_hash = driver.app.state.height, driver.app.state.app_hash
    _transfers(driver, consortium, 3)
    assert driver.app.state.height == first + 3
    assert store.wait(0.05) is False  # still held: the three blocks did not wait for it
    release.set()
    assert store.wait(30)
    assert began == [first]
    # the three blocks' snapshots, due while it was held
    assert metrics.registry.get_sample_value("gridledger_snapshots_skipped_total") == 3
    assert metrics.registry.get_sample_value("gridledger_snapshots_total") == 1
    listed = driver.app.list_snapshots(abci.RequestListSnapshots()).snapshots
    assert [s.height for s in listed] == [first]
    assert fmt.decode_metadata(listed[0].metadata).app_hash == first_hash
    driver.block([])  # the worker is free again: the next due snapshot is taken
    assert store.wait(30)
    assert [s.height for s in driver.app.list_snapshots(abci.RequestListSnapshots()).snapshots] == [
        first + 4,
        first,
    ]


def test_nothing_committed_has_no_view_to_pin() -> None:
    """Pinning before the first commit is refused with the corrupt-state error, not an empty view."""
    with pytest.raises(CorruptStateError):
        MemoryBackend().pinned()


def test_a_snapshot_without_a_thread_costs_the_snapshot_not_the_block(
    consortium: Consortium, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """When no worker thread can be started, the block still commits, the pinned view is released
    and nothing is listed; the next due snapshot is taken."""
    driver = AppDriver(consortium, backend=SQLiteBackend(tmp_path / "state.sqlite"), params={SNAPSHOT_INTERVAL: 1})
    store = SnapshotStore(tmp_path / "snaps")
    driver.app.snapshots = store
    closed: list[int] = []
    pinned = driver.app.state.pinned

    def tracked() -> PinnedView:
        view = pinned()
        close = view.close

        def closing() -> None:
            closed.append(view.height)
            close()

        setattr(view, "close", closing)  # noqa: B010 - observe this view's release
        return view

    monkeypatch.setattr(driver.app.state, "pinned", tracked)

    def no_thread(self: threading.Thread) -> None:
        raise RuntimeError("can't start new thread")

    monkeypatch.setattr(threading.Thread, "start", no_thread)
    driver.block([])
    height = driver.app.state.height
    assert closed == [height]
    assert driver.app.list_snapshots(abci.RequestListSnapshots()).snapshots == []
    monkeypatch.undo()
    driver.block([])
    assert store.wait(30)
    assert [s.height for s in driver.app.list_snapshots(abci.RequestListSnapshots()).snapshots] == [height + 1]
