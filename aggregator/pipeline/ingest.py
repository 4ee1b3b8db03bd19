"""Ingest orchestration: a collector's FetchResult -> the pure batch plan -> one storage transaction.

The deciding is pure (pipeline/planning.py, with dedup and moderation under
it); this module does the I/O around it: it reads what the plan needs from
storage (the stored posts of the dedup window, the batch's stored keys,
author standings, per-author counts), fetches thumbnails for perceptual hashes
with the collectors' safe HTTP client, and hands the plan to Storage.ingest,
which writes posts, merges, cursor and live-event rows together.

The dedup index is kept in memory between batches: the collector is the one
writer of collected posts (behind the leader lock), so after its own commit
the index it advanced through the batch is what storage holds. It is rebuilt
from storage on start, when it holds more than a few windows (a late page that reaches back before it
only adds the stored posts of the gap), and whenever someone else wrote: storage's
generation (newest post id, newest live-event seq) read before a batch must be
the one this process's ingestors saw at their last commit. A moderator's
action moves the live seq, so the next batch rebuilds (the cost every batch
paid before); a batch that fails (or a deletion, which may hand a card to its
next copy) drops the index.

Bounded work: every post is cut to the limits of pipeline/limits.py first,
and a batch is decided and stored in chunks of INGEST_CHUNK posts, each under
the event's lock, which is fair (first come, first served): however large or
slow one source's batch, another source of the event waits for at most one
chunk before its own batch is stored. A chunk slower than SLOW_CHUNK_SECONDS
is logged. The cursor is stored with the last chunk, so a crash part-way only
means re-fetching posts that are then recognised as already stored.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from aggregator.clock import Clock
from aggregator.config import EventSettings
from aggregator.pipeline import dedup
from aggregator.pipeline.limits import bound_post
from aggregator.pipeline.moderate import ModerationContext, moderate
from aggregator.pipeline.phash import photo_hash
from aggregator.pipeline.planning import KnownPost, StoredView, plan_batch
from aggregator.pipeline.sanitise import clean_post_urls
from aggregator.storage import Storage
from aggregator.storage.posts import IngestContext
from aggregator.types import (
    CardMerge,
    Cursor,
    IngestItem,
    IngestReport,
    MediaKind,
    Platform,
    Post,
    PostKey,
)

log = logging.getLogger("aggregator.ingest")

THUMBNAIL_MAX_BYTES = 2 * 1024 * 1024
THUMBNAIL_WORKERS = 4
KEEP_WINDOWS = 4  # rebuild the in-memory index once the batches have moved this many windows past its start
INGEST_CHUNK = 50  # posts decided and stored per turn of the event's lock
SLOW_CHUNK_SECONDS = 5.0
PLATFORM_OF_KIND = {
    "x": Platform.X,
    "mastodon": Platform.MASTODON,
    "bluesky": Platform.BLUESKY,
    "flickr": Platform.FLICKR,
    "youtube": Platform.YOUTUBE,
    "feed": Platform.FEED,
}

FetchBytes = Callable[[str], bytes]
Generation = tuple[int, int]


class FairLock:
    """A lock granted in the order it was asked for, so no thread can take it back-to-back while
    another waits (threading.Lock makes no such promise)."""

    def __init__(self) -> None:
        self._cond = threading.Condition(threading.Lock())
        self._queue: deque[object] = deque()
        self._held = False

    def __enter__(self) -> FairLock:
        me = object()
        with self._cond:
            self._queue.append(me)
            while self._held or self._queue[0] is not me:
                self._cond.wait()
            self._queue.popleft()
            self._held = True
        return self

    def __exit__(self, *exc: object) -> None:
        with self._cond:
            self._held = False
            self._cond.notify_all()

    @property
    def waiting(self) -> int:
        """How many threads are queued for the lock."""
        with self._cond:
            return len(self._queue)


def _merge(a: IngestReport, b: IngestReport) -> IngestReport:
    return IngestReport(
        inserted=a.inserted + b.inserted,
        updated=a.updated + b.updated,
        unchanged=a.unchanged + b.unchanged,
        tombstoned=a.tombstoned + b.tombstoned,
        live_events=a.live_events + b.live_events,
        inserted_keys=a.inserted_keys + b.inserted_keys,
        folded=a.folded + b.folded,
    )


@dataclass(frozen=True, slots=True)
class Planned:
    """The ingest items for a batch, in the order storage needs (card faces first)."""

    items: tuple[IngestItem, ...]
    photo_hashes: dict[str, str]  # media URL -> 64-bit hash as hex, for storage
    merges: tuple[CardMerge, ...] = ()  # stored cards the batch joins
    faces: dict[PostKey, PostKey] = field(default_factory=dict)  # stored-face map updates


class Generations:
    """Storage's generation as this process's ingestors last left it, shared by them.

    ``epoch`` moves whenever storage was found at a generation none of them wrote:
    every in-memory index older than the epoch is then rebuilt.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.last: Generation | None = None
        self.epoch = 0

    def observe(self, current: Generation) -> int:
        with self._lock:
            if current != self.last:
                self.epoch += 1
                self.last = current
            return self.epoch

    def committed(self, before: Generation, after: Generation) -> None:
        with self._lock:
            if before != self.last:
                self.epoch += 1  # someone wrote between our last commit and this one
            self.last = after


