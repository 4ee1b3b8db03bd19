"""The live stream's per-client work does not depend on the card: each row is read, rendered and
JSON-encoded once per process, and every client is handed the very same bytes object.

Structural, not timed: N in-process ASGI clients of the stream, counting the calls."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable, Coroutine
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

import pytest

from aggregator.config import LoadedConfig
from aggregator.live import LiveHub
from aggregator.storage import PostQuery, Storage
from aggregator.storage.moderation import Actor
from aggregator.types import Status
from aggregator.web import cards, live_stream
from aggregator.web.live_stream import HELLO, LiveStream
from aggregator.web.templating import make_templates
from tests.factories import make_post, make_settings, migrated_storage, pending

CLIENTS = 25
T = TypeVar("T")
ACTOR = Actor(None, "test")


class Client:
    """One stream's ASGI side: records every body object it is handed; can be made to stall."""

    def __init__(self) -> None:
        self.bodies: list[bytes] = []
        self.gone = asyncio.Event()
        self.open = asyncio.Event()
        self.open.set()

    async def receive(self) -> dict[str, Any]:
        await self.gone.wait()
        return {"type": "http.disconnect"}

    async def send(self, message: dict[str, Any]) -> None:
        if message["type"] == "http.response.body" and message["body"]:
            await self.open.wait()
            self.bodies.append(message["body"])

    def ids(self) -> list[int]:
        joined = b"".join(self.bodies).decode()
        return [int(line[3:]) for line in joined.splitlines() if line.startswith("id:")]


async def _until(check: Any, timeout: float = 10.0) -> None:
    async with asyncio.timeout(timeout):
        while not check():
            await asyncio.sleep(0.01)


class Counts:
    def __init__(self, monkeypatch: pytest.MonkeyPatch, storage: Storage) -> None:
        self.calls: Counter[str] = Counter()
        for name in ("post", "posts_by_ids", "events", "announcements", "live_after"):
            self._wrap(monkeypatch, storage, name, f"storage.{name}")
        self._wrap(monkeypatch, cards, "render_card", "render_card")
        self._wrap(monkeypatch, live_stream, "frame", "encode")  # the one json.dumps of a row
        self._wrap(monkeypatch, asyncio, "to_thread", "to_thread")

    def _wrap(self, monkeypatch: pytest.MonkeyPatch, owner: Any, name: str, label: str) -> None:
        real = getattr(owner, name)

        def counted(*args: Any, **kwargs: Any) -> Any:
            self.calls[label] += 1
            return real(*args, **kwargs)

        monkeypatch.setattr(owner, name, counted)


def _run(storage: Storage, monkeypatch: pytest.MonkeyPatch, texts: list[str]) -> dict[str, Any]:
    """Approve one post per text while CLIENTS streams are open; what each did, and the calls made."""
    event = storage.event("coproduction-2014")
    assert event is not None
    storage.ingest(event.id, None, [pending(make_post(i, text=t)) for i, t in enumerate(texts)], None)
    found = storage.posts(event.id, PostQuery(statuses=(Status.PENDING,))).posts
    ids = [p.id for p in sorted(found, key=lambda p: p.created_at)]
    assert len(ids) == len(texts)
    cfg = LoadedConfig(Path("test.toml"), make_settings(), storage.url, {})

    async def scenario() -> dict[str, Any]:
        hub = LiveHub(storage, poll_interval=3600)  # the in-process wake only
        frames = live_stream.install(hub, storage, cards.prepare(make_templates().env), cfg, storage.clock)
        await hub.start()
        clients = [Client() for _ in range(CLIENTS)]
        tasks = [asyncio.create_task(LiveStream(hub, frames, event.id, None)({"type": "http"}, c.receive, c.send))
                 for c in clients]
        try:
            await _until(lambda: hub.subscriber_count == CLIENTS)
            counts = Counts(monkeypatch, storage)
            loop = asyncio.get_running_loop()
            for n, post_id in enumerate(ids, start=1):
                await loop.run_in_executor(None, storage.moderate_posts, event.id, [post_id], "approve", ACTOR)
                await _until(lambda n=n: all(len(c.ids()) == n for c in clients))  # type: ignore[misc]
            return {"clients": clients, "calls": Counter(counts.calls)}  # before the teardown's calls
        finally:
            for c in clients:
                c.gone.set()
            await asyncio.gather(*tasks)
            await hub.stop()

    return run_loop(scenario)


