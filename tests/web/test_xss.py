"""Hostile text renders as inert text on every public surface.

Every string of the Big List of Naughty Strings and every XSS input of
bleach's test corpus goes in as post text (through the sanitiser's
text_to_html, as collectors do), author name and handle, photo alt text,
content warning, title, announcement, story heading, Markdown and caption.
Then the wall, the live stream's messages, the timeline (every page, and
searches for the strings), a story, the embeds and the API are parsed with
html.parser: only the elements and attributes our templates emit may appear,
no event-handler or style attribute, no javascript:/data: URL, no script
but our own static files. The API returns each text byte-for-byte.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from aggregator.pipeline.sanitise import text_to_html
from aggregator.storage import PostQuery, stories
from aggregator.types import Author, Media, MediaKind, Platform
from aggregator.web import cards
from aggregator.web.live_stream import live_message
from tests.corpora import CORPORA
from tests.factories import approved, make_post
from tests.web.conftest import ConsoleEnv
from tests.web.public_env import ACTOR, SLUG, Elements, parse, public_env


def hostile_strings() -> list[str]:
    strings: list[str] = json.loads((CORPORA / "naughty-strings" / "blns.json").read_text(encoding="utf-8"))
    for case in sorted((CORPORA / "xss-bleach").glob("*.test")):
        strings.append(case.read_text(encoding="utf-8").split("\n--\n")[0])
    return [s for s in strings if s.strip()]


# What our templates emit (pages, cards, SVG chart and QR code, forms), Markdown output, and the sanitiser's allowlist.
ALLOWED_TAGS = {
    "html", "head", "meta", "title", "link", "body", "header", "nav", "main", "footer", "section", "aside", "article",
    "div", "span", "p", "a", "h1", "h2", "h3", "h4", "h5", "h6", "ol", "ul", "li", "bdi", "strong", "em", "br",
    "img", "time", "figure", "figcaption", "svg", "path", "g", "rect", "line", "text", "script", "form",
    "fieldset", "legend", "label", "input", "select", "option", "button", "iframe", "code", "pre", "blockquote",
    "hr", "details", "summary",
}
URL_ATTRS = {"href", "src", "action", "formaction", "poster", "xlink:href", "data", "srcset"}


def assert_inert(html: str, where: str) -> Elements:
    doc = parse(html)
    for tag, attrs in doc.tags:
        assert tag in ALLOWED_TAGS, f"{where}: injected element <{tag} {attrs}>"
        for name, value in attrs:
            assert not name.startswith("on"), f"{where}: event handler {name}={value!r} on <{tag}>"
            assert name not in ("style", "srcdoc", "formaction"), f"{where}: {name} on <{tag}>"
            if name in URL_ATTRS and value is not None:
                v = "".join(value.split()).lower()
                assert not v.startswith(("javascript:", "vbscript:", "data:")), f"{where}: {name}={value!r}"
        if tag == "script":
            src = dict(attrs).get("src") or ""
            assert src.startswith("/static/") and src.endswith(".js"), f"{where}: script {attrs}"
        if tag == "iframe":
            src = dict(attrs).get("src") or ""
            assert src.startswith(("https://www.youtube.com/", "https://player.vimeo.com/")), f"{where}: {src}"
    return doc


@pytest.fixture
def env(db_url: str, tmp_path: Path) -> Iterator[ConsoleEnv]:
    with public_env(db_url, tmp_path, wall={"max_cards": 500}) as e:
        yield e


def seed(env: ConsoleEnv, strings: list[str]) -> None:
    n = len(strings)
    items = []
    for i, s in enumerate(strings):
        other = strings[(i + 7) % n]
        platform = (Platform.MASTODON, Platform.X, Platform.FEED, Platform.BLUESKY)[i % 4]
        post = make_post(i, platform, minutes=i * 0.5, text=s, photos=1 if i % 3 == 0 else 0)
        post = replace(
            post, html=text_to_html(s, hashtag_url=lambda t: f"https://example.org/tags/{t}"),
            author=Author(platform, f"author-{i % 50}", other[:200], strings[(i + 3) % n]),
            spoiler_text=strings[(i + 11) % n] if i % 5 == 0 else "", title=strings[(i + 13) % n],
            media=tuple(Media(MediaKind.PHOTO, m.url, m.thumbnail_url, alt_text=strings[(i + 17) % n])
                        for m in post.media),
        )
        items.append(approved(post))
    env.storage.ingest(env.event_id, None, items, None)
    ids = [p.id for p in env.storage.posts(env.event_id, PostQuery(limit=3)).posts]
    env.storage.moderate_posts(env.event_id, ids[:1], "pin", ACTOR)
    env.storage.moderate_posts(env.event_id, ids[1:3], "feature", ACTOR)
    for s in strings[:40]:
        env.storage.create_announcement(env.event_id, s[:280], env.clock(), None, ACTOR)
    story = env.storage.create_story(env.event_id, "Naughty", None, summary=strings[5])
    with env.storage.write() as conn:  # one transaction for the many blocks
        for i, s in enumerate(strings):
            kind = ("section", "text", "photo", "video", "post")[i % 5]
            stories.add_block(conn, story.id, kind, env.clock(), heading=s, body=s,
                              media_url=s if kind in ("photo", "video") else None,
                              post_id=ids[0] if kind == "post" else None)
    env.storage.update_story(story.id, status="published")


def test_hostile_text_is_inert_on_every_surface(env: ConsoleEnv) -> None:
    strings = hostile_strings()
    seed(env, strings)
    client = env.client()
    ev = env.storage.event(SLUG)
    assert ev is not None

    for path in (f"/e/{SLUG}/wall", f"/e/{SLUG}/embed/wall", f"/e/{SLUG}/wall?high_contrast=1&theme=light",
                 f"/e/{SLUG}/stories/naughty", f"/e/{SLUG}/embed/story/naughty", f"/e/{SLUG}/stories",
                 f"/e/{SLUG}/photos"):
        resp = client.get(path)
        assert resp.status_code == 200, path
        assert_inert(resp.text, path)

    # Every page of the timeline, forward from the start of the day (the day after: it opens at the start).
    env.clock.advance(24 * 3600)
    path: str | None = f"/e/{SLUG}/timeline"
    pages = 0
    seen_text: list[str] = []
    while path:
        resp = client.get(path)
        assert resp.status_code == 200
        doc = assert_inert(resp.text, path)
        seen_text.append("".join(doc.text))
        later = [dict(a).get("href") for t, a in doc.tags if t == "a" and ("data-later", None) in a]
        path = later[0] if later else None
        pages += 1
    assert pages >= len(strings) // 40
    assert_inert(client.get(f"/e/{SLUG}/embed/timeline?latest=1").text, "embed timeline")

    # Searching for the strings themselves: echoed in the form and the "no match" line, never as markup.
    for s in strings[::9]:
        resp = client.get(f"/e/{SLUG}/timeline", params={"q": s})
        assert resp.status_code == 200
        assert_inert(resp.text, f"search {s!r}")

    # The live stream's messages, for every row of the live log.
    settings = cards.wall_settings(env.app.state.cfg, ev)
    jinja = cards.prepare(env.app.state.templates.env)
    rows = env.storage.live_after(0, env.event_id, limit=5000)
    assert len(rows) > len(strings)
    for row in rows:
        message = live_message(env.storage, jinja, ev, settings, row, env.clock())
        if message and message.get("html"):
            assert_inert(message["html"], f"live {row.kind}")
            json.loads(json.dumps(message))

    # The API: JSON all the way; text byte-for-byte; the html field holds only the sanitiser's tags.
    by_external = {f"https://{('mastodon', 'x', 'feed', 'bluesky')[i % 4]}.test/posts/{i}": s
                   for i, s in enumerate(strings)}
    returned = 0
    cursor: str | None = None
    while True:
        resp = client.get(f"/api/events/{SLUG}/posts", params={"limit": 200, **({"before": cursor} if cursor else {})})
        assert resp.status_code == 200
        assert resp.headers["content-type"].startswith("application/json")
        body = resp.json()
        for post in body["posts"]:
            for tag, _ in assert_inert(post["html"], "api html").tags:
                assert tag in {"p", "br", "a", "span", "strong", "em"}
            returned += 1
        cursor = body["earlier"]
        if not cursor:
            break
    assert returned == len(strings)
    api_texts = {p.external_id: p.text for p in env.storage.posts(env.event_id, PostQuery(limit=1000)).posts}
    for external_id, original in by_external.items():
        assert api_texts[external_id] == original
    story = client.get(f"/api/events/{SLUG}/stories/naughty").json()
    assert [b["heading"] for b in story["blocks"] if b["kind"] == "section"] == strings[::5]
