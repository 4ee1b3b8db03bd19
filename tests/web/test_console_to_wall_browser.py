"""The whole human path in one browser: a moderator approves with the keyboard in the console,
and the venue wall (another tab, another session) shows the post within a second; rejecting it
afterwards takes it off the wall within a second."""

from __future__ import annotations

import time
from typing import Any

import pytest

from aggregator.web.auth import hash_password
from tests.factories import make_post, pending
from tests.web.conftest import PASSWORD, LiveServer

pytestmark = pytest.mark.browser
SLUG = "coproduction-2014"


def test_keyboard_approval_reaches_the_wall_within_a_second(
    live_server: LiveServer, browser_page: Any, _browser: Any
) -> None:
    storage = live_server.storage
    storage.create_user("mo", hash_password(PASSWORD), "moderator", "Mo")
    storage.ingest(live_server.event_id, None, [pending(make_post(1, text="Held for review #coprodscot"))], None)
    (post_id,) = (p.id for p in storage.moderation_queue(live_server.event_id))

    # The venue screen: its own browser context, no session.
    wall_context = _browser.new_context(viewport={"width": 1920, "height": 1080})
    try:
        wall = wall_context.new_page()
        wall.goto(live_server.url(f"/e/{SLUG}/wall"))
        wall.wait_for_selector("[data-wall][data-connected]", timeout=5000)
        assert wall.locator(f'article[data-post-id="{post_id}"]').count() == 0

        console = browser_page
        console.goto(live_server.url(f"/console/{SLUG}/queue"))
        console.fill("input[name=username]", "mo")
        console.fill("input[name=password]", PASSWORD)
        console.click("button[type=submit]")
        console.wait_for_url(f"**/console/{SLUG}/queue")
        assert console.evaluate("document.activeElement.id") == f"post-{post_id}"

        console.keyboard.press("a")
        pressed = time.monotonic()
        wall.wait_for_selector(f'[data-pool] article[data-post-id="{post_id}"]', timeout=1000)
        assert time.monotonic() - pressed < 1.0
        assert "Held for review" in wall.locator(f'article[data-post-id="{post_id}"]').inner_text()

        # Changing their mind: reject it from the console; the wall drops it.
        console.wait_for_url("**/queue?done=approve*")
        console.goto(live_server.url(f"/console/{SLUG}/queue?status=approved"))
        console.locator(f"#post-{post_id}").focus()
        console.keyboard.press("r")
        pressed = time.monotonic()
        wall.wait_for_selector(f'article[data-post-id="{post_id}"]', state="detached", timeout=1000)
        assert time.monotonic() - pressed < 1.0
    finally:
        wall_context.close()
