"""Test-only disk-full simulation, loaded by putting this folder on an app's PYTHONPATH.

With `GRIDLEDGER_TEST_DISK_FULL_AFTER=<n>` set, the app's SQLite connection answers the
COMMIT of its n-th state write after start (n ≥ 1) with the error SQLite gives on a full
disk: `sqlite3.OperationalError("database or disk is full")`. Every later commit fails too
(the disk stays full) until the process is restarted without the variable.
"""

from __future__ import annotations

import os
import sqlite3
from typing import Any

_AFTER = int(os.environ.get("GRIDLEDGER_TEST_DISK_FULL_AFTER", "0") or 0)


class _FullDiskConnection:
    """Delegates to a real connection; counts block commits and fails from the n-th on."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn
        self._commits = 0

    def execute(self, sql: str, *args: Any) -> sqlite3.Cursor:
        if sql.strip().upper() == "COMMIT":
            self._commits += 1
            if self._commits >= _AFTER:
                self._conn.execute("ROLLBACK")  # as SQLite does by itself on a full disk
                raise sqlite3.OperationalError("database or disk is full")
        return self._conn.execute(sql, *args)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._conn, name)


if _AFTER > 0:
    _connect = sqlite3.connect

    def _patched_connect(*args: Any, **kwargs: Any) -> Any:
        return _FullDiskConnection(_connect(*args, **kwargs))

    sqlite3.connect = _patched_connect
