"""Several processes, one product: on PostgreSQL an approval made through one server process
reaches a wall streaming from another, and `serve --workers 2` serves every worker's walls."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from aggregator.storage import PostQuery, Storage
from aggregator.storage.moderation import Actor
from aggregator.types import Status
from aggregator.web.auth import hash_password
from tests.factories import make_post, pending
from tests.web.conftest import PASSWORD, csrf_from, free_port

SLUG = "coproduction-2014"
CONFIG = f"""
[server]
public_url = "http://127.0.0.1"

[[events]]
slug = "{SLUG}"
title = "Co-production"
timezone = "Europe/London"
start = 2014-04-23T09:00:00
end = 2014-04-23T16:30:00
hashtags = ["coprodscot"]

[[events.sources]]
kind = "mastodon"
name = "masto"
api_base = "http://127.0.0.1:9/mastodon/a"
"""


@pytest.fixture
def setup(pg_url: str, tmp_path: Path) -> Iterator[tuple[Path, Storage, int]]:
    """A config file and the database behind it, migrated, with one pending post."""
    from aggregator.cli import open_storage
    from aggregator.config import load_config

    config = tmp_path / "aggregator.toml"
    config.write_text(CONFIG)
    storage = open_storage(load_config(config, environ={"DATABASE_URL": pg_url}))
    try:
        event = storage.event(SLUG)
        assert event is not None
        storage.ingest(event.id, None, [pending(make_post(1))], None)
        storage.create_user("mo", hash_password(PASSWORD), "moderator", "Mo")
        yield config, storage, event.id
    finally:
        storage.close()


@contextmanager
def serving(config: Path, db_url: str, *extra: str) -> Iterator[str]:
    """`aggregator serve --no-collect` in its own process; yields its base URL."""
    port = free_port()
    env = {**os.environ, "DATABASE_URL": db_url, "AGGREGATOR_SECRET_KEY": "test-" + "k" * 40}
    proc = subprocess.Popen(
        [sys.executable, "-c", "from aggregator.cli import main; raise SystemExit(main())", "serve",
         "--config", str(config), "--no-collect", "--port", str(port), *extra],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            assert proc.poll() is None, proc.stderr.read().decode() if proc.stderr else "server exited"
            try:
                if httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, "the server did not start"
            time.sleep(0.2)
        yield base
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        if proc.stderr is not None:
            proc.stderr.close()


class Stream(threading.Thread):
    """One wall's SSE stream from `after`; keeps the messages' data."""

    def __init__(self, base: str, after: int) -> None:
        super().__init__(daemon=True)
        self.base, self.after = base, after
        self.messages: list[dict[str, Any]] = []
        self.open = threading.Event()
        self.got = threading.Event()

    def run(self) -> None:
        with httpx.stream("GET", f"{self.base}/e/{SLUG}/live", params={"after": str(self.after)},
                          timeout=httpx.Timeout(5, read=20)) as resp:
            for line in resp.iter_lines():
                self.open.set()
                if line.startswith("data:"):
                    self.messages.append(json.loads(line[5:]))
                    self.got.set()
                    return


def _pending_id(storage: Storage, event_id: int) -> int:
    [post] = storage.posts(event_id, PostQuery(statuses=(Status.PENDING,))).posts
    return post.id


def test_an_approval_through_one_process_reaches_a_wall_on_another(
        setup: tuple[Path, Storage, int], pg_url: str) -> None:
    config, storage, event_id = setup
    post_id = _pending_id(storage, event_id)
    with serving(config, pg_url) as one, serving(config, pg_url) as other:
        wall = Stream(other, storage.last_live_seq())
        wall.start()
        assert wall.open.wait(10)  # the ": live" greeting: the wall is subscribed on `other`
        with httpx.Client(base_url=one, follow_redirects=False, timeout=10) as moderator:
            login = moderator.get("/console/login")
            resp = moderator.post("/console/login", data={
                "username": "mo", "password": PASSWORD, "csrf_token": csrf_from(login.text),
                "next": f"/console/{SLUG}/queue"})
            assert resp.status_code == 303
            queue = moderator.get(f"/console/{SLUG}/queue")
            resp = moderator.post(f"/console/{SLUG}/posts/{post_id}/approve", data={
                "csrf_token": csrf_from(queue.text), "next": f"/console/{SLUG}/queue"})
            assert resp.status_code == 303
        assert wall.got.wait(10)
        [message] = wall.messages
        assert (message["kind"], message["post_id"]) == ("post.approved", post_id)
        assert f'data-post-id="{post_id}"' in message["html"]


def test_serve_with_two_workers_delivers_to_walls_on_every_worker(
        setup: tuple[Path, Storage, int], pg_url: str) -> None:
    config, storage, event_id = setup
    post_id = _pending_id(storage, event_id)
    with serving(config, pg_url, "--workers", "2") as base:
        walls = [Stream(base, storage.last_live_seq()) for _ in range(6)]
        for wall in walls:
            wall.start()
        assert all(wall.open.wait(10) for wall in walls)
        # Another process commits (the collector or a console would): NOTIFY wakes every worker.
        storage.moderate_posts(event_id, [post_id], "approve", Actor(None, "test"))
        assert all(wall.got.wait(10) for wall in walls)
        assert {(w.messages[0]["kind"], w.messages[0]["post_id"]) for w in walls} == {("post.approved", post_id)}
