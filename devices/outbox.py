"""Durable outbox: every signed reading stays on disk until the ledger has committed it.

One SQLite database in WAL mode with `synchronous=FULL`: once `put` returns, the reading
survives a process crash or a power loss. A reading is `pending` until the ledger accepts it
(or answers "duplicate", which means an identical reading was accepted earlier: committed too),
or rejects it with a code and a reason. Readings are resent in the order they were stored.

The same file keeps each finished EV session's certificate claim (`session_claims`): stored
when the session ends, `pending` until the ledger's answer is final (`done`, with the share the
certificates cover) or the claim is refused for good (`given_up`, with the reason); the retry
schedule (attempts, failures in a row, next attempt) is stored with it, so a restart resumes it
(devices/session_claims.py runs it).

It also keeps the EV chargers' OCPP transactions (`ocpp_transactions`, see devices/ocpp_central.py):
a transaction is stored `open` when its StartTransaction arrives, before the charger gets its
transaction id (ids come from the table's AUTOINCREMENT, so no id is ever handed out twice, not
even across restarts); MeterValues update its last register; its StopTransaction turns it
`closed` in the same SQLite transaction that stores the finished session's claim, so a crash
either leaves it open (the charger resends the StopTransaction, which then finishes it) or has
done both. A closed transaction is kept, so a resent StopTransaction is recognised and ignored.

It also keeps how far the gateway has read the bridge's Signals stream (`gateway_state`, one row
per stream: the last height whose signals were handed to the controller) and the signals read
that are still in force (`signals_kept`: prices, demand-response events and alerts until their
end), both written in one SQLite transaction per stream response (devices/bridge_signals.py), so a
restarted gateway gives its controller what is still in force and resumes the stream after that
height: nothing is missed or read twice.

Tables are only ever added (`CREATE TABLE IF NOT EXISTS`), so an outbox file of an older gateway
opens as it is and gains the new tables.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from gridwire.reading import Reading

from devices.records import SignedReading

__all__ = ["OcppTransaction", "Outbox", "OutboxConflictError", "OutboxCounts", "SessionClaim", "StoredClaim"]

PENDING: Final = "pending"
COMMITTED: Final = "committed"
REJECTED: Final = "rejected"
DONE: Final = "done"  # a session claim whose answer is final
GIVEN_UP: Final = "given_up"  # a session claim refused for good, or never answered
OPEN: Final = "open"  # an OCPP transaction started and not stopped yet
CLOSED: Final = "closed"  # an OCPP transaction whose StopTransaction was handled

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
CREATE TABLE IF NOT EXISTS session_claims (
    session_id TEXT PRIMARY KEY,
    device_id TEXT NOT NULL,
    owner BLOB NOT NULL,
    start INTEGER NOT NULL,
    "end" INTEGER NOT NULL,
    wh INTEGER NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('pending', 'done', 'given_up')),
    attempts INTEGER NOT NULL DEFAULT 0,
    failures INTEGER NOT NULL DEFAULT 0,
    created_at REAL NOT NULL,
    next_attempt_at REAL NOT NULL,
    last_error TEXT NOT NULL DEFAULT '',
    covered_wh INTEGER NOT NULL DEFAULT 0,
    share_bp INTEGER NOT NULL DEFAULT 0,
    retirement_ids TEXT NOT NULL DEFAULT '',
    finished_at REAL
);
CREATE INDEX IF NOT EXISTS session_claims_due ON session_claims (state, next_attempt_at);
CREATE TABLE IF NOT EXISTS ocpp_transactions (
    transaction_id INTEGER PRIMARY KEY AUTOINCREMENT,
    charge_point_id TEXT NOT NULL,
    connector_id INTEGER NOT NULL,
    id_tag TEXT NOT NULL,
    meter_start INTEGER NOT NULL,
    start INTEGER NOT NULL,
    last_wh INTEGER NOT NULL,
    last_at INTEGER NOT NULL,
    priced_wh INTEGER NOT NULL,
    cost_milli INTEGER NOT NULL DEFAULT 0,
    state TEXT NOT NULL CHECK (state IN ('open', 'closed')),
    meter_stop INTEGER,
    "end" INTEGER,
    closed_at REAL
);
CREATE INDEX IF NOT EXISTS ocpp_transactions_cp ON ocpp_transactions (charge_point_id, state);
CREATE TABLE IF NOT EXISTS gateway_state (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS signals_kept (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    stream TEXT NOT NULL,
    height INTEGER NOT NULL,
    body TEXT NOT NULL,
    until INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS signals_kept_stream ON signals_kept (stream, until);
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


_CLAIM_COLUMNS = (
    'session_id, device_id, owner, start, "end", wh, state, attempts, failures, created_at, '
    "next_attempt_at, last_error, covered_wh, share_bp, retirement_ids, finished_at"
)


@dataclass(frozen=True, slots=True)
class SessionClaim:
    """What a finished EV session claims: the owner's certificates of its hours for its Wh."""

    session_id: str  # unique per owner: "<device>/<start>/<transaction id>"
    device_id: str
    owner: bytes  # the beneficiary (the charger's owner, whose key signs the claim)
    start: int
    end: int
    wh: int