@dataclass
class _Cache:
    """The stored posts of the window as dedup sees them, and which card each belongs to."""

    index: dedup.DedupIndex
    faces: dict[PostKey, PostKey]
    since: datetime  # holds every stored post created since (up to dedup_candidates' limit)
    videos: set[str]  # video keys looked up in storage already
    epoch: int


class Ingestor:
    """Decides and stores batches for one event."""

    def __init__(
        self,
        storage: Storage,
        event: EventSettings,
        event_id: int,
        clock: Clock,
        fetch_bytes: FetchBytes | None = None,
        generations: Generations | None = None,
    ) -> None:
        self.storage = storage
        self.event = event
        self.event_id = event_id
        self.clock = clock
        self.fetch_bytes = fetch_bytes  # None: no perceptual hashing (tests, offline)
        self.policy = event.moderation
        self.generations = generations or Generations()  # share one between the ingestors of a database
        self._cache: _Cache | None = None
        self.rebuilds = 0  # how often the index was loaded from storage (logs, tests)
        # Sources of one event run in parallel; their batches are decided and stored one at a
        # time, so each plan sees every post committed before it (else a cross-post arriving
        # through two sources at once would become two cards). Big batches go in chunks, and the
        # lock is fair, so one source's batch never holds the others for longer than a chunk.
        self._lock = FairLock()

    # ---- the whole path ----------------------------------------------------------------------

    def ingest(
        self,
        source_id: int | None,
        posts: Sequence[Post],
        cursor: Cursor | None,
        *,
        created_by: int | None = None,
        platform: Platform | None = None,
        deleted: Sequence[str] = (),
    ) -> IngestReport:
        posts = [clean_post_urls(p) for p in self._bounded(posts)]  # bounded; only http(s) URLs are stored
        hashes = self._photo_hashes(posts)  # network: outside the lock
        chunks = [posts[i : i + INGEST_CHUNK] for i in range(0, len(posts), INGEST_CHUNK)] or [posts]
        report = IngestReport()
        for n, chunk in enumerate(chunks, start=1):
            last = n == len(chunks)
            with self._lock:
                started = time.monotonic()
                try:
                    planned = self.plan(chunk, hashes)
                    part = self.storage.ingest(
                        self.event_id,
                        source_id,
                        planned.items,
                        cursor if last else None,  # the cursor moves only when the whole batch is in
                        planned.photo_hashes,
                        created_by=created_by,
                        merges=planned.merges,
                    )
                except BaseException:
                    self._cache = None  # advanced past a chunk that was not stored
                    raise
                self.generations.committed(*part.generation)
                if self._cache is not None:
                    self._cache.faces.update(planned.faces)
                took = time.monotonic() - started
            new = set(part.inserted_keys)
            folded = sum(1 for i in planned.items if i.duplicate_of is not None and i.post.key in new)
            report = _merge(report, dataclasses.replace(part, folded=folded))  # for the collect report
            if took > SLOW_CHUNK_SECONDS:
                log.warning(
                    "ingest.slow event=%s source=%s chunk=%d/%d posts=%d seconds=%.1f",
                    self.event.slug, source_id, n, len(chunks), len(chunk), took,
                )
        if deleted and platform is not None:
            removed = self.remove_deleted([PostKey(platform, d) for d in deleted])
            log.info("source.deletions event=%s removed=%d", self.event.slug, removed)
        return report

    def _bounded(self, posts: Sequence[Post]) -> list[Post]:
        out = [bound_post(p) for p in posts]
        cut = [p.key for p, b in zip(posts, out, strict=True) if p is not b]
        if cut:
            log.info("post.bounded event=%s count=%d first=%s", self.event.slug, len(cut), cut[0])
        return out

    def remove_deleted(self, keys: Sequence[PostKey]) -> int:
        """Posts deleted at their source; a card whose face goes is fronted by its next copy,
        shown only if the moderation rules approve that copy (storage/deletions.py)."""
        now = self.clock()
        found = self.storage.ingest_context(self.event_id, [], self._counts_since(now))
        ctx = self._moderation_context(now, found)
        with self._lock:
            self._cache = None  # a deleted face hands its card to a copy: the kept faces are stale
            return self.storage.remove_at_source(self.event_id, keys,
                                                 decide=lambda post: moderate(post, self.policy, ctx))

    # ---- deciding ----------------------------------------------------------------------------

    def plan(self, posts: Sequence[Post], hashes: dict[PostKey, list[int]] | None = None) -> Planned:
        """The plan for the next chunk to store. Call it holding the event's lock, and store what it
        returns: it moves the kept index past the chunk (ingest() drops the index if storing fails)."""
        if hashes is None:
            hashes = self._photo_hashes(posts)
        return self._plan(posts, hashes, advance=True)

    def _plan(self, posts: Sequence[Post], hashes: dict[PostKey, list[int]], *, advance: bool) -> Planned:
        if not posts:
            return Planned((), {})
        now = self.clock()
        counts_since = self._counts_since(now)
        videos = sorted({m.video_key for p in posts for m in p.media if m.video_key})
        found = self.storage.ingest_context(self.event_id, [p.key for p in posts], counts_since, videos)
        cache = self._stored(posts, found)
        view = StoredView(
            index=cache.index,
            faces=cache.faces,
            known={k: KnownPost(status, rule, edited) for k, (status, rule, edited) in found.known.items()},
            dead=found.dead,
        )
        plan = plan_batch(view, posts, self.policy, hashes, self._moderation_context(now, found), advance=advance)
        hex_hashes = {
            url: f"{h:016x}"
            for post in posts
            for url, h in self._media_hashes(post, hashes)
        }
        return Planned(plan.items, hex_hashes, plan.merges, plan.faces)

    def _counts_since(self, now: datetime) -> datetime | None:
        """Since when approved posts count towards the per-author cap (None: no cap, no need to count)."""
        return now - timedelta(seconds=self.policy.per_author_window) if self.policy.per_author_cap else None

    def _stored(self, posts: Sequence[Post], found: IngestContext) -> _Cache:
        """The in-memory index, rebuilt from storage when it cannot be trusted or does not reach back far enough."""
        epoch = self.generations.observe(found.generation)
        window = timedelta(seconds=self.policy.crosspost_window)
        since = min(p.created_at for p in posts) - window
        videos = set(found.videos)  # the batch's videos that stored posts carry
        cache = self._cache
        if cache is None or cache.epoch != epoch or since - cache.since > KEEP_WINDOWS * window:
            cache = self._cache = _Cache(dedup.DedupIndex(), {}, since, set(), epoch)
            self._load(cache, since, sorted(videos))
            self.rebuilds += 1
        else:
            if since < cache.since:  # a late page reaches back: add the stored posts of the gap
                self._load(cache, since, sorted(videos - cache.videos), until=cache.since)
                cache.since = since
            elif videos - cache.videos:
                self._load(cache, None, sorted(videos - cache.videos))
        cache.videos |= videos
        return cache

    def _load(self, cache: _Cache, since: datetime | None, video_keys: list[str],
              until: datetime | None = None) -> None:
        loaded = [c for c in self.storage.dedup_candidates(self.event_id, since, video_keys, until)
                  if c.post.key not in cache.faces]
        for c in loaded:
            cache.index.add(c.post, c.photo_hashes, duplicate_of=c.duplicate_of)
            cache.faces[c.post.key] = c.duplicate_of or c.post.key
            # A video some indexed post carries needs no lookup: older copies are in that post's card.
            cache.videos.update(m.video_key for m in c.post.media if m.video_key)
        for c in loaded:  # a chain of folds (older data) ends at its face
            face = cache.faces[c.post.key]
            for _ in range(8):
                nxt = cache.faces.get(face, face)
                if nxt == face:
                    break
                face = nxt
            cache.faces[c.post.key] = face

    def _moderation_context(self, now: datetime, found: IngestContext) -> ModerationContext:
        def ids(standing: str) -> list[str]:
            return [f"{p}:{ext}" for p, ext, _ in found.standings.get(standing, set())]

        return ModerationContext.build(
            self.policy,
            event_start=self.event.utc(self.event.start),
            event_end=self.event.utc(self.event.end),
            now=now,
            trusted_authors=ids("trusted"),
            blocked_authors=ids("blocked"),
            reporters=ids("reporter"),
            recent_author_counts={f"{p}:{e}": n for (p, e), n in found.counts.items()},
        )

    # ---- perceptual hashes -------------------------------------------------------------------

    @staticmethod
    def _photo_urls(post: Post) -> list[str]:
        return [m.thumbnail_url or m.url for m in post.media if m.kind is MediaKind.PHOTO]

    def _media_hashes(self, post: Post, hashes: dict[PostKey, list[int]]) -> list[tuple[str, int]]:
        urls = self._photo_urls(post)
        got = hashes.get(post.key, [])
        return list(zip(urls, got, strict=False)) if len(got) == len(urls) else []

    def _photo_hashes(self, posts: Sequence[Post]) -> dict[PostKey, list[int]]:
        """Hashes of each post's photos, fetched with the safe client; a failure just means no hash."""
        fetch = self.fetch_bytes
        if fetch is None:
            return {}
        candidates = [p for p in posts if p.repost_of is None and self._photo_urls(p)]
        if not candidates:
            return {}
        # Stored posts' hashes are in the database already (dedup loads them): fetch only new photos.
        known = self.storage.known_keys(self.event_id, [p.key for p in candidates])
        wanted = [(p.key, url) for p in candidates if p.key not in known for url in self._photo_urls(p)]
        if not wanted:
            return {}

        def one(url: str) -> int | None:
            try:
                return photo_hash(fetch(url))
            except Exception as exc:  # unreachable, too big, not an image: dedup goes on without it
                log.info("photo_hash.skipped url=%s error=%s", url, exc)
                return None

        with ThreadPoolExecutor(max_workers=THUMBNAIL_WORKERS, thread_name_prefix="phash") as pool:
            results = list(pool.map(one, [url for _, url in wanted]))
        out: dict[PostKey, list[int]] = {}
        failed: set[PostKey] = set()
        for (key, _), h in zip(wanted, results, strict=True):
            if h is None:
                failed.add(key)
            else:
                out.setdefault(key, []).append(h)
        # Keep hashes aligned with photo order: a post with a failed fetch keeps none.
        return {k: v for k, v in out.items() if k not in failed}
