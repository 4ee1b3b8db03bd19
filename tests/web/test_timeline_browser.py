"""Timeline and story in a real browser: filters, search and paging work by clicking; a story's sections in order."""

from __future__ import annotations

import re
from typing import Any

import pytest

from aggregator.types import Platform
from tests.factories import approved, make_post
from tests.web.conftest import LiveServer

pytestmark = pytest.mark.browser
SLUG = "coproduction-2014"


def numbers(page: Any) -> list[int]:
    return [int(n) for n in re.findall(r"Post number (\d+) ", page.inner_text("[data-timeline]"))]


def test_timeline_filters_search_and_paging(live_server: LiveServer, browser_page: Any) -> None:
    s, ev = live_server.storage, live_server.event_id
    s.ingest(ev, None, [approved(make_post(i, Platform.X if i % 10 == 0 else Platform.MASTODON,
                                           photos=1 if i % 7 == 0 else 0,
                                           text=f"Post number {i} {'workshop' if i % 5 == 0 else 'talk'} "))
                        for i in range(60)], None)
    live_server.clock.advance(24 * 3600)  # the day after: the timeline opens at the start of the day
    page = browser_page
    page.goto(f"{live_server}/e/{SLUG}/timeline")
    assert numbers(page) == list(range(40))
    page.click("a[data-later] >> nth=0")
    page.wait_for_url(re.compile(r"after="))
    assert numbers(page) == list(range(40, 60))
    page.click("a[data-earlier] >> nth=0")
    page.wait_for_url(re.compile(r"before="))
    assert numbers(page) == list(range(40))

    # Filters apply on change (timeline.js), and the URL keeps them; they are folded until opened.
    page.goto(f"{live_server}/e/{SLUG}/timeline")
    page.click("summary.filters-fold__summary")
    page.check("input[name=kind][value=photos]")
    page.wait_for_url(re.compile(r"kind=photos"))
    assert numbers(page) == [i for i in range(60) if i % 7 == 0]
    page.select_option("select[name=platform]", "x")
    page.wait_for_url(re.compile(r"platform=x"))
    assert numbers(page) == [i for i in range(60) if i % 7 == 0 and i % 10 == 0]

    page.goto(f"{live_server}/e/{SLUG}/timeline")
    page.click("summary.filters-fold__summary")
    page.fill("input[name=q]", "workshop")
    page.press("input[name=q]", "Enter")
    page.wait_for_url(re.compile(r"q=workshop"))
    assert numbers(page) == [i for i in range(60) if i % 5 == 0]
    assert "kind=all" not in page.url  # empty and default fields stay out of the URL


def test_a_story_renders_its_sections_in_order(live_server: LiveServer, browser_page: Any) -> None:
    s, ev = live_server.storage, live_server.event_id
    s.ingest(ev, None, [approved(make_post(1, text="The opening post ")), approved(make_post(2, text="A workshop "))],
             None)
    by_text = {p.text.strip(): p.id for p in s.posts(ev).posts}
    story = s.create_story(ev, "Our day", None, summary="What happened", seed=True)
    welcome, workshops, together = (b.id for b in story.blocks[:3])
    s.add_story_block(story.id, "post", post_id=by_text["A workshop"], section_id=workshops)
    s.add_story_block(story.id, "text", body="We **began** with <script>alert(1)</script> coffee.",
                      section_id=welcome)
    s.add_story_block(story.id, "post", post_id=by_text["The opening post"], section_id=welcome)
    s.move_story_block(story.id, together, -2)  # "Bringing it all together" before "Workshops" and its post
    s.update_story(story.id, status="published")
    page = browser_page
    page.goto(f"{live_server}/e/{SLUG}/stories/our-day")
    assert page.inner_text("h1.story__title") == "Our day"
    headings = page.eval_on_selector_all("h2.story__heading", "els => els.map(e => e.innerText)")
    assert headings == ["Welcome and opening remarks", "Bringing it all together", "Workshops and open space",
                        "Videos from the day", "Social reporting"]
    sections = page.locator("section.story__section")
    first = sections.nth(0).inner_text()
    assert first.index("began") < first.index("The opening post")
    assert page.locator("section.story__section >> nth=0 >> strong").inner_text() == "began"
    assert "<script>alert(1)</script>" in first  # shown as text
    assert "A workshop" in sections.nth(2).inner_text()
