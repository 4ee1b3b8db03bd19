"""Full-text search over posts: FTS5 on SQLite, tsvector on PostgreSQL; keyset pages; hostile input."""

from __future__ import annotations

import pytest

from aggregator.storage import PostQuery, search
from aggregator.storage.search import fts5_query
from aggregator.types import Platform, PostKind
from tests.factories import approved, make_post, migrated_storage, pending


def texts(page: object) -> list[str]:
    return [p.text for p in page.posts]  # type: ignore[attr-defined]


def test_search_finds_words_with_filters_and_only_approved_posts(db_url: str) -> None:
    with migrated_storage(db_url) as storage:
        ev = storage.event("coproduction-2014")
        assert ev is not None
        storage.ingest(ev.id, None, [
            approved(make_post(1, text="Co-production workshop on power sharing #coprodscot")),
            approved(make_post(2, text="Lunch was excellent")),
            approved(make_post(3, Platform.X, text="Power to the people: workshop notes", photos=1)),
            pending(make_post(4, text="Workshop spam waiting in the queue")),
            approved(make_post(5, text="Café crème at the Édinburgh venue")),
        ], None)
        assert texts(storage.search_posts(ev.id, PostQuery(), "workshop")) == [
            "Power to the people: workshop notes", "Co-production workshop on power sharing #coprodscot"]
        assert texts(storage.search_posts(ev.id, PostQuery(), "power workshop")) == [
            "Power to the people: workshop notes", "Co-production workshop on power sharing #coprodscot"]
        assert texts(storage.search_posts(ev.id, PostQuery(), "coprodscot")) == [
            "Co-production workshop on power sharing #coprodscot"]
        photos_on_x = PostQuery(kinds=(PostKind.PHOTO,), platforms=(Platform.X,))
        assert texts(storage.search_posts(ev.id, photos_on_x, "workshop")) == ["Power to the people: workshop notes"]
        assert texts(storage.search_posts(ev.id, PostQuery(), "excellent")) == ["Lunch was excellent"]
        assert texts(storage.search_posts(ev.id, PostQuery(), "nothing-like-this")) == []


def test_search_is_paged_by_keyset(db_url: str) -> None:
    with migrated_storage(db_url) as storage:
        ev = storage.event("coproduction-2014")
        assert ev is not None
        storage.ingest(ev.id, None, [approved(make_post(i, text=f"talk number {i}")) for i in range(25)], None)
        first = storage.search_posts(ev.id, PostQuery(limit=10), "talk")
        assert len(first.posts) == 10 and first.earlier is not None and first.later is None
        second = storage.search_posts(ev.id, PostQuery(limit=10, before=first.earlier), "talk")
        third = storage.search_posts(ev.id, PostQuery(limit=10, before=second.earlier), "talk")
        seen = [p.id for p in first.posts + second.posts + third.posts]
        assert len(seen) == len(set(seen)) == 25 and third.earlier is None
        back = storage.search_posts(ev.id, PostQuery(limit=10, after=second.later), "talk")
        assert [p.id for p in back.posts] == [p.id for p in first.posts]


HOSTILE = ['"', "'", "*", "AND OR NOT", "NEAR(a b)", "a:b", "-", "(", ")", "^", "\\", "' OR 1=1 --",
           '"unterminated', "{col}: x", "\x00", "😀", "<script>alert(1)</script>", "a" * 500, "   "]


def test_any_input_is_a_search_not_a_syntax_error(db_url: str) -> None:
    with migrated_storage(db_url) as storage:
        ev = storage.event("coproduction-2014")
        assert ev is not None
        storage.ingest(ev.id, None, [approved(make_post(1, text="script alert AND near"))], None)
        for query in HOSTILE:
            page = storage.search_posts(ev.id, PostQuery(), query)
            assert isinstance(page.posts, tuple), query


def test_fts5_query_quotes_every_word() -> None:
    assert fts5_query('say "hi" OR bye') == '"say" "hi" "OR" "bye"*'
    assert fts5_query("*** ---") is None


def test_edits_at_the_source_are_searchable(db_url: str) -> None:
    from dataclasses import replace

    from tests.factories import EVENT_START

    with migrated_storage(db_url) as storage:
        ev = storage.event("coproduction-2014")
        assert ev is not None
        post = make_post(1, text="first wording")
        storage.ingest(ev.id, None, [approved(post)], None)
        edited = replace(post, text="second phrasing", html="<p>second phrasing</p>", edited_at=EVENT_START)
        storage.ingest(ev.id, None, [approved(edited)], None)
        assert texts(storage.search_posts(ev.id, PostQuery(), "phrasing")) == ["second phrasing"]
        assert texts(storage.search_posts(ev.id, PostQuery(), "wording")) == []


@pytest.mark.parametrize("rare", [1000, 3])  # every plan: the id list, and the probe of a common search
def test_sqlite_search_plans_find_the_same_posts(sqlite_url: str, rare: int, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(search, "RARE_MATCHES", rare)
    with migrated_storage(sqlite_url) as storage:
        ev = storage.event("coproduction-2014")
        assert ev is not None
        words = ["community garden", "communal kitchen", "community hall", "commune", "garden party"] * 2
        storage.ingest(ev.id, None, [approved(make_post(i, text=f"{w} {i}")) for i, w in enumerate(words)], None)

        def found(query: str) -> list[str]:
            return sorted(p.text for p in storage.search_posts(ev.id, PostQuery(limit=50), query).posts)

        every = sorted(f"{w} {i}" for i, w in enumerate(words))
        assert found("community") == [t for t in every if t.startswith("community ")]
        assert found("commun") == [t for t in every if t.startswith("commun")]  # the prefix, spelt out
        assert found("garden commun") == [t for t in every if t.startswith("community garden")]
        monkeypatch.setattr(search, "PREFIX_TERMS", 1)  # too many words to spell out: the prefix itself
        assert found("commun") == [t for t in every if t.startswith("commun")]
        assert found("zzz") == []
