"""The ingest benchmark's workload (scripts/bench.py): a large conference hashtag as collectors deliver it.

About 4,000 people post over ten hours on X, Mastodon (five instances) and
Bluesky. Of what the collectors deliver: half are original posts (3% with a
YouTube video), a quarter retweets/boosts/reposts of a recent post, a tenth
cross-posts (the same person, the same text, on another network a few minutes
later), 5% shares of a video already posted, and 10% re-deliveries (pages that
overlap). A Mastodon status is also seen through one or two other instances
(each instance is a source: the same status URI arrives twice) in 30% of cases.
Collectors deliver pages in time order: X and Bluesky 100 posts, Mastodon 40.

raw_copy() is the baseline: the same final rows (authors, posts, media,
decisions, live events) written with plain executemany into a fresh database.
"""

from __future__ import annotations

import random
import time
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update

from aggregator.pipeline.sanitise import text_to_html
from aggregator.types import Author, Media, MediaKind, Platform, Post, PostKind

PEOPLE = 4000
INSTANCES = ("a", "b", "c", "d", "e")
PAGE = {Platform.X: 100, Platform.MASTODON: 40, Platform.BLUESKY: 100}
WORDS = ("co-production", "keynote", "workshop", "community", "capacity", "assets", "open", "space", "wall",
         "graphic", "facilitation", "question", "contribute", "delegates", "hall", "coffee", "panel", "power",
         "citizens", "services", "health", "care", "housing", "evidence", "learning", "voices", "change",
         "partnership", "together", "design", "budget", "trust", "listen", "story", "people", "local",
         "scotland", "network", "practice", "values", "session", "speaker", "slides", "lunch", "room", "ideas")


def _author(person: int, platform: Platform) -> Author:
    handle = f"p{person}"
    if platform is Platform.MASTODON:
        inst = INSTANCES[person % len(INSTANCES)]
        return Author(platform, f"https://{inst}.social/users/{handle}", f"{handle}@{inst}.social",
                      f"Person {person}", profile_url=f"https://{inst}.social/@{handle}")
    if platform is Platform.BLUESKY:
        return Author(platform, f"did:plc:{handle}", f"{handle}.bsky.social", f"Person {person}")
    return Author(platform, str(10_000 + person), handle, f"Person {person}")


def _external_id(platform: Platform, author: Author, i: int) -> str:
    if platform is Platform.MASTODON:
        return f"{author.external_id}/statuses/{i}"
    if platform is Platform.BLUESKY:
        return f"at://{author.external_id}/app.bsky.feed.post/{i}"
    return str(1_800_000_000_000 + i)


def _post(platform: Platform, author: Author, i: int, at: datetime, text: str, **kw: Any) -> Post:
    return Post(platform=platform, external_id=_external_id(platform, author, i), url=f"https://example.org/{i}",
                author=author, created_at=at, text=text, html=text_to_html(text), hashtags=("bench",), **kw)


