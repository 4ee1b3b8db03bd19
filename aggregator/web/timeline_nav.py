"""Finding one's way in the timeline: where a page opens, links to a time of day, one entry per person.

Pure functions over records; public.py feeds them what storage returns
(so the counts behind them can come from elsewhere later without touching these).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from aggregator.storage import PageCursor
from aggregator.storage.records import SessionRecord
from aggregator.storage.search import AuthorFacet
from aggregator.types import Platform


def cursor_at(when: datetime) -> str:
    """The timeline's `after` cursor for "from this moment on" (posts at or after `when`)."""
    return PageCursor(when, 0).encode()


def opening_session(programme: list[SessionRecord], now: datetime, start: datetime, end: datetime,
                    ) -> SessionRecord | None:
    """During the event, the session on now (or the last one started): the timeline opens there.
    Before or after the event: None (the page opens at the start of the day)."""
    if not (start <= now < end):
        return None
    started = [s for s in programme if s.starts_at <= now]
    if not started:
        return None
    on_now = [s for s in started if now < s.ends_at]
    return (on_now or started)[-1]


@dataclass(frozen=True, slots=True)
class Person:
    """One entry of the author filter: a person's accounts on every network, as dedup linked them."""

    id: int  # the account with the most posts: the filter's value
    ids: tuple[int, ...]
    name: str
    platforms: tuple[Platform, ...]
    posts: int


def people(facets: list[AuthorFacet], same_person: Iterable[tuple[int, int]]) -> list[Person]:
    """Group accounts that dedup judged to be one person; most posts first."""
    parent = {f.id: f.id for f in facets}

    def root(a: int) -> int:
        while parent[a] != a:
            parent[a] = parent[parent[a]]
            a = parent[a]
        return a

    for a, b in same_person:
        if a in parent and b in parent:
            parent[root(a)] = root(b)
    groups: dict[int, list[AuthorFacet]] = {}
    for f in facets:
        groups.setdefault(root(f.id), []).append(f)
    out = []
    for members in groups.values():
        members.sort(key=lambda f: (-f.posts, f.id))
        lead = members[0]
        platforms = tuple(dict.fromkeys(f.platform for f in members))
        out.append(Person(lead.id, tuple(sorted(f.id for f in members)), lead.name or lead.handle, platforms,
                          sum(f.posts for f in members)))
    out.sort(key=lambda p: (-p.posts, p.name.lower()))
    return out


def person_ids(chosen: int | None, everyone: list[Person]) -> tuple[int, ...]:
    """The account ids behind the filter's value (any account of a person selects all of them)."""
    if chosen is None:
        return ()
    for p in everyone:
        if chosen in p.ids:
            return p.ids
    return (chosen,)
