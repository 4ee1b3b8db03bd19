"""Bluesky fake: sessions (create, refresh, expiry, rate limit), searchPosts, facets, embeds."""

from __future__ import annotations

import base64
import json
from typing import Any

import requests

from aggregator.clock import FakeClock
from aggregator.sandbox import Sandbox

IDENT, PASSWORD = "reporter.bsky.social", "sandbox-app-password"


def xrpc(sb: Sandbox, method: str) -> str:
    return f"{sb.url('bluesky')}/xrpc/{method}"


def login(sb: Sandbox, http: requests.Session) -> dict[str, Any]:
    r = http.post(xrpc(sb, "com.atproto.server.createSession"), json={"identifier": IDENT, "password": PASSWORD},
                  timeout=5)
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


def search(sb: Sandbox, http: requests.Session, token: str, **params: Any) -> requests.Response:
    return http.get(xrpc(sb, "app.bsky.feed.searchPosts"), params=params,
                    headers={"Authorization": f"Bearer {token}"}, timeout=5)


def claims(jwt: str) -> dict[str, Any]:
    header, payload, _sig = jwt.split(".")
    assert json.loads(base64.urlsafe_b64decode(header + "=" * (-len(header) % 4)))["alg"]
    out: dict[str, Any] = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    return out


def test_create_session(sandbox: Sandbox, http: requests.Session) -> None:
    s = login(sandbox, http)
    assert s["handle"] == IDENT and s["did"].startswith("did:plc:") and s["active"] is True
    access, refresh = claims(s["accessJwt"]), claims(s["refreshJwt"])
    assert access["sub"] == s["did"] and access["exp"] - access["iat"] == 7200
    assert refresh["scope"] == "com.atproto.refresh" and refresh["exp"] > access["exp"]


def test_wrong_password_and_missing_fields(sandbox: Sandbox, http: requests.Session) -> None:
    url = xrpc(sandbox, "com.atproto.server.createSession")
    r = http.post(url, json={"identifier": IDENT, "password": "nope"}, timeout=5)
    assert r.status_code == 401 and r.json()["error"] == "AuthenticationRequired"
    r = http.post(url, json={"identifier": IDENT}, timeout=5)
    assert r.status_code == 400 and r.json()["error"] == "InvalidRequest"


def test_login_rate_limit(sandbox: Sandbox, http: requests.Session, clock: FakeClock) -> None:
    url = xrpc(sandbox, "com.atproto.server.createSession")
    for i in range(30):
        r = http.post(url, json={"identifier": IDENT, "password": PASSWORD}, timeout=5)
        assert r.status_code == 200 and r.headers["ratelimit-remaining"] == str(29 - i)
    r = http.post(url, json={"identifier": IDENT, "password": PASSWORD}, timeout=5)
    assert r.status_code == 429 and r.json()["error"] == "RateLimitExceeded"
    assert r.headers["ratelimit-limit"] == "30" and r.headers["ratelimit-policy"] == "30;w=300"
    assert int(r.headers["ratelimit-reset"]) == int(clock.now.timestamp()) + 300
    clock.advance(301)
    assert http.post(url, json={"identifier": IDENT, "password": PASSWORD}, timeout=5).status_code == 200


def test_search_needs_a_valid_unexpired_token(sandbox: Sandbox, http: requests.Session, clock: FakeClock) -> None:
    r = http.get(xrpc(sandbox, "app.bsky.feed.searchPosts"), params={"q": "#copro14"}, timeout=5)
    assert r.status_code == 401 and r.json()["error"] == "AuthMissing"
    assert search(sandbox, http, "a.b.c", q="x").json()["error"] == "InvalidToken"
    s = login(sandbox, http)
    assert search(sandbox, http, s["refreshJwt"], q="x").json()["error"] == "InvalidToken"
    assert search(sandbox, http, s["accessJwt"], q="#copro14").status_code == 200
    clock.advance(7201)
    r = search(sandbox, http, s["accessJwt"], q="#copro14")
    assert r.status_code == 400 and r.json()["error"] == "ExpiredToken"
    # refresh: new tokens, the old refresh token is spent
    r = http.post(xrpc(sandbox, "com.atproto.server.refreshSession"),
                  headers={"Authorization": f"Bearer {s['refreshJwt']}"}, timeout=5)
    assert r.status_code == 200
    fresh = r.json()
    assert fresh["did"] == s["did"] and fresh["accessJwt"] != s["accessJwt"]
    assert search(sandbox, http, fresh["accessJwt"], q="#copro14").status_code == 200
    again = http.post(xrpc(sandbox, "com.atproto.server.refreshSession"),
                      headers={"Authorization": f"Bearer {s['refreshJwt']}"}, timeout=5)
    assert again.status_code == 400 and again.json()["error"] == "ExpiredToken"
    wrong = http.post(xrpc(sandbox, "com.atproto.server.refreshSession"),
                      headers={"Authorization": f"Bearer {fresh['accessJwt']}"}, timeout=5)
    assert wrong.status_code == 400 and wrong.json()["error"] == "InvalidToken"
    assert sandbox.app.bluesky.sessions_created == 1


def _posts(sb: Sandbox, http: requests.Session, **params: Any) -> list[dict[str, Any]]:
    token = login(sb, http)["accessJwt"]
    r = search(sb, http, token, **params)
    assert r.status_code == 200, r.text
    posts: list[dict[str, Any]] = r.json()["posts"]
    return posts