@dataclass(frozen=True, slots=True)
class StoredClaim:
    """A session claim with its state, retry schedule and latest answer ("charged with X %")."""

    claim: SessionClaim
    state: str  # pending | done | given_up
    attempts: int  # every attempt so far
    failures: int  # attempts in a row that got no answer from the ledger
    created_at: float
    next_attempt_at: float
    last_error: str  # why the latest attempt did not finish the claim ('' when it did)
    covered_wh: int  # of claim.wh, covered by retired certificates (so far, while pending)
    share_bp: int  # covered_wh / wh in basis points
    retirement_ids: tuple[int, ...]
    finished_at: float | None  # when it became done or given_up


_TX_COLUMNS = (
    "transaction_id, charge_point_id, connector_id, id_tag, meter_start, start, last_wh, last_at, "
    'priced_wh, cost_milli, state, meter_stop, "end"'
)


@dataclass(frozen=True, slots=True)
class OcppTransaction:
    """An EV charger's OCPP transaction as the gateway stored it (open, or closed by its stop)."""

    transaction_id: int  # handed to the charger in StartTransaction.conf; never reused
    charge_point_id: str
    connector_id: int
    id_tag: str
    meter_start: int  # Wh
    start: int  # unix time of the StartTransaction's timestamp
    last_wh: int  # the last register seen (MeterValues; meter_stop once closed)
    last_at: int  # its unix time
    priced_wh: int  # the highest register priced so far (increments are priced at their time)
    cost_milli: int  # the cost so far in thousandths of a minor unit
    state: str  # open | closed
    meter_stop: int | None
    end: int | None


def _row_to_tx(row: tuple[object, ...]) -> OcppTransaction:
    tx, cp, conn, tag, m_start, start, last_wh, last_at, priced, cost, state, m_stop, end = row
    return OcppTransaction(
        _int(tx),
        str(cp),
        _int(conn),
        str(tag),
        _int(m_start),
        _int(start),
        _int(last_wh),
        _int(last_at),
        _int(priced),
        _int(cost),
        str(state),
        None if m_stop is None else _int(m_stop),
        None if end is None else _int(end),
    )


def _int(value: object) -> int:
    assert isinstance(value, int)
    return value


def _float(value: object) -> float:
    assert isinstance(value, int | float)
    return float(value)


