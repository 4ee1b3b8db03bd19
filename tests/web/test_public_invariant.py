"""The moderation invariant: nothing that is not approved reaches any public surface.

A generated corpus (normal posts and every string of the hostile corpora, each
carrying a unique marker) goes through the real pipeline (dedup, moderation,
storage), then moderators reject, take down and block; the same posts are
collected again. Then every public surface that exists is read over real HTTP:
the wall, the embeds, every timeline page, the galleries, permalinks, the JSON
API, stories, and the live stream replayed from the start. No marker of a
pending, rejected, removed or tombstoned post may appear; every approved one
must. Add each new public surface here. Also covered: the Atom feeds, the report of the day, the takedown
sync API and every file of the export bundle.
"""

from __future__ import annotations

import json
import re
import zipfile
from pathlib import Path

import httpx
import pytest

from aggregator.config import Settings
from aggregator.export.bundle import write_bundle
from aggregator.media.store import LocalMediaStore
from aggregator.pipeline.ingest import Ingestor
from aggregator.pipeline.sanitise import text_to_html
from aggregator.storage import PostQuery
from aggregator.storage.moderation import Actor
from aggregator.types import Author, Platform, Post, Status
from tests.corpora import CORPORA
from tests.factories import make_post, settings_dict
from tests.web.conftest import LiveServer

SLUG = "coproduction-2014"
ACTOR = Actor(None, "invariant-moderator")
AUTHORS = ("alice", "bashir", "chen", "dara", "mallory")
MARKER = re.compile(r"mk\d{4}q")


def hostile_strings() -> list[str]:
    strings = json.loads((CORPORA / "naughty-strings" / "blns.json").read_text(encoding="utf-8"))
    for f in sorted((CORPORA / "xss-bleach").glob("*.test")):
        strings.append(f.read_text(encoding="utf-8").split("\n--\n")[0])
    return [s for s in strings if isinstance(s, str)]


@pytest.fixture
def live_settings() -> Settings:
    data = settings_dict(moderation={"mode": "post", "blocked_words": ["forbiddenword"],
                                     "queue_words": ["holdme"], "use_profanity_list": False,
                                     "hide_content_warnings": False, "hide_sensitive": False},
                         report_public=True)
    return Settings.model_validate(data)


def corpus() -> list[Post]:
    texts = [f"Normal post number {i} about co-production" for i in range(40)] + hostile_strings()
    posts = []
    for i, body in enumerate(texts):
        if i % 7 == 0:
            body = f"{body} forbiddenword"
        elif i % 7 == 1:
            body = f"{body} holdme"
        text = f"{body} mk{i:04d}q"
        base = make_post(i, Platform.MASTODON, minutes=i * 0.5, author=AUTHORS[i % len(AUTHORS)], text=text)
        author = base.author
        if i % 10 == 3:  # hostile names too
            author = Author(author.platform, author.external_id, author.handle, body[:60] or "x")
        posts.append(Post(**{**{f: getattr(base, f) for f in base.__dataclass_fields__},
                             "html": text_to_html(text), "author": author}))
    return posts


def marker(post_text: str) -> str:
    found = MARKER.search(post_text)
    assert found
    return found.group(0)


def bundle_markers(live_server: LiveServer, tmp_path: Path) -> set[str]:
    event = live_server.storage.event(SLUG)
    assert event is not None
    target = tmp_path / "bundle.zip"
    with target.open("wb") as fh:
        write_bundle(live_server.storage, LocalMediaStore(tmp_path / "media"), event, fh,
                     public_url=str(live_server), now=live_server.clock(), database_revision=None)
    found: set[str] = set()
    with zipfile.ZipFile(target) as zf:
        for name in zf.namelist():
            found.update(MARKER.findall(zf.read(name).decode("utf-8", errors="replace")))
    return found


