"""The wall's live stream (`/e/<slug>/live`): each live row becomes its SSE frame once per process.

The hub's tailer reads a batch of live rows together with the posts they name
(one query round per batch, on the tailer's own thread), then renders every row
of a watched event into its frame on the loop (`id:` and `data:` lines as bytes:
one template render and one JSON encoding per row and process). Each client's
stream then only looks its rows up and writes the very same bytes object to its
socket; rows that queued up while a client was slow go out in one write. So the
per-client cost of a row is a queue hand-off, a dict lookup and a socket write,
whatever the size of the card.

A replay (Last-Event-ID, or `?after=N` on the first connection) reads the rows
from the table and takes their frames from the same cache, rendering the misses
(again once per process, however many clients replay them at the same time).
A frame shows the post as it was when it was rendered: when a later row about
the same post (or announcement) is tailed, the earlier frames are forgotten, so
a replay renders them afresh; a client always receives the later row too.

Data of each frame (JSON):

  {"kind": "post.approved" | "post.updated" | "post.pinned" | "post.unpinned"
           | "post.featured" | "post.unfeatured",
   "post_id": 12, "html": "<article ...>", "pinned": false, "featured": false,
   "created_at": "2014-04-23T09:12:00Z"}
      the post as it is when rendered, drawn by post/card.html; sent only while
      the post is approved (and its platform shown on this wall)
  {"kind": "post.retracted", "post_id": 12}
      remove the card (also sent for an approval whose post is no longer visible)
  {"kind": "announcement", "id": 3, "html": "<li ...>"}   add or replace a banner line
  {"kind": "announcement.withdrawn", "id": 3}              remove it
  {"kind": "wall.options"}                                 options changed: reload the page
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from jinja2 import Environment
from starlette.responses import Response
from starlette.types import Message, Receive, Scope, Send

from aggregator.config import LoadedConfig, WallSettings
from aggregator.live import KEEPALIVE, REPLAY_BATCH, LiveHub, Subscriber
from aggregator.storage import EventRecord, Storage, StoredPost
from aggregator.storage.announcements import AnnouncementRecord
from aggregator.storage.records import LiveEvent
from aggregator.types import Status
from aggregator.web import cards

log = logging.getLogger("aggregator.web.live")

KEEPALIVE_SECONDS = 15
RETRY_MS = 1500
HELLO = f": live\nretry: {RETRY_MS}\n\n".encode()
PING = b": ping\n\n"
POST_KINDS = ("post.approved", "post.updated", "post.pinned", "post.unpinned", "post.featured", "post.unfeatured")
FRAME_TTL = 60.0  # seconds a frame is kept for replays; cards say "just now", so not for long
FRAME_LIMIT = 4096

EVENTS_TTL = 10.0  # seconds the renderer keeps event records (a wall.options row refreshes them at once)


# ---- one row -> its message -------------------------------------------------------------------------------


def live_message(storage: Storage, env: Environment, event: EventRecord, settings: WallSettings,
                 row: LiveEvent, now: datetime, wall: str = "", posts: Mapping[int, StoredPost] | None = None,
                 announcements: list[AnnouncementRecord] | None = None) -> dict[str, Any] | None:
    """The JSON a wall (`wall`, with these settings) receives for one live-event row, or None when this
    wall has nothing to do. The per-wall filters are `cards.wall_shows`.

    `posts`, `announcements`: read beforehand (a post missing from `posts` is gone); else read here."""
    if row.kind in POST_KINDS and row.post_id is not None:
        post = posts.get(row.post_id) if posts is not None else storage.post(event.id, row.post_id)
        visible = (post is not None and post.event_id == event.id and post.status is Status.APPROVED
                   and cards.wall_shows(post, settings))
        if not visible or post is None:
            return {"kind": "post.retracted", "post_id": row.post_id}
        ctx = cards.CardContext(event.slug, event.timezone, now, "wall", settings.show_media,
                                inline_video=settings.inline_video)
        return {
            "kind": row.kind, "post_id": post.id, "html": cards.render_card(env, post, ctx),
            "pinned": post.pinned, "featured": post.featured, "created_at": cards.iso(post.created_at),
        }
    if row.kind == "post.retracted" and row.post_id is not None:
        return {"kind": "post.retracted", "post_id": row.post_id}
    if row.kind == "announcement":
        listed = storage.announcements(event.id) if announcements is None else announcements
        found = [a for a in listed if a.id == row.payload.get("id")]
        if not found or found[0].withdrawn:
            return None
        html = cards.render_template(env, "wall/announcement.html", {"a": found[0], "now": now})
        return {"kind": "announcement", "id": found[0].id, "html": html}
    if row.kind == "announcement.withdrawn":
        return {"kind": "announcement.withdrawn", "id": row.payload.get("id")}
    if row.kind == "wall.options":
        # Only the screens of the wall whose options changed reload.
        return {"kind": "wall.options"} if str(row.payload.get("wall") or "") == wall else None
    return None


def frame(seq: int, message: dict[str, Any] | None) -> bytes:
    """The SSE frame of one message; b"" when there is nothing to send. JSON has no raw newlines."""
    if message is None:
        return b""
    return f"id: {seq}\ndata: {json.dumps(message, ensure_ascii=False)}\n\n".encode()


@dataclass(frozen=True, slots=True)
class Loaded:
    """What rendering a batch of rows needs from the database, read on a worker thread."""

    events: dict[int, EventRecord]
    posts: Mapping[int, StoredPost]
    announcements: dict[int, list[AnnouncementRecord]]  # only for events with announcement rows


class Renderer:
    """Rows -> frames in two steps: `load` reads (a worker thread), `render` draws (the event loop).

    Drawing a card is CPU work; done on a second thread it would fight the loop's socket writes
    for the GIL (each write releases it, then waits a switch interval to get it back), slowing both.
    Event records are kept for `events_ttl` seconds and re-read when a wall's options change."""

    def __init__(self, storage: Storage, env: Environment, cfg: LoadedConfig, clock: Callable[[], datetime],
                 events_ttl: float = EVENTS_TTL) -> None:
        self.storage, self.env, self.cfg, self.clock, self.events_ttl = storage, env, cfg, clock, events_ttl
        self._events: dict[int, EventRecord] = {}
        self._events_at = float("-inf")

    def load(self, rows: list[LiveEvent], posts: Mapping[int, StoredPost] | None = None) -> Loaded:
        """On a worker thread. `posts`: already read with the rows (None: read them here)."""
        events = self._events
        if (time.monotonic() - self._events_at > self.events_ttl or any(r.event_id not in events for r in rows)
                or any(r.kind == "wall.options" for r in rows)):
            events = {e.id: e for e in self.storage.events()}
            self._events, self._events_at = events, time.monotonic()
        if posts is None:
            wanted: dict[int, list[int]] = {}
            for row in rows:
                if row.post_id is not None:
                    wanted.setdefault(row.event_id, []).append(row.post_id)
            posts = {k: v for event_id, ids in wanted.items()
                     for k, v in self.storage.posts_by_ids(event_id, ids).items()}
        announcements = {e: self.storage.announcements(e)
                         for e in {r.event_id for r in rows if r.kind == "announcement"}}
        return Loaded(events, posts, announcements)

    def render(self, pairs: list[tuple[LiveEvent, str]], loaded: Loaded) -> list[bytes]:
        """On the loop: pure drawing and encoding, no I/O. One frame per (row, wall name)."""
        now = self.clock()
        out = []
        for row, wall in pairs:
            event = loaded.events.get(row.event_id)
            if event is None:
                out.append(b"")
                continue
            settings = cards.wall_settings(self.cfg, event, wall)
            message = live_message(self.storage, self.env, event, settings, row, now, wall, loaded.posts,
                                   loaded.announcements.get(row.event_id, []))
            out.append(frame(row.seq, message))
        return out


