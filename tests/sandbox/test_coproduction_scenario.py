"""The built-in conference-day scenario: valid, deterministic, fictional, served on every platform."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import asdict
from pathlib import Path

import pytest
import requests

from aggregator.clock import FakeClock
from aggregator.pipeline.moderate import profanity_matcher
from aggregator.pipeline.textnorm import normalise_for_matching, phrase_matcher
from aggregator.sandbox import Sandbox, ScenarioError, default_scenario, images
from aggregator.sandbox.ids import youtube_video_id
from aggregator.sandbox.scenario import PLATFORM_NAMES, Scenario, ScenarioPost, validate
from aggregator.sandbox.scenarios import SCENARIOS, resolve_scenario, scenario_by_name
from aggregator.sandbox.scenarios.coproduction import (
    FEATURES,
    PROGRAMME,
    YOUTUBE_CHANNEL,
    coproduction_day,
    expected_catch_reasons,
    expected_caught,
    fast_anchor,
    session_at,
)

from .conftest import X_TOKEN

REAL_NAMES = (
    "Fiona Garven", "Alex Neil", "Jim McGoldrick", "Nick Wilding", "Olivia Hanley", "Clare Mills",
    "Rosie Hope McIntosh", "Ellis",
)
DEMO_BLOCKED = ("casino", "crypto giveaway")


@pytest.fixture(scope="module")
def day() -> Scenario:
    return coproduction_day()


def _texts(p: ScenarioPost) -> list[str]:
    return [t for t in (p.text, p.edited_text or "", p.title, p.content_warning, *(m.alt for m in p.media)) if t]


def test_valid_and_deterministic(day: Scenario) -> None:
    validate(day)
    again = coproduction_day()
    assert [asdict(p) for p in again.posts] == [asdict(p) for p in day.posts]
    assert again.people == day.people
    assert 550 <= len(day.posts) <= 650
    assert [p.at for p in day.posts] == sorted(p.at for p in day.posts)


def test_every_platform_and_instance(day: Scenario) -> None:
    counts = Counter(p.platform for p in day.posts)
    assert set(counts) == set(PLATFORM_NAMES)
    assert counts["x"] > 150 and counts["mastodon"] > 80 and counts["bluesky"] > 60
    assert counts["flickr"] >= 30 and counts["youtube"] >= 8 and counts["feed"] >= 3
    assert {i.name for i in day.instances} == {"a", "b"}
    mastodon = [p for p in day.posts if p.platform == "mastodon"]
    both = [p for p in mastodon if set(p.instances) | {day.person(p.author).mastodon_instance} == {"a", "b"}]
    assert len(both) > 20
    homes = {day.person(p.author).mastodon_instance for p in mastodon}
    assert homes == {"a", "b"}
    owner = next(x for x in day.people if x.youtube_channel == YOUTUBE_CHANNEL)
    assert owner.handle == "organisers" and owner.mastodon_instance == "a"
    assert all(p.author == owner.key for p in day.posts if p.platform == "youtube")


def test_every_session_has_posts_with_bursts(day: Scenario) -> None:
    by_session = Counter(s.key for p in day.posts if (s := session_at(p.at)) is not None)
    assert set(by_session) == {s.key for s in PROGRAMME}
    assert all(n >= 20 for n in by_session.values()), by_session
    assert [s.title for s in PROGRAMME] == [
        "Registration and coffee", "Welcome and opening remarks", "Morning workshops", "Lunch",
        "Afternoon workshops and open space", "Bringing it all together",
    ]
    # The keynote burst: the ten minutes after the councillor's line are the busiest of the day.
    def in_window(start: int) -> int:
        return sum(1 for p in day.posts if start <= p.at < start + 600)

    busiest = max(range(0, 31000, 60), key=in_window)
    assert 3300 <= busiest <= 4000, busiest
    assert in_window(busiest) > 3 * len(day.posts) / 52  # over three times the day's average
    storm = [p for p in day.posts if p.repost_of == "storm-original"]
    assert len(storm) >= 25 and all(p.platform == "x" for p in storm)


def test_features_are_present(day: Scenario) -> None:
    for ids in FEATURES.values():
        for pid in ids:
            day.post(pid)
    xpost = [day.post(i) for i in FEATURES["crosspost"]]
    assert {p.platform for p in xpost} == {"x", "mastodon", "bluesky"}
    assert len({p.text for p in xpost}) == 1 and len({p.author for p in xpost}) == 1
    tweet, flickr = (day.post(i) for i in FEATURES["same_photo_flickr_and_tweet"])
    assert (tweet.platform, flickr.platform) == ("x", "flickr") and tweet.media[0].seed == flickr.media[0].seed
    assert all(day.post(i).deleted_at is not None for i in FEATURES["deleted"])
    assert all(day.post(i).edited_text for i in FEATURES["edited"])
    assert any(re.search("[\u0590-\u08ff]", p.text) for p in day.posts)  # right-to-left script
    assert any(re.search("[\U0001f300-\U0001faff]", p.text) for p in day.posts)
    kinds = Counter(m.kind for p in day.posts for m in p.media)
    assert kinds["photo"] > 80 and kinds["video"] >= 10
    reporter = [p for p in day.posts if p.author == "bea"]
    assert len(reporter) > 40 and {p.platform for p in reporter} >= {"x", "mastodon", "bluesky", "flickr"}
    assert sum(1 for p in day.posts if p.reply_to) > 20 and sum(1 for p in day.posts if p.quote_of) > 5
    assert sum(1 for p in day.posts if p.repost_of) > 60
    texts = [p.text for p in day.posts if p.text and p.repost_of is None]
    assert len(set(texts)) > 0.9 * len(texts), "chatter should not repeat itself"
    assert not any("{" in t or "}" in t for t in texts), "unfilled template"


def test_people_are_fictional(day: Scenario) -> None:
    corpus = [p.name for p in day.people] + [p.handle for p in day.people] + [p.key for p in day.people]
    corpus += [t for p in day.posts for t in _texts(p)]
    corpus += [day.name, *day.feed_titles.values()]
    for real in REAL_NAMES:
        assert not [t for t in corpus if real.casefold() in t.casefold()], real
    for surname in ("Garven", "McGoldrick", "Wilding", "Hanley", "McIntosh"):
        assert not [t for t in corpus if surname.casefold() in t.casefold()], surname


def test_caught_posts(day: Scenario) -> None:
    reasons = expected_catch_reasons()
    assert set(reasons) == expected_caught()
    assert Counter(reasons.values()) == Counter(
        {"blocked_word": 8, "offtopic": 9, "profanity": 6, "content_warning": 2}
    )
    for pid, reason in reasons.items():
        prefix = {"blocked_word": "spam-", "profanity": "rude-", "content_warning": "cw-", "offtopic": "offtopic-"}
        assert pid.startswith(prefix[reason])
        day.post(pid)
    blocked, profanity = phrase_matcher(DEMO_BLOCKED), profanity_matcher()
    for p in day.posts:
        found_blocked = any(blocked.find(normalise_for_matching(t), leet=True) for t in _texts(p))
        found_rude = any(profanity.find(normalise_for_matching(t), leet=True) for t in _texts(p))
        assert found_blocked == (reasons.get(p.id) == "blocked_word"), p.id
        assert found_rude == (reasons.get(p.id) == "profanity"), p.id
        assert bool(p.content_warning) == (reasons.get(p.id) == "content_warning"), p.id
        if reasons.get(p.id) == "offtopic":
            assert "coprodscot" not in p.hashtags and "coproduction" in p.hashtags
    # Nobody reposts or replies to a caught post (they would drag it onto the wall).
    refs = {r for p in day.posts for r in (p.repost_of, p.reply_to, p.quote_of) if r}
    assert not refs & expected_caught()


def test_scenarios_by_name(tmp_path: Path) -> None:
    assert set(SCENARIOS) == {"default", "coproduction"}
    assert scenario_by_name("coproduction").name == coproduction_day().name
    assert resolve_scenario("default").name == default_scenario().name
    assert resolve_scenario(None).name == default_scenario().name
    with pytest.raises(KeyError, match="coproduction"):
        scenario_by_name("nope")
    with pytest.raises(ScenarioError, match="built-in"):
        resolve_scenario(str(tmp_path / "missing.toml"))
    path = Path(__file__).parents[2] / "aggregator" / "sandbox" / "data" / "example-scenario.toml"
    assert resolve_scenario(path).name == "Example meetup"


def test_event_photos_are_distinct_scenes() -> None:
    seeds = ("evt:labels:wall-full", "evt:stage:keynote", "evt:wallchart:final", "evt:portrait:hamish")
    assert [images.scene_kind(s) for s in seeds] == ["labels", "stage", "wallchart", "portrait"]
    assert images.scene_kind("hall-1") is None
    pics = {s: images.picture(s, 160, 120) for s in seeds}
    assert len(set(pics.values())) == len(seeds)
    assert images.picture(seeds[0], 160, 120) == pics[seeds[0]]


# ---------------------------------------------------------------- served


@pytest.fixture(scope="module")
def served() -> Iterator[Sandbox]:
    anchor = fast_anchor()
    with Sandbox(coproduction_day(), clock=FakeClock(anchor), fast=True, start=anchor) as sb:
        yield sb


def test_every_platform_answers(served: Sandbox) -> None:
    sb = served
    with requests.Session() as http:
        params = {"query": "#coprodscot", "max_results": 100, "tweet.fields": "created_at"}
        r = http.get(sb.url("x") + "/2/tweets/search/recent", params=params,
                     headers={"Authorization": f"Bearer {X_TOKEN}"}, timeout=5)
        assert r.status_code == 200, r.text
        tweets = r.json()["data"]
        assert len(tweets) == 100 and all(t["created_at"].startswith("2014-04-23") for t in tweets)
        for inst in ("a", "b"):
            r = http.get(sb.url(f"mastodon/{inst}") + "/api/v1/timelines/tag/coprodscot", params={"limit": 40},
                         timeout=5)
            assert r.status_code == 200 and len(r.json()) == 40
        organisers = sb.ids("org-mastodon-01")["ids"]
        assert set(organisers) == {"a", "b"}
        auth = sb.scenario.auth
        r = http.post(sb.url("bluesky") + "/xrpc/com.atproto.server.createSession",
                      json={"identifier": auth.bluesky_identifier, "password": auth.bluesky_password}, timeout=5)
        token = r.json()["accessJwt"]
        r = http.get(sb.url("bluesky") + "/xrpc/app.bsky.feed.searchPosts", params={"q": "#coprodscot"},
                     headers={"Authorization": f"Bearer {token}"}, timeout=5)
        assert r.status_code == 200 and r.json()["posts"]
        r = http.get(sb.url("flickr") + "/services/feeds/photos_public.gne",
                     params={"tags": "coprodscot,coproduction", "tagmode": "any"}, timeout=5)
        assert r.status_code == 200 and r.text.count("<entry>") >= 20
        r = http.get(sb.url("youtube") + "/feeds/videos.xml", params={"channel_id": YOUTUBE_CHANNEL}, timeout=5)
        assert r.status_code == 200 and r.text.count("<entry>") >= 8
        assert "Graphic facilitation timelapse" in r.text
        r = http.get(sb.url("feed") + "/blog.atom", timeout=5)
        assert r.status_code == 200 and r.text.count("<entry>") == 5
        # YouTube thumbnails are the scenario's own poster, drawn as an event scene.
        vid = youtube_video_id("yt-timelapse")
        r = http.get(sb.url("media") + f"/vi/{vid}/hqdefault.jpg", timeout=5)
        assert r.content == images.picture("evt:wallchart:timelapse", 480, 360, "jpeg", poster=True)
        photo = http.get(sb.url("media") + "/img/evt%3Alabels%3Awall-full/320x240.jpg", timeout=5)
        assert photo.status_code == 200 and photo.headers["content-type"] == "image/jpeg"
