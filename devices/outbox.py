"""Durable outbox: every signed reading stays on disk until the ledger has committed it.

One SQLite database in WAL mode with `synchronous=FULL`: once `put` returns, the reading
survives a process crash or a power loss. A reading is `pending` until the ledger accepts it
(or answers "duplicate", which means an identical reading was accepted earlier: committed too),
or rejects it with a code and a reason. Readings are resent in the order they were stored.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from gridwire.reading import Reading

from devices.records import SignedReading

__all__ = ["Outbox", "OutboxConflictError", "OutboxCounts"]

PENDING: Final = "pending"
COMMITTED: Final = "committed"
REJECTED: Final = "rejected"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS readings (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    device_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    start INTEGER NOT NULL,
    "end" INTEGER NOT NULL,
    import_wh INTEGER NOT NULL,
    export_wh INTEGER NOT NULL,
    charged_wh INTEGER NOT NULL,
    discharged_wh INTEGER NOT NULL,
    soc_wh INTEGER NOT NULL,
    signature BLOB NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('pending', 'committed', 'rejected')),
    height INTEGER,
    code INTEGER,
    reason TEXT,
    UNIQUE (device_id, seq)
);
CREATE INDEX IF NOT EXISTS readings_state ON readings (state, id);
"""

_COLUMNS = 'device_id, seq, start, "end", import_wh, export_wh, charged_wh, discharged_wh, soc_wh, signature'


class OutboxConflictError(Exception):
    """A different reading is already stored under the same (device_id, seq)."""


@dataclass(frozen=True, slots=True)
class OutboxCounts:
    """How many readings are in each state."""

    pending: int
    committed: int
    rejected: int


def _row_to_signed(row: tuple[object, ...]) -> SignedReading:
    device_id, seq, start, end, imp, exp, chg, dis, soc, sig = row
    assert isinstance(device_id, str)
    assert isinstance(sig, bytes)
    ints = [int(v) for v in (seq, start, end, imp, exp, chg, dis, soc)]  # type: ignore[call-overload]
    return SignedReading(Reading(device_id, *ints), sig)


class Outbox:
    """The gateway's durable queue of signed readings (one SQLite file; single-threaded use)."""

    def __init__(self, path: Path | str) -> None:
        self._db = sqlite3.connect(str(path), isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.executescript(_SCHEMA)

    def close(self) -> None:
        """Close the database (everything stored is already durable)."""
        self._db.close()

    def __enter__(self) -> Outbox:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def put(self, signed: SignedReading) -> bool:
        """Store `signed` as pending; True if new, False if the identical reading was already stored.

        Raises OutboxConflictError when another reading (or signature) has the same device and seq.
        """
        r = signed.reading
        values = (
            r.device_id,
            r.seq,
            r.start,
            r.end,
            r.import_wh,
            r.export_wh,
            r.charged_wh,
            r.discharged_wh,
            r.soc_wh,
            signed.signature,
        )
        cur = self._db.execute(
            f"INSERT OR IGNORE INTO readings ({_COLUMNS}, state) VALUES (?,?,?,?,?,?,?,?,?,?, 'pending')",  # noqa: S608
            values,
        )
        if cur.rowcount == 1:
            return True
        stored = self.get(r.device_id, r.seq)
        if stored != signed:
            raise OutboxConflictError(f"{r.device_id} seq {r.seq} is already stored with other content")
        return False

    def get(self, device_id: str, seq: int) -> SignedReading | None:
        """The stored reading for (device_id, seq), whatever its state."""
        row = self._db.execute(
            f"SELECT {_COLUMNS} FROM readings WHERE device_id = ? AND seq = ?",  # noqa: S608
            (device_id, seq),
        ).fetchone()
        return None if row is None else _row_to_signed(row)

    def state(self, device_id: str, seq: int) -> str | None:
        """'pending', 'committed', 'rejected', or None when unknown."""
        row = self._db.execute(
            "SELECT state FROM readings WHERE device_id = ? AND seq = ?", (device_id, seq)
        ).fetchone()
        return None if row is None else str(row[0])

    def pending(self, limit: int) -> list[SignedReading]:
        """Up to `limit` pending readings, oldest first (per device always in seq order)."""
        rows = self._db.execute(
            f"SELECT {_COLUMNS} FROM readings WHERE state = 'pending' ORDER BY id LIMIT ?",  # noqa: S608
            (limit,),
        ).fetchall()
        return [_row_to_signed(row) for row in rows]

    def last(self, device_id: str) -> SignedReading | None:
        """The device's reading with the highest seq ever stored (the resume point after a restart)."""
        row = self._db.execute(
            f"SELECT {_COLUMNS} FROM readings WHERE device_id = ? ORDER BY seq DESC LIMIT 1",  # noqa: S608
            (device_id,),
        ).fetchone()
        return None if row is None else _row_to_signed(row)

    def mark_committed(self, device_id: str, seq: int, height: int) -> None:
        """Record that the ledger committed (or already had) this reading at `height`."""
        self._db.execute(
            "UPDATE readings SET state = 'committed', height = ? WHERE device_id = ? AND seq = ?",
            (height, device_id, seq),
        )

    def mark_rejected(self, device_id: str, seq: int, code: int, reason: str) -> None:
        """Record the ledger's rejection code and reason; the reading is not resent."""
        self._db.execute(
            "UPDATE readings SET state = 'rejected', code = ?, reason = ? WHERE device_id = ? AND seq = ?",
            (code, reason, device_id, seq),
        )

    def rejection(self, device_id: str, seq: int) -> tuple[int, str] | None:
        """(code, reason) of a rejected reading, else None."""
        row = self._db.execute(
            "SELECT code, reason FROM readings WHERE device_id = ? AND seq = ? AND state = 'rejected'",
            (device_id, seq),
        ).fetchone()
        return None if row is None else (int(row[0]), str(row[1]))

    def counts(self) -> OutboxCounts:
        """Readings per state."""
        found = dict(self._db.execute("SELECT state, COUNT(*) FROM readings GROUP BY state").fetchall())
        return OutboxCounts(
            pending=int(found.get(PENDING, 0)),
            committed=int(found.get(COMMITTED, 0)),
            rejected=int(found.get(REJECTED, 0)),
        )

    def prune(self) -> int:
        """Delete settled (committed or rejected) readings except each device's highest seq; returns the count."""
        cur = self._db.execute(
            "DELETE FROM readings WHERE state != 'pending' AND seq < "
            "(SELECT MAX(r2.seq) FROM readings r2 WHERE r2.device_id = readings.device_id)"
        )
        return int(cur.rowcount)
