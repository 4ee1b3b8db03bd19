"""Shared web fixtures: a real uvicorn server on loopback and a real Chromium page.

`live_server` yields the base URL (a `str`, e.g. "http://127.0.0.1:54321") of a
running app over a migrated SQLite database; the same object carries `.cfg`,
`.storage`, `.clock` (a FakeClock), `.app` and `.event_id`, so a test can seed
posts, move time and look at what the app wrote. Override the `live_settings`
fixture in a test module to serve other settings.

`browser_page` is a fresh Playwright page (own context, so own cookies) in
Debian's Chromium. Browser tests skip with the reason shown when Chromium or
Playwright is missing, except under CI=true, where they fail.
"""

from __future__ import annotations

import os
import re
import socket
import threading
import time
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from starlette.exceptions import StarletteDeprecationWarning

with warnings.catch_warnings():
    # Starlette 1.x warns that its TestClient prefers `httpx2` over `httpx` (not installable offline here).
    # Imported once, here, before any test module does; every later import reuses the module.
    warnings.simplefilter("ignore", StarletteDeprecationWarning)
    from fastapi.testclient import TestClient

from aggregator.clock import FakeClock
from aggregator.config import LoadedConfig, Settings
from aggregator.storage import Storage
from aggregator.storage.migrate import upgrade
from aggregator.storage.schema import posts
from tests.conftest import IN_CI
from tests.factories import EVENT_START, make_settings

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]


class LiveServer(str):
    """The base URL of a running app, with the objects behind it."""

    cfg: LoadedConfig
    storage: Storage
    clock: FakeClock
    app: Any
    event_id: int

    def url(self, path: str) -> str:
        return f"{self}{path}"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def live_settings() -> Settings:
    """The settings `live_server` serves; override in a module for other events or wall options."""
    return make_settings()


@pytest.fixture
def live_server(tmp_path: Path, live_settings: Settings) -> Iterator[LiveServer]:
    import uvicorn

    from aggregator.web.app import create_app

    clock = FakeClock(EVENT_START + timedelta(hours=1))
    db_url = f"sqlite:///{tmp_path / 'live.db'}"
    storage = Storage(db_url, clock=clock)
    upgrade(storage.engine)
    ids = storage.sync_config(live_settings)
    cfg = LoadedConfig(tmp_path / "config.toml", live_settings, db_url, {})
    app = create_app(cfg, storage, clock=clock, poll_interval=0.2)
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning",
                                           lifespan="on", access_log=False))
    thread = threading.Thread(target=server.run, name="live-server", daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the test server did not start")
        time.sleep(0.02)
    base = LiveServer(f"http://127.0.0.1:{port}")
    base.cfg, base.storage, base.clock, base.app = cfg, storage, clock, app
    base.event_id = ids[live_settings.events[0].slug]
    try:
        yield base
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        storage.close()


def _browser_unavailable() -> str | None:
    if not os.path.exists(CHROMIUM):
        return f"Chromium not found at {CHROMIUM}"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError as exc:
        return f"playwright is not installed: {exc}"
    return None


def require_browser() -> None:
    problem = _browser_unavailable()
    if problem:
        if IN_CI:
            pytest.fail(f"CI=true requires a browser: {problem}")
        pytest.skip(problem)


@pytest.fixture(scope="session")
def _browser() -> Iterator[Any]:
    require_browser()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def browser_page(_browser: Any) -> Iterator[Any]:
    """A Playwright `Page` in a fresh context (no cookies shared between tests)."""
    context = _browser.new_context()
    context.set_default_timeout(10_000)
    page = context.new_page()
    try:
        yield page
    finally:
        context.close()


# ---- the console, through HTTP as a browser would use it -------------------------------------------------------

CSRF_FIELD = re.compile(r'name="csrf_token" value="([^"]+)"')
PASSWORD = "correct horse battery"


def csrf_from(html: str) -> str:
    found = CSRF_FIELD.search(html)
    assert found, "no CSRF token on the page"
    return found.group(1)


@dataclass
class ConsoleEnv:
    """An app over a migrated database (SQLite or PostgreSQL) with a fake clock, plus helpers."""

    storage: Storage
    clock: FakeClock
    app: Any
    event_id: int
    slug: str

    def client(self, *, raise_server_exceptions: bool = True) -> TestClient:
        client = TestClient(self.app, base_url="http://127.0.0.1", follow_redirects=False,
                            raise_server_exceptions=raise_server_exceptions)
        self._clients.append(client)
        return client

    def add_user(self, username: str, role: str, password: str = PASSWORD) -> int:
        from aggregator.web.auth import hash_password

        return self.storage.create_user(username, hash_password(password), role, username.title())

    def sign_in(self, username: str, password: str = PASSWORD, client: TestClient | None = None) -> TestClient:
        """GET the sign-in page, read its CSRF token, POST the form; asserts success."""
        client = client or self.client()
        page = client.get("/console/login")
        assert page.status_code == 200
        resp = client.post("/console/login", data={"username": username, "password": password,
                                                   "csrf_token": csrf_from(page.text), "next": "/console"})
        assert resp.status_code == 303, resp.text
        return client

    def pending(self, n: int, **kw: Any) -> int:
        """Ingest a pending post (see tests.factories.make_post); returns its id."""
        from tests.factories import make_post, pending

        post = make_post(n, **kw)
        self.storage.ingest(self.event_id, None, [pending(post)], None)
        with self.storage.read() as conn:
            return int(conn.execute(select(posts.c.id).where(posts.c.external_id == post.external_id)).scalar_one())

    def close(self) -> None:
        for c in self._clients:
            c.close()

    _clients: list[TestClient] = field(default_factory=list)


@pytest.fixture
def console(db_url: str, tmp_path: Path) -> Iterator[ConsoleEnv]:
    """The app over SQLite and PostgreSQL (via db_url), with the lifespan (live hub) running."""
    from aggregator.web.app import create_app

    clock = FakeClock(EVENT_START + timedelta(hours=1))
    settings = make_settings()
    storage = Storage(db_url, clock=clock)
    upgrade(storage.engine)
    ids = storage.sync_config(settings)
    cfg = LoadedConfig(tmp_path / "config.toml", settings, db_url, {})
    app = create_app(cfg, storage, clock=clock, poll_interval=0.2)
    slug = settings.events[0].slug
    env = ConsoleEnv(storage, clock, app, ids[slug], slug)
    try:
        yield env
    finally:
        env.close()
        storage.close()
