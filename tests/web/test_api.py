"""The read-only JSON API: events, approved posts with keyset paging and filters, published stories, OpenAPI."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from aggregator.types import Platform
from tests.factories import approved, make_post, pending
from tests.web.conftest import ConsoleEnv
from tests.web.public_env import SLUG, public_env


@pytest.fixture
def env(db_url: str, tmp_path: Path) -> Iterator[ConsoleEnv]:
    with public_env(db_url, tmp_path, server={"cors_origins": ["https://organiser.example"]}) as e:
        yield e


def test_events_and_programme(env: ConsoleEnv) -> None:
    client = env.client()
    [event] = client.get("/api/events").json()
    assert event["slug"] == SLUG and event["hashtags"] == ["coprodscot"]
    assert event["links"]["wall"].endswith(f"/e/{SLUG}/wall")
    detail = client.get(f"/api/events/{SLUG}").json()
    assert [s["title"] for s in detail["programme"]] == ["Welcome", "Workshops"]
    assert client.get("/api/events/nope").status_code == 404


def test_posts_are_approved_only_paged_and_filtered(env: ConsoleEnv) -> None:
    env.storage.ingest(env.event_id, None, [approved(make_post(i)) for i in range(7)]
                       + [approved(make_post(10, Platform.X, photos=1)), pending(make_post(11))], None)
    client = env.client()
    first = client.get(f"/api/events/{SLUG}/posts", params={"limit": 3}).json()
    assert [p["text"].split()[2] for p in first["posts"]] == ["10", "6", "5"]
    assert first["later"] is None and first["earlier"]
    second = client.get(f"/api/events/{SLUG}/posts", params={"limit": 3, "before": first["earlier"]}).json()
    assert [p["text"].split()[2] for p in second["posts"]] == ["4", "3", "2"]
    back = client.get(f"/api/events/{SLUG}/posts", params={"limit": 3, "after": second["later"]}).json()
    assert back["posts"] == first["posts"]
    photos = client.get(f"/api/events/{SLUG}/posts", params={"kind": "photos", "platform": "x"}).json()
    [photo] = photos["posts"]
    assert photo["media"][0]["kind"] == "photo" and photo["author"]["handle"] == "alice"
    assert photo["permalink"].endswith(f"/e/{SLUG}/p/{photo['id']}")
    found = client.get(f"/api/events/{SLUG}/posts", params={"q": "number 3"}).json()
    assert [p["text"] for p in found["posts"]] == ["Post number 3 #coprodscot"]
    assert client.get(f"/api/events/{SLUG}/posts", params={"before": "junk"}).status_code == 422
    assert client.get(f"/api/events/{SLUG}/posts", params={"limit": 1000}).status_code == 422
    assert client.get(f"/api/events/{SLUG}/posts/{photo['id']}").json()["id"] == photo["id"]
    hidden = env.storage.post_by_key(env.event_id, make_post(11).key)
    assert hidden is not None
    assert client.get(f"/api/events/{SLUG}/posts/{hidden.id}").status_code == 404


def test_stories_published_only(env: ConsoleEnv) -> None:
    env.storage.ingest(env.event_id, None, [approved(make_post(1))], None)
    [post] = env.storage.posts(env.event_id).posts
    story = env.storage.create_story(env.event_id, "Day one", None, seed=True)
    env.storage.add_story_block(story.id, "post", post_id=post.id, section_id=story.blocks[0].id)
    client = env.client()
    assert client.get(f"/api/events/{SLUG}/stories").json() == []
    assert client.get(f"/api/events/{SLUG}/stories/day-one").status_code == 404
    env.storage.update_story(story.id, status="published")
    [summary] = client.get(f"/api/events/{SLUG}/stories").json()
    assert summary["slug"] == "day-one"
    full = client.get(f"/api/events/{SLUG}/stories/day-one").json()
    assert [b["kind"] for b in full["blocks"]][:2] == ["section", "post"]
    assert full["blocks"][1]["post"]["id"] == post.id


def test_openapi_cors_and_read_only(env: ConsoleEnv) -> None:
    client = env.client()
    spec = client.get("/openapi.json").json()
    assert {"/api/events", "/api/events/{slug}/posts", "/api/events/{slug}/stories/{story}"} <= set(spec["paths"])
    assert all(set(ops) == {"get"} for path, ops in spec["paths"].items() if path.startswith("/api/"))
    assert not any(path.startswith("/e/") for path in spec["paths"])
    assert client.get("/docs").status_code == 200
    resp = client.get("/api/events", headers={"Origin": "https://organiser.example"})
    assert resp.headers["access-control-allow-origin"] == "https://organiser.example"
    resp = client.get("/api/events", headers={"Origin": "https://evil.example"})
    assert "access-control-allow-origin" not in resp.headers
    assert client.post("/api/events").status_code == 405


def test_a_post_without_a_web_address_has_no_url(env: ConsoleEnv) -> None:
    import dataclasses

    linkless = dataclasses.replace(make_post(1, Platform.FEED), external_id="blog|sha256:0123", url="")
    env.storage.ingest(env.event_id, None, [approved(linkless), approved(make_post(2))], None)
    posts = env.client().get(f"/api/events/{SLUG}/posts").json()["posts"]
    by_platform = {p["platform"]: p for p in posts}
    assert by_platform["feed"]["url"] is None
    assert by_platform["feed"]["permalink"].endswith(f"/e/{SLUG}/p/{by_platform['feed']['id']}")
    assert by_platform["mastodon"]["url"].startswith("https://")
