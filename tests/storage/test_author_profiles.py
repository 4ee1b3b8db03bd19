"""Author rows keep the newest profile by the post's time, not by arrival (issue 14.7)."""

from __future__ import annotations

import dataclasses

from sqlalchemy import select

from aggregator.storage import Storage
from aggregator.storage.schema import authors
from aggregator.types import Post
from tests.factories import approved, make_post, migrated_storage


def _renamed(post: Post, name: str, avatar: str) -> Post:
    return dataclasses.replace(post, author=dataclasses.replace(post.author, name=name, avatar_url=avatar))


def _profile(storage: Storage) -> tuple[str, str | None]:
    with storage.read() as conn:
        row = conn.execute(select(authors.c.name, authors.c.avatar_url)).one()
    return row.name, row.avatar_url


def test_an_older_post_arriving_late_does_not_roll_back_the_profile(db_url: str) -> None:
    with migrated_storage(db_url) as storage:
        ev = storage.event("coproduction-2014")
        assert ev is not None
        new = _renamed(make_post(30), "Alice (new name)", "https://img.test/new.png")
        old = _renamed(make_post(10), "Alice (old name)", "https://img.test/old.png")
        storage.ingest(ev.id, None, [approved(new)], None)
        storage.ingest(ev.id, None, [approved(old)], None)  # a slow source delivers an older post
        assert _profile(storage) == ("Alice (new name)", "https://img.test/new.png")
        newer = _renamed(make_post(50), "Alice (newest)", "https://img.test/newest.png")
        storage.ingest(ev.id, None, [approved(newer)], None)
        assert _profile(storage) == ("Alice (newest)", "https://img.test/newest.png")


def test_within_one_batch_the_newest_post_gives_the_profile(db_url: str) -> None:
    with migrated_storage(db_url) as storage:
        ev = storage.event("coproduction-2014")
        assert ev is not None
        batch = [
            approved(_renamed(make_post(5), "Old", "https://img.test/o.png")),
            approved(_renamed(make_post(40), "Newest", "https://img.test/n.png")),
            approved(_renamed(make_post(20), "Middle", "https://img.test/m.png")),
        ]
        storage.ingest(ev.id, None, batch, None)
        assert _profile(storage) == ("Newest", "https://img.test/n.png")
