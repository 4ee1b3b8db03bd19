"""Console users and failed sign-ins. Passwords arrive here already hashed (web/auth.py hashes)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.engine import Connection

from aggregator.storage.schema import ROLES, login_failures, users

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
