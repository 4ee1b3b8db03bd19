"""Mastodon streaming: one instance's hashtag stream as server-sent events.

`GET {stream base}/api/v1/streaming/hashtag?tag=<tag>` (`/hashtag/local` with params.local),
with the access token as a Bearer header where the instance requires one. Events:
`update` and `status.update` carry a JSON-encoded Status, translated by the polling
collector's `status_to_post` (one translation per platform) and filtered like a poll
(match="all" and exclusions, checked here because the stream has one tag); `delete` carries
the instance-local status id, mapped to its uri through the ids the collector and this
stream have seen. Heartbeat comments keep the socket's read timeout from firing; a stream
that goes quiet for longer than the stall timeout is reconnected by the runner.

One stream per hashtag (match="any" with several tags opens several); followed accounts
are left to polling.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from urllib.parse import quote

from aggregator.sources.base import SourceContext, StreamBatch
from aggregator.sources.common import Exclusions, Skips
from aggregator.sources.mastodon import MastodonCollector, status_to_post
from aggregator.sources.streamio import SseConnection
from aggregator.types import Platform, PostKey

log = logging.getLogger("aggregator.streams")

DEFAULT_STALL = 45.0  # seconds without a byte (Mastodon sends a heartbeat comment every few seconds)


def stall_timeout(ctx: SourceContext, default: float) -> float:
    try:
        return max(0.2, float(ctx.settings.params.get("stream_stall", default)))
    except (TypeError, ValueError):
        return default


class MastodonStream:
    """The hashtag stream of one tag of a Mastodon source."""

    def __init__(self, ctx: SourceContext, collector: MastodonCollector, tag: str) -> None:
        self.ctx = ctx
        self.collector = collector
        self.tag = tag.lower()
        self.name = f"mastodon hashtag {self.tag}"
        self.base = ctx.settings.base_url
        stream_base = (ctx.settings.stream_url or self.base).rstrip("/")
        local = "/local" if ctx.settings.params.get("local") else ""
        self.url = f"{stream_base}/api/v1/streaming/hashtag{local}?tag={quote(self.tag, safe='')}"
        self.all_tags = {t.lower() for t in collector.tags} if ctx.settings.match == "all" else set()
        self.exclusions = Exclusions(ctx.settings)
        self.malformed = 0  # frames skipped, for logs and tests
        self._conn = SseConnection(
            self.url, headers={"User-Agent": ctx.user_agent, **collector.headers}, policy=ctx.fetch_policy,
            connect_timeout=5.0, stall_timeout=stall_timeout(ctx, DEFAULT_STALL),
        )

    def open(self) -> None:
        self._conn.open()

    def close(self) -> None:
        self._conn.close()

    def batches(self) -> Iterator[StreamBatch]:
        for ev in self._conn.events():
            if ev.event in ("update", "status.update"):
                batch = self._status(ev.data)
            elif ev.event == "delete":
                batch = self._delete(ev.data)
            else:
                continue  # notifications, filters_changed, announcements: not ours
            if batch is not None:
                yield batch

    def _status(self, data: str) -> StreamBatch | None:
        try:
            status = json.loads(data)
        except ValueError:
            status = None
        if not isinstance(status, dict):
            self.malformed += 1
            log.warning("stream.malformed stream=%s bytes=%d", self.name, len(data))
            return None
        self.collector.remember(status)
        post = status_to_post(status, self.ctx.clock(), self.base)
        if post is None:
            return None
        if self.all_tags and not self.all_tags <= set(post.hashtags):
            return None
        kept = Skips().screen([post], self.exclusions)
        return StreamBatch(posts=kept) if kept else None

    def _delete(self, data: str) -> StreamBatch | None:
        local_id = data.strip().strip('"')  # a bare id over SSE; a JSON string over the WebSocket
        uri = self.collector.uri_of(local_id)
        if uri is None:
            return None  # never seen here: not one of ours, or the periodic re-check will find it
        return StreamBatch(deleted=(PostKey(Platform.MASTODON, uri),))