def _subject(row: LiveEvent) -> tuple[int, str, Any] | None:
    """What a row is about: a later row about the same thing makes earlier frames stale."""
    if row.post_id is not None:
        return (row.event_id, "post", row.post_id)
    if row.kind.startswith("announcement"):
        return (row.event_id, "announcement", row.payload.get("id"))
    return None


# ---- the frame cache ----------------------------------------------------------------------------------------


Key = tuple[int, str]  # (seq, wall name): a named wall has its own filters, so its own frames


class Frames:
    """Each row's frame by (seq, wall), made once per process. Its state lives on the event loop;
    `read` (on the tailer's thread) only reads it."""

    def __init__(self, renderer: Renderer, ttl: float = FRAME_TTL, limit: int = FRAME_LIMIT) -> None:
        self._renderer = renderer
        self._reader = renderer.storage.live_reader()
        self.ttl, self.limit = ttl, limit
        self._frames: dict[Key, bytes] = {}
        self._events: dict[Key, int] = {}  # key -> event id
        self._born: deque[tuple[float, Key]] = deque()  # (monotonic time, key), oldest first
        self._by_subject: dict[tuple[int, str, Any], set[Key]] = {}
        self._pending: dict[Key, asyncio.Future[bytes | None]] = {}
        self._watched: dict[int, dict[str, int]] = {}  # event id -> wall -> open streams

    def __len__(self) -> int:
        return len(self._frames)

    def close(self) -> None:
        self._reader.close()

    def get(self, seq: int, wall: str = "") -> bytes | None:
        return self._frames.get((seq, wall))

    def watch(self, event_id: int, wall: str) -> None:
        walls = self._watched.setdefault(event_id, {})
        walls[wall] = walls.get(wall, 0) + 1

    def unwatch(self, event_id: int, wall: str) -> None:
        walls = self._watched.get(event_id, {})
        left = walls.get(wall, 0) - 1
        if left > 0:
            walls[wall] = left
        else:
            walls.pop(wall, None)
            if not walls:
                self._watched.pop(event_id, None)

    def watching(self, event_id: int) -> bool:
        return bool(self._watched.get(event_id))

    def read(self, seq: int) -> tuple[list[LiveEvent], tuple[list[tuple[LiveEvent, str]], Loaded] | None]:
        """The hub's tail reader (its thread): the rows after seq, with the posts they name in the
        same read, and what drawing them for every watched wall needs."""
        rows, posts = self._reader.batch(seq, REPLAY_BATCH, self.watching)
        pairs = [(r, wall) for r in rows for wall in list(self._watched.get(r.event_id, ()))
                 if (r.seq, wall) not in self._frames]
        if not pairs:
            return rows, None
        try:
            return rows, (pairs, self._renderer.load([r for r, _ in pairs], posts))
        except Exception:  # the rows still go out; a client renders what is missing itself
            log.exception("live.load_failed")
            return rows, None

    def accept(self, rows: list[LiveEvent], loaded: tuple[list[tuple[LiveEvent, str]], Loaded] | None) -> None:
        """On the loop, before the fan-out: forget stale frames, draw and keep the new ones."""
        for row in rows:
            if row.kind == "wall.options":  # a wall's settings changed: every card may change
                self._forget([k for k, e in self._events.items() if e == row.event_id and k[0] < row.seq])
            subject = _subject(row)
            if subject is not None:
                keys = self._by_subject.get(subject)
                if keys:
                    self._forget([k for k in keys if k[0] < row.seq])
        self._expire()
        if loaded is not None:
            pairs, data = loaded
            for (row, wall), made in zip(pairs, self._renderer.render(pairs, data), strict=True):
                self._store(row, wall, made)

    async def ensure(self, rows: list[LiveEvent], wall: str = "") -> list[bytes]:
        """The frames of these rows for a wall, drawing the missing ones (once per process)."""
        frames = self._frames
        out = [frames.get((row.seq, wall)) for row in rows]
        if None not in out:
            return out  # type: ignore[return-value]  # the hot path: every frame is there
        loop = asyncio.get_running_loop()
        waits: dict[Key, asyncio.Future[bytes | None]] = {}
        mine: list[LiveEvent] = []
        for row, found in zip(rows, out, strict=True):
            key = (row.seq, wall)
            if found is not None or key in waits:
                continue
            pending = self._pending.get(key)
            if pending is None:
                pending = self._pending[key] = loop.create_future()
                mine.append(row)
            waits[key] = pending
        if mine:
            try:
                loaded = await asyncio.to_thread(self._renderer.load, mine)
                made = self._renderer.render([(row, wall) for row in mine], loaded)
            except BaseException:
                for row in mine:
                    self._settle((row.seq, wall), None)
                raise
            for row, data in zip(mine, made, strict=True):
                self._store(row, wall, data)
                self._settle((row.seq, wall), data)
        result = []
        for row, found in zip(rows, out, strict=True):
            if found is None:
                found = await waits[(row.seq, wall)]
                if found is None:
                    raise RuntimeError(f"rendering live row {row.seq} failed")
            result.append(found)
        return result

    def _settle(self, key: Key, data: bytes | None) -> None:
        future = self._pending.pop(key, None)
        if future is not None and not future.done():
            future.set_result(data)

    def _store(self, row: LiveEvent, wall: str, data: bytes) -> None:
        key = (row.seq, wall)
        if key in self._frames:
            return
        self._frames[key] = data
        self._events[key] = row.event_id
        self._born.append((time.monotonic(), key))
        subject = _subject(row)
        if subject is not None:
            self._by_subject.setdefault(subject, set()).add(key)

    def _forget(self, keys: list[Key]) -> None:
        for key in keys:
            self._frames.pop(key, None)
            self._events.pop(key, None)
        if keys:
            gone = set(keys)
            for subject in [k for k, v in self._by_subject.items() if v & gone]:
                left = self._by_subject[subject] - gone
                if left:
                    self._by_subject[subject] = left
                else:
                    del self._by_subject[subject]

    def _expire(self) -> None:
        old = time.monotonic() - self.ttl
        dead = []
        while self._born and (self._born[0][0] < old or len(self._born) > self.limit):
            dead.append(self._born.popleft()[1])
        self._forget([k for k in dead if k in self._frames])


