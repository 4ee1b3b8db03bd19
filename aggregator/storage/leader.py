"""Which process runs the collectors: one at a time per database, a standby takes over.

PostgreSQL: a session-level advisory lock held on a dedicated connection. If the
leader dies, the server ends its session and releases the lock; a standby's next
try takes it. SQLite: an exclusive lock on a file beside the database (released
by the OS when the process dies).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, text

# Any fixed 64-bit number, distinct from the live-event lock.
_LEADER_KEY = 0x53434845  # "SCHE"


class LeaderLock:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._conn: Any = None
        self._fd: int | None = None

    @property
    def held(self) -> bool:
        return self._conn is not None or self._fd is not None

    def try_acquire(self) -> bool:
        """Take the lock if it is free; True when this process holds it (now or already)."""
        if self.held:
            return True
        if self.engine.dialect.name == "postgresql":
            conn = self.engine.connect()
            got = bool(conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": _LEADER_KEY}).scalar())
            conn.commit()
            if got:
                self._conn = conn
            else:
                conn.close()
            return got
        path = self._lock_path()
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        self._fd = fd
        return True

    def still_held(self) -> bool:
        """PostgreSQL: whether our session (and so the lock) is alive."""
        if self._conn is None:
            return self._fd is not None
        try:
            self._conn.execute(text("SELECT 1"))
            self._conn.commit()
            return True
        except Exception:  # the connection is gone, and the lock with it
            # Close our side too: a dropped, unclosed psycopg connection warns when collected, in
            # whatever code runs then (a test elsewhere, with warnings as errors).
            with contextlib.suppress(Exception):
                self._conn.close()
            self._conn = None
            return False

    def release(self) -> None:
        if self._conn is not None:
            try:
                self._conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": _LEADER_KEY})
                self._conn.commit()
            finally:
                self._conn.close()
                self._conn = None
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None

    def _lock_path(self) -> str:
        database = self.engine.url.database or ""
        if database in ("", ":memory:"):
            return os.path.join(os.path.realpath(os.getcwd()), ".aggregator-scheduler.lock")
        return str(Path(database).resolve()) + ".scheduler-lock"
