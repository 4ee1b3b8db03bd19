"""Authors' standing per event: trusted, blocked, or one of the event's reporters."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.engine import Connection

from aggregator.storage.posts import insert_for
from aggregator.storage.schema import author_rules, authors


def standings(conn: Connection, event_id: int) -> dict[str, set[tuple[str, str, str]]]:
    """standing -> {(platform, external id, handle)} for the event."""
    out: dict[str, set[tuple[str, str, str]]] = {"trusted": set(), "blocked": set(), "reporter": set()}
    rows = conn.execute(
        select(author_rules.c.standing, authors.c.platform, authors.c.external_id, authors.c.handle)
        .join(authors, authors.c.id == author_rules.c.author_id)
        .where(author_rules.c.event_id == event_id)
    )
    for standing, platform, external_id, handle in rows:
        out.setdefault(standing, set()).add((platform, external_id, handle))
    return out


def set_standing(conn: Connection, event_id: int, author_id: int, standing: str | None, user_id: int | None,
                 now: datetime) -> None:
    if standing is None:
        conn.execute(author_rules.delete().where(author_rules.c.event_id == event_id,
                                                 author_rules.c.author_id == author_id))
        return
    stmt = insert_for(conn)(author_rules).values(event_id=event_id, author_id=author_id, standing=standing,
                                                 set_by=user_id, set_at=now)
    conn.execute(stmt.on_conflict_do_update(index_elements=["event_id", "author_id"],
                                            set_={"standing": standing, "set_by": user_id, "set_at": now}))
