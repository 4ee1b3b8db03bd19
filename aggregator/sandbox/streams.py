"""Streaming fakes: Mastodon hashtag streaming (SSE) and Bluesky Jetstream (WebSocket, JSON).

Both watch the World: every few milliseconds each connection emits what happened since its
last look (a post released, edited or deleted), in time order, in the platform's own format.

- Mastodon `GET /mastodon/<inst>/api/v1/streaming/hashtag[/local]?tag=x`: `text/event-stream`,
  a `:)` comment first, `event: update` / `status.update` with the Status JSON as data,
  `event: delete` with the instance-local id, and a `:thump` heartbeat comment every
  `heartbeat` seconds. No replay (as Mastodon): a client that was away misses events.
- Jetstream `GET /jetstream/subscribe?wantedCollections=app.bsky.feed.post&cursor=<us>`: a
  WebSocket (RFC 6455 handshake, unmasked text frames) of `{"did","time_us","kind":"commit",
  "commit":{"rev","operation","collection","rkey","record","cid"}}`, the scenario's posts among
  a firehose of unrelated posts (and some of their deletions) at `firehose` per second. With a
  cursor, the scenario's events from that time are replayed first (the firehose is not).

Faults (faults.py) apply per connection: `drop` ends it after `seconds`, `freeze` sends
nothing (heartbeats included) for `seconds`, `malformed` sends a broken frame first; a
`status` fault answers the connect with that status.
"""

from __future__ import annotations

import base64
import hashlib
import json
import random
import struct
import threading
import time
from collections.abc import Iterator
from datetime import datetime
from typing import Any

from aggregator.sandbox import ids
from aggregator.sandbox.http import Request, Response, json_response
from aggregator.sandbox.text import segments
from aggregator.sandbox.world import World

TICK = 0.01  # seconds between looks at the world
WS_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
POST = "app.bsky.feed.post"


def us(t: datetime) -> int:
    return int(t.timestamp() * 1_000_000)


def sse_frame(event: str, data: str) -> bytes:
    return f"event: {event}\ndata: {data}\n\n".encode()


def ws_frame(text: str) -> bytes:
    """One unmasked text frame (server to client)."""
    payload = text.encode("utf-8")
    n = len(payload)
    if n < 126:
        head = struct.pack("!BB", 0x81, n)
    elif n < 65536:
        head = struct.pack("!BBH", 0x81, 126, n)
    else:
        head = struct.pack("!BBQ", 0x81, 127, n)
    return head + payload


def ws_accept(key: str) -> str:
    return base64.b64encode(hashlib.sha1((key + WS_GUID).encode()).digest()).decode()  # RFC 6455 asks for SHA-1


