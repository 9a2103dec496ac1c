"""The storage layer: copy-on-write branches, the SQLite backend's atomic commit, and corruption checks."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from abci_app.store import sqlite as sqlite_module
from abci_app.store.backend import CommitBatch, CommitMeta, CorruptStateError, MemoryBackend, prefix_end
from abci_app.store.branch import Branch
from abci_app.store.commitment import EMPTY_ROOT
from abci_app.store.sqlite import SQLiteBackend
from abci_app.store.state import CommittedState


def _committed(items: dict[bytes, bytes]) -> CommittedState:
    state = CommittedState(MemoryBackend())
    state.stage(dict(items))
    state.commit(1)
    return state


# -- Branch ---------------------------------------------------------------------------------


def test_branch_reads_fall_through_to_the_parent() -> None:
    """A branch returns the parent's value for keys it has not written, and its own for keys it has."""
    parent = _committed({b"a": b"1", b"b": b"2"})
    br = Branch(parent)
    br.set(b"b", b"two")
    br.set(b"c", b"3")
    assert br.get(b"a") == b"1"
    assert br.get(b"b") == b"two"
    assert br.get(b"c") == b"3"
    assert br.get(b"zz") is None
    # The parent is untouched until something is committed.
    assert parent.get(b"b") == b"2"
    assert parent.get(b"c") is None


def test_branch_deletes_shadow_the_parent() -> None:
    """A delete in a branch hides the parent's value, in `get`, `has` and in nested branches."""
    parent = _committed({b"a": b"1"})
    br = Branch(parent)
    br.delete(b"a")
    assert br.get(b"a") is None
    assert not br.has(b"a")
    child = br.branch()
    assert child.get(b"a") is None
    child.set(b"a", b"back")
    assert child.get(b"a") == b"back"
    assert br.get(b"a") is None
    assert parent.get(b"a") == b"1"


def test_branch_merge_into_applies_writes_and_deletes() -> None:
    """merge_into copies a child's sets and deletes into its parent; discarding the child leaves the parent alone."""
    parent = _committed({b"a": b"1", b"b": b"2"})
    block = Branch(parent)
    tx = block.branch()
    tx.set(b"a", b"10")
    tx.delete(b"b")
    tx.set(b"c", b"30")
    discarded = block.branch()
    discarded.set(b"d", b"never")
    assert block.get(b"a") == b"1"
    tx.merge_into(block)
    assert block.writes == {b"a": b"10", b"b": None, b"c": b"30"}
    assert block.get(b"a") == b"10"
    assert block.get(b"b") is None
    assert block.get(b"d") is None


def test_branch_iter_range_merges_in_key_order_and_hides_deletes() -> None:
    """iter_range merges the parent's items with the branch's own, in key order, own writes winning, deletes hidden."""
    parent = _committed({b"\x01a": b"pa", b"\x01c": b"pc", b"\x01e": b"pe", b"\x02x": b"other"})
    br = Branch(parent)
    br.set(b"\x01b", b"bb")  # new, between parent keys
    br.set(b"\x01c", b"bc")  # overrides
    br.delete(b"\x01e")  # hides
    br.set(b"\x01f", b"bf")  # after all parent keys
    br.delete(b"\x01zz")  # delete of a key that never existed
    child = br.branch()
    child.set(b"\x01a", b"ca")
    child.delete(b"\x01b")
    child.set(b"\x00", b"before the range")
    assert list(br.iter_prefix(b"\x01")) == [
        (b"\x01a", b"pa"),
        (b"\x01b", b"bb"),
        (b"\x01c", b"bc"),
        (b"\x01f", b"bf"),
    ]
    assert list(child.iter_range(b"\x01", prefix_end(b"\x01"))) == [
        (b"\x01a", b"ca"),
        (b"\x01c", b"bc"),
        (b"\x01f", b"bf"),
    ]
    # Open-ended range and a range with no own writes in it.
    assert [k for k, _ in child.iter_range(b"\x01d", None)] == [b"\x01f", b"\x02x"]
    assert list(child.iter_range(b"\x02", b"\x03")) == [(b"\x02x", b"other")]


def test_prefix_end() -> None:
    """prefix_end gives the first key after every key with the prefix (None when there is none)."""
    assert prefix_end(b"\x01") == b"\x02"
    assert prefix_end(b"\x01\xff") == b"\x02"
    assert prefix_end(b"\xff\xff") is None
    assert prefix_end(b"") is None


