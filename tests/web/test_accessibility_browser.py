"""An axe-core audit (bundled by axe-playwright-python; nothing fetched) of the pages people use most:
no serious or critical violations."""

from __future__ import annotations

from typing import Any

import pytest

from aggregator.web.auth import hash_password
from tests.factories import approved, make_post, pending
from tests.web.conftest import PASSWORD, LiveServer

pytestmark = pytest.mark.browser
SLUG = "coproduction-2014"
SERIOUS = ("serious", "critical")


def audit(page: Any) -> list[str]:
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page)
    assert results.response["testEngine"]["name"] == "axe-core"  # it ran (the CSP does not stop page.evaluate)
    return [f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes'][:3]]}"
            for v in results.response["violations"] if v["impact"] in SERIOUS]


def seed(live_server: LiveServer) -> tuple[int, str]:
    s, ev = live_server.storage, live_server.event_id
    s.ingest(ev, None, [approved(make_post(i, photos=1 if i % 3 == 0 else 0, text=f"Post number {i} #coprodscot"))
                        for i in range(1, 13)], None)
    s.ingest(ev, None, [pending(make_post(100 + i)) for i in range(3)], None)
    post = s.posts(ev).posts[0]
    story = s.create_story(ev, "Our day", None, summary="What happened", seed=True)
    s.add_story_block(story.id, "post", post_id=post.id)
    s.add_story_block(story.id, "text", body="A **good** day.")
    s.update_story(story.id, status="published")
    s.create_user("mo", hash_password(PASSWORD), "moderator", "Mo")
    return post.id, story.slug


def sign_in(page: Any, base: str, username: str) -> None:
    page.goto(f"{base}/console/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("form[action='/console/login'] button[type=submit]")
    page.wait_for_url("**/console")


@pytest.mark.parametrize("path", ["timeline", "story", "permalink", "stories", "login", "queue", "error"])
def test_no_serious_violations(live_server: LiveServer, browser_page: Any, path: str) -> None:
    post_id, story = seed(live_server)
    page = browser_page
    page.set_viewport_size({"width": 1366, "height": 768})
    urls = {
        "timeline": f"/e/{SLUG}/timeline", "story": f"/e/{SLUG}/stories/{story}", "stories": f"/e/{SLUG}/stories",
        "permalink": f"/e/{SLUG}/p/{post_id}", "login": "/console/login", "queue": f"/console/{SLUG}/queue",
        "error": f"/e/{SLUG}/p/999999",
    }
    if path == "queue":
        sign_in(page, live_server, "mo")
    page.goto(live_server.url(urls[path]))
    assert audit(page) == []


def test_the_wall_has_no_serious_violations(live_server: LiveServer, browser_page: Any) -> None:
    seed(live_server)
    page = browser_page
    page.set_viewport_size({"width": 1920, "height": 1080})
    page.goto(live_server.url(f"/e/{SLUG}/wall"))
    assert audit(page) == []


def test_the_audit_sees_a_violation(live_server: LiveServer, browser_page: Any) -> None:
    page = browser_page
    page.goto(live_server.url("/console/login"))
    page.evaluate("document.querySelector('main').append(document.createElement('button'))")  # a nameless button
    assert any(v.startswith("button-name (critical)") for v in audit(page))
