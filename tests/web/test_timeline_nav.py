"""Finding one's way in the timeline: programme and chart links, opening at now, counts, one entry per person."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from html import unescape
from pathlib import Path

import pytest
from sqlalchemy import update

from aggregator.storage.schema import posts
from aggregator.storage.search import AuthorFacet
from aggregator.types import Platform
from aggregator.web.timeline_nav import people, person_ids
from tests.factories import EVENT_START, approved, make_post
from tests.web.conftest import ConsoleEnv
from tests.web.public_env import SLUG, public_env

# The test event: 09:00-16:30 Europe/London (08:00 UTC); Welcome 09:45-10:45, Workshops 11:00-12:30 local.


@pytest.fixture
def env(db_url: str, tmp_path: Path) -> Iterator[ConsoleEnv]:
    with public_env(db_url, tmp_path) as e:
        # 90 posts, one a minute from 09:00 local: more than two pages.
        e.storage.ingest(e.event_id, None, [approved(make_post(n, minutes=n)) for n in range(1, 181, 2)], None)
        yield e


def numbers(html: str) -> list[int]:
    return [int(n) for n in re.findall(r"Post number (\d+) ", html)]


def test_a_session_in_the_programme_links_to_its_posts(env: ConsoleEnv) -> None:
    env.clock.now = EVENT_START + timedelta(days=1)
    client = env.client()
    html = client.get(f"/e/{SLUG}/timeline").text
    assert numbers(html)[0] == 1  # the day after: from the start
    programme = html[html.index('aria-label="Programme"'):]
    href = unescape(re.search(r'<a href="([^"]+)"[^>]*><span class="chart__swatch"[^>]*></span>11:00-12:30', programme)
                    .group(1))
    page = client.get(href.split("#")[0]).text
    # Workshops start at 11:00 local = 120 minutes after 09:00: the page opens at post 121.
    assert numbers(page)[0] == 121
    assert page.index("Workshops") < page.index("Post number 121 ")


def test_each_bar_of_the_chart_links_to_its_hour(env: ConsoleEnv) -> None:
    env.clock.now = EVENT_START + timedelta(days=1)
    html = env.client().get(f"/e/{SLUG}/timeline").text
    bars = [unescape(h) for h in re.findall(r'<a class="chart__bar" href="([^"]+)"', html)]
    assert len(bars) >= 7
    page = env.client().get(bars[1].split("#")[0]).text  # 10:00 local
    assert numbers(page)[0] == 61


def test_during_the_event_the_timeline_opens_at_the_session_on_now(env: ConsoleEnv) -> None:
    env.clock.now = EVENT_START + timedelta(hours=2, minutes=30)  # 11:30 local: Workshops
    html = env.client().get(f"/e/{SLUG}/timeline").text
    assert numbers(html)[0] == 121
    assert 'aria-current="time"' in html
    assert "data-earlier" in html  # and the morning is one click back


def test_a_search_shows_its_count_and_draws_the_chart_of_what_matches(env: ConsoleEnv) -> None:
    env.clock.now = EVENT_START + timedelta(days=1)
    env.storage.ingest(env.event_id, None, [approved(make_post(n, minutes=n, text=f"Lunch was great {n}"))
                                            for n in (200, 202, 204)], None)
    html = env.client().get(f"/e/{SLUG}/timeline", params={"q": "lunch"}).text
    assert "3 posts match “lunch”" in html
    assert "3 matching posts over the day" in html
    assert "<details class=\"filters-fold\" open>" in html
    plain = env.client().get(f"/e/{SLUG}/timeline").text
    assert "<details class=\"filters-fold\">" in plain and "posts match" not in plain


def test_a_person_on_several_networks_is_listed_once(env: ConsoleEnv) -> None:
    env.clock.now = EVENT_START + timedelta(days=1)
    env.storage.ingest(env.event_id, None, [
        approved(make_post(301, Platform.BLUESKY, author="alice", text="Cross posted thoughts about the day")),
        approved(make_post(302, Platform.BLUESKY, author="alice", text="Something only on Bluesky")),
    ], None)
    by_platform = {p.platform: p for p in env.storage.posts(env.event_id).posts if p.author.handle == "alice"}
    masto, bsky = by_platform[Platform.MASTODON], by_platform[Platform.BLUESKY]
    cross = next(p for p in env.storage.posts(env.event_id).posts if "Cross posted" in p.text)
    with env.storage.write() as conn:  # as dedup records a cross-post: folded into the Mastodon post
        conn.execute(update(posts).where(posts.c.id == cross.id).values(
            canonical_id=masto.id, dup_kind="crosspost", status="duplicate"))
    html = env.client().get(f"/e/{SLUG}/timeline").text
    options = re.findall(r'<option value="\d+"[^>]*>Alice \(([^)]*)\)</option>', html)
    assert options == ["Mastodon, Bluesky; 91"]
    chosen = env.client().get(f"/e/{SLUG}/timeline", params={"author": str(bsky.author_id)}).text
    assert "91 posts match" in chosen


def test_people_groups_linked_accounts_and_keeps_the_rest_apart() -> None:
    facets = [AuthorFacet(1, Platform.MASTODON, "alice", "Alice", 5),
              AuthorFacet(2, Platform.BLUESKY, "alice", "Alice", 2),
              AuthorFacet(3, Platform.X, "alice_x", "Alice", 4), AuthorFacet(4, Platform.X, "bob", "Bob", 1)]
    found = people(facets, [(2, 1), (3, 2), (9, 4)])
    assert [(p.id, p.ids, p.posts) for p in found] == [(1, (1, 2, 3), 11), (4, (4,), 1)]
    assert person_ids(2, found) == (1, 2, 3) and person_ids(None, found) == () and person_ids(7, found) == (7,)
