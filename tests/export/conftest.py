"""A small day of posts whose photos and avatars live on a loopback image server, for media and export tests."""

from __future__ import annotations

import io
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from PIL import Image

from aggregator.media.fetch import MediaKeeper
from aggregator.media.store import LocalMediaStore
from aggregator.sources.destination import FetchPolicy
from aggregator.sources.http import HttpClient
from aggregator.storage import Storage
from aggregator.storage.moderation import Actor
from aggregator.types import Author, Media, MediaKind, Platform, Post, PostKind
from tests.factories import approved, make_post, migrated_storage, pending
from tests.sources.server import LocalServer, Reply

ACTOR = Actor(None, "test-moderator")
LOOPBACK = FetchPolicy.allowing(["127.0.0.1"], any_port=True)  # the image server is on loopback


def png(colour: tuple[int, int, int], size: tuple[int, int] = (40, 30)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, colour).save(out, "PNG")
    return out.getvalue()


@dataclass
class Day:
    storage: Storage
    store: LocalMediaStore
    keeper: MediaKeeper
    server: LocalServer
    event_id: int
    slug: str

    def ids(self) -> dict[str, int]:
        """external id -> post id, every post of the event."""
        from aggregator.storage import PostQuery
        from aggregator.types import Status

        page = self.storage.posts(self.event_id, PostQuery(statuses=tuple(Status), limit=1000))
        return {p.external_id: p.id for p in page.posts}


def photo_post(n: int, base: str, *, author: str = "alice", text: str | None = None, shared: bool = False,
               platform: Platform = Platform.MASTODON) -> Post:
    post = make_post(n, platform, author=author, text=text)
    image = f"{base}/img/shared.png" if shared else f"{base}/img/{n}.png"
    author_rec = Author(post.author.platform, post.author.external_id, post.author.handle, post.author.name,
                        avatar_url=f"{base}/avatar/{author}.png")
    return Post(**{**{f: getattr(post, f) for f in post.__dataclass_fields__}, "author": author_rec,
                   "kind": PostKind.PHOTO,
                   "media": (Media(MediaKind.PHOTO, image, image, alt_text=f"photo {n}", width=40, height=30),)})


@pytest.fixture
def image_server() -> Iterator[LocalServer]:
    with LocalServer() as server:
        for n in range(40):
            server.routes[f"/img/{n}.png"] = Reply(200, png((n * 6 % 256, 80, 160)), {"Content-Type": "image/png"})
        server.routes["/img/shared.png"] = Reply(200, png((10, 200, 10)), {"Content-Type": "image/png"})
        for i, who in enumerate(("alice", "bashir", "chen", "mallory")):
            server.routes[f"/avatar/{who}.png"] = Reply(200, png((200, i * 50, 0), (16, 16)),
                                                        {"Content-Type": "image/png"})
        server.routes["/img/not-an-image.png"] = Reply(200, b"<html>nope</html>", {"Content-Type": "image/png"})
        yield server


@pytest.fixture
def day(db_url: str, tmp_path: Path, image_server: LocalServer) -> Iterator[Day]:
    with migrated_storage(db_url) as storage:
        event = storage.events()[0]
        base = image_server.url
        items = [approved(photo_post(n, base, author=("alice", "bashir", "chen")[n % 3])) for n in range(6)]
        items.append(approved(photo_post(6, base, author="bashir", shared=True)))
        items.append(approved(photo_post(7, base, author="chen", shared=True)))
        formula = make_post(8, text="=HYPERLINK(\"http://evil.test\",\"click\") Über café")
        alice = photo_post(0, base).author  # the same account, the same avatar on the image server
        items.append(approved(Post(**{**{f: getattr(formula, f) for f in formula.__dataclass_fields__},
                                      "author": alice})))
        items.append(pending(photo_post(9, base, author="mallory", text="pending secret pk0009q")))
        storage.ingest(event.id, None, items, None)
        store = LocalMediaStore(tmp_path / "media")
        http = HttpClient("test-agent", policy=LOOPBACK)
        keeper = MediaKeeper(storage, store, http, clock=storage.clock)
        try:
            yield Day(storage, store, keeper, image_server, event.id, event.slug)
        finally:
            http.close()
