"""The console in a real browser: sign in, press `a` on the focused pending post, see it leave the queue."""

from __future__ import annotations

from typing import Any

import pytest

from aggregator.web.auth import hash_password
from tests.factories import make_post, pending
from tests.web.conftest import PASSWORD, LiveServer

pytestmark = pytest.mark.browser


def test_keyboard_approve_removes_the_post_from_the_queue(live_server: LiveServer, browser_page: Any) -> None:
    storage = live_server.storage
    storage.create_user("mo", hash_password(PASSWORD), "moderator", "Mo")
    storage.ingest(live_server.event_id, None, [pending(make_post(1, photos=1)), pending(make_post(2))], None)
    first, second = (p.id for p in storage.moderation_queue(live_server.event_id))  # newest first

    page = browser_page
    page.goto(live_server.url("/console/coproduction-2014/queue"))
    assert "/console/login" in page.url  # sent to sign in first, then back
    page.fill("input[name=username]", "mo")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url("**/console/coproduction-2014/queue")

    cards = page.locator("#queue .card")
    assert cards.count() == 2
    focused = page.evaluate("document.activeElement && document.activeElement.id")
    assert focused == f"post-{first}"  # console.js focuses the first card
    page.keyboard.press("j")
    assert page.evaluate("document.activeElement.id") == f"post-{second}"
    page.keyboard.press("k")
    page.keyboard.press("a")
    page.wait_for_url("**/queue?done=approve*")
    page.locator(f"#post-{first}").wait_for(state="detached")
    assert page.locator("#queue .card").count() == 1
    assert page.locator(".notice").inner_text().startswith("Approved")
    stored = storage.post(live_server.event_id, first)
    assert stored is not None and stored.status.value == "approved"
    assert [e.kind for e in storage.live_after(0)] == ["post.approved"]
    # Undo with `u` brings it back.
    page.keyboard.press("u")
    page.wait_for_url("**/queue?done=undo*")
    page.locator(f"#post-{first}").wait_for()