# -- SQLite backend ---------------------------------------------------------------------------


def _block(height: int) -> dict[bytes, bytes | None]:
    writes: dict[bytes, bytes | None] = {f"k{height}-{i:03d}".encode(): f"v{height}-{i}".encode() for i in range(50)}
    if height > 1:
        writes[b"k1-000"] = f"updated at {height}".encode()
        writes[f"k{height - 1}-001".encode()] = None
    return writes


def _commit_blocks(path: Path, heights: range) -> dict[int, bytes]:
    backend = SQLiteBackend(path)
    state = CommittedState(backend)
    hashes = {}
    for h in heights:
        state.stage(_block(h))
        hashes[h] = state.commit(h)
    backend.close()
    return hashes


def test_sqlite_reopen_restores_height_app_hash_and_values(tmp_path: Path) -> None:
    """After close and reopen, height, app hash, values, deletes and proofs are those of the last commit."""
    path = tmp_path / "state.sqlite"
    hashes = _commit_blocks(path, range(1, 4))
    backend = SQLiteBackend(path)
    try:
        state = CommittedState(backend)
        assert state.height == 3
        assert state.app_hash == hashes[3]
        assert state.trie.committed_root == hashes[3]
        assert state.get(b"k1-000") == b"updated at 3"
        assert state.get(b"k2-001") is None  # deleted at height 3
        assert state.get(b"k1-001") is None  # deleted at height 2
        assert state.get(b"k3-049") == b"v3-49"
        keys = [k for k, _ in state.iter_range(b"k2", b"k3")]
        assert keys == sorted(keys)
        assert len(keys) == 49
        # The same writes on a memory backend give the same hashes: the backend is not in the hash.
        mem = CommittedState(MemoryBackend())
        for h in range(1, 4):
            mem.stage(_block(h))
            assert mem.commit(h) == hashes[h]
    finally:
        backend.close()


def test_sqlite_range_reads_page_through_long_ranges_and_take_only_what_is_used(tmp_path: Path) -> None:
    """iter_range gives every item of a long range once, in key order, bounded or to the end and from
    any start; a caller taking the first item reads one small page, not the range."""
    backend = SQLiteBackend(tmp_path / "state.sqlite")
    try:
        items = {b"a%05d" % i: b"%d" % i for i in range(0, 30_000, 3)}
        items[b"b"] = b"after"
        backend.commit(CommitBatch(kv=dict(items), nodes={}, meta=CommitMeta(1, b"h")))
        keys = sorted(items)
        assert list(backend.iter_range(b"a", b"b")) == [(k, items[k]) for k in keys if k < b"b"]
        assert list(backend.iter_range(b"a00100", None)) == [(k, items[k]) for k in keys if k >= b"a00100"]
        assert list(backend.iter_range(b"a00100", b"a00103")) == [(b"a00102", b"102")]
        assert list(backend.iter_range(b"c", None)) == []
        statements: list[str] = []
        backend._db.set_trace_callback(statements.append)
        assert next(iter(backend.iter_range(b"a", None))) == (b"a00000", b"0")
        assert [st for st in statements if st.startswith("SELECT")] == [
            "SELECT k, v FROM kv WHERE k>=x'61' ORDER BY k LIMIT 16"
        ]
    finally:
        backend.close()


