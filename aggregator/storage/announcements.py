"""Announcements on the wall and the organiser's wall options.

Live-event kinds written here (in the same transaction as the change):
  announcement            payload: id, text, starts_at, ends_at (ISO 8601 UTC; ends_at may be null).
                          Written when created; a wall shows it while starts_at <= now < ends_at.
  announcement.withdrawn  payload: id
  wall.options            payload: options (the organiser's overrides, sparse: only keys set in the console),
                          wall (the wall's name; "" for the event's own wall). Only that wall's screens act on it.

Overrides live in events.wall_options: the event's own wall's keys at the top level, a named wall's
under "walls" -> name (so walls added later in the config start with no overrides).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import ValidationError
from sqlalchemy import or_, select, update
from sqlalchemy.engine import Connection

from aggregator.config import WallSettings
from aggregator.storage import live
from aggregator.storage.moderation import Actor, record_audit
from aggregator.storage.schema import announcements, events

MAX_ANNOUNCEMENT_CHARS = 280
# Wall options an organiser may change in the console. embed_origins stays in the config file:
# it feeds the Content-Security-Policy, which is fixed when the server starts.
EDITABLE_WALL_OPTIONS = tuple(name for name in WallSettings.model_fields if name != "embed_origins")
NAMED_WALLS = "walls"  # the key in events.wall_options under which named walls' overrides live


@dataclass(frozen=True, slots=True)
class AnnouncementRecord:
    id: int
    event_id: int
    text: str  # plain text; autoescaped wherever shown
    starts_at: datetime
    ends_at: datetime | None  # None: until withdrawn
    withdrawn: bool
    created_by: int | None
    created_at: datetime

    def active(self, now: datetime) -> bool:
        return not self.withdrawn and self.starts_at <= now and (self.ends_at is None or now < self.ends_at)

    def payload(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "text": self.text,
            "starts_at": self.starts_at.isoformat(),
            "ends_at": self.ends_at.isoformat() if self.ends_at else None,
        }


def _record(row: Any) -> AnnouncementRecord:
    return AnnouncementRecord(int(row.id), int(row.event_id), row.text, row.starts_at, row.ends_at,
                              bool(row.withdrawn), row.created_by, row.created_at)


def create(conn: Connection, event_id: int, text: str, starts_at: datetime, ends_at: datetime | None,
           actor: Actor, now: datetime) -> AnnouncementRecord:
    text = " ".join(text.split())
    if not text:
        raise ValueError("an announcement needs some text")
    if len(text) > MAX_ANNOUNCEMENT_CHARS:
        raise ValueError(f"an announcement has at most {MAX_ANNOUNCEMENT_CHARS} characters")
    if ends_at is not None and ends_at <= starts_at:
        raise ValueError("the end must be after the start")
    new_id = int(conn.execute(announcements.insert().values(
        event_id=event_id, text=text, starts_at=starts_at, ends_at=ends_at, created_by=actor.user_id,
        created_at=now, withdrawn=False).returning(announcements.c.id)).scalar_one())
    rec = get(conn, new_id)
    assert rec is not None
    live.append(conn, event_id, "announcement", None, now, rec.payload())
    record_audit(conn, event_id, actor, "announce", "announcement", str(new_id), None, rec.payload(), now)
    return rec


def get(conn: Connection, announcement_id: int) -> AnnouncementRecord | None:
    row = conn.execute(select(announcements).where(announcements.c.id == announcement_id)).first()
    return _record(row) if row else None


def withdraw(conn: Connection, event_id: int, announcement_id: int, actor: Actor, now: datetime) -> bool:
    rec = get(conn, announcement_id)
    if rec is None or rec.event_id != event_id or rec.withdrawn:
        return False
    conn.execute(update(announcements).where(announcements.c.id == announcement_id).values(withdrawn=True))
    live.append(conn, event_id, "announcement.withdrawn", None, now, {"id": announcement_id})
    record_audit(conn, event_id, actor, "withdraw_announcement", "announcement", str(announcement_id),
                 {"withdrawn": False}, {"withdrawn": True}, now)
    return True


def list_for(conn: Connection, event_id: int) -> list[AnnouncementRecord]:
    rows = conn.execute(select(announcements).where(announcements.c.event_id == event_id)
                        .order_by(announcements.c.starts_at.desc(), announcements.c.id.desc()))
    return [_record(r) for r in rows]


def active(conn: Connection, event_id: int, now: datetime) -> list[AnnouncementRecord]:
    rows = conn.execute(
        select(announcements).where(
            announcements.c.event_id == event_id,
            announcements.c.withdrawn.is_(False),
            announcements.c.starts_at <= now,
            or_(announcements.c.ends_at.is_(None), announcements.c.ends_at > now),
        ).order_by(announcements.c.starts_at, announcements.c.id)
    )
    return [_record(r) for r in rows]


# ---- wall options ----------------------------------------------------------------------------------------


class WallOptionsError(ValueError):
    """Overrides that the wall settings do not accept; the message names the option."""


def validate_wall_options(overrides: dict[str, Any]) -> dict[str, Any]:
    """Check overrides against WallSettings; returns them normalised (JSON types), sparse."""
    unknown = sorted(set(overrides) - set(EDITABLE_WALL_OPTIONS))
    if unknown:
        raise WallOptionsError(f"not a wall option that can be changed here: {', '.join(unknown)}")
    for name in ("logo_url", "background_url"):
        value = overrides.get(name)
        if value and not (str(value).startswith("https://") or str(value).startswith("/")):
            raise WallOptionsError(f"{name}: use an https:// address or a path on this server")
    try:
        checked = WallSettings.model_validate(overrides)
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err.get("loc", ()))
        raise WallOptionsError(f"{where}: {err.get('msg', 'invalid')}") from None
    return checked.model_dump(mode="json", include=set(overrides))


def effective_wall_settings(base: WallSettings, overrides: dict[str, Any]) -> WallSettings:
    """The configured wall settings with the organiser's stored overrides on top (bad keys ignored)."""
    known = {k: v for k, v in overrides.items() if k in EDITABLE_WALL_OPTIONS}
    try:
        return WallSettings.model_validate({**base.model_dump(), **known})
    except ValidationError:
        return base