def deliveries(n: int, start: datetime, seed: int = 12) -> list[list[Post]]:
    """About n posts as collectors deliver them: pages per source, in time order."""
    rnd = random.Random(seed)
    networks = {p: [Platform.X, Platform.MASTODON] + ([Platform.BLUESKY] if p % 5 < 2 else [])
                for p in range(PEOPLE)}
    stream: list[tuple[datetime, str, Post]] = []  # (delivered at, source, post)
    originals: list[tuple[int, Post]] = []  # (person, post)
    videos: list[str] = []
    at = start
    i = 0

    def deliver(post: Post, when: datetime) -> None:
        if post.platform is Platform.MASTODON:
            home = post.author.external_id.split("/")[2].split(".")[0]
            stream.append((when, f"mastodon-{home}", post))
            if rnd.random() < 0.3:  # seen through other instances too: the same status URI
                for inst in rnd.sample([x for x in INSTANCES if x != home], rnd.randint(1, 2)):
                    stream.append((when + timedelta(seconds=rnd.randint(5, 90)), f"mastodon-{inst}", post))
        else:
            stream.append((when, post.platform.value, post))

    while len(stream) < n:
        i += 1
        at += timedelta(seconds=rnd.expovariate(n / 36_000))
        r = rnd.random()
        if r < 0.50 or not originals:
            person = rnd.randrange(PEOPLE)
            platform = rnd.choice(networks[person])
            text = " ".join(rnd.choice(WORDS) for _ in range(rnd.randint(6, 22))) + " #bench"
            media: tuple[Media, ...] = ()
            if rnd.random() < 0.03:
                vid = f"v{i:07d}"
                videos.append(vid)
                media = (Media(MediaKind.VIDEO, f"https://www.youtube.com/watch?v={vid}", video_key=f"youtube:{vid}"),)
            post = _post(platform, _author(person, platform), i, at, text, media=media,
                         kind=PostKind.VIDEO if media else PostKind.TEXT)
            originals.append((person, post))
            deliver(post, at)
        elif r < 0.75:
            _, original = rnd.choice(originals[-500:])
            fan = rnd.randrange(PEOPLE)
            author = _author(fan, original.platform)
            deliver(_post(original.platform, author, i, at, f"RT @{original.author.handle}: {original.text}",
                          repost_of=original), at)
        elif r < 0.85:
            person, original = rnd.choice(originals[-200:])
            others = [p for p in networks[person] if p is not original.platform]
            platform = rnd.choice(others)
            when = original.created_at + timedelta(minutes=rnd.uniform(0.5, 8))
            text = original.text + (" https://example.org/slides" if rnd.random() < 0.5 else "")
            deliver(_post(platform, _author(person, platform), i, when, text), max(at, when))
        elif r < 0.90 and videos:
            vid = rnd.choice(videos[-50:])
            person = rnd.randrange(PEOPLE)
            platform = rnd.choice(networks[person])
            deliver(_post(platform, _author(person, platform), i, at, f"Watch this {vid} #bench",
                          media=(Media(MediaKind.VIDEO, f"https://youtu.be/{vid}", video_key=f"youtube:{vid}"),),
                          kind=PostKind.VIDEO), at)
        else:
            when, source, post = rnd.choice(stream[-300:])
            stream.append((at, source, post))  # an overlapping page delivers it again
    stream.sort(key=lambda e: e[0])
    pages: dict[str, list[Post]] = {}
    out: list[list[Post]] = []
    for _, source, post in stream[:n]:
        page = pages.setdefault(source, [])
        page.append(post)
        if len(page) >= PAGE[post.platform]:
            out.append(page)
            pages[source] = []
    out += [p for p in pages.values() if p]
    return out


TABLES = ("authors", "posts", "media", "moderation_decisions", "live_events")


def raw_copy(url: str, raw_url: str) -> tuple[int, float, float]:
    """Copy the final rows of `url` into a fresh database at `raw_url` with executemany; (rows, seconds, cpu)."""
    from bench import fresh  # type: ignore[import-not-found]

    from aggregator.storage import Storage
    from aggregator.storage import schema as s

    source = Storage(url)
    rows: dict[str, list[dict[str, Any]]] = {}
    with source.read() as conn:
        for name in TABLES:
            table = s.metadata.tables[name]
            rows[name] = [dict(r._mapping) for r in conn.execute(select(table).order_by(*table.primary_key))]
    source.close()
    late = [(r["id"], r["canonical_id"]) for r in rows["posts"]
            if r["canonical_id"] is not None and r["canonical_id"] > r["id"]]
    late_ids = {i for i, _ in late}
    for r in rows["posts"]:
        if r["id"] in late_ids:
            r["canonical_id"] = None  # set after the row it points at exists
    target = fresh(raw_url)
    began, cpu = time.perf_counter(), time.process_time()
    with target.write() as conn:
        for name in TABLES:
            if rows[name]:
                conn.execute(s.metadata.tables[name].insert(), rows[name])
        for post_id, canonical_id in late:
            conn.execute(update(s.posts).where(s.posts.c.id == post_id).values(canonical_id=canonical_id))
    took, cpu = time.perf_counter() - began, time.process_time() - cpu
    target.close()
    return sum(len(v) for v in rows.values()), took, cpu
