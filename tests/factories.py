"""Small builders for settings and posts, so tests say only what matters to them."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

from aggregator.clock import FakeClock
from aggregator.config import Settings
from aggregator.storage import Storage
from aggregator.storage.migrate import upgrade
from aggregator.types import Author, Decision, IngestItem, Media, MediaKind, Platform, Post, PostKind, Status

EVENT_START = datetime(2014, 4, 23, 8, 0, tzinfo=UTC)  # 09:00 in Edinburgh (BST)


def settings_dict(**event: Any) -> dict[str, Any]:
    ev: dict[str, Any] = {
        "slug": "coproduction-2014",
        "title": "3rd National Co-production Conference",
        "timezone": "Europe/London",
        "start": datetime(2014, 4, 23, 9, 0),
        "end": datetime(2014, 4, 23, 16, 30),
        "hashtags": ["coprodscot"],
        "programme": [
            {"title": "Welcome", "start": datetime(2014, 4, 23, 9, 45), "end": datetime(2014, 4, 23, 10, 45)},
            {"title": "Workshops", "start": datetime(2014, 4, 23, 11, 0), "end": datetime(2014, 4, 23, 12, 30),
             "kind": "workshop"},
        ],
        "sources": [{"kind": "mastodon", "name": "masto", "api_base": "http://127.0.0.1:9/mastodon/a"}],
    }
    ev.update(event)
    return {"events": [ev]}


def make_settings(**event: Any) -> Settings:
    return Settings.model_validate(settings_dict(**event))


def make_post(n: int, platform: Platform = Platform.MASTODON, *, minutes: float | None = None,
              author: str = "alice", text: str | None = None, photos: int = 0, **kw: Any) -> Post:
    created = EVENT_START + timedelta(minutes=n if minutes is None else minutes)
    body = text if text is not None else f"Post number {n} #coprodscot"
    return Post(
        platform=platform,
        external_id=f"https://{platform.value}.test/posts/{n}",
        url=f"https://{platform.value}.test/@{author}/{n}",
        author=Author(platform, f"https://{platform.value}.test/users/{author}", author, author.title(),
                      avatar_url=f"https://{platform.value}.test/a/{author}.png"),
        created_at=created,
        text=body,
        html=f"<p>{body}</p>",
        kind=PostKind.PHOTO if photos else PostKind.TEXT,
        media=tuple(Media(MediaKind.PHOTO, f"https://img.test/{n}/{i}.jpg", f"https://img.test/{n}/{i}_t.jpg",
                          alt_text=f"photo {i}") for i in range(photos)),
        hashtags=("coprodscot",),
        **kw,
    )


def approved(post: Post) -> IngestItem:
    return IngestItem(post, Decision(Status.APPROVED, "mode:post"))


def pending(post: Post) -> IngestItem:
    return IngestItem(post, Decision(Status.PENDING, "mode:pre"))


@contextmanager
def migrated_storage(url: str, settings: Settings | None = None,
                     clock: FakeClock | None = None) -> Iterator[Storage]:
    storage = Storage(url, clock=clock or FakeClock(EVENT_START + timedelta(hours=1)))
    try:
        upgrade(storage.engine)
        storage.sync_config(settings or make_settings())
        yield storage
    finally:
        storage.close()

