"""Bounded work per post and per batch: the 120k-word attack.

One hostile Mastodon status and one hostile feed entry of about 120,000 words
each, by the same person (so dedup compares them as a possible cross-post),
held the event's ingest lock for minutes while a healthy source of the same
event stored nothing. Now posts are cut at ingest, similarity compares a
bounded number of words, and a batch is stored in chunks under a fair lock.
These tests assert the bounds structurally (sizes, lock order), not on time.
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Sequence
from difflib import SequenceMatcher
from typing import Any

import pytest

from aggregator.pipeline import ingest as ingest_mod
from aggregator.pipeline import textnorm
from aggregator.pipeline.ingest import INGEST_CHUNK, Ingestor
from aggregator.pipeline.limits import CUT_MARK, MAX_LINKS, MAX_MEDIA, MAX_TEXT_CHARS, bound_post
from aggregator.storage.schema import posts as posts_table
from aggregator.types import Media, MediaKind, Platform, Post
from tests.factories import make_post, make_settings, migrated_storage

WORDS = 120_000


def hostile_text(changed_word: int | None = None) -> str:
    words = [f"spam{i % 97}" for i in range(WORDS)]
    if changed_word is not None:
        words[changed_word] = "different"
    return "#coprodscot " + " ".join(words)


def hostile(n: int, platform: Platform, text: str) -> Post:
    media = tuple(Media(MediaKind.PHOTO, f"https://img.test/{n}/{i}.jpg") for i in range(500))
    links = tuple(f"https://link.test/{n}/{i}" for i in range(500))
    post = make_post(n, platform, author="mallory", text=text, minutes=30, links=links)
    return dataclasses.replace(post, media=media)


def test_a_huge_post_is_cut_and_marked_and_a_normal_one_is_untouched() -> None:
    post = hostile(1, Platform.MASTODON, hostile_text())
    cut = bound_post(post)
    assert len(cut.text) == MAX_TEXT_CHARS and cut.text.endswith(CUT_MARK)
    assert cut.text[:-1] == post.text[: MAX_TEXT_CHARS - 1].rstrip()
    assert len(cut.html) < 5 * MAX_TEXT_CHARS and "spam0" in cut.html and cut.html.startswith("<p>")
    assert len(cut.media) == MAX_MEDIA and len(cut.links) == MAX_LINKS
    normal = make_post(2, photos=2)
    assert bound_post(normal) is normal


def test_similarity_compares_a_bounded_number_of_words(monkeypatch: pytest.MonkeyPatch) -> None:
    sizes: list[tuple[int, int]] = []

    class Recording(SequenceMatcher):  # type: ignore[type-arg]
        def __init__(self, isjunk: Any, a: Sequence[str], b: Sequence[str], autojunk: bool = True) -> None:
            sizes.append((len(a), len(b)))
            super().__init__(isjunk, a, b, autojunk)

    monkeypatch.setattr(textnorm, "SequenceMatcher", Recording)
    a, b = hostile_text(), hostile_text(changed_word=5)
    assert textnorm.similarity(a, b) > 0.9
    assert sizes and max(max(s) for s in sizes) <= textnorm.MAX_SIMILARITY_TOKENS
    # With a threshold, a pair whose LCS bound is below it never reaches difflib at all.
    sizes.clear()
    assert textnorm.similarity("one two three four five six", "seven eight nine ten eleven", at_least=0.8) < 0.8
    assert sizes == []


def test_the_hostile_batch_never_holds_the_healthy_source(
    db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    sizes: list[int] = []

    class Recording(SequenceMatcher):  # type: ignore[type-arg]
        def __init__(self, isjunk: Any, a: Sequence[str], b: Sequence[str], autojunk: bool = True) -> None:
            sizes.extend((len(a), len(b)))
            super().__init__(isjunk, a, b, autojunk)

    monkeypatch.setattr(textnorm, "SequenceMatcher", Recording)
    textnorm._similarity_view.cache_clear()

    settings = make_settings()
    with migrated_storage(db_url, settings) as storage:
        event = storage.event("coproduction-2014")
        assert event is not None
        ingestor = Ingestor(storage, settings.events[0], event.id, storage.clock)
        # The hostile feed entry is stored first; the hostile status then arrives with filler posts.
        ingestor.ingest(None, [hostile(1, Platform.FEED, hostile_text(changed_word=5))], None)
        hostile_batch = [hostile(2, Platform.MASTODON, hostile_text())] + [
            make_post(100 + i, Platform.MASTODON, author="mallory", text=f"Filler {i} about nothing #coprodscot")
            for i in range(INGEST_CHUNK + 10)
        ]
        healthy_batch = [
            make_post(1000 + i, Platform.BLUESKY, author=f"guest{i}", text=f"Healthy post {i} in the hall #coprodscot")
            for i in range(200)
        ]

        order: list[str] = []
        real_plan = Ingestor.plan

        def plan(self: Ingestor, batch: Sequence[Post], hashes: Any = None) -> Any:
            who = threading.current_thread().name
            order.append(who)
            if who == "hostile" and order.count("hostile") == 1:
                # Hold the first hostile chunk until the healthy source is queued for the lock.
                healthy.start()
                for _ in range(1000):
                    if ingestor._lock.waiting:
                        break
                    threading.Event().wait(0.01)
                assert ingestor._lock.waiting == 1
            return real_plan(self, batch, hashes)

        monkeypatch.setattr(ingest_mod.Ingestor, "plan", plan)
        reports: dict[str, Any] = {}
        hostile_thread = threading.Thread(
            target=lambda: reports.update(hostile=ingestor.ingest(None, hostile_batch, None)), name="hostile"
        )
        healthy = threading.Thread(
            target=lambda: reports.update(healthy=ingestor.ingest(None, healthy_batch, None)), name="healthy"
        )
        hostile_thread.start()
        hostile_thread.join(timeout=120)
        healthy.join(timeout=120)
        assert not hostile_thread.is_alive() and not healthy.is_alive()

        # The healthy source's first chunk went in right after the hostile one's first chunk.
        assert order[:3] == ["hostile", "healthy", "hostile"]
        assert reports["healthy"].inserted == 200
        assert reports["hostile"].inserted == len(hostile_batch)
        # Dedup compared the two hostile texts (same person, other platform) on bounded input only.
        assert sizes and max(sizes) <= textnorm.MAX_SIMILARITY_TOKENS
        with storage.read() as conn:
            texts = [t for (t,) in conn.execute(posts_table.select().with_only_columns(posts_table.c.text))]
        assert max(len(t) for t in texts) == MAX_TEXT_CHARS
        assert sum(t.endswith(CUT_MARK) for t in texts) == 2
