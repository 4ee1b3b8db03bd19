"""First use in a real browser: error pages with navigation, /docs offline, a reporter's way in, the timeline."""

from __future__ import annotations

import re
from typing import Any

import pytest

from aggregator.web.auth import hash_password
from tests.factories import approved, make_post
from tests.web.conftest import PASSWORD, LiveServer

pytestmark = pytest.mark.browser
SLUG = "coproduction-2014"


def sign_in(page: Any, base: str, username: str) -> None:
    page.goto(f"{base}/console/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("form[action='/console/login'] button[type=submit]")
    page.wait_for_url("**/console")


def test_every_error_a_browser_reaches_is_a_page_with_navigation(live_server: LiveServer, browser_page: Any) -> None:
    live_server.storage.create_user("rita", hash_password(PASSWORD), "reporter", "Rita")
    page = browser_page
    for path, status in ((f"/e/{SLUG}/p/999999", 404), ("/e/nope/timeline", 404), (f"/e/{SLUG}/stories/nope", 404),
                         (f"/e/{SLUG}/p/not-a-number", 400)):
        response = page.goto(live_server.url(path))
        assert response is not None and response.status == status, path
        assert page.locator("main h1").count() == 1, path
        assert page.locator("header nav a").count() >= 2, path
    sign_in(page, live_server, "rita")
    response = page.goto(live_server.url(f"/console/{SLUG}/queue"))
    assert response is not None and response.status == 403
    assert "Not for your role" in page.inner_text("main h1")
    page.click("text=Go to the console home")
    page.wait_for_url("**/console")


def test_api_docs_list_the_operations_with_every_other_host_blocked(live_server: LiveServer,
                                                                   browser_page: Any) -> None:
    page = browser_page
    blocked: list[str] = []

    def only_loopback(route: Any) -> None:
        if route.request.url.startswith(str(live_server)):
            route.continue_()
        else:
            blocked.append(route.request.url)
            route.abort()

    page.context.route("**/*", only_loopback)
    csp_errors: list[str] = []
    page.on("console", lambda m: csp_errors.append(m.text) if "Content Security Policy" in m.text else None)
    page.goto(live_server.url("/docs"))
    page.locator(".opblock").first.wait_for()
    summaries = page.locator(".opblock-summary-path").all_inner_texts()
    assert any("/api/events/{slug}/posts" in s.replace("\u200b", "") for s in summaries), summaries
    assert len(summaries) >= 4
    assert blocked == [] and csp_errors == []


def test_a_reporter_reaches_the_workspace_in_one_click(live_server: LiveServer, browser_page: Any) -> None:
    live_server.storage.create_user("rita", hash_password(PASSWORD), "reporter", "Rita")
    page = browser_page
    sign_in(page, live_server, "rita")
    page.click("text=reporters' workspace")
    page.wait_for_url(f"**/console/{SLUG}/stories")
    assert page.locator("h1").first.inner_text().strip() != ""


def test_search_count_and_a_session_click_in_the_programme(live_server: LiveServer, browser_page: Any) -> None:
    s, ev = live_server.storage, live_server.event_id
    s.ingest(ev, None, [approved(make_post(i, minutes=i, text=f"Post number {i} {'lunch' if i % 10 == 0 else 'talk'} "))
                        for i in range(0, 180, 2)], None)
    live_server.clock.advance(24 * 3600)
    page = browser_page
    page.set_viewport_size({"width": 1366, "height": 768})
    page.goto(live_server.url(f"/e/{SLUG}/timeline"))
    page.click("summary.filters-fold__summary")
    page.fill("input[name=q]", "lunch")
    page.press("input[name=q]", "Enter")
    page.wait_for_url(re.compile(r"q=lunch"))
    assert "18 posts match “lunch”" in page.inner_text(".timeline__count")
    page.goto(live_server.url(f"/e/{SLUG}/timeline"))
    page.click("nav[aria-label=Programme] >> text=Workshops")  # 11:00 local: two hours in
    page.wait_for_url(re.compile(r"after=.*#posts"))
    first = page.locator("[data-timeline] .timeline__group").first
    assert "Workshops" in first.locator("h2").inner_text()
    assert "Post number 120 " in first.inner_text()
