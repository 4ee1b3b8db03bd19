"""The report of the day: the figures funders and boards ask for, from approved posts only.

One pass over the approved cards (Storage.approved_stream) gathers the
counts; a person who cross-posted to several networks counts once (authors
linked by a folded cross-post are one contributor). The moderation summary is
counts by state and rule: no rejected content is ever read into it.
"""

from __future__ import annotations

import heapq
from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from aggregator.storage import EventRecord, Storage, StoredPost
from aggregator.storage.records import SessionRecord
from aggregator.storage.stories import StoryRecord
from aggregator.types import PostKind, Status
from aggregator.web.cards import day_bounds, platform_name
from aggregator.web.chart import Chart, hourly_chart

TOP = 6


@dataclass(frozen=True, slots=True)
class Figures:
    posts: int  # approved cards plus the reposts and cross-posts folded into them
    cards: int
    contributors: int  # people, not accounts
    photos: int
    videos: int
    peak_hour: str  # "14:00-15:00", or "" for an empty day
    peak_count: int


@dataclass(frozen=True, slots=True)
class Report:
    event: EventRecord
    programme: list[SessionRecord]
    figures: Figures
    by_network: list[tuple[str, int]]  # (network name, cards), most first
    by_session: list[tuple[str, str, int]]  # (time, session title, cards) in programme order
    chart: Chart
    top_posts: list[StoredPost]  # most shared
    top_photos: list[StoredPost]
    stories: list[StoryRecord]  # published only
    moderation: list[tuple[str, str, int]]  # (state, rule, posts): counts only
    generated_at: datetime


def contributors(authors: set[int], links: list[tuple[int, int]]) -> int:
    """Distinct people among `authors`, where each link says two author accounts are one person."""
    parent = {a: a for a in authors}

    def find(a: int) -> int:
        while parent[a] != a:
            parent[a] = parent[parent[a]]
            a = parent[a]
        return a

    for a, b in links:
        parent.setdefault(a, a)
        parent.setdefault(b, b)
        parent[find(a)] = find(b)
    return len({find(a) for a in authors})


def build_report(storage: Storage, event: EventRecord, now: datetime) -> Report:
    programme = storage.programme(event.id)
    tz = ZoneInfo(event.timezone)
    networks: Counter[str] = Counter()
    sessions: Counter[int] = Counter()
    authors: set[int] = set()
    cards = photos = videos = folded = 0
    top: list[tuple[int, float, int, StoredPost]] = []
    top_photo: list[tuple[int, float, int, StoredPost]] = []
    for batch in storage.approved_stream(event.id):
        for p in batch:
            cards += 1
            folded += p.repost_count + len(p.copies)
            networks[platform_name(p.platform.value)] += 1
            authors.add(p.author_id)
            photos += p.kind is PostKind.PHOTO
            videos += p.kind is PostKind.VIDEO
            for s in programme:
                if s.starts_at <= p.created_at < s.ends_at:
                    sessions[s.id] += 1
                    break
            entry = (p.repost_count, -p.created_at.timestamp(), -p.id, p)
            (heapq.heappush if len(top) < TOP else heapq.heappushpop)(top, entry)
            if p.kind is PostKind.PHOTO and p.media:
                (heapq.heappush if len(top_photo) < TOP else heapq.heappushpop)(top_photo, entry)
    start, end = day_bounds(event)
    chart = hourly_chart(storage.hour_counts(event.id, start, end), programme, start, end, event.timezone)
    peak = max(chart.bars, key=lambda b: b.count, default=None)
    peak_hour = ""
    if peak is not None and peak.count:
        hour = int(peak.label[:2])
        peak_hour = f"{peak.label}-{(hour + 1) % 24:02d}:00"
    figures = Figures(cards + folded, cards, contributors(authors, storage.crosspost_authors(event.id)), photos,
                      videos, peak_hour, peak.count if peak else 0)
    by_session = [(f"{s.starts_at.astimezone(tz):%H:%M}-{s.ends_at.astimezone(tz):%H:%M}", s.title, sessions[s.id])
                  for s in programme]
    moderation = [(state, rule, n) for state, rule, n in storage.moderation_counts(event.id)
                  if state != Status.DUPLICATE.value]
    return Report(
        event=event, programme=programme, figures=figures, by_network=networks.most_common(), by_session=by_session,
        chart=chart, top_posts=[e[3] for e in sorted(top, reverse=True, key=lambda e: e[:3])],
        top_photos=[e[3] for e in sorted(top_photo, reverse=True, key=lambda e: e[:3])],
        stories=storage.stories(event.id), moderation=moderation, generated_at=now,
    )