class MastodonStreaming:
    """The hashtag stream of one instance of the Mastodon fake."""

    def __init__(self, api: Any, stopping: threading.Event) -> None:
        self.api = api  # MastodonApi (not imported: it imports this module)
        self.world: World = api.world
        self.stopping = stopping
        self.heartbeat = 10.0  # seconds between `:thump` comments

    def hashtag(self, req: Request, inst: str, local: bool) -> Response:
        tag = (req.arg("tag") or "").lower().lstrip("#")
        if not tag:
            return json_response({"error": "No tag for stream provided"}, 400)
        return Response(200, content_type="text/event-stream", headers=[("Cache-Control", "no-store")],
                        stream=self._events(inst, tag, local, req.base))

    def _tags(self, p: Any, now: datetime) -> set[str]:
        return {s.value.lower() for s in segments(self.world.text(p, now)) if s.kind == "tag"}

    def _events(self, inst: str, tag: str, local: bool, base: str) -> Iterator[bytes]:
        """What changes after the connection opens: releases, edits, deletions (state-based, so a
        change at the very instant of a look is never missed)."""
        w, api = self.world, self.api
        ours = [p for p in w.scenario.posts if p.platform == "mastodon" and p.repost_of is None
                and p.visibility == "public" and inst in api.present_on(p)
                and (not local or api.home(w.author(p)) == inst)]
        now = w.now()
        released = {p.id for p in ours if w.is_released(p, now)}
        deleted = {p.id for p in ours if w.is_deleted(p, now)}
        edited = {p.id for p in ours if w.edited_at(p, now) is not None}
        beat = time.monotonic() + self.heartbeat
        yield b":)\n\n"
        while not self.stopping.wait(TICK):
            now = w.now()
            out: list[tuple[datetime, int, bytes]] = []
            for p in ours:
                if p.id in deleted:
                    continue
                seq = w.seq[p.id]
                if w.is_deleted(p, now):
                    deleted.add(p.id)
                    if p.id in released and tag in self._tags(p, now):
                        out.append((w.deletion_time(p) or now, seq, sse_frame("delete", api.status_id(p, inst))))
                    continue
                if p.id not in released and w.is_released(p, now):
                    released.add(p.id)
                    edited.update({p.id} if w.edited_at(p, now) else set())
                    if tag in self._tags(p, now):
                        status = json.dumps(api.status(p, inst, base, now))
                        out.append((w.release_time(p), seq, sse_frame("update", status)))
                elif p.id in released and p.id not in edited and w.edited_at(p, now) is not None:
                    edited.add(p.id)
                    if tag in self._tags(p, now):
                        status = json.dumps(api.status(p, inst, base, now))
                        out.append((w.edit_time(p) or now, seq, sse_frame("status.update", status)))
            for _, _, frame in sorted(out, key=lambda e: (e[0], e[1])):
                yield frame
            if time.monotonic() >= beat:
                beat = time.monotonic() + self.heartbeat
                yield b":thump\n\n"


_FILLER_TEXTS = (
    "morning run done, coffee next", "anyone else watching the match tonight? #football",
    "new sketch from the weekend #art", "this bread recipe finally worked", "rain again. of course.",
    "reading list for december #books", "the cat has claimed the keyboard", "shipping a small fix today #dev",
    "bus is late, classic monday", "photos from the hike are up #photography",
)


