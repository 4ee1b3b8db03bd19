"""Mastodon fake: statuses, Link-header paging, several instances, auth, rate-limit headers."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest
import requests

from aggregator.clock import FakeClock
from aggregator.sandbox import InstanceSpec, Sandbox, Scenario
from aggregator.sandbox.scenario import Person, ScenarioPost


def tag(sb: Sandbox, http: requests.Session, inst: str, name: str = "copro14", **params: Any) -> requests.Response:
    r = http.get(f"{sb.url('mastodon/' + inst)}/api/v1/timelines/tag/{name}", params=params, timeout=5)
    return r


def test_status_shape(sandbox: Sandbox, http: requests.Session) -> None:
    r = tag(sandbox, http, "a", limit=40)
    assert r.status_code == 200
    statuses = r.json()
    ids = [int(s["id"]) for s in statuses]
    assert ids == sorted(ids, reverse=True)
    for s in statuses:
        assert set(s) >= {"id", "uri", "url", "created_at", "content", "spoiler_text", "sensitive", "language",
                          "visibility", "edited_at", "reblog", "account", "media_attachments", "tags", "card"}
        assert s["reblog"] is None and s["visibility"] == "public"
        assert s["created_at"].endswith("Z") and len(s["created_at"]) == 24
        assert {"id", "username", "acct", "display_name", "url", "avatar", "bot"} <= set(s["account"])
        assert "copro14" in [t["name"] for t in s["tags"]]
    three = next(s for s in statuses if s["uri"] == sandbox.ids("mastodon-three")["uri"])
    assert '<a href="' in three["content"] and 'class="mention hashtag" rel="tag">#<span>copro14</span></a>' in (
        three["content"])
    assert three["content"].startswith("<p>") and three["account"]["acct"] == "fionagale"
    cw = next(s for s in statuses if s["spoiler_text"])
    assert cw["sensitive"] is True and cw["spoiler_text"] == "self-harm mention"
    img = cw["media_attachments"][0]
    assert img["type"] == "image" and img["description"] and img["meta"]["original"]["width"] == 1024
    assert requests.get(img["preview_url"], timeout=5).headers["content-type"] == "image/jpeg"
    video = next(s for s in statuses if s["media_attachments"] and s["media_attachments"][0]["type"] == "video")
    assert video["media_attachments"][0]["url"].endswith(".mp4")
    remote = next(s for s in statuses if s["account"]["username"] == "coprobot")
    assert remote["account"]["acct"] == "coprobot@c.social.test" and remote["account"]["bot"] is True
    yt = next(s for s in statuses if "youtube.com/watch" in s["content"])
    assert yt["card"]["type"] == "video" and yt["card"]["url"] == "https://www.youtube.com/watch?v=M7lc1UVf-VE"
    hebrew = next(s for s in statuses if s["language"] == "he")
    assert "#<span>סדנה</span>" in hebrew["content"]


def test_same_post_through_three_instances(sandbox: Sandbox, http: requests.Session) -> None:
    uri = sandbox.ids("mastodon-three")["uri"]
    seen = {}
    for inst in ("a", "b", "c"):
        statuses = tag(sandbox, http, inst, limit=40).json()
        (s,) = [s for s in statuses if s["uri"] == uri]
        seen[inst] = s
    assert len({s["id"] for s in seen.values()}) == 3, "instance-local ids differ"
    assert {s["account"]["acct"] for s in seen.values()} == {"fionagale", "fionagale@a.social.test"}
    assert seen["b"]["url"] == seen["a"]["url"]  # the permalink is on the home instance
    one = http.get(f"{sandbox.url('mastodon/b')}/api/v1/statuses/{seen['b']['id']}", timeout=5).json()
    assert one["uri"] == uri


def test_link_header_paging(sandbox: Sandbox, http: requests.Session) -> None:
    first = tag(sandbox, http, "a", limit=3)
    links = first.links
    assert set(links) == {"next", "prev"}
    assert links["next"]["url"].startswith(sandbox.base_url + "/mastodon/a/api/v1/timelines/tag/copro14?")
    assert f"max_id={first.json()[-1]['id']}" in links["next"]["url"]
    assert f"min_id={first.json()[0]['id']}" in links["prev"]["url"]
    collected = [s["id"] for s in first.json()]
    url: str | None = links["next"]["url"]
    while url:
        r = http.get(url, timeout=5)
        collected += [s["id"] for s in r.json()]
        url = r.links.get("next", {}).get("url")
    everything = [s["id"] for s in tag(sandbox, http, "a", limit=40).json()]
    assert collected == everything
    # nothing newer than the newest: empty page, no Link header
    r = http.get(links["prev"]["url"], timeout=5)
    assert r.json() == [] and "Link" not in r.headers


def test_min_id_returns_the_page_just_above(sandbox: Sandbox, http: requests.Session) -> None:
    everything = [s["id"] for s in tag(sandbox, http, "a", limit=40).json()]
    oldest = everything[-1]
    page = [s["id"] for s in tag(sandbox, http, "a", min_id=oldest, limit=2).json()]
    assert page == everything[-3:-1]
    page = [s["id"] for s in tag(sandbox, http, "a", since_id=oldest, limit=2).json()]
    assert page == everything[:2]


def test_filters(sandbox: Sandbox, http: requests.Session) -> None:
    local = tag(sandbox, http, "a", local="true", limit=40).json()
    assert local and all("@" not in s["account"]["acct"] for s in local)
    remote = tag(sandbox, http, "a", remote="true", limit=40).json()
    assert remote and all("@" in s["account"]["acct"] for s in remote)
    media = tag(sandbox, http, "a", only_media="true", limit=40).json()
    assert media and all(s["media_attachments"] for s in media)
    both = tag(sandbox, http, "a", "copro14", **{"all[]": "coproduction"}).json()
    assert both and all({"copro14", "coproduction"} <= {t["name"] for t in s["tags"]} for s in both)
    anyof = tag(sandbox, http, "a", "nosuch", **{"any[]": ["coproduction"]}).json()
    assert len(anyof) == len(both)
    none = tag(sandbox, http, "a", "copro14", **{"none[]": "coproduction"}, limit=40).json()
    assert none and not any("coproduction" in {t["name"] for t in s["tags"]} for s in none)
    # unlisted statuses never show in hashtag timelines; limit is capped at 40
    assert not any("Unlisted" in s["content"] for s in tag(sandbox, http, "a", limit=100).json())


def test_boost_is_in_account_timeline_not_in_tag(sandbox: Sandbox, http: requests.Session) -> None:
    base = sandbox.url("mastodon/b")
    assert not any(s["reblog"] for s in tag(sandbox, http, "b", limit=40).json())
    account = http.get(f"{base}/api/v1/accounts/lookup", params={"acct": "noalevi"}, timeout=5).json()
    statuses = http.get(f"{base}/api/v1/accounts/{account['id']}/statuses", timeout=5).json()
    boost = next(s for s in statuses if s["reblog"])
    assert boost["reblog"]["uri"] == sandbox.ids("mastodon-three")["uri"]
    assert boost["content"] == "" and boost["uri"].endswith("/activity")
    assert boost["reblog"]["reblogs_count"] == 1
    plain = http.get(f"{base}/api/v1/accounts/{account['id']}/statuses", params={"exclude_reblogs": "true"},
                     timeout=5).json()
    assert not any(s["reblog"] for s in plain)


def test_rate_limit_headers(sandbox: Sandbox, http: requests.Session) -> None:
    r = tag(sandbox, http, "a")
    assert r.headers["X-RateLimit-Limit"] == "300" and r.headers["X-RateLimit-Remaining"] == "299"
    datetime.fromisoformat(r.headers["X-RateLimit-Reset"])  # ISO-8601


def test_instance_requiring_auth(clock: FakeClock, http: requests.Session) -> None:
    sc = Scenario(
        "auth", ("t",), (Person("p", "P", mastodon_instance="locked"),),
        (ScenarioPost("s1", 0, "mastodon", "p", "hello #t"),),
        instances=(InstanceSpec("locked", require_auth=True, token="secret"),),
    )
    with Sandbox(sc, clock=clock, fast=True) as sb:
        url = f"{sb.url('mastodon/locked')}/api/v1/timelines/tag/t"
        r = http.get(url, timeout=5)
        assert r.status_code == 401 and "error" in r.json()
        assert http.get(url, headers={"Authorization": "Bearer wrong"}, timeout=5).status_code == 401
        r = http.get(url, headers={"Authorization": "Bearer secret"}, timeout=5)
        assert r.status_code == 200 and len(r.json()) == 1


def test_edit_and_delete(live: Sandbox, clock: FakeClock, http: requests.Session) -> None:
    clock.advance(1020 / 60 + 0.01)
    edited = next(s for s in tag(live, http, "b", limit=40).json() if "Lunch" in s["content"])
    assert "Pentland room" in edited["content"] and edited["edited_at"] is None
    clock.advance((1100 - 1020) / 60)
    edited = next(s for s in tag(live, http, "b", limit=40).json() if "Lunch" in s["content"])
    assert "John McIntyre" in edited["content"] and edited["edited_at"]
    uri = live.ids("mastodon-three")["uri"]
    assert any(s["uri"] == uri for s in tag(live, http, "c", limit=40).json())
    live.delete("mastodon", "mastodon-three")
    assert not any(s["uri"] == uri for s in tag(live, http, "c", limit=40).json())
    local_id = live.ids("mastodon-three")["ids"]["c"]
    assert http.get(f"{live.url('mastodon/c')}/api/v1/statuses/{local_id}", timeout=5).status_code == 404


def test_unknown_instance(sandbox: Sandbox, http: requests.Session) -> None:
    assert tag(sandbox, http, "zzz").status_code == 404


@pytest.mark.parametrize("inst", ["a", "b", "c"])
def test_uris_are_global(sandbox: Sandbox, http: requests.Session, inst: str) -> None:
    for s in tag(sandbox, http, inst, limit=40).json():
        assert s["uri"].startswith(sandbox.base_url + "/mastodon/")
        assert "/users/" in s["uri"] and "/statuses/" in s["uri"]