def test_nothing_unapproved_reaches_a_public_surface(live_server: LiveServer, tmp_path: Path) -> None:
    storage, event_id = live_server.storage, live_server.event_id
    ev = live_server.cfg.settings.events[0]
    ingestor = Ingestor(storage, ev, event_id, live_server.clock)
    posts = corpus()
    for start in range(0, len(posts), 100):
        ingestor.ingest(None, posts[start:start + 100], None)

    stored = storage.posts(event_id, PostQuery(statuses=tuple(Status), limit=2000)).posts
    by_marker = {marker(p.text): p for p in stored}
    assert len(by_marker) == len(posts)
    approved_ids = [p.id for p in stored if p.status is Status.APPROVED]

    # A story that picks posts before moderators change their minds about some of them.
    story = storage.create_story(event_id, "The day", None, seed=True)
    storage.update_story(story.id, status="published")
    for post_id in approved_ids[:30]:
        storage.add_story_block(story.id, "post", post_id=post_id)

    # Moderators: reject some, take some down, approve some held ones, block an author.
    storage.moderate_posts(event_id, approved_ids[0:30:3], "reject", ACTOR)
    storage.moderate_posts(event_id, approved_ids[1:30:3], "takedown", ACTOR)
    held = [p.id for p in stored if p.status is Status.PENDING]
    storage.moderate_posts(event_id, held[::2], "approve", ACTOR)
    mallory = next(p.author_id for p in stored if p.author.handle == "mallory")
    storage.moderate_author(event_id, mallory, "block", ACTOR)
    # ... and the platforms deliver everything again, edits included: nothing comes back.
    live_server.clock.advance(600)
    ingestor.ingest(None, [p for p in posts], None)

    final = storage.posts(event_id, PostQuery(statuses=tuple(Status), limit=2000)).posts
    visible = {marker(p.text) for p in final if p.status is Status.APPROVED}
    hidden = {marker(p.text) for p in final if p.status is not Status.APPROVED}
    assert visible and hidden and len(visible | hidden) == len(posts)
    hidden_ids = [p.id for p in final if p.status is not Status.APPROVED]
    visible_ids = [p.id for p in final if p.status is Status.APPROVED]

    seen: dict[str, set[str]] = {}
    with httpx.Client(base_url=str(live_server), timeout=30) as http:
        def read(name: str, path: str) -> str:
            resp = http.get(path)
            assert resp.status_code == 200, (name, path, resp.status_code)
            seen.setdefault(name, set()).update(MARKER.findall(resp.text))
            return resp.text

        read("wall", f"/e/{SLUG}/wall")
        read("embed wall", f"/e/{SLUG}/embed/wall")
        for surface in ("timeline", "embed/timeline", "photos", "videos"):
            # Every page both ways: follow each "earlier" and "later" link once.
            todo, done = [f"/e/{SLUG}/{surface}"], set()
            while todo and len(done) < 200:
                path = todo.pop()
                if path in done:
                    continue
                done.add(path)
                page = read(surface, path)
                for link in re.findall(r'href="([^"]*(?:before|after)=[^"]*)"', page):
                    link = link.replace("&amp;", "&")
                    todo.append(link if link.startswith("/") else f"/e/{SLUG}/{surface}{link}")
        for post_id in hidden_ids:
            assert http.get(f"/e/{SLUG}/p/{post_id}").status_code == 404
            assert http.get(f"/api/events/{SLUG}/posts/{post_id}").status_code == 404
        for post_id in visible_ids[:20]:
            read("permalink", f"/e/{SLUG}/p/{post_id}")
        api_path: str | None = f"/api/events/{SLUG}/posts?limit=200"
        while api_path:
            page_json = http.get(api_path).json()
            seen.setdefault("api", set()).update(MARKER.findall(json.dumps(page_json)))
            api_path = (f"/api/events/{SLUG}/posts?limit=200&before={page_json['earlier']}"
                        if page_json["earlier"] else None)
        read("story", f"/e/{SLUG}/stories/{story.slug}")
        read("embed story", f"/e/{SLUG}/embed/story/{story.slug}")
        story_json = http.get(f"/api/events/{SLUG}/stories/{story.slug}").json()
        seen.setdefault("story api", set()).update(MARKER.findall(json.dumps(story_json)))
        read("feed", f"/e/{SLUG}/feed.atom")
        read("stories feed", f"/e/{SLUG}/stories.atom")
        read("report", f"/e/{SLUG}/report")
        read("removed api", f"/api/events/{SLUG}/removed")

    # The export bundle: every file of it (archive pages, CSV, JSONL, Atom, report, takedowns).
    seen["bundle"] = bundle_markers(live_server, tmp_path)

    # The live stream, replayed from the very start: retracted posts come as bare retractions.
    rows = len(storage.live_after(0, event_id, limit=100_000))
    stream_markers: set[str] = set()
    with httpx.stream("GET", f"{live_server}/e/{SLUG}/live", params={"after": "0"}, timeout=30) as resp:
        got = 0
        for line in resp.iter_lines():
            if line.startswith("data:"):
                stream_markers.update(MARKER.findall(line))
                got += 1
                if got == rows:
                    break
    seen["live stream"] = stream_markers

    for surface, markers in seen.items():
        leaked = markers & hidden
        assert not leaked, f"{surface} shows {len(leaked)} posts that are not approved: {sorted(leaked)[:5]}"
    assert visible <= seen["api"], "the API must list every approved post"
    assert visible <= seen["timeline"], "the timeline must show every approved post"
    assert seen["story"] and seen["live stream"]
    assert visible <= seen["bundle"], "the bundle must carry every approved post"
    assert seen["feed"], "the feed shows the newest approved posts"