class Jetstream:
    """The Jetstream fake over the Bluesky fake's world; `firehose` unrelated posts a second."""

    def __init__(self, bluesky: Any, stopping: threading.Event, firehose: float = 200.0) -> None:
        self.bluesky = bluesky  # BlueskyApi
        self.world: World = bluesky.world
        self.stopping = stopping
        self.firehose = firehose
        self.sent = 0  # frames sent on all connections (benchmark: the firehose's real rate)
        self._lock = threading.Lock()

    def handle(self, req: Request, sub: str) -> Response:
        if sub.rstrip("/") != "/subscribe":
            return json_response({"error": "not found"}, 404)
        key = req.header("Sec-WebSocket-Key")
        if (req.header("Upgrade") or "").lower() != "websocket" or not key:
            return Response(400, b"expected a WebSocket upgrade", content_type="text/plain")
        wanted = set(req.args("wantedCollections"))
        cursor = req.arg("cursor")
        start = int(cursor) if cursor and cursor.isdigit() else None
        return Response(101, content_type="", headers=[
            ("Upgrade", "websocket"), ("Connection", "Upgrade"), ("Sec-WebSocket-Accept", ws_accept(key)),
        ], stream=self._frames(wanted, start, req.base), close=True)

    def _create(self, p: Any, time_us: int, base: str, now: datetime) -> dict[str, Any]:
        sky, seq = self.bluesky, self.world.seq[p.id]
        return {"did": sky.did_of(p.author), "time_us": time_us, "kind": "commit",
                "commit": {"rev": ids.tid(p.at, seq), "operation": "create", "collection": POST,
                           "rkey": sky.rkey(p), "record": sky.record(p, base, now), "cid": sky.cid(p, now)}}

    def _delete(self, p: Any, time_us: int) -> dict[str, Any]:
        sky, seq = self.bluesky, self.world.seq[p.id]
        return {"did": sky.did_of(p.author), "time_us": time_us, "kind": "commit",
                "commit": {"rev": ids.tid(p.at, seq + 1), "operation": "delete", "collection": POST,
                           "rkey": sky.rkey(p)}}

    def _replay(self, since: int, base: str) -> tuple[list[tuple[int, int, dict[str, Any]]], set[str], set[str]]:
        """The scenario's events from `since` (a cursor) to now, and what is released/deleted now."""
        w = self.world
        now = w.now()
        out: list[tuple[int, int, dict[str, Any]]] = []
        released: set[str] = set()
        deleted: set[str] = set()
        for p in w.scenario.posts:
            if p.platform != "bluesky" or p.repost_of is not None:
                continue
            seq = w.seq[p.id]
            if w.is_released(p, now):
                released.add(p.id)
                t = us(w.release_time(p))
                if t >= since:
                    out.append((t, seq, self._create(p, t, base, now)))
            gone = w.deletion_time(p)
            if gone is not None and gone <= now:
                deleted.add(p.id)
                if us(gone) >= since:
                    out.append((us(gone), seq, self._delete(p, us(gone))))
        return out, released, deleted

    def _changes(self, released: set[str], deleted: set[str], base: str) -> list[tuple[int, int, dict[str, Any]]]:
        """Scenario posts released or deleted since the last look (state-based: nothing at an instant is lost)."""
        w = self.world
        now = w.now()
        out: list[tuple[int, int, dict[str, Any]]] = []
        for p in w.scenario.posts:
            if p.platform != "bluesky" or p.repost_of is not None or p.id in deleted:
                continue
            seq = w.seq[p.id]
            if p.id not in released and w.is_released(p, now):
                released.add(p.id)
                t = us(w.release_time(p))
                out.append((t, seq, self._create(p, t, base, now)))
            gone = w.deletion_time(p)
            if gone is not None and gone <= now:
                deleted.add(p.id)
                out.append((us(gone), seq, self._delete(p, us(gone))))
        return out

    def _filler(self, rng: random.Random, n: int, after: int, until: int) -> list[tuple[int, int, dict[str, Any]]]:
        out: list[tuple[int, int, dict[str, Any]]] = []
        for i in range(n):
            t = rng.randint(after + 1, until) if until > after else until
            did = "did:plc:" + ids.b32(ids.digest("firehose", str(rng.randrange(50_000))))[:24]
            rkey = ids.tid(t / 1e6, rng.randrange(1024))
            if rng.random() < 0.05:
                commit: dict[str, Any] = {"rev": rkey, "operation": "delete", "collection": POST, "rkey": rkey}
            else:
                text = rng.choice(_FILLER_TEXTS)
                commit = {"rev": rkey, "operation": "create", "collection": POST, "rkey": rkey,
                          "record": {"$type": POST, "createdAt": "2026-01-01T00:00:00.000Z", "text": text,
                                     "langs": ["en"]},
                          "cid": "bafyrei" + ids.b32(ids.digest("cid", did, rkey))[:52]}
            out.append((t, -1 - i, {"did": did, "time_us": t, "kind": "commit", "commit": commit}))
        return out

    def _frames(self, wanted: set[str], start: int | None, base: str) -> Iterator[bytes]:
        w = self.world
        rng = random.Random(0x5EED)
        replayed, released, deleted = self._replay(start if start is not None else us(w.now()) + 1, base)
        last = us(w.now())
        owed = 0.0
        real = time.monotonic()
        first = True
        while first or not self.stopping.wait(TICK):
            events = replayed if first else self._changes(released, deleted, base)
            first = False
            now_us = max(us(w.now()), last)
            elapsed, real = time.monotonic() - real, time.monotonic()
            owed += self.firehose * elapsed
            n = int(owed)
            owed -= n
            events += self._filler(rng, n, last, now_us)
            last = now_us
            events.sort(key=lambda e: (e[0], e[1]))
            frames = [ws_frame(json.dumps(e, separators=(",", ":"))) for _, _, e in events
                      if not wanted or e["commit"]["collection"] in wanted]
            if frames:
                with self._lock:
                    self.sent += len(frames)
                yield b"".join(frames)
