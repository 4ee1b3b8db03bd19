"""What every console page carries besides its own content: the role's areas and the source alarm.

`areas(user, event)` is the navigation a role sees (the one list the nav
template and the console home draw from); `source_alarms` names the sources
that failed BANNER_AFTER times in a row, for the banner on every page.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from aggregator.health import SourceHealth, health
from aggregator.storage import EventRecord, Storage
from aggregator.types import Status


@dataclass(frozen=True, slots=True)
class Area:
    label: str
    href: str
    roles: tuple[str, ...]


# Per-event areas, in the order they appear; `{slug}` is the event's slug.
EVENT_AREAS: tuple[Area, ...] = (
    Area("Queue", "/console/{slug}/queue", ("moderator", "organiser")),
    Area("Stories", "/console/{slug}/stories", ("reporter", "organiser")),
    Area("New post", "/console/{slug}/posts/new", ("reporter", "organiser")),
    Area("Announcements", "/console/{slug}/announcements", ("organiser",)),
    Area("Wall options", "/console/{slug}/wall", ("organiser",)),
    Area("Embeds", "/console/{slug}/embed", ("organiser",)),
    Area("Audit log", "/console/{slug}/audit", ("moderator", "organiser")),
    Area("Export the day", "/console/{slug}/export", ("organiser",)),
    Area("Report", "/e/{slug}/report", ("organiser",)),
    Area("Live wall", "/e/{slug}/wall", ("moderator", "organiser", "reporter")),
    Area("Timeline", "/e/{slug}/timeline", ("moderator", "organiser", "reporter")),
)
SITE_AREAS: tuple[Area, ...] = (
    Area("Users", "/console/users", ("organiser",)),
)


@dataclass(frozen=True, slots=True)
class Link:
    label: str
    href: str


def areas(role: str, slug: str) -> list[Link]:
    return [Link(a.label, a.href.format(slug=slug)) for a in EVENT_AREAS if role in a.roles]


def site_areas(role: str) -> list[Link]:
    return [Link(a.label, a.href) for a in SITE_AREAS if role in a.roles]


@dataclass(frozen=True, slots=True)
class Alarm:
    event: EventRecord
    source: SourceHealth


def source_health(storage: Storage, event: EventRecord, now: datetime) -> list[SourceHealth]:
    return [health(s, now) for s in storage.sources(event.id)]


def source_alarms(storage: Storage, now: datetime) -> list[Alarm]:
    out: list[Alarm] = []
    for ev in storage.events():
        out.extend(Alarm(ev, h) for h in source_health(storage, ev, now) if h.alarm)
    return out


@dataclass(frozen=True, slots=True)
class PostCounts:
    """Where the collected posts went: the numbers behind "610 posts became N cards"."""

    collected: int  # every stored post, copies included
    duplicates: int  # folded into another post (reposts, cross-posts)
    shown: int  # approved: the cards on the wall and timeline
    waiting: int  # pending moderation
    rejected: int
    removed: int  # taken down, or deleted at the source


def post_counts(by_status: Mapping[Status, int]) -> PostCounts:
    get = by_status.get
    return PostCounts(sum(by_status.values()), get(Status.DUPLICATE, 0), get(Status.APPROVED, 0),
                      get(Status.PENDING, 0), get(Status.REJECTED, 0), get(Status.REMOVED, 0))


def platform_label(kind_or_platform: str) -> str:
    """"Mastodon", "Blog", "X": a source kind or a platform value as people call it."""
    from aggregator.pipeline.ingest import PLATFORM_OF_KIND
    from aggregator.web.cards import platform_name

    platform = PLATFORM_OF_KIND.get(kind_or_platform)
    return platform_name(platform.value if platform else kind_or_platform)