@pytest.mark.parametrize("size", [10, 20_000])
def test_each_row_is_rendered_once_and_every_client_gets_the_same_bytes(
        db_url: str, monkeypatch: pytest.MonkeyPatch, size: int) -> None:
    texts = [("word " * size)[:size] + f" #{i}" for i in range(3)]
    with migrated_storage(db_url) as storage:
        result = _run(storage, monkeypatch, texts)
    clients: list[Client] = result["clients"]
    calls = result["calls"]
    # Once per row for the whole process, whatever the number of clients or the size of a card;
    # the thread hops are the tailer's (reading rows, rendering them), never one per client.
    assert calls["render_card"] == 3 and calls["encode"] == 3
    # The posts come with the tailer's read of the rows (one per batch); nothing else is read.
    assert calls["storage.post"] == calls["storage.posts_by_ids"] == calls["storage.live_after"] == 0
    assert calls["storage.events"] <= 1
    assert calls["to_thread"] == 0  # the tailer reads on its own thread; clients never hop
    for c in clients:
        assert c.bodies[0] == HELLO and len(c.bodies) == 4
    for k in range(1, 4):
        first = clients[0].bodies[k]
        assert all(c.bodies[k] is first for c in clients)  # the same object, not an equal copy
        assert len(first) > size
        assert first.startswith(b"id: ") and b'"kind": "post.approved"' in first


def test_a_slow_client_gets_queued_rows_in_one_write_and_a_replay_uses_the_same_frames(
        sqlite_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    with migrated_storage(sqlite_url) as storage:
        event = storage.event("coproduction-2014")
        assert event is not None
        storage.ingest(event.id, None, [pending(make_post(i)) for i in range(4)], None)
        ids = [p.id for p in storage.posts(event.id, PostQuery(statuses=(Status.PENDING,))).posts]
        assert len(ids) == 4
        cfg = LoadedConfig(Path("test.toml"), make_settings(), storage.url, {})
        start = storage.last_live_seq()

        async def scenario() -> None:
            hub = LiveHub(storage, poll_interval=3600)
            frames = live_stream.install(hub, storage, cards.prepare(make_templates().env), cfg, storage.clock)
            await hub.start()
            fast, slow = Client(), Client()
            run = [asyncio.create_task(LiveStream(hub, frames, event.id, None)({"type": "http"}, c.receive, c.send))
                   for c in (fast, slow)]
            try:
                await _until(lambda: hub.subscriber_count == 2)
                await _until(lambda: slow.bodies == [HELLO])
                slow.open.clear()  # the slow client's socket stops taking data
                await asyncio.to_thread(storage.moderate_posts, event.id, ids[:1], "approve", ACTOR)
                await _until(lambda: len(fast.ids()) == 1)
                for n, post_id in enumerate(ids[1:], start=2):
                    await asyncio.to_thread(storage.moderate_posts, event.id, [post_id], "approve", ACTOR)
                    await _until(lambda n=n: len(fast.ids()) == n)  # type: ignore[misc]
                slow.open.set()
                await _until(lambda: len(slow.ids()) == 4)
                # The first row was being written when it stalled; the three behind it go in one write.
                assert len(slow.bodies) == 3 and slow.bodies[2] == b"".join(fast.bodies[2:5])
                assert slow.bodies[1] is fast.bodies[1]

                counts = Counts(monkeypatch, storage)
                late = Client()
                task = asyncio.create_task(LiveStream(hub, frames, event.id, start)({"type": "http"},
                                                                                    late.receive, late.send))
                await _until(lambda: len(late.ids()) == 4)
                late.gone.set()
                await task
                assert late.ids() == fast.ids()
                # Replayed from the hub's memory and the frame cache: no query, no render, no thread.
                assert calls_in(counts) == {}
            finally:
                for c in (fast, slow):
                    c.gone.set()
                await asyncio.gather(*run)
                await hub.stop()

        run_loop(scenario)


def run_loop(scenario: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """asyncio.run on a thread of its own: the browser tests' Playwright keeps a loop running here."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(lambda: asyncio.run(scenario())).result()


def calls_in(counts: Counts) -> dict[str, int]:
    return {k: v for k, v in counts.calls.items() if v}