def wall_overrides(stored: dict[str, Any], wall: str = "") -> dict[str, Any]:
    """One wall's overrides out of the event's stored wall_options."""
    if not wall:
        return {k: v for k, v in stored.items() if k != NAMED_WALLS}
    named = stored.get(NAMED_WALLS)
    found = named.get(wall) if isinstance(named, dict) else None
    return dict(found) if isinstance(found, dict) else {}


def set_wall_options(conn: Connection, event_id: int, overrides: dict[str, Any], actor: Actor,
                     now: datetime, wall: str = "") -> dict[str, Any]:
    """Replace one wall's overrides (validated); writes a `wall.options` live event and an audit row."""
    clean = validate_wall_options(overrides)
    before = conn.execute(select(events.c.wall_options).where(events.c.id == event_id)).scalar()
    if before is None:
        raise ValueError(f"no event {event_id}")
    stored = dict(before)
    old = wall_overrides(stored, wall)
    if old == clean:
        return clean
    if wall:
        named = dict(stored.get(NAMED_WALLS) or {})
        named[wall] = clean
        stored[NAMED_WALLS] = named
    else:
        stored = {**clean, **({NAMED_WALLS: stored[NAMED_WALLS]} if NAMED_WALLS in stored else {})}
    conn.execute(update(events).where(events.c.id == event_id).values(wall_options=stored, updated_at=now))
    live.append(conn, event_id, "wall.options", None, now, {"options": clean, "wall": wall})
    record_audit(conn, event_id, actor, "wall_options", "wall", f"{event_id}/{wall}" if wall else str(event_id),
                 old, clean, now)
    return clean
