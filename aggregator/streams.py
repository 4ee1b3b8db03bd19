"""Streaming sources beside the scheduler: a thread per stream, posts into the same Ingestor.

A source with `streaming = true` keeps its polling job (the SourceRunner) and gains one or
more streams (Mastodon: a hashtag stream per tag; Bluesky: Jetstream). The two cooperate:

- While every stream of the source is connected, the poller runs at `stream_poll_interval`
  (slow); while any is down it runs at its usual `interval`.
- Each time a stream connects (the first time and after every reconnect) the poller is woken
  at once: it fetches from its own stored cursor, which the stream never moves, so whatever
  was posted while the stream was away (or before it came up) is caught up. The stream is
  connected first, so nothing falls between the poll and the stream; what both deliver is
  idempotent downstream (one key, one post). Jetstream also resumes from its time cursor.
- A stream that drops, stalls (silent longer than its stall timeout) or refuses (404, 503)
  is retried with doubling backoff (1 s up to 5 minutes, jittered); polling carries the
  source meanwhile.

Streamed posts go through `ingest` (the collection's Ingestor, cursor untouched); streamed
deletions are narrowed to posts this event holds and go through `remove`. The runner is
started and stopped by the Scheduler, so it runs only in the process holding the leader lock.
"""

from __future__ import annotations

import logging
import random
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from aggregator.scheduler import SourceJob, SourceRunner
from aggregator.sources.base import AuthError, SourceError, Stream, StreamBatch
from aggregator.sources.streamio import StreamStalled, StreamUnavailable
from aggregator.storage import Storage, StorageError
from aggregator.types import IngestReport, Post, PostKey

log = logging.getLogger("aggregator.streams")

RETRY_FIRST = 1.0  # seconds before the first reconnect
RETRY_CAP = 300.0  # most seconds between reconnects of a stream that keeps failing
RETRY_UNAVAILABLE = 60.0  # first wait after the endpoint answered "no stream here" (404/503)

IngestStreamed = Callable[[SourceJob, Sequence[Post]], IngestReport]
RemoveStreamed = Callable[[SourceJob, Sequence[PostKey]], int]


def retry_delay(failures: int, unavailable: bool, rng: random.Random) -> float:
    """Seconds before reconnecting after `failures` failures in a row (doubling, capped, jittered)."""
    base = RETRY_UNAVAILABLE if unavailable else RETRY_FIRST
    delay: float = min(base * 2.0 ** max(0, failures - 1), RETRY_CAP)
    return delay * rng.uniform(0.8, 1.0)


@dataclass
class StreamRunner:
    """Keeps one stream of one source connected and hands what it brings to the pipeline."""

    runner: SourceRunner  # the source's poller: catch-up and fallback
    stream: Stream
    storage: Storage
    ingest: IngestStreamed
    remove: RemoveStreamed
    wake: Callable[[SourceRunner], None] | None = None  # schedule the poller now (the Scheduler's wake)
    rng: random.Random = field(default_factory=random.Random)
    healthy: bool = False
    connects: int = 0  # successful connections so far (tests and logs)
    delivered: int = 0  # posts handed to ingest
    removed: int = 0  # posts removed by streamed deletions
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    @property
    def job(self) -> SourceJob:
        return self.runner.job

    def start(self) -> None:
        if self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name=f"stream-{self.job.name}", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        self.stream.close()  # unblocks a read in progress
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None
        self.healthy = False

    def _poll_now(self) -> None:
        if self.wake is not None:
            self.wake(self.runner)
        else:
            self.runner.run(wait=True)

    def _loop(self) -> None:
        slug, name = self.job.event.slug, self.job.name
        failures = 0
        while not self._stop.is_set():
            unavailable = False
            try:
                self.stream.open()
            except SourceError as exc:
                failures += 1
                unavailable = isinstance(exc, (StreamUnavailable, AuthError))
                log.warning("stream.unavailable source=%s/%s stream=%s failures=%d error=%s",
                            slug, name, self.stream.name, failures, exc)
                if failures == 1:
                    self._poll_now()  # polling carries the source at its usual interval meanwhile
                self._stop.wait(retry_delay(failures, unavailable, self.rng))
                continue
            if self._stop.is_set():  # stopped while connecting
                self.stream.close()
                break
            self.healthy = True
            self.connects += 1
            failures = 0
            log.info("stream.connected source=%s/%s stream=%s connects=%d", slug, name, self.stream.name,
                     self.connects)
            self._poll_now()  # catch up whatever was posted before this connection
            try:
                for batch in self.stream.batches():
                    if self._stop.is_set():
                        break
                    self._deliver(batch)
                reason = "closed by the server"
            except StreamStalled as exc:
                reason = str(exc)
            except SourceError as exc:
                reason = str(exc)
            except Exception as exc:  # a bug must not end the stream for good
                log.exception("stream.crashed source=%s/%s", slug, name)
                reason = f"internal error: {type(exc).__name__}"
            finally:
                self.stream.close()
                self.healthy = False
            if self._stop.is_set():
                break
            failures += 1
            log.warning("stream.lost source=%s/%s stream=%s reason=%s", slug, name, self.stream.name, reason)
            self._poll_now()  # back to the usual interval until the stream returns
            self._stop.wait(retry_delay(failures, False, self.rng))

    def _deliver(self, batch: StreamBatch) -> None:
        job = self.job
        try:
            if batch.posts:
                self.ingest(job, batch.posts)
                self.delivered += len(batch.posts)
            if batch.deleted:
                ours = self.storage.known_keys(job.event_id, batch.deleted)
                if ours:
                    self.removed += self.remove(job, [k for k in batch.deleted if k in ours])
        except StorageError as exc:
            # The posts are not lost: the next catch-up poll brings them again.
            log.warning("stream.ingest_failed source=%s/%s error=%s", job.event.slug, job.name, exc)


def streams_for(runner: SourceRunner) -> list[Stream]:
    """The streams of a source with `streaming = true` (none for other sources)."""
    settings = runner.job.source
    if not settings.streaming:
        return []
    collector = runner.collector()
    ctx = runner.context()
    if settings.kind == "mastodon":
        from aggregator.sources.mastodon import MastodonCollector
        from aggregator.sources.mastodon_stream import MastodonStream

        assert isinstance(collector, MastodonCollector)
        tags = collector.tags[:1] if settings.match == "all" else collector.tags
        return [MastodonStream(ctx, collector, tag) for tag in tags]
    if settings.kind == "bluesky":
        from aggregator.sources.bluesky import BlueskyCollector
        from aggregator.sources.jetstream import JetstreamStream

        assert isinstance(collector, BlueskyCollector)
        return [JetstreamStream(ctx, collector)]
    return []
