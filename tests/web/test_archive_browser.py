"""The offline archive in a real browser, opened from file:// with every other request blocked (it lives
beside the other browser tests, which run last: the browser stays open until the session ends).

Every internal link resolves (pages are visited, data files must exist), every image on every page
loads (naturalWidth > 0), and no page logs a console error. The report page is one of the pages.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import unquote, urldefrag, urlsplit

import pytest

from tests.export.conftest import Day, day, image_server  # noqa: F401 - the export tests' fixtures
from tests.export.helpers import export


@pytest.mark.browser
@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_archive_opens_offline(day: Day, tmp_path: Path, browser_page: Any) -> None:  # noqa: F811
    day.keeper.fetch_event(day.event_id)
    story = day.storage.create_story(day.event_id, "The day", None, summary="Our story", seed=True)
    day.storage.update_story(story.id, status="published")
    for post_id in list(day.ids().values())[:4]:
        day.storage.add_story_block(story.id, "post", post_id=post_id)
    day.storage.add_story_block(story.id, "text", body="Some **words** and a [link](https://example.org/).")
    _, bag = export(day, tmp_path / "bundle.zip")
    data = bag / "data"

    page = browser_page
    blocked: list[str] = []
    errors: list[str] = []

    def route(r: Any) -> None:
        if r.request.url.startswith("file://"):
            r.continue_()
        else:
            blocked.append(r.request.url)
            r.abort()

    page.route("**/*", route)
    page.on("console", lambda m: errors.append(f"{page.url}: {m.text}") if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(f"{page.url}: {e}"))

    start = (data / "index.html").resolve().as_uri()
    todo, seen, pages, images = [start], set(), 0, 0
    while todo:
        url = todo.pop()
        if url in seen:
            continue
        seen.add(url)
        path = Path(unquote(urlsplit(url).path))
        assert path.is_file(), f"broken link to {path}"
        if path.suffix != ".html":
            continue  # data files: present is enough
        page.goto(url, wait_until="load")
        pages += 1
        widths = page.eval_on_selector_all("img", "imgs => imgs.map(i => [i.currentSrc, i.complete, i.naturalWidth])")
        images += len(widths)
        for src, complete, width in widths:
            assert complete and width > 0, f"{path.name}: image {src} did not load"
        for href in page.eval_on_selector_all("a[href]", "as => as.map(a => a.href)"):
            target, _ = urldefrag(href)
            if target.startswith("file://"):
                todo.append(target)
            else:
                assert target.startswith(("http://", "https://", "mailto:")), f"{path.name}: odd link {href}"
    assert pages >= 9 + 6, "every post page, the timeline, galleries, stories, report and home"
    assert images > 50, "photos and avatars are on the pages"
    assert (data / "report.html").resolve().as_uri() in seen
    assert not blocked, f"the archive asked the network for {blocked[:5]}"
    assert not errors, errors[:5]
