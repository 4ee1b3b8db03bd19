"""Issue 9 item 6: nothing blocks the web event loop. While a reporter's upload is being decoded (a
40 MP photo took 5.4 s) or its database write waits for another process's write lock, the live
stream keeps sending and other requests are answered. The slow parts are held open here by a patched
decode and a held SQLite write lock, released only after the other requests have been answered."""

from __future__ import annotations

import io
import sqlite3
import threading
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from PIL import Image

from aggregator.config import Settings
from aggregator.storage import PostQuery
from aggregator.types import Platform
from aggregator.web import uploads
from aggregator.web.auth import hash_password
from tests.factories import approved, make_post
from tests.web.conftest import PASSWORD, LiveServer, csrf_from
from tests.web.public_env import SLUG, public_settings
from tests.web.test_sse import read_events


@pytest.fixture
def live_settings(tmp_path: Path) -> Settings:
    return public_settings(tmp_path / "media")


def _reporter(live: LiveServer) -> tuple[httpx.Client, str]:
    live.storage.create_user("rita", hash_password(PASSWORD), "reporter", "Rita")
    client = httpx.Client(base_url=str(live), timeout=30, follow_redirects=False)
    page = client.get("/console/login")
    assert client.post("/console/login", data={"username": "rita", "password": PASSWORD,
                                               "csrf_token": csrf_from(page.text)}).status_code == 303
    return client, csrf_from(client.get(f"/console/{SLUG}/posts/new").text)


def _photo() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (64, 48), (10, 120, 200)).save(out, "JPEG")
    return out.getvalue()


def _while_held(live: LiveServer, entered: threading.Event, release: Callable[[], None],
                post: Callable[[], httpx.Response], *, ingest_during: bool = True) -> httpx.Response:
    """Start `post` in a thread; once it is inside the slow part, the stream and /healthz must answer.
    With a write lock held elsewhere the new live row is written before, and replayed while, held."""
    result: list[httpx.Response] = []
    worker = threading.Thread(target=lambda: result.append(post()))
    start = live.storage.last_live_seq()

    def new_row() -> None:
        live.storage.ingest(live.event_id, None, [approved(make_post(1, text="still live"))], None)

    if not ingest_during:
        new_row()
    worker.start()
    try:
        assert entered.wait(timeout=10), "the upload never reached the slow part"
        assert httpx.get(f"{live}/healthz", timeout=5).json() == {"status": "ok"}
        assert httpx.get(f"{live}/e/{SLUG}/wall", timeout=5).status_code == 200
        if ingest_during:
            new_row()
        [event] = read_events(live, 1, params={"after": str(start)})
        assert event["data"]["kind"] == "post.approved"
        assert not result, "the upload finished early: the test proved nothing"
    finally:
        release()
        worker.join(timeout=60)
    [resp] = result
    return resp


def test_the_stream_flows_while_a_large_photo_is_decoded(live_server: LiveServer,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    client, token = _reporter(live_server)
    entered, done = threading.Event(), threading.Event()
    real_decode = uploads._decode

    def slow_decode(data: bytes) -> Image.Image:
        entered.set()
        done.wait(timeout=20)  # as long as Pillow takes over a 40 MP photo, and longer
        return real_decode(data)

    monkeypatch.setattr(uploads, "_decode", slow_decode)
    try:
        resp = _while_held(live_server, entered, done.set, lambda: client.post(
            f"/console/{SLUG}/posts", data={"csrf_token": token, "text": "Big photo"},
            files={"photos": ("big.jpg", _photo(), "image/jpeg")}))
    finally:
        client.close()
    assert resp.status_code == 303, resp.text
    photos = [p for p in live_server.storage.posts(live_server.event_id, PostQuery()).posts
              if p.platform is Platform.REPORTER]
    assert len(photos) == 1 and photos[0].media


def test_the_stream_flows_while_another_process_holds_the_write_lock(live_server: LiveServer, tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    client, token = _reporter(live_server)
    entered = threading.Event()
    storage = live_server.storage
    real_ingest = storage.ingest

    def ingest(*args: object, **kw: object) -> object:
        entered.set()
        return real_ingest(*args, **kw)  # type: ignore[arg-type]

    other = sqlite3.connect(tmp_path / "live.db", timeout=0, isolation_level=None, check_same_thread=False)

    def post() -> httpx.Response:
        monkeypatch.setattr(storage, "ingest", ingest)
        other.execute("BEGIN IMMEDIATE")  # another process's write transaction, open
        return client.post(f"/console/{SLUG}/posts", data={"csrf_token": token, "text": "Locked out"})

    try:
        resp = _while_held(live_server, entered, lambda: other.execute("ROLLBACK"), post, ingest_during=False)
    finally:
        other.close()
        client.close()
    assert resp.status_code == 303, resp.text