def test_sqlite_commit_that_fails_midway_changes_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A Commit that raises inside the write transaction leaves the previous height, app hash and state on disk."""
    path = tmp_path / "state.sqlite"
    hashes = _commit_blocks(path, range(1, 3))

    def crash(name: str) -> None:
        if name == "commit_mid_write":
            raise RuntimeError("simulated crash in the middle of the commit")

    monkeypatch.setattr(sqlite_module, "fault_point", crash)
    backend = SQLiteBackend(path)
    state = CommittedState(backend)
    staged_hash = state.stage(_block(3))
    with pytest.raises(RuntimeError, match="simulated crash"):
        state.commit(3)
    backend.close()
    monkeypatch.undo()

    backend = SQLiteBackend(path)
    try:
        state = CommittedState(backend)  # would raise CorruptStateError if trie and meta disagreed
        assert state.height == 2
        assert state.app_hash == hashes[2]
        assert state.get(b"k1-000") == b"updated at 2"
        assert state.get(b"k3-000") is None
        assert state.get(b"k2-001") == b"v2-1"
        # Replaying the lost block gives the hash it would have had.
        state.stage(_block(3))
        assert state.commit(3) == staged_hash
    finally:
        backend.close()


def _corrupt_middle_pages(path: Path, pages: int = 3) -> None:
    size = path.stat().st_size
    page = 4096
    start = (size // 2) // page * page
    with path.open("r+b") as f:
        f.seek(start)
        f.write(bytes((0xA5,)) * (page * pages))


def _open_state(path: Path) -> None:
    backend = SQLiteBackend(path)
    try:
        CommittedState(backend)
    finally:
        backend.close()


def test_sqlite_corrupted_file_is_refused(tmp_path: Path) -> None:
    """Overwriting pages in the middle of the database file makes opening it raise CorruptStateError."""
    path = tmp_path / "state.sqlite"
    _commit_blocks(path, range(1, 30))
    assert not (tmp_path / "state.sqlite-wal").exists() or (tmp_path / "state.sqlite-wal").stat().st_size == 0
    _corrupt_middle_pages(path)
    with pytest.raises(CorruptStateError):
        _open_state(path)


def test_sqlite_non_database_file_is_refused(tmp_path: Path) -> None:
    """A file that is not SQLite at all is refused with CorruptStateError, not an sqlite3 error."""
    path = tmp_path / "state.sqlite"
    path.write_bytes(b"this is not a database" * 500)
    with pytest.raises(CorruptStateError):
        SQLiteBackend(path)


def _assert_refused(path: Path, match: str | None = None) -> None:
    """Opening the committed state at `path` raises CorruptStateError (matching `match`)."""
    backend = SQLiteBackend(path)
    try:
        with pytest.raises(CorruptStateError, match=match):
            CommittedState(backend)
    finally:
        backend.close()


def test_stored_app_hash_mismatching_the_trie_is_refused(tmp_path: Path) -> None:
    """A stored app hash that is not the trie's root makes CommittedState refuse to start."""
    path = tmp_path / "state.sqlite"
    hashes = _commit_blocks(path, range(1, 3))
    with sqlite3.connect(path) as db:
        db.execute("UPDATE meta SET v=? WHERE k='app_hash'", (hashes[1],))
    db.close()
    _assert_refused(path, match="does not match")


def test_missing_trie_root_is_refused(tmp_path: Path) -> None:
    """Losing the trie's root node (state without its commitment) makes CommittedState refuse to start."""
    path = tmp_path / "state.sqlite"
    _commit_blocks(path, range(1, 3))
    with sqlite3.connect(path) as db:
        db.execute("DELETE FROM nodes WHERE p=x''")
    db.close()
    _assert_refused(path)


def test_height_without_app_hash_is_refused(tmp_path: Path) -> None:
    """A database with a height but no app hash is reported as corrupt."""
    path = tmp_path / "state.sqlite"
    _commit_blocks(path, range(1, 2))
    with sqlite3.connect(path) as db:
        db.execute("DELETE FROM meta WHERE k='app_hash'")
    db.close()
    _assert_refused(path)


def test_committed_state_refuses_inconsistent_memory_backend() -> None:
    """CommittedState checks the meta against the trie on any backend, not only SQLite."""
    backend = MemoryBackend()
    backend.commit(CommitBatch(kv={b"a": b"1"}, nodes={}, meta=CommitMeta(5, b"\x11" * 32)))
    with pytest.raises(CorruptStateError):
        CommittedState(backend)


def test_fresh_state_is_empty() -> None:
    """A new backend gives height 0, no app hash and the empty trie root."""
    state = CommittedState(MemoryBackend())
    assert state.height == 0
    assert state.app_hash == b""
    assert state.trie.committed_root == EMPTY_ROOT
    assert state.stage({}) == EMPTY_ROOT


def test_distinct_times_seeks_each_time_once() -> None:
    """Distinct u64 times of a time-keyed collection up to a bound, ascending, other collections ignored."""
    from abci_app.store.scan import distinct_times

    store = Branch(MemoryBackend())
    for t, rest in ((5, b"a"), (5, b"b"), (9, b"a"), (12, b"c"), (40, b"z")):
        store.set(b"\x41" + t.to_bytes(8, "big") + rest, b"")
    store.set(b"\x42" + (7).to_bytes(8, "big"), b"")
    assert distinct_times(store, b"\x41", 12) == [5, 9, 12]
    assert distinct_times(store, b"\x41", 4) == []
    assert distinct_times(store, b"\x42", 100) == [7]
