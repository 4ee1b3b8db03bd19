"""Ingest orchestration: a collector's FetchResult -> dedup -> moderation -> one storage transaction.

The deciding is pure (pipeline/dedup.py, pipeline/moderate.py); this module
does the I/O around it: it loads what the decisions need from storage (recent
posts for dedup, author standings, per-author counts), fetches thumbnails for
perceptual hashes with the collectors' safe HTTP client, and hands the verdicts
to Storage.ingest, which writes posts, cursor and live-event rows together.

Card faces are stable: when a later batch brings a post that dedup ranks
before the face of an existing card (say a delayed collector delivers the
earliest copy of a cross-post), the new post joins that card instead of
replacing its face, so a card on a venue screen never swaps under people's
eyes. Which posts form one card is still decided by dedup, independent of
arrival order; only the choice of face follows arrival (docs/decisions.md).

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
from dataclasses import dataclass
from datetime import timedelta

from aggregator.clock import Clock
from aggregator.config import EventSettings
from aggregator.pipeline import dedup
from aggregator.pipeline.limits import bound_post
from aggregator.pipeline.moderate import ModerationContext, author_key, moderate
from aggregator.pipeline.phash import photo_hash
from aggregator.pipeline.sanitise import clean_post_urls
from aggregator.storage import Storage
from aggregator.types import (
    Cursor,
    Decision,
    IngestItem,
    IngestReport,
    MediaKind,
    Platform,
    Post,
    PostKey,
    Status,
)

log = logging.getLogger("aggregator.ingest")

THUMBNAIL_MAX_BYTES = 2 * 1024 * 1024
THUMBNAIL_WORKERS = 4
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


class Ingestor:
    """Decides and stores batches for one event."""

    def __init__(
        self,
        storage: Storage,
        event: EventSettings,
        event_id: int,
        clock: Clock,
        fetch_bytes: FetchBytes | None = None,
    ) -> None:
        self.storage = storage
        self.event = event
        self.event_id = event_id
        self.clock = clock
        self.fetch_bytes = fetch_bytes  # None: no perceptual hashing (tests, offline)
        self.policy = event.moderation
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
                planned = self.plan(chunk, hashes)
                part = self.storage.ingest(
                    self.event_id,
                    source_id,
                    planned.items,
                    cursor if last else None,  # the cursor moves only when the whole batch is in
                    planned.photo_hashes,
                    created_by=created_by,
                )
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
        ctx = self._moderation_context()
        with self._lock:
            return self.storage.remove_at_source(self.event_id, keys,
                                                 decide=lambda post: moderate(post, self.policy, ctx))

    # ---- deciding ----------------------------------------------------------------------------

    def plan(self, posts: Sequence[Post], hashes: dict[PostKey, list[int]] | None = None) -> Planned:
        if not posts:
            return Planned((), {})
        if hashes is None:
            hashes = self._photo_hashes(posts)
        index = self._dedup_index(posts)
        verdicts = dedup.plan(index, posts, self.policy, hashes)
        stored_faces = {k for k in index.mapping(self.policy).values()}

        # Keep faces stable: a post that would replace a stored face joins its card instead.
        redirect: dict[PostKey, PostKey] = {}
        for post, v in verdicts:
            if v.supersedes:
                old = next((k for k in v.supersedes if k in stored_faces), None)
                if old is not None:
                    redirect[v.canonical or post.key] = old

        ctx = self._moderation_context()
        counts = dict(ctx.recent_author_counts)
        faces: list[IngestItem] = []
        folded: list[IngestItem] = []
        again: list[IngestItem] = []  # re-deliveries: after what they repeat (storage applies edits)
        for post, v in verdicts:
            if v.kind == "exact":
                again.append(IngestItem(post, Decision(Status.DUPLICATE, "dedup:exact")))
                continue
            face = redirect.get(v.canonical or post.key, v.canonical)
            if face == post.key:
                face = None
            decision = moderate(post, self.policy, dataclasses.replace(ctx, recent_author_counts=counts))
            if face is None:
                if decision.status is Status.APPROVED:
                    key = author_key(post.author)
                    counts[key] = counts.get(key, 0) + 1
                faces.append(IngestItem(post, decision))
            else:
                folded.append(IngestItem(post, decision, duplicate_of=face, is_repost=v.kind == "repost"))
        hex_hashes = {
            url: f"{h:016x}"
            for post in posts
            for url, h in self._media_hashes(post, hashes)
        }
        return Planned(tuple(faces + folded + again), hex_hashes)

    def _dedup_index(self, posts: Sequence[Post]) -> dedup.DedupIndex:
        window = timedelta(seconds=self.policy.crosspost_window)
        since = min(p.created_at for p in posts) - window
        video_keys = sorted({m.video_key for p in posts for m in p.media if m.video_key})
        index = dedup.DedupIndex()
        for c in self.storage.dedup_candidates(self.event_id, since, video_keys):
            index.add(c.post, c.photo_hashes, duplicate_of=c.duplicate_of)
        return index

    def _moderation_context(self) -> ModerationContext:
        now = self.clock()
        standings = self.storage.author_standings(self.event_id)

        def ids(standing: str) -> list[str]:
            return [f"{p}:{ext}" for p, ext, _ in standings.get(standing, set())]

        since = now - timedelta(seconds=self.policy.per_author_window)
        counts = {f"{p}:{e}": n for (p, e), n in self.storage.approved_counts_by_author(self.event_id, since).items()}
        return ModerationContext.build(
            self.policy,
            event_start=self.event.utc(self.event.start),
            event_end=self.event.utc(self.event.end),
            now=now,
            trusted_authors=ids("trusted"),
            blocked_authors=ids("blocked"),
            reporters=ids("reporter"),
            recent_author_counts=counts,
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
