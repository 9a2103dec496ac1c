"""SQLite (WAL) backend: Commit writes state, trie nodes, height and app hash in one transaction.

Why SQLite: it ships with Python, gives real ACID transactions (one atomic write per
block), ordered range scans and crash safety without a server. WAL mode lets queries
read while a commit is written. `synchronous=NORMAL` keeps commits atomic and
consistent across an app crash; after a power loss the last commits may be rolled
back, which CometBFT repairs by replaying those blocks from its own block store at the
next handshake (the app hash check then proves the replay).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

from abci_app.faults import fault_point
from abci_app.store.backend import CommitBatch, CommitMeta, CorruptStateError

__all__ = ["SQLiteBackend", "SQLiteView"]

SCHEMA_VERSION = 1

# Range reads (iter_range): from a key inclusive / after the last key read, bounded or to the end.
_RANGE_FROM = {
    False: "SELECT k, v FROM kv WHERE k>=? AND k<? ORDER BY k LIMIT ?",
    True: "SELECT k, v FROM kv WHERE k>=? ORDER BY k LIMIT ?",
}
_RANGE_AFTER = {
    False: "SELECT k, v FROM kv WHERE k>? AND k<? ORDER BY k LIMIT ?",
    True: "SELECT k, v FROM kv WHERE k>? ORDER BY k LIMIT ?",
}
_FIRST_PAGE = 16
_MAX_PAGE = 8192


class SQLiteBackend:
    def __init__(self, path: Path | str, *, synchronous: str = "NORMAL") -> None:
        self.path = str(path)
        try:
            self._db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute(f"PRAGMA synchronous={synchronous}")
            self._db.execute("PRAGMA cache_size=-65536")
            self._init_schema()
            check = self._db.execute("PRAGMA quick_check").fetchone()
        except sqlite3.DatabaseError as exc:
            raise CorruptStateError(f"cannot open state database {self.path}: {exc}") from exc
        if check is None or check[0] != "ok":
            raise CorruptStateError(f"state database {self.path} failed its integrity check: {check}")

    def _init_schema(self) -> None:
        db = self._db
        db.execute("CREATE TABLE IF NOT EXISTS kv (k BLOB PRIMARY KEY, v BLOB NOT NULL) WITHOUT ROWID")
        db.execute("CREATE TABLE IF NOT EXISTS nodes (p BLOB PRIMARY KEY, n BLOB NOT NULL) WITHOUT ROWID")
        db.execute("CREATE TABLE IF NOT EXISTS meta (k TEXT PRIMARY KEY, v BLOB NOT NULL)")
        row = db.execute("SELECT v FROM meta WHERE k='schema'").fetchone()
        if row is None:
            db.execute("INSERT INTO meta VALUES ('schema', ?)", (str(SCHEMA_VERSION).encode(),))
        elif row[0] != str(SCHEMA_VERSION).encode():
            raise CorruptStateError(f"state database schema {row[0]!r}, expected {SCHEMA_VERSION}")

    def get(self, key: bytes) -> bytes | None:
        row = self._db.execute("SELECT v FROM kv WHERE k=?", (key,)).fetchone()
        return None if row is None else bytes(row[0])

    def iter_range(self, start: bytes, end: bytes | None) -> Iterator[tuple[bytes, bytes]]:
        """Items with start <= key < end in key order, read in pages (`_pages`)."""
        return _pages(self._db, start, end)

    def get_node(self, path: bytes) -> bytes | None:
        row = self._db.execute("SELECT n FROM nodes WHERE p=?", (path,)).fetchone()
        return None if row is None else bytes(row[0])

    def meta(self) -> CommitMeta | None:
        return _meta(self._db, self.path)

    def pinned(self) -> SQLiteView:
        """A view of the last commit on a connection of its own, inside a read transaction: WAL
        mode keeps what that transaction sees while this connection commits further blocks."""
        db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        try:
            db.execute("PRAGMA query_only=ON")
            db.execute("BEGIN")
            meta = _meta(db, self.path)  # the first read starts the transaction's snapshot
            if meta is None:
                raise CorruptStateError(f"state database {self.path} has nothing committed: no view to pin")
        except BaseException:
            db.close()
            raise
        return SQLiteView(db, meta)

    def commit(self, batch: CommitBatch) -> None:
        db = self._db
        puts = [(k, v) for k, v in batch.kv.items() if v is not None]
        dels = [(k,) for k, v in batch.kv.items() if v is None]
        node_puts = [(p, n) for p, n in batch.nodes.items() if n is not None]
        node_dels = [(p,) for p, n in batch.nodes.items() if n is None]
        db.execute("BEGIN IMMEDIATE")
        try:
            db.executemany("INSERT OR REPLACE INTO kv VALUES (?, ?)", puts)
            db.executemany("DELETE FROM kv WHERE k=?", dels)
            db.executemany("INSERT OR REPLACE INTO nodes VALUES (?, ?)", node_puts)
            db.executemany("DELETE FROM nodes WHERE p=?", node_dels)
            db.execute("INSERT OR REPLACE INTO meta VALUES ('height', ?)", (str(batch.meta.height).encode(),))
            db.execute("INSERT OR REPLACE INTO meta VALUES ('app_hash', ?)", (batch.meta.app_hash,))
            fault_point("commit_mid_write")
            db.execute("COMMIT")
        except BaseException:
            # SQLite may already have rolled back by itself (it does on a full disk); a second
            # ROLLBACK would then raise and hide the real error behind "no transaction is active".
            if db.in_transaction:
                db.execute("ROLLBACK")
            raise

    def close(self) -> None:
        self._db.close()


class SQLiteView:
    """SQLiteBackend.pinned's view: its own connection, held in one read transaction until
    `close`. While it is open, SQLite cannot checkpoint the WAL past it, so the WAL file grows
    with the blocks committed meanwhile and shrinks back at the checkpoints after it."""

    def __init__(self, db: sqlite3.Connection, meta: CommitMeta) -> None:
        self._db: sqlite3.Connection | None = db
        self.height = meta.height
        self.app_hash = meta.app_hash

    def iter_range(self, start: bytes, end: bytes | None) -> Iterator[tuple[bytes, bytes]]:
        if self._db is None:
            raise RuntimeError("the pinned view is closed")
        return _pages(self._db, start, end)

    def close(self) -> None:
        db, self._db = self._db, None
        if db is not None:
            db.close()  # ends the read transaction


def _meta(db: sqlite3.Connection, path: str) -> CommitMeta | None:
    rows = dict(db.execute("SELECT k, v FROM meta WHERE k IN ('height','app_hash')").fetchall())
    if "height" not in rows:
        return None
    if "app_hash" not in rows:
        raise CorruptStateError(f"state database {path} has a height but no app hash")
    return CommitMeta(height=int(bytes(rows["height"]).decode()), app_hash=bytes(rows["app_hash"]))


def _pages(db: sqlite3.Connection, start: bytes, end: bytes | None) -> Iterator[tuple[bytes, bytes]]:
    """Items with start <= key < end in key order, read in pages: the first small, then
    growing, so a caller that takes the first rows of a long range (`next(...)`, `islice`)
    reads those and not the range (a hook that looks for the earliest due record must not
    cost the size of the index). No statement stays open between pages."""
    bound: tuple[bytes, ...] = () if end is None else (end,)
    rows = db.execute(_RANGE_FROM[end is None], (start, *bound, _FIRST_PAGE)).fetchall()
    page = _FIRST_PAGE
    while True:
        for k, v in rows:
            yield bytes(k), bytes(v)
        if len(rows) < page:
            return
        page = min(page * 8, _MAX_PAGE)
        rows = db.execute(_RANGE_AFTER[end is None], (rows[-1][0], *bound, page)).fetchall()
