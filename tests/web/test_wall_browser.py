"""The live wall in a real browser: cards arrive and leave within a second, and survive a server restart."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from aggregator.storage import Storage
from aggregator.storage.migrate import upgrade
from aggregator.storage.moderation import Actor
from tests.factories import approved, make_post, make_settings, pending
from tests.web.conftest import LiveServer, free_port

pytestmark = pytest.mark.browser
SLUG = "coproduction-2014"
ACTOR = Actor(None, "test-moderator")
ROOT = Path(__file__).resolve().parents[2]


def post_id(storage: Storage, event_id: int, n: int) -> int:
    found = storage.post_by_key(event_id, make_post(n).key)
    assert found is not None, f"post {n} not stored"
    return found.id


def open_wall(page: Any, base: str) -> None:
    page.goto(f"{base}/e/{SLUG}/wall")
    page.wait_for_selector("[data-wall][data-connected]", timeout=5000)


def test_an_approved_post_appears_within_a_second_and_a_retracted_one_leaves(
        live_server: LiveServer, browser_page: Any) -> None:
    storage, event_id = live_server.storage, live_server.event_id
    storage.ingest(event_id, None, [pending(make_post(1, text="Waiting for a moderator #coprodscot"))], None)
    pid = post_id(storage, event_id, 1)
    open_wall(browser_page, live_server)
    assert browser_page.locator("[data-empty]").is_visible()

    started = time.monotonic()
    storage.moderate_posts(event_id, [pid], "approve", ACTOR)
    browser_page.wait_for_selector(f'[data-pool] article[data-post-id="{pid}"]', timeout=1000)
    assert time.monotonic() - started < 1.0
    assert "Waiting for a moderator" in browser_page.inner_text("[data-pool]")
    assert not browser_page.locator("[data-empty]").is_visible()

    started = time.monotonic()
    storage.moderate_posts(event_id, [pid], "takedown", ACTOR)
    browser_page.wait_for_function(
        "() => !document.body.innerText.includes('Waiting for a moderator')", timeout=1000)
    assert time.monotonic() - started < 1.0
    assert browser_page.locator("article[data-post-id]").count() == 0


def test_pinned_posts_hold_the_last_slot_and_the_newest_keeps_the_first(
        live_server: LiveServer, browser_page: Any) -> None:
    storage, event_id = live_server.storage, live_server.event_id
    storage.ingest(event_id, None, [approved(make_post(i)) for i in range(3)], None)
    oldest = post_id(storage, event_id, 0)
    browser_page.set_viewport_size({"width": 1920, "height": 1080})
    open_wall(browser_page, live_server)
    storage.moderate_posts(event_id, [oldest], "pin", ACTOR)
    browser_page.wait_for_selector(f'[data-pool] article.is-pinned[data-post-id="{oldest}"]', timeout=2000)
    # Newer arrivals take the first slot; the pinned card stays after them; one card per post.
    storage.ingest(event_id, None, [approved(make_post(9))], None)
    newest = post_id(storage, event_id, 9)
    browser_page.wait_for_selector(f'[data-pool] article[data-post-id="{newest}"]', timeout=2000)
    ids = browser_page.eval_on_selector_all(
        "[data-pool] article[data-post-id]:not(.is-off)",
        "els => els.sort((a, b) => Number(a.style.order) - Number(b.style.order)).map(e => e.dataset.postId)")
    assert ids[0] == str(newest) and ids[-1] == str(oldest)
    assert len(ids) == len(set(ids)) == 4


# ---- kill the server, restart it on the same database --------------------------------------------------------


@pytest.fixture
def restartable(tmp_path: Path) -> Iterator[tuple[str, Storage, Any]]:
    db_url = f"sqlite:///{tmp_path / 'wall.db'}"
    storage = Storage(db_url)
    upgrade(storage.engine)
    storage.sync_config(make_settings())
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    procs: list[subprocess.Popen[bytes]] = []

    def start() -> None:
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        proc = subprocess.Popen([sys.executable, "-m", "tests.web.serve_public", db_url, str(port)], cwd=ROOT,
                                env=env)
        procs.append(proc)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{base}/healthz", timeout=0.5).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            if proc.poll() is not None:
                raise RuntimeError("the server process exited")
            time.sleep(0.1)
        raise RuntimeError("the server did not start")

    def kill() -> None:
        proc = procs[-1]
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)

    class Control:
        pass

    control = Control()
    control.start = start  # type: ignore[attr-defined]
    control.kill = kill  # type: ignore[attr-defined]
    start()
    try:
        yield base, storage, control
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait(10)
        storage.close()


def test_the_wall_resumes_after_a_restart_with_no_card_lost_or_doubled(
        restartable: tuple[str, Storage, Any], browser_page: Any) -> None:
    base, storage, control = restartable
    ev = storage.event(SLUG)
    assert ev is not None
    open_wall(browser_page, base)
    storage.ingest(ev.id, None, [approved(make_post(i, text=f"Before restart {i}")) for i in range(1, 4)], None)
    browser_page.wait_for_function("() => document.querySelectorAll('[data-pool] article').length === 3",
                                   timeout=5000)

    control.kill()
    # While the server is down: three approvals and a retraction.
    storage.ingest(ev.id, None, [approved(make_post(i, text=f"While down {i}")) for i in range(4, 7)], None)
    storage.moderate_posts(ev.id, [post_id(storage, ev.id, 2)], "reject", ACTOR)
    control.start()

    browser_page.wait_for_function(
        "() => document.querySelectorAll('[data-pool] article[data-post-id]').length === 5", timeout=15000)
    browser_page.wait_for_selector("[data-wall][data-connected]", timeout=5000)
    storage.ingest(ev.id, None, [approved(make_post(7, text="After restart 7"))], None)
    browser_page.wait_for_function(
        "() => document.querySelectorAll('[data-pool] article[data-post-id]').length === 6", timeout=5000)

    ids = browser_page.eval_on_selector_all("[data-pool] article[data-post-id]",
                                            "els => els.map(e => e.dataset.postId)")
    expected = {post_id(storage, ev.id, n) for n in (1, 3, 4, 5, 6, 7)}
    assert len(ids) == len(set(ids)), f"a card is doubled: {ids}"
    assert {int(i) for i in ids} == expected
    browser_page.wait_for_function("() => !document.body.innerText.includes('Before restart 2')", timeout=2000)
