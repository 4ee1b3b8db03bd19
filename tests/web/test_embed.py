"""Embeds: the wall, the timeline and a story, trimmed for an iframe, framable only by configured origins."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.factories import approved, make_post
from tests.web.conftest import ConsoleEnv
from tests.web.public_env import SLUG, parse, public_env


@pytest.fixture
def env(sqlite_url: str, tmp_path: Path) -> Iterator[ConsoleEnv]:
    with public_env(sqlite_url, tmp_path, wall={"embed_origins": ["https://organiser.example"]}) as e:
        e.storage.ingest(e.event_id, None, [approved(make_post(1))], None)
        yield e


def test_embeds_render_without_site_navigation_and_open_links_in_a_new_tab(env: ConsoleEnv) -> None:
    client = env.client()
    env.clock.advance(24 * 3600)  # after the day: the timeline embed opens at its start (with the post)
    story = env.storage.create_story(env.event_id, "Embedded", None, seed=True)
    [post] = env.storage.posts(env.event_id).posts
    env.storage.add_story_block(story.id, "post", post_id=post.id)
    env.storage.update_story(story.id, status="published")
    for path in (f"/e/{SLUG}/embed/wall", f"/e/{SLUG}/embed/timeline", f"/e/{SLUG}/embed/story/embedded"):
        resp = client.get(path)
        assert resp.status_code == 200, path
        assert "frame-ancestors 'self' https://organiser.example" in resp.headers["content-security-policy"]
        doc = parse(resp.text)
        assert not any(dict(a).get("class") == "site-head" for _, a in doc.tags), path
        permalinks = [dict(a) for t, a in doc.tags if t == "a" and "/p/" in (dict(a).get("href") or "")]
        assert permalinks and all(p.get("target") == "_blank" for p in permalinks), path
    # The timeline embed pages within the embed.
    assert 'href="/e/coproduction-2014/embed/timeline?latest=1"' in client.get(f"/e/{SLUG}/embed/timeline").text


def test_drafts_are_never_embedded(env: ConsoleEnv) -> None:
    env.storage.create_story(env.event_id, "Secret draft", None)
    assert env.client().get(f"/e/{SLUG}/embed/story/secret-draft").status_code == 404
