"""Scenario files, the scenario clock (release, speed, release-all, deletions) and determinism."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
import requests

from aggregator.clock import FakeClock
from aggregator.sandbox import Sandbox, ScenarioError, default_scenario, load_scenario, scenario_from_dict

from .conftest import START, X_TOKEN

SCENARIO_TOML = """
name = "Tiny"
hashtags = ["tiny"]

[[people]]
key = "ann"
name = "Ann"

[[posts]]
id = "one"
at = 0
platform = "mastodon"
author = "ann"
text = "first #tiny"

[[posts]]
id = "two"
at = 120
platform = "x"
author = "ann"
text = "second"
hashtags = ["tiny"]
deleted_at = 180

[[posts.media]]
kind = "photo"
alt = "a photo"
seed = "shared"
"""


def test_default_scenario_covers_every_feature() -> None:
    sc = default_scenario()
    posts = sc.posts
    assert {p.platform for p in posts} == {"x", "mastodon", "bluesky", "flickr", "youtube", "feed"}
    assert any(p.repost_of and p.platform == "x" for p in posts)
    assert any(p.repost_of and p.platform == "mastodon" for p in posts)
    assert any(p.quote_of for p in posts) and any(p.reply_to for p in posts)
    assert any(len(p.media) == 4 for p in posts)
    assert any(m.kind == "video" for p in posts for m in p.media)
    texts = " ".join(p.text for p in posts)
    for link in ("youtube.com/watch?v=", "youtu.be/", "vimeo.com/"):
        assert link in texts
    assert any(p.content_warning for p in posts)
    assert any(len(p.instances) == 3 for p in posts)
    assert any(p.deleted_at is not None for p in posts)
    same = [p for p in posts if p.text.startswith("Do we share")]
    assert {p.platform for p in same} == {"x", "mastodon", "bluesky"} and len({p.author for p in same}) == 1
    seeds = {m.seed: p.platform for p in posts for m in p.media if p.platform == "flickr"}
    assert any(m.seed in seeds for p in posts if p.platform == "x" for m in p.media)


def test_load_toml_and_json(tmp_path: Path) -> None:
    toml_file = tmp_path / "s.toml"
    toml_file.write_text(SCENARIO_TOML, encoding="utf-8")
    sc = load_scenario(toml_file)
    assert sc.post("two").media[0].seed == "shared" and sc.post("two").deleted_at == 180.0
    json_file = tmp_path / "s.json"
    json_file.write_text(json.dumps({"name": "J", "people": [{"key": "a", "name": "A"}],
                                     "posts": [{"id": "p", "at": 1, "platform": "bluesky", "author": "a"}]}))
    assert load_scenario(json_file).posts[0].platform == "bluesky"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"posts": [{"id": "p", "at": 0, "platform": "myspace", "author": "a"}]}, "unknown platform"),
        ({"posts": [{"id": "p", "at": 0, "platform": "x", "author": "nobody"}]}, "unknown author"),
        ({"posts": [{"id": "p", "at": 0, "platform": "x", "author": "a", "colour": 1}]}, "unknown key"),
        ({"posts": [{"id": "p", "at": 0, "platform": "x", "author": "a", "reply_to": "q"}]}, "unknown post"),
        ({"posts": [{"id": "p", "at": 0, "platform": "flickr", "author": "a"}]}, "needs a photo"),
        ({"posts": [{"id": "p", "at": 0, "platform": "x", "author": "a"},
                    {"id": "p", "at": 1, "platform": "x", "author": "a"}]}, "duplicate id"),
    ],
)
def test_scenario_errors(change: dict[str, object], message: str) -> None:
    data: dict[str, object] = {"name": "bad", "people": [{"key": "a", "name": "A"}], **change}
    with pytest.raises(ScenarioError, match=message):
        scenario_from_dict(data)


def _x_ids(sb: Sandbox, http: requests.Session) -> list[str]:
    r = http.get(sb.url("x") + "/2/tweets/search/recent", params={"query": "#copro14", "max_results": "100"},
                 headers={"Authorization": f"Bearer {X_TOKEN}"}, timeout=5)
    return [t["id"] for t in r.json().get("data", [])]


def test_release_follows_the_clock(live: Sandbox, clock: FakeClock, http: requests.Session) -> None:
    assert _x_ids(live, http) == [live.ids("x-welcome")["id"]]  # at 0: released at the start
    clock.advance(60 / 60)  # xpost-x is at 60 s, speed 60
    assert _x_ids(live, http)[0] == live.ids("xpost-x")["id"]
    params: dict[str, str] = {"ids": live.ids("xpost-x")["id"], "tweet.fields": "created_at"}
    r = http.get(live.url("x") + "/2/tweets", params=params,
                 headers={"Authorization": f"Bearer {X_TOKEN}"}, timeout=5)
    assert r.json()["data"][0]["created_at"] == (START + timedelta(seconds=1)).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    assert live.release_all() > 30
    assert len(_x_ids(live, http)) == 9
    assert len(live.status()["released"]) == len(live.scenario.posts)


def test_scheduled_deletion_counts_from_release(live: Sandbox, clock: FakeClock, http: requests.Session) -> None:
    deleted = live.ids("x-deleted")["id"]
    clock.advance(500 / 60)
    assert deleted in _x_ids(live, http)
    clock.advance(300 / 60)
    assert deleted not in _x_ids(live, http)


def test_fast_mode_back_dates(sandbox: Sandbox) -> None:
    w = sandbox.world
    last = max(sandbox.scenario.posts, key=lambda p: p.at)
    first = sandbox.scenario.post("x-welcome")
    assert w.created_at(last) == START
    assert (w.created_at(last) - w.created_at(first)).total_seconds() == last.at


def test_same_scenario_same_bytes(clock: FakeClock) -> None:
    def grab() -> list[bytes]:
        with Sandbox(default_scenario(), clock=clock, fast=True, port=0) as sb, requests.Session() as s:
            urls = [
                "/x/2/tweets/search/recent?query=%23copro14&expansions=author_id&tweet.fields=created_at,entities",
                "/mastodon/b/api/v1/timelines/tag/copro14?limit=40",
                "/flickr/services/feeds/photos_public.gne?tags=copro14",
                "/media/img/hall-1/300x200.jpg",
            ]
            out = [s.get(sb.base_url + u, headers={"Authorization": f"Bearer {X_TOKEN}"}, timeout=5).content
                   for u in urls]
            return [o.replace(sb.base_url.encode(), b"BASE") for o in out]

    assert grab() == grab()


def test_shipped_example_scenario_loads() -> None:
    path = Path(__file__).parents[2] / "aggregator" / "sandbox" / "data" / "example-scenario.toml"
    sc = load_scenario(path)
    assert sc.instance("b").require_auth and sc.post("boost").repost_of == "hello-toot"


def test_fast_mode_can_hold_the_last_posts_back_and_trickle_them_out(clock: FakeClock) -> None:
    with Sandbox(default_scenario(), clock=clock, fast=True, hold_back=3) as sb:
        world = sb.world
        held = [p for p in world.ordered if p.id in world.held]
        searchable = [p for p in world.ordered if p.platform in ("x", "mastodon", "bluesky")]
        assert len(held) == 3 and held == searchable[-3:]  # the feeds' windows stay as they were
        assert not any(world.is_visible(p) for p in held)
        assert all(world.is_visible(p) for p in world.ordered[:5])
        clock.advance(120)
        assert world.release_next(1) == 1
        assert world.is_visible(held[0]) and not world.is_visible(held[1])
        assert world.created_at(held[0]) == clock() - timedelta(microseconds=clock().microsecond % 1000)
        assert world.release_next(5) == 2 and world.release_next(1) == 0
        assert all(world.is_visible(p) for p in held)
