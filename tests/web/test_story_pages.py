"""Stories read like published pieces: byline, dates, cover, a gallery for a run of photos, an index with covers."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from aggregator.web.auth import hash_password
from tests.factories import approved, make_post
from tests.web.conftest import ConsoleEnv
from tests.web.public_env import SLUG, public_env


@pytest.fixture
def env(db_url: str, tmp_path: Path) -> Iterator[ConsoleEnv]:
    with public_env(db_url, tmp_path) as e:
        yield e


def test_a_story_has_a_byline_dates_a_cover_and_a_gallery(env: ConsoleEnv) -> None:
    s, ev = env.storage, env.event_id
    rita = s.create_user("rita", hash_password("a long password"), "reporter", "Rita Reporter")
    s.ingest(ev, None, [approved(make_post(n, photos=1 if n < 4 else 0, author=f"p{n}")) for n in range(1, 5)], None)
    ids = {p.text.split()[2]: p.id for p in s.posts(ev).posts}
    story = s.create_story(ev, "Our day", rita, summary="What happened")
    s.add_story_block(story.id, "text", body="Intro.")
    for n in ("1", "2", "3"):  # three photo posts in a row: one gallery
        s.add_story_block(story.id, "post", post_id=ids[n])
    s.add_story_block(story.id, "post", post_id=ids["4"])  # a text post: its card
    s.update_story(story.id, status="published")
    env.clock.advance(3600)
    s.update_story(story.id, summary="What happened, all of it")

    html = env.client().get(f"/e/{SLUG}/stories/our-day").text
    assert "By <bdi class=\"story__author\">Rita Reporter</bdi>" in html
    assert "Published <time" in html and "Updated <time" in html
    assert 'class="story__cover"' in html and "https://img.test/1/0.jpg" in html
    assert html.count('class="story__gallery-item"') == 3
    assert html.count('<article class="card') == 1  # only the text post is a card
    assert f'href="/e/{SLUG}/p/{ids["2"]}"' in html

    index = env.client().get(f"/e/{SLUG}/stories").text
    assert 'class="story-card__cover" src="https://img.test/1/0_t.jpg"' in index
    assert "By <bdi>Rita Reporter</bdi>" in index and "<time datetime=" in index


def test_a_story_without_photos_or_author_still_reads_well(env: ConsoleEnv) -> None:
    story = env.storage.create_story(env.event_id, "Notes", None)
    env.storage.add_story_block(story.id, "text", body="Just words.")
    env.storage.update_story(story.id, status="published")
    env.clock.advance(int(timedelta(minutes=1).total_seconds()))
    html = env.client().get(f"/e/{SLUG}/stories/notes").text
    assert "From the" in html and "reporters" in html and "story__cover" not in html and "Updated" not in html
    assert "story-card__cover--none" in env.client().get(f"/e/{SLUG}/stories").text
