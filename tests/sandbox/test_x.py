"""X API v2 fake, read through the real tweepy client."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
import requests
import tweepy

from aggregator.clock import FakeClock
from aggregator.sandbox import Sandbox, Scenario
from aggregator.sandbox.routing import route_to
from aggregator.sandbox.scenario import Person, ScenarioPost
from aggregator.sandbox.x import Facts, matches, parse_query

from .conftest import X_TOKEN

EXPANSIONS = ["author_id", "attachments.media_keys", "referenced_tweets.id"]
TWEET_FIELDS = ["created_at", "entities", "attachments", "referenced_tweets", "lang", "possibly_sensitive"]
USER_FIELDS = ["name", "username", "profile_image_url"]
MEDIA_FIELDS = ["url", "preview_image_url", "type", "variants", "alt_text", "width", "height"]


def make_client(sb: Sandbox, token: str = X_TOKEN) -> tweepy.Client:
    client = tweepy.Client(bearer_token=token)
    route_to(client.session, "https://api.twitter.com", sb.url("x"))
    return client


@pytest.fixture
def client(sandbox: Sandbox) -> Iterator[tweepy.Client]:
    c = make_client(sandbox)
    yield c
    c.session.close()


def search(client: tweepy.Client, query: str, **kw: object) -> tweepy.Response:
    return client.search_recent_tweets(
        query, expansions=EXPANSIONS, tweet_fields=TWEET_FIELDS, user_fields=USER_FIELDS,
        media_fields=MEDIA_FIELDS, **kw,
    )


def test_tweepy_parses_search(client: tweepy.Client, sandbox: Sandbox) -> None:
    resp = search(client, "#copro14 -is:retweet", max_results=100)
    tweets = resp.data
    assert tweets and all(isinstance(t, tweepy.Tweet) for t in tweets)
    ids = [int(t.id) for t in tweets]
    assert ids == sorted(ids, reverse=True), "newest first"
    assert all(t.created_at.tzinfo is not None for t in tweets)
    assert all("copro14" in t.text for t in tweets)
    assert not any(t.text.startswith("RT @") for t in tweets)
    assert resp.meta["result_count"] == len(tweets)
    assert resp.meta["newest_id"] == str(tweets[0].id) and resp.meta["oldest_id"] == str(tweets[-1].id)
    users = {u.id: u for u in resp.includes["users"]}
    assert all(t.author_id in users for t in tweets)
    assert users[tweets[0].author_id].username
    assert users[tweets[0].author_id].profile_image_url.startswith(sandbox.base_url + "/media/")
    four = next(t for t in tweets if str(t.id) == sandbox.ids("x-four-photos")["id"])
    media = {m.media_key: m for m in resp.includes["media"]}
    photos = [media[k] for k in four.attachments["media_keys"]]
    assert len(photos) == 4 and all(m.type == "photo" for m in photos)
    assert photos[0].alt_text == "Delegates taking their seats in the main hall"
    assert photos[0].width == 1024 and photos[0].height == 768
    img = requests.get(photos[0].url, timeout=5)
    assert img.status_code == 200 and img.headers["content-type"] == "image/jpeg"
    # the media link at the end of the text is an entity carrying the media key
    media_url = four.entities["urls"][-1]
    assert media_url["media_key"] == photos[0].media_key and four.text.endswith(media_url["url"])
    video = next(t for t in tweets if str(t.id) == sandbox.ids("x-video")["id"])
    vmedia = media[video.attachments["media_keys"][0]]
    assert vmedia.type == "video" and vmedia.preview_image_url
    assert {v["content_type"] for v in vmedia.variants} == {"application/x-mpegURL", "video/mp4"}


def test_retweet_text_is_truncated_and_original_in_includes(client: tweepy.Client, sandbox: Sandbox) -> None:
    resp = search(client, "is:retweet #copro14", max_results=10)
    (rt,) = resp.data
    assert rt.text.startswith("RT @fionagale: Welcome")
    assert rt.referenced_tweets[0].type == "retweeted"
    original_id = sandbox.ids("x-welcome")["id"]
    assert rt.referenced_tweets[0].id == int(original_id)
    originals = {t.id: t for t in resp.includes["tweets"]}
    assert originals[int(original_id)].text.startswith("Welcome to the 3rd National")
    assert len(rt.text) == 140 and rt.text.endswith("…")
    assert "#copro14" in originals[int(original_id)].text


def test_quote_reply_and_entities(client: tweepy.Client, sandbox: Sandbox) -> None:
    resp = search(client, "from:leemorgan OR from:samreid", max_results=100)
    by_id = {str(t.id): t for t in resp.data}
    quote = by_id[sandbox.ids("x-quote")["id"]]
    assert quote.referenced_tweets[0].type == "quoted"
    assert quote.entities["urls"][-1]["expanded_url"] == sandbox.ids("xpost-x")["url"]
    reply = by_id[sandbox.ids("x-reply")["id"]]
    assert reply.referenced_tweets[0].type == "replied_to"
    mention = reply.entities["mentions"][0]
    assert reply.text[mention["start"] : mention["end"]] == "@fionagale"
    link = by_id[sandbox.ids("x-youtu-be")["id"]].entities["urls"][0]
    assert link["url"].startswith("https://t.co/") and link["expanded_url"] == "https://youtu.be/M7lc1UVf-VE"
    tag = by_id[sandbox.ids("x-youtu-be")["id"]].entities["hashtags"][0]
    assert by_id[sandbox.ids("x-youtu-be")["id"]].text[tag["start"] : tag["end"]] == "#copro14"


def test_query_operators(client: tweepy.Client) -> None:
    assert search(client, "#copro14 lang:fr").data[0].lang == "fr"
    assert search(client, "conference -#copro14").data[0].text == "Nothing to do with the conference."
    assert search(client, "#nosuchtag").data is None
    none = search(client, "#nosuchtag")
    assert none.meta == {"result_count": 0}
    grouped = search(client, "(#coproduction OR #nosuch) -is:retweet -is:quote", max_results=10)
    assert {t.text.split()[0] for t in grouped.data} == {"Do"}


def test_parser_precedence() -> None:
    facts = Facts(frozenset({"a"}), "a", frozenset(), frozenset(), "u", "", "en", False, False, False,
                  False, False, False)
    assert matches(parse_query("a OR b c"), facts)  # AND binds tighter: a OR (b c)
    assert not matches(parse_query("(a OR b) c"), facts)
    assert not matches(parse_query("-(a OR b)"), facts)
    assert matches(parse_query('"a"'), facts)
    with pytest.raises(ValueError):
        parse_query("(a OR")


def test_since_id_and_request_log(client: tweepy.Client, sandbox: Sandbox) -> None:
    first = search(client, "#copro14", max_results=10)
    newest = first.meta["newest_id"]
    again = search(client, "#copro14", since_id=newest, max_results=10)
    assert again.data is None and again.meta["result_count"] == 0
    last = sandbox.requests("x")[-1]
    assert last.arg("since_id") == newest
    assert last.headers["Authorization"] == f"Bearer {X_TOKEN}"


def _many_tweets(n: int) -> Scenario:
    people = (Person("p", "P"),)
    posts = tuple(ScenarioPost(f"t{i}", float(i * 10), "x", "p", f"post {i}", hashtags=("tag",)) for i in range(n))
    return Scenario("many", ("tag",), people, posts)


def test_next_token_paging(clock: FakeClock) -> None:
    with Sandbox(_many_tweets(25), clock=clock, fast=True) as sb:
        client = make_client(sb)
        seen: list[int] = []
        pages = 0
        for page in tweepy.Paginator(client.search_recent_tweets, "#tag", max_results=10):
            pages += 1
            seen += [t.id for t in page.data]
        client.session.close()
        assert pages == 3 and len(seen) == 25 == len(set(seen))
        assert seen == sorted(seen, reverse=True)
        assert sb.requests("x")[1].arg("next_token")


def test_start_and_end_time(clock: FakeClock) -> None:
    with Sandbox(_many_tweets(25), clock=clock, fast=True) as sb:
        client = make_client(sb)
        start = clock.now - timedelta(seconds=45)  # fast mode: t24 at now, t23 10 s earlier ...
        resp = client.search_recent_tweets("#tag", start_time=start, end_time=clock.now - timedelta(seconds=11))
        assert [t.text for t in resp.data] == ["post 22 #tag", "post 21 #tag", "post 20 #tag"]
        # since_id wins over start_time
        resp = client.search_recent_tweets("#tag", since_id=sb.ids("t20")["id"], start_time=clock.now)
        assert len(resp.data) == 4
        client.session.close()


@pytest.mark.parametrize(
    ("params", "text"),
    [
        ({"query": "#copro14", "max_results": "5"}, "is not between 10 and 100"),
        ({"query": "#copro14", "max_results": "101"}, "is not between 10 and 100"),
        ({"query": ""}, "can not be empty"),
        ({"query": "#copro14", "since_id": "abc"}, "does not match"),
        ({"query": "#copro14", "tweet.fields": "bogus"}, "is not one of"),
        ({"query": "#copro14", "start_time": "2020-01-01T00:00:00Z"}, "must be on or after"),
    ],
)
def test_invalid_requests(sandbox: Sandbox, http: requests.Session, params: dict[str, str], text: str) -> None:
    r = http.get(sandbox.url("x") + "/2/tweets/search/recent", params=params,
                 headers={"Authorization": f"Bearer {X_TOKEN}"}, timeout=5)
    assert r.status_code == 400
    body = r.json()
    assert body["title"] == "Invalid Request" and text in body["errors"][0]["message"]


def test_tweepy_raises_on_bad_request_and_auth(sandbox: Sandbox) -> None:
    c = make_client(sandbox)
    with pytest.raises(tweepy.BadRequest):
        c.search_recent_tweets("#copro14", max_results=5)
    c.session.close()
    bad = make_client(sandbox, token="wrong")
    with pytest.raises(tweepy.Unauthorized):
        bad.search_recent_tweets("#copro14")
    bad.session.close()


def test_rate_limit_headers_and_lookup(sandbox: Sandbox, http: requests.Session) -> None:
    auth = {"Authorization": f"Bearer {X_TOKEN}"}
    r = http.get(sandbox.url("x") + "/2/tweets/search/recent", params={"query": "#copro14"}, headers=auth, timeout=5)
    assert r.headers["x-rate-limit-limit"] == "450" and r.headers["x-rate-limit-remaining"] == "449"
    assert int(r.headers["x-rate-limit-reset"]) > 0
    wanted = [sandbox.ids("x-welcome")["id"], sandbox.ids("x-deleted")["id"]]
    r = http.get(sandbox.url("x") + "/2/tweets", params={"ids": ",".join(wanted)}, headers=auth, timeout=5)
    assert [t["id"] for t in r.json()["data"]] == wanted  # x-deleted not yet deleted (300 s after release)


def test_deleted_tweet_disappears(sandbox: Sandbox, clock: FakeClock, http: requests.Session) -> None:
    auth = {"Authorization": f"Bearer {X_TOKEN}"}
    deleted = sandbox.ids("x-deleted")["id"]
    clock.advance(301)
    r = http.get(sandbox.url("x") + "/2/tweets", params={"ids": deleted}, headers=auth, timeout=5)
    assert "data" not in r.json() and r.json()["errors"][0]["resource_id"] == deleted
    sandbox.delete("x", "x-welcome")
    r = http.get(sandbox.url("x") + "/2/tweets/search/recent", params={"query": "#copro14"}, headers=auth,
                 timeout=5)
    ids = [t["id"] for t in r.json()["data"]]
    assert sandbox.ids("x-welcome")["id"] not in ids
    assert sandbox.ids("x-retweet")["id"] not in ids  # a retweet goes with its original


def test_ids_are_snowflakes_in_release_order(sandbox: Sandbox) -> None:
    order = [p.id for p in sorted(sandbox.scenario.posts, key=lambda p: p.at) if p.platform == "x"]
    ids = [int(sandbox.ids(i)["id"]) for i in order]
    assert ids == sorted(ids)
    ms = (ids[0] >> 22) + 1288834974657
    assert datetime.fromtimestamp(ms / 1000, UTC).year >= 2024