# ---- the response -------------------------------------------------------------------------------------------


class LiveStream(Response):
    """An SSE response fed by the hub: replay from `start`, then live frames, until the client
    leaves or is dropped for falling behind (it reconnects with its last id)."""

    media_type = "text/event-stream"

    def __init__(self, hub: LiveHub, frames: Frames, event_id: int, start: int | None, wall: str = "") -> None:
        self.hub, self.frames, self.event_id, self.start, self.wall = hub, frames, event_id, start, wall
        self.status_code = 200
        self.background = None
        self.init_headers({"Cache-Control": "no-store", "X-Accel-Buffering": "no"})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        sub = self.hub.register(self.event_id)
        self.frames.watch(self.event_id, self.wall)
        watcher = asyncio.create_task(self._watch(receive, sub))
        try:
            await send({"type": "http.response.start", "status": 200, "headers": self.raw_headers})
            await send({"type": "http.response.body", "body": HELLO, "more_body": True})
            if self.start is not None:
                await self._replay(sub, send)
            await self._live(sub, send)
            await send({"type": "http.response.body", "body": b"", "more_body": False})
        except OSError:  # the client went away mid-write
            pass
        finally:
            watcher.cancel()
            self.hub.unregister(sub)
            self.frames.unwatch(self.event_id, self.wall)

    async def _watch(self, receive: Receive, sub: Subscriber) -> None:
        """Close the subscriber when the client disconnects (one idle task per client)."""
        while True:
            message: Message = await receive()
            if message["type"] == "http.disconnect":
                self.hub.close(sub)
                return

    async def _replay(self, sub: Subscriber, send: Send) -> None:
        assert self.start is not None
        if self.start >= sub.last_seq:  # a fresh page: everything after its seq comes through the queue
            sub.last_seq = self.start
            return
        recent = self.hub.recent_after(self.event_id, self.start)  # no await since register()
        sub.last_seq = self.start
        if recent is not None:  # a reconnect within the hub's memory: no query
            if recent:
                body = b"".join(await self.frames.ensure(recent, self.wall))
                sub.last_seq = max(sub.last_seq, recent[-1].seq)
                if body:
                    await send({"type": "http.response.body", "body": body, "more_body": True})
            return
        storage = self.hub.storage
        while not sub.dropped:
            rows = await asyncio.to_thread(storage.live_after, sub.last_seq, self.event_id, REPLAY_BATCH)
            if rows:
                body = b"".join(await self.frames.ensure(rows, self.wall))
                sub.last_seq = rows[-1].seq
                if body:
                    await send({"type": "http.response.body", "body": body, "more_body": True})
            if len(rows) < REPLAY_BATCH:
                return

    async def _live(self, sub: Subscriber, send: Send) -> None:
        queue, frames, wall = sub.queue, self.frames._frames, self.wall
        while True:
            item = await queue.get()
            items = [item]
            while not queue.empty():  # several rows waiting: one write
                items.append(queue.get_nowait())
            rows: list[LiveEvent] = []
            ping = False
            for it in items:
                if it is None:
                    return  # closed: dropped for falling behind, or the client left
                if it == KEEPALIVE:
                    ping = True
                elif isinstance(it, LiveEvent) and it.seq > sub.last_seq:
                    rows.append(it)
            if rows:
                sub.last_seq = rows[-1].seq
                if len(rows) == 1:
                    body = frames.get((rows[0].seq, wall))
                    if body is None:
                        body = (await self.frames.ensure(rows, wall))[0]
                else:
                    body = b"".join(await self.frames.ensure(rows, wall))
            else:
                body = PING if ping else b""
            if body:
                await send({"type": "http.response.body", "body": body, "more_body": True})


def install(hub: LiveHub, storage: Storage, env: Environment, cfg: LoadedConfig,
            clock: Callable[[], datetime]) -> Frames:
    """Wire a process's frame cache into its hub (called once by create_app)."""
    frames = Frames(Renderer(storage, env, cfg, clock))
    hub.tail_reader, hub.accept, hub.tail_closer = frames.read, frames.accept, frames.close
    if hub.keepalive <= 0:
        hub.keepalive = KEEPALIVE_SECONDS
    return frames

