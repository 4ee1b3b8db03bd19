"""The scenario in motion: which posts are released, edited or deleted at a given moment.

Times: the sandbox has an anchor (its real start) and a speed. A post at
offset `at` is released at anchor + at/speed and dated then (so a live demo
shows posts dated "now"); in fast mode everything is released at the anchor
and back-dated so that the newest post is at the anchor and the others keep
their spacing. Edits and deletions happen (offset - at)/speed after the
post's release, in both modes. Identifiers never depend on the clock (ids.py).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import quote

from aggregator.clock import Clock
from aggregator.sandbox import ids
from aggregator.sandbox.scenario import MediaSpec, Person, Scenario, ScenarioPost
from aggregator.sandbox.text import full_text

TRICKLE_PLATFORMS = ("x", "mastodon", "bluesky")


def ms(t: datetime) -> datetime:
    """Truncate to whole milliseconds (what the platforms publish)."""
    return t.replace(microsecond=t.microsecond // 1000 * 1000)


def iso_ms(t: datetime) -> str:
    """2014-04-23T10:15:00.000Z"""
    return ms(t).strftime("%Y-%m-%dT%H:%M:%S.") + f"{t.microsecond // 1000:03d}Z"


def iso_s(t: datetime) -> str:
    """2014-04-23T10:15:00Z"""
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True, slots=True)
class MediaRef:
    """One media item of a post with its sandbox URLs."""

    spec: MediaSpec
    seed: str
    index: int

    def photo_url(self, base: str, width: int | None = None, height: int | None = None) -> str:
        w, h = width or self.spec.width, height or self.spec.height
        return f"{base}/media/img/{quote(self.seed, safe='')}/{w}x{h}.jpg"

    def poster_url(self, base: str, width: int | None = None, height: int | None = None) -> str:
        w, h = width or self.spec.width, height or self.spec.height
        return f"{base}/media/poster/{quote(self.seed, safe='')}/{w}x{h}.jpg"

    def video_url(self, base: str) -> str:
        return f"{base}/media/video/{quote(self.seed, safe='')}.mp4"

    def playlist_url(self, base: str) -> str:
        return f"{base}/media/video/{quote(self.seed, safe='')}/playlist.m3u8"

    def thumb_size(self, box: int) -> tuple[int, int]:
        w, h = self.spec.width, self.spec.height
        scale = min(1.0, box / max(w, h))
        return max(1, round(w * scale)), max(1, round(h * scale))

    def thumb_url(self, base: str, box: int) -> str:
        w, h = self.thumb_size(box)
        if self.spec.kind == "video":
            return self.poster_url(base, w, h)
        return self.photo_url(base, w, h)


def avatar_url(base: str, person: Person) -> str:
    return f"{base}/media/avatar/{quote(person.key, safe='')}.png"


class World:
    """Scenario + clock + what control calls changed (deletions, release-all). Thread-safe."""

    def __init__(
        self, scenario: Scenario, clock: Clock, speed: float = 1.0, fast: bool = False,
        anchor: datetime | None = None, hold_back: int = 0,
    ) -> None:
        if speed <= 0:
            raise ValueError("speed must be positive")
        self.scenario = scenario
        self.clock = clock
        self.speed = speed
        self.fast = fast
        self.anchor = ms(anchor or clock())
        self.lock = threading.RLock()
        self.seq = {p.id: i for i, p in enumerate(scenario.posts)}
        ordered = sorted(scenario.posts, key=lambda p: (p.at, self.seq[p.id]))
        self.rank = {p.id: i for i, p in enumerate(ordered)}
        self.ordered = ordered  # oldest first
        self.max_at = max((p.at for p in scenario.posts), default=0.0)
        self._released_early: dict[str, datetime] = {}
        self._deleted: dict[str, datetime] = {}
        self.people = {p.key: p for p in scenario.people}
        # Fast mode can keep the last `hold_back` posts back, for release_next to trickle out "now". Only
        # posts of the search APIs (X, Mastodon, Bluesky): the feeds show a window of their newest items,
        # so holding those back would pull older ones into the window instead.
        searchable = [p for p in ordered if p.platform in TRICKLE_PLATFORMS]
        self.held = frozenset(p.id for p in searchable[max(0, len(searchable) - hold_back):]) \
            if fast and hold_back > 0 else frozenset()

    # ------------------------------------------------------------ time

    def now(self) -> datetime:
        return self.clock()

    def elapsed(self) -> float:
        """Scenario seconds since the start (fast mode: the whole scenario)."""
        if self.fast:
            return self.max_at
        return (self.now() - self.anchor).total_seconds() * self.speed

    def _natural_release(self, p: ScenarioPost) -> datetime:
        if p.id in self.held:
            return self.anchor + timedelta(days=3650)  # until release_next lets it out
        if self.fast:
            return self.anchor
        return ms(self.anchor + timedelta(seconds=p.at / self.speed))

    def release_time(self, p: ScenarioPost) -> datetime:
        """When the post becomes visible in the APIs."""
        with self.lock:
            early = self._released_early.get(p.id)
        return early if early is not None else self._natural_release(p)

    def created_at(self, p: ScenarioPost) -> datetime:
        """The post's date as published (fast mode: back-dated so the newest post is at the start)."""
        with self.lock:
            early = self._released_early.get(p.id)
        if early is not None:
            return early
        if self.fast:
            return ms(self.anchor - timedelta(seconds=self.max_at - p.at))
        return self._natural_release(p)

    def _later(self, p: ScenarioPost, offset: float) -> datetime:
        """A later event of the post (edit, deletion), counted from its release."""
        return ms(self.release_time(p) + timedelta(seconds=(offset - p.at) / self.speed))

    def deletion_time(self, p: ScenarioPost) -> datetime | None:
        with self.lock:
            manual = self._deleted.get(p.id)
        planned = self._later(p, p.deleted_at) if p.deleted_at is not None else None
        times = [t for t in (manual, planned) if t is not None]
        return min(times) if times else None

    def edit_time(self, p: ScenarioPost) -> datetime | None:
        return self._later(p, p.edited_at) if p.edited_at is not None else None

    def is_released(self, p: ScenarioPost, now: datetime | None = None) -> bool:
        return self.release_time(p) <= (now or self.now())

    def is_deleted(self, p: ScenarioPost, now: datetime | None = None) -> bool:
        t = self.deletion_time(p)
        return t is not None and t <= (now or self.now())

    def is_visible(self, p: ScenarioPost, now: datetime | None = None) -> bool:
        now = now or self.now()
        if not self.is_released(p, now) or self.is_deleted(p, now):
            return False
        if p.repost_of is not None:
            return self.is_visible(self.scenario.post(p.repost_of), now)
        return True

    # ------------------------------------------------------------ control

    def release_next(self, n: int = 1) -> int:
        """Release the next `n` held-back posts now (dated now); how many were still held."""
        with self.lock:
            now = ms(self.now())
            waiting = [p for p in self.ordered if p.id in self.held and p.id not in self._released_early]
            for p in waiting[:n]:
                self._released_early[p.id] = now
            return min(n, len(waiting))

    def release_all(self) -> int:
        """Release every post not yet released, now (all dated now; ids keep their order)."""
        with self.lock:
            now = ms(self.now())
            pending = [p for p in self.ordered if not self.is_released(p, now)]
            for p in pending:
                self._released_early[p.id] = now
            return len(pending)

    def delete(self, post_id: str) -> None:
        """The author deletes the post at its source, now."""
        p = self.scenario.post(post_id)  # KeyError for unknown ids
        with self.lock:
            self._deleted.setdefault(p.id, ms(self.now()))

    # ------------------------------------------------------------ queries

    def visible(self, platform: str, now: datetime | None = None) -> list[ScenarioPost]:
        """Visible posts of a platform, newest first."""
        now = now or self.now()
        posts = [p for p in self.ordered if p.platform == platform and self.is_visible(p, now)]
        posts.reverse()
        return posts

    def text(self, p: ScenarioPost, now: datetime | None = None) -> str:
        """The post's current text with its hashtags (edited once its edit time has passed)."""
        t = self.edit_time(p)
        raw = p.edited_text if (t is not None and p.edited_text is not None and t <= (now or self.now())) else p.text
        return full_text(raw, p.hashtags)

    def edited_at(self, p: ScenarioPost, now: datetime | None = None) -> datetime | None:
        t = self.edit_time(p)
        return t if t is not None and t <= (now or self.now()) else None

    def media(self, p: ScenarioPost) -> list[MediaRef]:
        return [MediaRef(m, m.seed or f"{p.id}-{i}", i) for i, m in enumerate(p.media)]

    def reposts_of(self, p: ScenarioPost, now: datetime | None = None) -> int:
        now = now or self.now()
        return sum(1 for q in self.scenario.posts if q.repost_of == p.id and self.is_visible(q, now))

    def quotes_of(self, p: ScenarioPost, now: datetime | None = None) -> int:
        now = now or self.now()
        return sum(1 for q in self.scenario.posts if q.quote_of == p.id and self.is_visible(q, now))

    def replies_to(self, p: ScenarioPost, now: datetime | None = None) -> int:
        now = now or self.now()
        return sum(1 for q in self.scenario.posts if q.reply_to == p.id and self.is_visible(q, now))

    def author(self, p: ScenarioPost) -> Person:
        return self.people[p.author]

    # ------------------------------------------------------------ identity helpers

    def x_username(self, person: Person) -> str:
        return person.handle or person.key

    def x_user_id(self, person: Person) -> str:
        return str(ids.number("x-user", person.key, digits=10))

    def bluesky_handle(self, person: Person) -> str:
        return person.bluesky_handle or f"{person.handle or person.key}.bsky.social"

    def youtube_channel(self, person: Person) -> str:
        return person.youtube_channel or ids.youtube_channel_id(person.key)

    def flickr_nsid(self, person: Person) -> str:
        return person.flickr_nsid or ids.flickr_nsid(person.key)
