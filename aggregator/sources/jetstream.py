"""Bluesky Jetstream: the network's posts as JSON over a WebSocket, filtered here.

`{stream_url}/subscribe?wantedCollections=app.bsky.feed.post[&cursor=<time_us>]`. Each
message is `{"did", "time_us", "kind": "commit"|"identity"|"account", "commit": {"operation":
"create"|"update"|"delete", "collection", "rkey", "record", "cid"}}`. The whole network's posts
arrive (hundreds a second), so the filter runs first and costs little: the event's hashtags
(facets and record tags, case-insensitively), its keywords (in the text) and its accounts (by
DID, resolved once from the configured handles). A match is hydrated with getPosts and
translated by the polling collector's `post_view_to_post` (one translation per platform);
if the AppView has not indexed it yet, the record itself goes through the same function as
a minimal view. Deletions of posts are passed on as candidates (the runner keeps the ones
this event holds).

Resume: the newest `time_us` seen is kept; a reconnect asks for `cursor` a few seconds
earlier (Jetstream replays from there; the replayed posts are idempotent downstream).
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from aggregator.sources.base import SourceContext, SourceError, StreamBatch
from aggregator.sources.bluesky import BlueskyCollector, post_view_to_post
from aggregator.sources.common import Exclusions, Skips, arr, obj, text_of
from aggregator.sources.mastodon_stream import stall_timeout
from aggregator.sources.streamio import WebSocketConnection
from aggregator.types import Platform, Post, PostKey

log = logging.getLogger("aggregator.streams")

DEFAULT_URL = "wss://jetstream2.us-east.bsky.network"
POST_COLLECTION = "app.bsky.feed.post"
REWIND_US = 5_000_000  # resume this far before the last event seen, so nothing in flight is missed
DEFAULT_STALL = 30.0  # the firehose never goes quiet for this long while healthy
_TAG_IN_TEXT = re.compile(r"(?<![\w#])#(\w+)")


@dataclass(frozen=True, slots=True)
class PostFilter:
    """What makes a network post one of the event's: any/all of the tags, a keyword, an account."""

    tags: frozenset[str]  # lower-case, without '#'
    match_all: bool
    keywords: tuple[str, ...]  # lower-case
    dids: frozenset[str]

    def matches(self, did: str, record: Mapping[str, Any]) -> bool:
        if did in self.dids:
            return True
        text = text_of(record.get("text"))
        low = text.lower()
        if self.tags:
            tags = record_tags(record, text)
            if (self.tags <= tags) if self.match_all else bool(self.tags & tags):
                return True
        return any(k in low for k in self.keywords)


def record_tags(record: Mapping[str, Any], text: str) -> set[str]:
    """A post record's hashtags: tag facets, the record's `tags`, and #words of the text."""
    tags = {m.lower() for m in _TAG_IN_TEXT.findall(text)}
    for facet in arr(record.get("facets")):
        for feature in arr(obj(facet).get("features")):
            feature = obj(feature)
            if text_of(feature.get("$type")).endswith("#tag"):
                tags.add(text_of(feature.get("tag")).lstrip("#").lower())
    tags.update(text_of(t).lstrip("#").lower() for t in arr(record.get("tags")))
    return tags


def minimal_view(did: str, rkey: str, cid: str, record: Mapping[str, Any], time_us: int) -> dict[str, Any]:
    """A post view built from the record alone (author known by DID only; embeds not hydrated)."""
    indexed = datetime.fromtimestamp(time_us / 1_000_000, UTC).isoformat().replace("+00:00", "Z")
    return {"uri": f"at://{did}/{POST_COLLECTION}/{rkey}", "cid": cid, "author": {"did": did, "handle": did},
            "record": dict(record), "indexedAt": indexed}