def test_post_view_shape(sandbox: Sandbox, http: requests.Session) -> None:
    posts = _posts(sandbox, http, q="#copro14", limit=100)
    assert posts
    for p in posts:
        assert p["uri"].startswith("at://did:plc:") and "/app.bsky.feed.post/" in p["uri"]
        assert p["cid"].startswith("bafyrei")
        assert {"did", "handle", "displayName", "avatar"} <= set(p["author"])
        rec = p["record"]
        assert rec["$type"] == "app.bsky.feed.post" and rec["createdAt"].endswith("Z")
        assert {"likeCount", "repostCount", "replyCount", "indexedAt"} <= set(p)
    created = [p["record"]["createdAt"] for p in posts]
    assert created == sorted(created, reverse=True)


def _by_text(posts: list[dict[str, Any]], fragment: str) -> dict[str, Any]:
    return next(p for p in posts if fragment in p["record"]["text"])


def test_facets_are_utf8_byte_offsets(sandbox: Sandbox, http: requests.Session) -> None:
    posts = _posts(sandbox, http, q="#copro14", limit=100)
    rtl = _by_text(posts, "مرحبا")
    data = rtl["record"]["text"].encode("utf-8")
    found = {}
    for f in rtl["record"]["facets"]:
        piece = data[f["index"]["byteStart"] : f["index"]["byteEnd"]].decode("utf-8")
        feature = f["features"][0]
        found[feature["$type"].rsplit("#", 1)[1], piece] = feature
    assert found["tag", "#مؤتمر"]["tag"] == "مؤتمر"
    assert found["tag", "#copro14"]["tag"] == "copro14"
    assert found["link", "https://example.org/برنامج"]["uri"] == "https://example.org/برنامج"
    assert found["mention", "@noalevi.bsky.social"]["did"].startswith("did:plc:")
    assert rtl["record"]["langs"] == ["ar"]


def test_embeds(sandbox: Sandbox, http: requests.Session) -> None:
    posts = _posts(sandbox, http, q="#copro14", limit=100)
    images = _by_text(posts, "Study visit")["embed"]
    assert images["$type"] == "app.bsky.embed.images#view" and len(images["images"]) == 2
    assert {"thumb", "fullsize", "alt", "aspectRatio"} <= set(images["images"][0])
    assert requests.get(images["images"][0]["thumb"], timeout=5).status_code == 200
    video = _by_text(posts, "marketplace")["embed"]
    assert video["$type"] == "app.bsky.embed.video#view" and video["playlist"].endswith(".m3u8")
    assert video["thumbnail"] and video["cid"].startswith("bafkrei")
    external = _by_text(posts, "timelapse")["embed"]
    assert external["$type"] == "app.bsky.embed.external#view"
    assert external["external"]["uri"] == "https://vimeo.com/76979871"
    quote = _by_text(posts, "question of the day")
    assert quote["embed"]["$type"] == "app.bsky.embed.recordWithMedia#view"
    quoted = quote["embed"]["record"]["record"]
    assert quoted["$type"] == "app.bsky.embed.record#viewRecord"
    assert quoted["uri"] == sandbox.ids("xpost-bluesky")["uri"] and quoted["value"]["text"].startswith("Do we")
    assert quote["embed"]["media"]["$type"] == "app.bsky.embed.images#view"
    assert quote["record"]["embed"]["$type"] == "app.bsky.embed.recordWithMedia"
    reply = _by_text(posts, "Thank you for coming")
    parent = sandbox.ids("bluesky-emoji-rtl")["uri"]
    assert reply["record"]["reply"]["parent"]["uri"] == parent == reply["record"]["reply"]["root"]["uri"]
    assert _by_text(posts, "مرحبا")["repostCount"] == 1  # the repost counts, but is never a search hit


def test_cursor_paging_and_tag_param(sandbox: Sandbox, http: requests.Session) -> None:
    token = login(sandbox, http)["accessJwt"]
    everything = search(sandbox, http, token, q="copro14", limit=100).json()
    seen: list[str] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"q": "copro14", "limit": 3}
        if cursor:
            params["cursor"] = cursor
        body = search(sandbox, http, token, **params).json()
        seen += [p["uri"] for p in body["posts"]]
        cursor = body.get("cursor")
        if not cursor:
            break
    assert seen == [p["uri"] for p in everything["posts"]] and everything["hitsTotal"] == len(seen)
    both = search(sandbox, http, token, q="copro14", tag=["copro14", "coproduction"]).json()["posts"]
    assert [p["uri"] for p in both] == [sandbox.ids("xpost-bluesky")["uri"]]
    assert search(sandbox, http, token, q="copro14", limit=101).status_code == 400
    assert search(sandbox, http, token, limit=5).json()["error"] == "InvalidRequest"  # q is required
    author = search(sandbox, http, token, q="from:amirah.bsky.social").json()["posts"]
    assert author and all(p["author"]["handle"] == "amirah.bsky.social" for p in author)


def test_get_posts_reports_deletions(sandbox: Sandbox, http: requests.Session) -> None:
    token = login(sandbox, http)["accessJwt"]
    uri = sandbox.ids("bluesky-video")["uri"]
    url = xrpc(sandbox, "app.bsky.feed.getPosts")
    auth = {"Authorization": f"Bearer {token}"}
    assert len(http.get(url, params={"uris": [uri]}, headers=auth, timeout=5).json()["posts"]) == 1
    sandbox.delete("bluesky", "bluesky-video")
    assert http.get(url, params={"uris": [uri]}, headers=auth, timeout=5).json()["posts"] == []
