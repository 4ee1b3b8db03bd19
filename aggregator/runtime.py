"""Wiring: config + storage -> source runners, shared by `collect`, `serve` and `demo`."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from aggregator.clock import Clock, system_clock
from aggregator.config import LoadedConfig
from aggregator.media.fetch import MediaCaps, MediaKeeper
from aggregator.media.store import store_for
from aggregator.pipeline.ingest import PLATFORM_OF_KIND, THUMBNAIL_MAX_BYTES, Generations, Ingestor
from aggregator.scheduler import PeriodicTask, SourceJob, SourceRunner, jobs_from_config
from aggregator.sources.base import SourceError
from aggregator.sources.destination import FetchPolicy
from aggregator.sources.http import MB, HttpClient, HttpLimits
from aggregator.sources.registry import make_collector
from aggregator.storage import Storage
from aggregator.streams import StreamRunner, streams_for
from aggregator.types import FetchResult, IngestReport, Post, PostKey

log = logging.getLogger("aggregator.runtime")


@dataclass
class Collection:
    """Everything that collecting needs, built once; close() releases connections."""

    cfg: LoadedConfig
    storage: Storage
    clock: Clock
    runners: list[SourceRunner] = field(default_factory=list)
    streams: list[StreamRunner] = field(default_factory=list)  # sources with streaming = true
    ingestors: dict[int, Ingestor] = field(default_factory=dict)  # event id -> its ingestor
    http: HttpClient | None = None
    keeper: MediaKeeper | None = None  # keeps approved posts' media (server.keep_media)

    def tasks(self) -> list[PeriodicTask]:
        """Background work beside the sources: the media job, when media are kept."""
        keeper = self.keeper
        if keeper is None:
            return []
        event_ids = sorted(self.ingestors)
        return [PeriodicTask("media", self.cfg.settings.server.media_fetch_interval,
                             lambda: keeper.run(event_ids))]

    def process(self, job: SourceJob, result: FetchResult) -> IngestReport:
        return self.ingestors[job.event_id].ingest(
            job.source_id,
            result.posts,
            result.cursor,
            platform=PLATFORM_OF_KIND[job.source.kind],
            deleted=result.deleted,
        )

    def remove(self, job: SourceJob, keys: Sequence[PostKey]) -> int:
        return self.ingestors[job.event_id].remove_deleted(keys)

    def ingest_streamed(self, job: SourceJob, posts: Sequence[Post]) -> IngestReport:
        """Posts a stream brought: the same Ingestor as polling; the poll cursor stays where it is."""
        platform = PLATFORM_OF_KIND[job.source.kind]
        return self.ingestors[job.event_id].ingest(job.source_id, posts, None, platform=platform)

    def close(self) -> None:
        for stream in self.streams:
            stream.stop()
        for runner in self.runners:
            runner.close()
        if self.http is not None:
            self.http.close()
        if self.keeper is not None:
            self.keeper.stop()
            self.keeper.http.close()


def build_collection(
    cfg: LoadedConfig, storage: Storage, clock: Clock = system_clock, only: str | None = None,
    hash_photos: bool = True,
) -> Collection:
    user_agent = cfg.settings.server.user_agent
    policy = fetch_policy(cfg)
    col = Collection(cfg, storage, clock)
    if hash_photos:
        col.http = HttpClient(user_agent, clock=clock, policy=policy)
    http = col.http
    fetch = (lambda url: http.get_bytes(url, THUMBNAIL_MAX_BYTES)) if http is not None else None
    generations = Generations()  # one per database: an event's commits do not invalidate another's index
    for ev in cfg.settings.events:
        record = storage.event(ev.slug)
        if record is not None:
            col.ingestors[record.id] = Ingestor(storage, ev, record.id, clock, fetch, generations)
    if cfg.settings.server.keep_media:
        col.keeper = build_keeper(cfg, storage, clock)
    for job in jobs_from_config(cfg, storage, only):
        runner = SourceRunner(job, storage, col.process, make_collector, clock, user_agent,
                              remove=col.remove, fetch_policy=policy)
        col.runners.append(runner)
        if job.source.streaming:
            add_streams(col, runner)
    return col


def add_streams(col: Collection, runner: SourceRunner) -> list[StreamRunner]:
    """The source's streams, registered with its poller (which slows down while they are healthy)."""
    try:
        streams = [StreamRunner(runner, s, col.storage, col.ingest_streamed, col.remove) for s in streams_for(runner)]
    except SourceError as exc:  # e.g. missing credentials: polling reports it on every run
        log.warning("stream.not_started source=%s/%s error=%s", runner.job.event.slug, runner.job.name, exc)
        return []
    if streams:
        runner.stream_healthy = lambda: all(s.healthy for s in streams)
    col.streams.extend(streams)
    return streams


def build_keeper(cfg: LoadedConfig, storage: Storage, clock: Clock = system_clock) -> MediaKeeper:
    """The media job over the configured store, with its own safe HTTP client (the same destination policy
    as the collectors); close its `http` when done."""
    server = cfg.settings.server
    caps = MediaCaps(server.media_max_file_mb * MB, server.media_max_event_mb * MB)
    http = HttpClient(server.user_agent, clock=clock, limits=HttpLimits(max_bytes=caps.max_file_bytes),
                      policy=fetch_policy(cfg))
    return MediaKeeper(storage, store_for(server.media_dir), http, caps, clock, uploads=Path(server.media_dir))


def fetch_policy(cfg: LoadedConfig) -> FetchPolicy:
    """The destination policy of every server-side fetch, from server.allow_private_fetch."""
    allow = cfg.settings.server.allow_private_fetch
    return FetchPolicy.allowing(allow.hosts, allow.ports, any_port=allow.any_port)
