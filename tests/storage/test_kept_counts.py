"""The counts kept as posts change (migration 0010a's triggers) equal a recount after every write path,
over SQLite and PostgreSQL; the chart and the author filter read them."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import delete, select, update

from aggregator.storage import PostQuery, Storage, counts, search
from aggregator.storage.moderation import Actor, QueueQuery
from aggregator.storage.schema import posts
from aggregator.types import Decision, IngestItem, Platform, PostKind, Status
from tests.factories import EVENT_START, approved, make_post, migrated_storage, pending

MO = Actor(None, "mo")


def assert_kept(storage: Storage) -> None:
    with storage.read() as conn:
        kept_slots, kept_authors = counts.kept(conn)
        slots, authors = counts.recount(conn)
    assert kept_slots == slots
    assert kept_authors == authors


def _event(storage: Storage) -> int:
    ev = storage.event("coproduction-2014")
    assert ev is not None
    return ev.id


def _id(storage: Storage, event_id: int, post: object) -> int:
    stored = storage.post_by_key(event_id, post.key)  # type: ignore[attr-defined]
    assert stored is not None
    return stored.id


def test_kept_counts_equal_a_recount_after_every_write_path(db_url: str) -> None:
    with migrated_storage(db_url) as storage:
        event_id = _event(storage)
        face = make_post(1, author="alice")
        copy = make_post(2, Platform.BLUESKY, author="alice", minutes=3)
        other = make_post(3, Platform.X, author="bob", minutes=14.99, photos=1)
        queued = make_post(4, author="carol", minutes=15)
        late = make_post(5, Platform.X, author="bob", minutes=70)
        # Ingest: approved, pending, and a cross-post folded into its face's card (a merge).
        storage.ingest(event_id, None, [
            approved(face), approved(other), pending(queued), approved(late),
            IngestItem(copy, Decision(Status.APPROVED, "mode:post"), duplicate_of=face.key),
        ], None)
        assert_kept(storage)
        with storage.read() as conn:
            assert counts.approved_total(conn, event_id) == 3

        storage.moderate_posts(event_id, [_id(storage, event_id, queued)], "approve", MO)  # approve
        assert_kept(storage)
        storage.moderate_posts(event_id, [_id(storage, event_id, other)], "reject", MO)  # reject
        assert_kept(storage)
        storage.moderate_posts(event_id, [_id(storage, event_id, other)], "approve", MO)  # back again
        assert_kept(storage)
        storage.moderate_posts(event_id, [_id(storage, event_id, late)], "takedown", MO)  # take-down
        assert_kept(storage)
        storage.moderate_posts(event_id, [_id(storage, event_id, queued)], "pin", MO)  # no count changes
        assert_kept(storage)
        # Deleted at the source: the face goes and its copy steps in as the card (canonical changes).
        storage.remove_at_source(event_id, [face.key], decide=lambda p: Decision(Status.APPROVED, "rule"))
        assert_kept(storage)
        with storage.read() as conn:
            assert counts.approved_total(conn, event_id) == 3  # copy, other, queued
        # Writers that are none of the above: an edit of the counted columns, a deleted row.
        with storage.write() as conn:
            conn.execute(update(posts).where(posts.c.id == _id(storage, event_id, other))
                         .values(created_at=EVENT_START + timedelta(hours=3), platform="mastodon", kind="text"))
            conn.execute(delete(posts).where(posts.c.id == _id(storage, event_id, queued)))
        assert_kept(storage)
        with storage.read() as conn:
            assert counts.approved_total(conn, event_id) == 2


def test_the_chart_and_the_author_filter_read_the_kept_counts(db_url: str) -> None:
    with migrated_storage(db_url) as storage:
        event_id = _event(storage)
        items = [approved(make_post(i, Platform.X if i % 3 else Platform.MASTODON, author=f"a{i % 4}",
                                    minutes=i * 7, photos=i % 2)) for i in range(40)]
        items += [pending(make_post(100 + i, minutes=i)) for i in range(5)]
        storage.ingest(event_id, None, items, None)
        start, end = EVENT_START, EVENT_START + timedelta(hours=6)
        times = storage.approved_times(event_id, start, end)
        expected = [0] * 6
        for t in times:
            expected[int((t - start).total_seconds() // 3600)] += 1
        assert storage.hour_counts(event_id, start, end) == expected
        assert sum(expected) == 40
        with storage.read() as conn:
            assert sum(counts.hour_counts(conn, event_id, start, end, platforms=[Platform.MASTODON])) == 14
            assert counts.approved_total(conn, event_id, kinds=[PostKind.PHOTO]) == 20
        per_author: dict[tuple[str, str], int] = {}
        for item in items[:40]:
            key = (item.post.author.name, item.post.platform.value)
            per_author[key] = per_author.get(key, 0) + 1
        ranked = sorted(per_author.items(), key=lambda kv: (-kv[1], kv[0][0]))
        facets = storage.author_facets(event_id, limit=3)  # most posts first, ties by name
        assert [((f.name, f.platform.value), f.posts) for f in facets] == ranked[:3]
        assert {(f.name, f.platform.value): f.posts for f in storage.author_facets(event_id)} == per_author


def test_filtered_counts_are_exact_up_to_the_cap(db_url: str) -> None:
    with migrated_storage(db_url) as storage:
        event_id = _event(storage)
        storage.ingest(event_id, None, [approved(make_post(i, text=f"word{i % 2} keynote {i}", minutes=i))
                                        for i in range(30)], None)
        queue = storage.moderation_queue(event_id, QueueQuery(statuses=()))
        alice = queue[0].author_id
        start, end = EVENT_START, EVENT_START + timedelta(hours=2)
        found = storage.filtered_matches(event_id, PostQuery(), "word1", start, end)
        assert (found.total, found.capped, found.hours) == (15, False, [15, 0])
        found = storage.filtered_matches(event_id, PostQuery(author_id=alice), "", start, end)
        assert found.total == 30 and found.hours == [30, 0]
        with storage.read() as conn:
            capped = counts.bounded_matches(conn, select(posts.c.created_at).where(posts.c.event_id == event_id),
                                            start, end, cap=10)
            assert (capped.total, capped.capped, capped.hours) == (10, True, None)
            assert search.filtered_matches(conn, event_id, PostQuery(), "keynote", start, end).total == 30