class JetstreamStream:
    """Jetstream for one Bluesky source; the resume cursor survives reconnects of this object."""

    def __init__(self, ctx: SourceContext, collector: BlueskyCollector) -> None:
        self.ctx = ctx
        self.collector = collector
        self.name = "jetstream"
        self.base = (ctx.settings.stream_url or DEFAULT_URL).rstrip("/")
        self.cursor_us: int | None = None  # newest time_us seen
        self.malformed = 0
        self.seen = 0  # messages read (the firehose included)
        self.exclusions = Exclusions(ctx.settings)
        tags = frozenset(t.strip().lstrip("#").lower() for t in ctx.hashtags if t.strip().lstrip("#"))
        keywords = tuple(k.strip().lower() for k in ctx.settings.keywords if k.strip())
        self._tags, self._keywords = tags, keywords
        self.filter = PostFilter(tags, ctx.settings.match == "all", keywords, frozenset())
        self._dids_resolved = not ctx.settings.accounts
        self._conn: WebSocketConnection | None = None

    def url(self) -> str:
        url = f"{self.base}/subscribe?wantedCollections={POST_COLLECTION}"
        if self.cursor_us is not None:
            url += f"&cursor={max(0, self.cursor_us - REWIND_US)}"
        return url

    def _resolve_accounts(self) -> None:
        dids: set[str] = set()
        for account in self.ctx.settings.accounts:
            try:
                did = self.collector.resolve_did(account)
            except SourceError as exc:
                log.info("stream.account_unresolved account=%s error=%s", account, exc)
                return  # try again at the next connect
            if did:
                dids.add(did)
        self.filter = PostFilter(self._tags, self.filter.match_all, self._keywords, frozenset(dids))
        self._dids_resolved = True

    def open(self) -> None:
        if not self._dids_resolved:
            self._resolve_accounts()
        conn = WebSocketConnection(self.url(), policy=self.ctx.fetch_policy, user_agent=self.ctx.user_agent,
                                   connect_timeout=5.0, stall_timeout=stall_timeout(self.ctx, DEFAULT_STALL))
        conn.open()
        self._conn = conn

    def close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            conn.close()

    def batches(self) -> Iterator[StreamBatch]:
        conn = self._conn
        if conn is None:
            raise SourceError("jetstream is not open")
        for message in conn.messages():
            self.seen += 1
            batch = self.handle(message)
            if batch is not None:
                yield batch

    def handle(self, message: str) -> StreamBatch | None:
        """One Jetstream message -> what it brings the event (None for the rest of the network)."""
        try:
            event = json.loads(message)
        except ValueError:
            event = None
        if not isinstance(event, dict) or not isinstance(event.get("time_us"), int):
            self.malformed += 1
            log.warning("stream.malformed stream=%s bytes=%d", self.name, len(message))
            return None
        time_us: int = event["time_us"]
        if self.cursor_us is None or time_us > self.cursor_us:
            self.cursor_us = time_us
        commit = obj(event.get("commit"))
        if event.get("kind") != "commit" or commit.get("collection") != POST_COLLECTION:
            return None
        did, rkey = text_of(event.get("did")), text_of(commit.get("rkey"))
        if not did or not rkey:
            return None
        operation = commit.get("operation")
        if operation == "delete":
            return StreamBatch(deleted=(PostKey(Platform.BLUESKY, f"at://{did}/{POST_COLLECTION}/{rkey}"),))
        record = obj(commit.get("record"))
        if operation not in ("create", "update") or not self.filter.matches(did, record):
            return None
        post = self._translate(did, rkey, text_of(commit.get("cid")), record, time_us)
        if post is None:
            return None
        kept = Skips().screen([post], self.exclusions)
        return StreamBatch(posts=kept) if kept else None

    def _translate(self, did: str, rkey: str, cid: str, record: Mapping[str, Any], time_us: int) -> Post | None:
        uri = f"at://{did}/{POST_COLLECTION}/{rkey}"
        try:
            found = self.collector.hydrate([uri]).get(uri)
        except SourceError as exc:
            log.info("stream.hydrate_failed uri=%s error=%s", uri, exc)
            found = None
        if found is not None:
            return found
        return post_view_to_post(minimal_view(did, rkey, cid, record, time_us), self.ctx.clock())

