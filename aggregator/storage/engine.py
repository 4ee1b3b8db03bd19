"""Engines for SQLite and PostgreSQL, picked from the database URL.

SQLite: WAL (readers never block the writer), a busy timeout, foreign keys on,
and write transactions opened with BEGIN IMMEDIATE. A deferred transaction that
reads and then writes can fail at once with "database is locked" when another
process holds the write lock (SQLite cannot wait there without risking a
deadlock); taking the write lock up front lets the busy timeout do its job.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.pool import NullPool

SQLITE_BUSY_TIMEOUT_MS = 30_000


class StorageError(Exception):
    """A database problem, worded for the operator (driver errors are wrapped in this)."""


def make_engine(url: str, *, echo: bool = False) -> Engine:
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        return _sqlite_engine(url, echo)
    if backend == "postgresql":
        if parsed.drivername == "postgresql":  # plain URL: use psycopg 3, the driver we ship
            parsed = parsed.set(drivername="postgresql+psycopg")
        try:
            return create_engine(parsed, echo=echo, pool_pre_ping=True, pool_size=5, max_overflow=10)
        except ModuleNotFoundError as exc:
            raise StorageError(
                f"PostgreSQL needs the psycopg driver: pip install 'event-aggregator[postgres]' ({exc})"
            ) from None
    raise StorageError(f"unsupported database URL {parsed.render_as_string(hide_password=True)!r}: "
                       "use sqlite:///path or postgresql+psycopg://...")


def _sqlite_engine(url: str, echo: bool) -> Engine:
    parsed = make_url(url)
    database = parsed.database or ""
    memory = database in ("", ":memory:")
    if not memory:
        Path(database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(
        url,
        echo=echo,
        # A file pool per thread is fine; NullPool keeps in-memory DBs private per connection,
        # so tests use files. Connections are cheap on SQLite.
        poolclass=NullPool if memory else None,
        connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000, "check_same_thread": False},
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: sqlite3.Connection, _record: Any) -> None:
        # Let SQLAlchemy's "begin" event below issue BEGIN itself.
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
        cur.execute("PRAGMA journal_mode = WAL")
        cur.execute("PRAGMA synchronous = NORMAL")
        cur.execute("PRAGMA foreign_keys = ON")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        immediate = conn.get_execution_options().get("sqlite_immediate", False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine
