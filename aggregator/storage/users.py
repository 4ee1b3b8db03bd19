"""Console users and failed sign-ins. Passwords arrive here already hashed (web/auth.py hashes)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import case, delete, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from aggregator.storage.schema import ROLES, login_failures, login_throttle, sessions, users

FAILURE_RETENTION_DAYS = 2  # failed sign-ins older than this are pruned when a new one is recorded


@dataclass(frozen=True, slots=True)
class UserRecord:
    id: int
    username: str
    display_name: str
    role: str  # organiser / moderator / reporter
    disabled: bool
    password_hash: str  # argon2 hash; never shown
    created_at: datetime
    last_login_at: datetime | None


class UserExists(ValueError):
    """The username is taken."""


def _user(row: Any) -> UserRecord:
    return UserRecord(
        id=row.id, username=row.username, display_name=row.display_name, role=row.role,
        disabled=bool(row.disabled), password_hash=row.password_hash, created_at=row.created_at,
        last_login_at=row.last_login_at,
    )


def normalise_username(username: str) -> str:
    return username.strip().lower()


def check_role(role: str) -> str:
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}: use one of {', '.join(ROLES)}")
    return role


def create(conn: Connection, username: str, display_name: str, password_hash: str, role: str,
           now: datetime) -> int:
    name = normalise_username(username)
    if not name or len(name) > 64:
        raise ValueError("a username needs 1 to 64 characters")
    check_role(role)
    if conn.execute(select(users.c.id).where(users.c.username == name)).first() is not None:
        raise UserExists(f"user {name!r} already exists")
    return int(conn.execute(
        users.insert().values(username=name, display_name=display_name.strip() or name,
                              password_hash=password_hash, role=role, disabled=False, created_at=now)
        .returning(users.c.id)
    ).scalar_one())


def get(conn: Connection, user_id: int) -> UserRecord | None:
    row = conn.execute(select(users).where(users.c.id == user_id)).first()
    return _user(row) if row else None


def by_username(conn: Connection, username: str) -> UserRecord | None:
    row = conn.execute(select(users).where(users.c.username == normalise_username(username))).first()
    return _user(row) if row else None


def all_users(conn: Connection) -> list[UserRecord]:
    return [_user(r) for r in conn.execute(select(users).order_by(users.c.username))]


def update_user(conn: Connection, user_id: int, values: dict[str, Any]) -> None:
    if "role" in values:
        check_role(values["role"])
    if values:
        conn.execute(update(users).where(users.c.id == user_id).values(**values))
    if "password_hash" in values or values.get("disabled"):
        end_sessions(conn, user_id)


# ---- server-side sessions ------------------------------------------------------------------------------------


def start_session(conn: Connection, session_id: str, user_id: int, now: datetime, expires_at: datetime) -> None:
    conn.execute(delete(sessions).where(sessions.c.expires_at < now))  # prune the expired as we go
    conn.execute(sessions.insert().values(id=session_id, user_id=user_id, created_at=now, expires_at=expires_at))


def session_user(conn: Connection, session_id: str, now: datetime) -> int | None:
    """The user id of a live session, or None when it ended (logout, disable, new password) or expired."""
    value = conn.execute(select(sessions.c.user_id).where(sessions.c.id == session_id,
                                                          sessions.c.expires_at > now)).scalar()
    return int(value) if value is not None else None


def end_session(conn: Connection, session_id: str) -> None:
    conn.execute(delete(sessions).where(sessions.c.id == session_id))


def end_sessions(conn: Connection, user_id: int) -> None:
    conn.execute(delete(sessions).where(sessions.c.user_id == user_id))


# ---- the sign-in throttle --------------------------------------------------------------------------------------


def _take(conn: Connection, key: str, limit: int, now: datetime, since: datetime) -> bool:
    """One attempt slot under `key`, atomically: a new window when the old one is over, else one more
    attempt if fewer than `limit` were taken. The upsert's WHERE decides and counts in one statement."""
    t = login_throttle.c
    insert = (postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert)(login_throttle)
    expired = login_throttle.c.window_start < since
    stmt = insert.values(key=key, window_start=now, attempts=1).on_conflict_do_update(
        index_elements=[t.key],
        set_={"window_start": case((expired, now), else_=t.window_start),
              "attempts": case((expired, 1), else_=t.attempts + 1)},
        where=or_(expired, t.attempts < limit),
    ).returning(t.attempts)
    return conn.execute(stmt).first() is not None


def take_login_slot(conn: Connection, keys: list[tuple[str, int]], now: datetime, since: datetime) -> bool:
    """Take a slot under every (key, limit); False, with nothing taken, when one of them is full."""
    taken: list[str] = []
    for key, limit in keys:
        if not _take(conn, key[:80], limit, now, since):
            for k in taken:  # same transaction: give back what this attempt took
                release_login_slot(conn, k)
            return False
        taken.append(key)
    return True


def release_login_slot(conn: Connection, key: str) -> None:
    """A sign-in that succeeded gives its slot back (a venue's many users share one address)."""
    conn.execute(update(login_throttle).where(login_throttle.c.key == key[:80], login_throttle.c.attempts > 0)
                 .values(attempts=login_throttle.c.attempts - 1))


def clear_login_slots(conn: Connection, key: str) -> None:
    conn.execute(delete(login_throttle).where(login_throttle.c.key == key[:80]))


def record_failure(conn: Connection, username: str, address: str, now: datetime) -> None:
    from datetime import timedelta

    conn.execute(delete(login_failures).where(login_failures.c.at < now - timedelta(days=FAILURE_RETENTION_DAYS)))
    conn.execute(login_failures.insert().values(username=normalise_username(username)[:64], address=address[:64],
                                                at=now))


def count_failures(conn: Connection, username: str, address: str, since: datetime) -> tuple[int, int]:
    """(failures for this username, failures from this address) since `since`."""
    by_user = conn.execute(select(func.count()).select_from(login_failures).where(
        login_failures.c.username == normalise_username(username)[:64], login_failures.c.at >= since)).scalar_one()
    by_address = conn.execute(select(func.count()).select_from(login_failures).where(
        login_failures.c.address == address[:64], login_failures.c.at >= since)).scalar_one()
    return int(by_user), int(by_address)


def clear_failures(conn: Connection, username: str) -> None:
    conn.execute(delete(login_failures).where(login_failures.c.username == normalise_username(username)[:64]))