def _row_to_claim(row: tuple[object, ...]) -> StoredClaim:
    sid, dev, owner, start, end, wh, state, att, fail, created, nxt, err, cov, share, rids, fin = row
    assert isinstance(owner, bytes)
    return StoredClaim(
        claim=SessionClaim(str(sid), str(dev), owner, _int(start), _int(end), _int(wh)),
        state=str(state),
        attempts=_int(att),
        failures=_int(fail),
        created_at=_float(created),
        next_attempt_at=_float(nxt),
        last_error=str(err),
        covered_wh=_int(cov),
        share_bp=_int(share),
        retirement_ids=tuple(int(x) for x in str(rids).split(",") if x),
        finished_at=None if fin is None else _float(fin),
    )


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

    # -- session claims --------------------------------------------------------------------

    def add_claim(self, claim: SessionClaim, now: float) -> bool:
        """Store `claim` as pending, due at `now`; True if new, False if the same claim was stored.

        Raises OutboxConflictError when another claim is stored under the same session id."""
        c = claim
        cur = self._db.execute(
            'INSERT OR IGNORE INTO session_claims (session_id, device_id, owner, start, "end", wh, state, '
            "created_at, next_attempt_at) VALUES (?,?,?,?,?,?, 'pending', ?, ?)",
            (c.session_id, c.device_id, c.owner, c.start, c.end, c.wh, now, now),
        )
        if cur.rowcount == 1:
            return True
        stored = self.get_claim(c.session_id)
        if stored is None or stored.claim != c:
            raise OutboxConflictError(f"session {c.session_id} is already stored with another claim")
        return False

    # -- OCPP transactions -----------------------------------------------------------------

    def open_transaction(
        self, charge_point_id: str, connector_id: int, id_tag: str, meter_start: int, start: int
    ) -> tuple[OcppTransaction, bool]:
        """Store a started transaction as open (durable when this returns) and allocate its id:
        (the transaction, True). A StartTransaction resent with the same content (its answer was
        lost) finds the open transaction it created: (that transaction, False), so the charger
        gets the same id again and no orphan stays open."""
        with self._write():
            row = self._db.execute(
                f"SELECT {_TX_COLUMNS} FROM ocpp_transactions WHERE state = 'open' AND charge_point_id = ? "  # noqa: S608
                "AND connector_id = ? AND id_tag = ? AND meter_start = ? AND start = ? "
                "ORDER BY transaction_id LIMIT 1",
                (charge_point_id, connector_id, id_tag, meter_start, start),
            ).fetchone()
            if row is not None:
                return _row_to_tx(row), False
            cur = self._db.execute(
                "INSERT INTO ocpp_transactions (charge_point_id, connector_id, id_tag, meter_start, start, "
                "last_wh, last_at, priced_wh, state) VALUES (?,?,?,?,?,?,?,?, 'open')",
                (charge_point_id, connector_id, id_tag, meter_start, start, meter_start, start, meter_start),
            )
            tx_id = cur.lastrowid
        assert tx_id is not None
        found = self.transaction(tx_id)
        assert found is not None
        return found, True

    def transaction(self, transaction_id: int) -> OcppTransaction | None:
        """The stored transaction with this id (open or closed), else None."""
        row = self._db.execute(
            f"SELECT {_TX_COLUMNS} FROM ocpp_transactions WHERE transaction_id = ?",  # noqa: S608
            (transaction_id,),
        ).fetchone()
        return None if row is None else _row_to_tx(row)

    def open_transactions(self, charge_point_id: str | None = None) -> list[OcppTransaction]:
        """The open transactions (of one charge point, or all), oldest first."""
        where, args = ("", ()) if charge_point_id is None else ("AND charge_point_id = ?", (charge_point_id,))
        rows = self._db.execute(
            f"SELECT {_TX_COLUMNS} FROM ocpp_transactions WHERE state = 'open' {where} "  # noqa: S608
            "ORDER BY transaction_id",
            args,
        ).fetchall()
        return [_row_to_tx(row) for row in rows]

    def record_meter(self, transaction_id: int, wh: int, at: int, priced_wh: int, cost_milli: int) -> bool:
        """Record an open transaction's last register (`wh` at `at`) and its pricing so far;
        False when it is not open (unknown or closed)."""
        cur = self._db.execute(
            "UPDATE ocpp_transactions SET last_wh = ?, last_at = ?, priced_wh = ?, cost_milli = ? "
            "WHERE transaction_id = ? AND state = 'open'",
            (wh, at, priced_wh, cost_milli, transaction_id),
        )
        return cur.rowcount == 1

    def close_transaction(
        self,
        transaction_id: int,
        meter_stop: int,
        end: int,
        cost_milli: int,
        *,
        claim: SessionClaim | None,
        now: float,
    ) -> bool:
        """Close an open transaction and store its session's `claim` (when there is one, pending
        and due at `now`) in one SQLite transaction: both happen or neither. False (and nothing
        stored) when the transaction is not open: unknown, or closed by an earlier StopTransaction.

        Raises OutboxConflictError (nothing stored) when another claim has the claim's session id."""
        with self._write():
            cur = self._db.execute(
                'UPDATE ocpp_transactions SET state = ?, meter_stop = ?, "end" = ?, last_wh = ?, last_at = ?, '
                "cost_milli = ?, closed_at = ? WHERE transaction_id = ? AND state = ?",
                (CLOSED, meter_stop, end, meter_stop, end, cost_milli, now, transaction_id, OPEN),
            )
            if cur.rowcount != 1:
                return False
            if claim is not None:
                self.add_claim(claim, now)
        return True

    def ocpp_register(self, charge_point_id: str) -> int | None:
        """The highest register a charge point reported in any stored transaction (None: none)."""
        row = self._db.execute(
            "SELECT MAX(last_wh) FROM ocpp_transactions WHERE charge_point_id = ?", (charge_point_id,)
        ).fetchone()
        return None if row is None or row[0] is None else int(row[0])

    @contextlib.contextmanager
    def _write(self) -> Iterator[None]:
        """One write transaction (BEGIN IMMEDIATE … COMMIT; rolled back when the block raises)."""
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    def get_claim(self, session_id: str) -> StoredClaim | None:
        """The stored claim of `session_id`, whatever its state."""
        row = self._db.execute(
            f"SELECT {_CLAIM_COLUMNS} FROM session_claims WHERE session_id = ?",  # noqa: S608
            (session_id,),
        ).fetchone()
        return None if row is None else _row_to_claim(row)

    def claims(self, state: str | None = None) -> list[StoredClaim]:
        """Every stored claim (or those in `state`), oldest first."""
        where, args = ("", ()) if state is None else ("WHERE state = ?", (state,))
        rows = self._db.execute(
            f"SELECT {_CLAIM_COLUMNS} FROM session_claims {where} ORDER BY created_at, session_id",  # noqa: S608
            args,
        ).fetchall()
        return [_row_to_claim(row) for row in rows]

    def due_claims(self, now: float, limit: int) -> list[StoredClaim]:
        """Up to `limit` pending claims whose next attempt is due at `now`, the longest due first."""
        rows = self._db.execute(
            f"SELECT {_CLAIM_COLUMNS} FROM session_claims "  # noqa: S608
            "WHERE state = 'pending' AND next_attempt_at <= ? ORDER BY next_attempt_at, session_id LIMIT ?",
            (now, limit),
        ).fetchall()
        return [_row_to_claim(row) for row in rows]

    def next_claim_due(self) -> float | None:
        """When the earliest pending claim is due (None when none is pending)."""
        row = self._db.execute("SELECT MIN(next_attempt_at) FROM session_claims WHERE state = 'pending'").fetchone()
        return None if row is None or row[0] is None else float(row[0])

    def save_claim(self, stored: StoredClaim) -> None:
        """Record an attempt's outcome: state, schedule and answer of the stored claim (one statement)."""
        self._db.execute(
            "UPDATE session_claims SET state = ?, attempts = ?, failures = ?, next_attempt_at = ?, "
            "last_error = ?, covered_wh = ?, share_bp = ?, retirement_ids = ?, finished_at = ? "
            "WHERE session_id = ?",
            (
                stored.state,
                stored.attempts,
                stored.failures,
                stored.next_attempt_at,
                stored.last_error,
                stored.covered_wh,
                stored.share_bp,
                ",".join(str(i) for i in stored.retirement_ids),
                stored.finished_at,
                stored.claim.session_id,
            ),
        )

    def claim_counts(self) -> dict[str, int]:
        """Session claims per state (pending, done, given_up)."""
        found = dict(self._db.execute("SELECT state, COUNT(*) FROM session_claims GROUP BY state").fetchall())
        return {state: int(found.get(state, 0)) for state in (PENDING, DONE, GIVEN_UP)}

    def signals_height(self, stream: str) -> int | None:
        """The last height of the Signals stream `stream` whose signals were recorded (None: never read)."""
        key = f"signals_height/{stream}"
        row = self._db.execute("SELECT value FROM gateway_state WHERE key = ?", (key,)).fetchone()
        return None if row is None else int(row[0])

    def record_signals(self, stream: str, height: int, kept: Sequence[tuple[str, int]], now: float) -> None:
        """In one transaction: `height` of `stream` is read, its signals `kept` ((body, until)
        pairs) are kept until `until`, and kept signals that ended at or before `now` are dropped."""
        with self._write():
            self._db.execute(
                "INSERT INTO gateway_state (key, value) VALUES (?, ?) "
                "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                (f"signals_height/{stream}", str(height)),
            )
            self._db.execute("DELETE FROM signals_kept WHERE stream = ? AND until <= ?", (stream, now))
            self._db.executemany(
                "INSERT INTO signals_kept (stream, height, body, until) VALUES (?, ?, ?, ?)",
                [(stream, height, body, until) for body, until in kept if until > now],
            )

    def kept_signals(self, stream: str, now: float) -> list[str]:
        """The bodies of the signals of `stream` still in force after `now`, in the order they were read."""
        rows = self._db.execute(
            "SELECT body FROM signals_kept WHERE stream = ? AND until > ? ORDER BY id", (stream, now)
        ).fetchall()
        return [str(row[0]) for row in rows]

    def prune(self) -> int:
        """Delete settled (committed or rejected) readings except each device's highest seq; returns the count."""
        cur = self._db.execute(
            "DELETE FROM readings WHERE state != 'pending' AND seq < "
            "(SELECT MAX(r2.seq) FROM readings r2 WHERE r2.device_id = readings.device_id)"
        )
        return int(cur.rowcount)
