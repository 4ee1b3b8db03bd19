"""The Ingestor over SQLite and PostgreSQL: bridged cards merge, edits are decided again, the kept index
follows writes made by others."""

from __future__ import annotations

import io
from datetime import timedelta

from PIL import Image

from aggregator.pipeline.ingest import Ingestor
from aggregator.storage import PostQuery, Storage
from aggregator.storage.moderation import Actor
from aggregator.types import Decision, IngestItem, Platform, Post, Status
from tests.factories import EVENT_START, make_post, make_settings, migrated_storage

TEXT = "Brilliant keynote on community reporting this morning #coprodscot"
MODERATOR = Actor(None, "mod")


def jpeg() -> bytes:
    img = Image.new("RGB", (64, 48), (20, 90, 160))
    for x in range(0, 64, 8):
        img.paste((230, 30, 30), (x, 0, x + 4, 48 if x % 16 else 24))
    out = io.BytesIO()
    img.save(out, "JPEG")
    return out.getvalue()


def ingestor(storage: Storage, mode: str = "post", **moderation: object) -> Ingestor:
    settings = make_settings(moderation={"mode": mode, **moderation})
    storage.sync_config(settings)
    event = storage.event("coproduction-2014")
    assert event is not None
    return Ingestor(storage, settings.events[0], event.id, storage.clock, lambda url: jpeg())


def cards(storage: Storage, ing: Ingestor) -> list[tuple[str, tuple[Platform, ...]]]:
    return [(p.external_id, tuple(sorted(pl for pl, _ in p.copies)))
            for p in storage.posts(ing.event_id, PostQuery(limit=100)).posts]


def test_a_post_bridging_two_stored_cards_merges_them(db_url: str) -> None:
    with migrated_storage(db_url) as storage:
        ing = ingestor(storage)
        a = make_post(1, Platform.X, author="alice", text=TEXT)  # text only
        b = make_post(2, Platform.FLICKR, author="bob", text="The hall", photos=1)  # a photo by someone else
        c = make_post(3, Platform.MASTODON, author="alice", text=TEXT, photos=1)  # a's text, b's photo
        ing.ingest(None, [a], None)
        ing.ingest(None, [b], None)
        assert len(cards(storage, ing)) == 2
        ing.ingest(None, [c], None)
        assert cards(storage, ing) == [(a.external_id, (Platform.FLICKR, Platform.MASTODON))]
        kinds = [(e.kind, e.post_id) for e in storage.live_after(0, ing.event_id)]
        face_b = storage.post_by_key(ing.event_id, b.key)
        assert face_b is not None and face_b.status is Status.DUPLICATE
        assert ("post.retracted", face_b.id) in kinds  # the absorbed card leaves the walls at once
        # Delivered again, in any order: nothing changes.
        ing.ingest(None, [c, b, a], None)
        assert cards(storage, ing) == [(a.external_id, (Platform.FLICKR, Platform.MASTODON))]


def test_the_kept_index_sees_posts_stored_by_another_writer(db_url: str) -> None:
    with migrated_storage(db_url) as storage:
        ing = ingestor(storage)
        ing.ingest(None, [make_post(1)], None)
        built = ing.rebuilds
        ing.ingest(None, [make_post(2)], None)
        assert ing.rebuilds == built  # our own commit: the index is still good
        # Someone else (a reporter's post, another process) stores the first copy of a cross-post.
        first = make_post(10, Platform.X, author="carol", text=TEXT)
        storage.ingest(ing.event_id, None, [IngestItem(first, Decision(Status.APPROVED, "mode:post"))], None)
        ing.ingest(None, [make_post(11, Platform.BLUESKY, author="carol", text=TEXT)], None)
        assert ing.rebuilds == built + 1
        texts = [p.external_id for p in storage.posts(ing.event_id, PostQuery(limit=100)).posts]
        assert first.external_id in texts and len(texts) == 3  # the Bluesky copy folded into it


def edited(post: Post, text: str, minutes: int) -> Post:
    from dataclasses import replace

    return replace(post, text=text, html=f"<p>{text}</p>", edited_at=EVENT_START + timedelta(minutes=minutes))


def test_an_edit_is_decided_again(db_url: str) -> None:
    with migrated_storage(db_url) as storage:
        ing = ingestor(storage, blocked_words=["casino"], queue_words=["holdme"])
        post = make_post(1)
        ing.ingest(None, [post], None)
        stored = storage.post_by_key(ing.event_id, post.key)
        assert stored is not None and stored.status is Status.APPROVED

        ing.ingest(None, [edited(post, "Visit my casino #coprodscot", 5)], None)
        now = storage.post_by_key(ing.event_id, post.key)
        assert now is not None and (now.status, now.status_rule) == (Status.REJECTED, "blocked_word")
        assert [e.kind for e in storage.live_after(0, ing.event_id)] == ["post.approved", "post.retracted"]
        assert storage.posts(ing.event_id).posts == ()

        ing.ingest(None, [edited(post, "Sorry, fixed #coprodscot", 6)], None)  # the rules allow it again
        now = storage.post_by_key(ing.event_id, post.key)
        assert now is not None and now.status is Status.APPROVED


def test_a_human_approval_covers_the_old_text_only(db_url: str) -> None:
    with migrated_storage(db_url) as storage:
        ing = ingestor(storage, mode="pre")
        post = make_post(1)
        ing.ingest(None, [post], None)
        stored = storage.post_by_key(ing.event_id, post.key)
        assert stored is not None and stored.status is Status.PENDING
        storage.moderate_posts(ing.event_id, [stored.id], "approve", MODERATOR)
        ing.ingest(None, [edited(post, "Something else entirely #coprodscot", 5)], None)
        now = storage.post_by_key(ing.event_id, post.key)
        assert now is not None and (now.status, now.status_rule) == (Status.PENDING, "mode:pre")
        assert [e.kind for e in storage.live_after(0, ing.event_id)] == ["post.approved", "post.retracted"]


def test_generations_tell_own_commits_from_other_writers() -> None:
    from aggregator.pipeline.ingest import Generations

    seen = Generations()
    epoch = seen.observe((1, 1))
    seen.committed((1, 1), (2, 3))  # ours
    assert seen.observe((2, 3)) == epoch
    seen.committed((2, 3), (4, 4))  # another event's ingestor sharing it: still nobody else
    assert seen.observe((4, 4)) == epoch
    assert seen.observe((5, 4)) != epoch  # a post stored by someone else
    later = seen.observe((5, 4))
    seen.committed((5, 6), (7, 7))  # a moderator acted between our read and our commit
    assert seen.observe((7, 7)) != later
