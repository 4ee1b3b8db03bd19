"""The batch ingest over SQLite and PostgreSQL: idempotent, atomic, ordered."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import Connection

from aggregator.storage import PostQuery, Storage, StorageError
from aggregator.storage.schema import live_events, media, posts, sources, tombstones
from aggregator.types import Cursor, Decision, IngestItem, Platform, PostKind, RelationKind, Status
from tests.factories import EVENT_START, approved, make_post, migrated_storage, pending


def _ids(storage: Storage) -> tuple[int, int]:
    ev = storage.event("coproduction-2014")
    assert ev is not None
    src = storage.source(ev.id, "masto")
    assert src is not None
    return ev.id, src.id


def _count(storage: Storage, table: object) -> int:
    with storage.read() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())  # type: ignore[arg-type]


def test_same_batch_twice_is_stored_once(db_url: str) -> None:
    with migrated_storage(db_url) as storage:
        event_id, source_id = _ids(storage)
        batch = [approved(make_post(i, photos=i % 3)) for i in range(20)]
        first = storage.ingest(event_id, source_id, batch, Cursor("20"))
        second = storage.ingest(event_id, source_id, batch, Cursor("20"))
        assert (first.inserted, first.live_events) == (20, 20)
        assert (second.inserted, second.unchanged, second.live_events) == (0, 20, 0)
        assert _count(storage, posts) == 20
        assert _count(storage, media) == sum(i % 3 for i in range(20))
        assert _count(storage, live_events) == 20
        src = storage.source(event_id, "masto")
        assert src is not None and src.cursor_position == "20" and src.posts_collected == 20


def test_failure_before_commit_leaves_nothing(db_url: str) -> None:
    with migrated_storage(db_url) as storage:
        event_id, source_id = _ids(storage)

        def boom(conn: Connection) -> None:
            # The posts, media and live rows are written by now, inside the transaction.
            assert conn.execute(select(func.count()).select_from(posts)).scalar_one() == 5
            assert conn.execute(select(func.count()).select_from(live_events)).scalar_one() == 5
            raise RuntimeError("injected crash before commit")

        storage.before_commit = boom
        with pytest.raises(RuntimeError, match="injected"):
            storage.ingest(event_id, source_id, [approved(make_post(i, photos=1)) for i in range(5)], Cursor("5"))
        storage.before_commit = None
        assert _count(storage, posts) == 0
        assert _count(storage, media) == 0
        assert _count(storage, live_events) == 0
        src = storage.source(event_id, "masto")
        assert src is not None and src.cursor_position is None and src.posts_collected == 0
        # And the re-fetch after the crash stores everything exactly once.
        report = storage.ingest(event_id, source_id, [approved(make_post(i)) for i in range(5)], Cursor("5"))
        assert report.inserted == 5


def test_only_approved_posts_write_live_events(db_url: str) -> None:
    with migrated_storage(db_url) as storage:
        event_id, source_id = _ids(storage)
        items = [approved(make_post(1)), pending(make_post(2)),
                 IngestItem(make_post(3), Decision(Status.REJECTED, "blocked_word", "casino"))]
        report = storage.ingest(event_id, source_id, items, None)
        assert report.live_events == 1
        rows = storage.live_after(0)
        assert [r.kind for r in rows] == ["post.approved"]
        assert storage.count_by_status(event_id) == {Status.APPROVED: 1, Status.PENDING: 1, Status.REJECTED: 1}


def test_live_sequence_is_monotonic_across_batches(db_url: str) -> None:
    with migrated_storage(db_url) as storage:
        event_id, source_id = _ids(storage)
        for b in range(4):
            storage.ingest(event_id, source_id, [approved(make_post(b * 10 + i)) for i in range(3)], None)
        seqs = [e.seq for e in storage.live_after(0)]
        assert seqs == sorted(seqs) and len(set(seqs)) == 12
        assert [e.seq for e in storage.live_after(seqs[5])] == seqs[6:]
        assert storage.last_live_seq() == seqs[-1]


def test_tombstoned_post_never_comes_back(db_url: str) -> None:
    with migrated_storage(db_url) as storage:
        event_id, source_id = _ids(storage)
        post = make_post(7)
        with storage.write() as conn:
            conn.execute(tombstones.insert().values(event_id=event_id, platform=post.platform.value,
                                                    external_id=post.external_id, reason="taken_down",
                                                    created_at=EVENT_START))
        report = storage.ingest(event_id, source_id, [approved(post)], None)
        assert (report.inserted, report.tombstoned) == (0, 1)
        assert _count(storage, posts) == 0


def test_edit_at_source_updates_and_notifies(db_url: str) -> None:
    with migrated_storage(db_url) as storage:
        event_id, source_id = _ids(storage)
        storage.ingest(event_id, source_id, [approved(make_post(1))], None)
        edited = make_post(1, text="Fixed typo #coprodscot", edited_at=EVENT_START + timedelta(hours=2))
        report = storage.ingest(event_id, source_id, [approved(edited)], None)
        assert report.updated == 1
        page = storage.posts(event_id)
        assert page.posts[0].text == "Fixed typo #coprodscot"
        assert [e.kind for e in storage.live_after(0)] == ["post.approved", "post.updated"]
        # The same edit delivered again changes nothing.
        assert storage.ingest(event_id, source_id, [approved(edited)], None).unchanged == 1


def test_repost_folds_into_original_with_a_count(db_url: str) -> None:
    with migrated_storage(db_url) as storage:
        event_id, source_id = _ids(storage)
        original = make_post(1)
        boosts = [
            IngestItem(make_post(100 + i, author=f"fan{i}", text=f"RT {i}"),
                       Decision(Status.APPROVED, "mode:post"), duplicate_of=original.key, is_repost=True)
            for i in range(3)
        ]
        first = storage.ingest(event_id, source_id, [approved(original), *boosts], None)
        assert first.live_events == 2  # approved, then one update for the three boosts
        storage.ingest(event_id, source_id, boosts, None)  # re-delivered: no double counting
        page = storage.posts(event_id)
        assert [p.external_id for p in page.posts] == [original.external_id]
        assert page.posts[0].repost_count == 3
        assert storage.count_by_status(event_id)[Status.DUPLICATE] == 3


def test_crosspost_copies_are_listed_on_the_card(db_url: str) -> None:
    with migrated_storage(db_url) as storage:
        event_id, source_id = _ids(storage)
        first = make_post(1, Platform.MASTODON)
        copy = make_post(1, Platform.BLUESKY)
        storage.ingest(event_id, source_id, [
            approved(first),
            IngestItem(copy, Decision(Status.APPROVED, "mode:post"), duplicate_of=first.key),
        ], None)
        (card,) = storage.posts(event_id).posts
        assert card.copies == ((Platform.BLUESKY, copy.url),)


def test_keyset_paging_is_stable_while_posts_arrive(db_url: str) -> None:
    with migrated_storage(db_url) as storage:
        event_id, source_id = _ids(storage)
        storage.ingest(event_id, source_id, [approved(make_post(i)) for i in range(25)], None)
        first = storage.posts(event_id, PostQuery(limit=10))
        assert [p.text for p in first.posts][:2] == ["Post number 24 #coprodscot", "Post number 23 #coprodscot"]
        assert first.later is None and first.earlier is not None
        # New posts arrive at the top; paging down must not repeat or skip anything.
        storage.ingest(event_id, source_id, [approved(make_post(i)) for i in range(25, 30)], None)
        second = storage.posts(event_id, PostQuery(limit=10, before=first.earlier))
        third = storage.posts(event_id, PostQuery(limit=10, before=second.earlier))
        seen = [p.id for p in first.posts + second.posts + third.posts]
        assert len(seen) == len(set(seen)) == 25
        assert third.earlier is None
        # And back up: "later" from the second page is exactly the first page.
        assert second.later is not None
        back = storage.posts(event_id, PostQuery(limit=10, after=second.later))
        assert [p.id for p in back.posts] == [p.id for p in first.posts]
        assert back.later is not None  # the five new ones are above


def test_filters_by_kind_and_platform(db_url: str) -> None:
    with migrated_storage(db_url) as storage:
        event_id, source_id = _ids(storage)
        storage.ingest(event_id, source_id, [
            approved(make_post(1)), approved(make_post(2, photos=2)), approved(make_post(3, Platform.BLUESKY)),
        ], None)
        photos = storage.posts(event_id, PostQuery(kinds=(PostKind.PHOTO,)))
        assert [len(p.media) for p in photos.posts] == [2]
        sky = storage.posts(event_id, PostQuery(platforms=(Platform.BLUESKY,)))
        assert [p.platform for p in sky.posts] == [Platform.BLUESKY]


def test_reply_and_quote_relations_are_kept(db_url: str) -> None:
    from aggregator.types import Relation

    with migrated_storage(db_url) as storage:
        event_id, source_id = _ids(storage)
        post = make_post(1, relations=(Relation(RelationKind.REPLY, "parent-1"), Relation(RelationKind.QUOTE, "q-9")))
        storage.ingest(event_id, source_id, [approved(post)], None)
        with storage.read() as conn:
            row = conn.execute(select(posts.c.reply_to, posts.c.quote_of)).one()
        assert tuple(row) == ("parent-1", "q-9")


def test_driver_errors_are_wrapped(tmp_path: object) -> None:
    storage = Storage("sqlite:///" + str(tmp_path) + "/never-migrated.db")
    try:
        with pytest.raises(StorageError, match="no such table"):
            storage.events()
    finally:
        storage.close()


def test_sources_keep_their_cursor_across_config_sync(db_url: str) -> None:
    from tests.factories import make_settings

    with migrated_storage(db_url) as storage:
        event_id, source_id = _ids(storage)
        storage.ingest(event_id, source_id, [approved(make_post(1))], Cursor("abc", etag='"e1"'))
        # Re-sync with the source renamed away: the old one is disabled, not deleted.
        storage.sync_config(make_settings(sources=[{"kind": "flickr", "name": "photos"}]))
        by_name = {s.name: s for s in storage.sources(event_id)}
        assert by_name["masto"].enabled is False and by_name["masto"].cursor_position == "abc"
        assert by_name["masto"].etag == '"e1"'
        assert by_name["photos"].enabled is True
        with storage.read() as conn:
            assert conn.execute(select(func.count()).select_from(sources)).scalar_one() == 2
