"""The media store and the job that keeps approved posts' media; pruning after takedowns."""

from __future__ import annotations

import hashlib

from aggregator.media.store import LocalMediaStore, image_type
from tests.export.conftest import ACTOR, Day, png


def test_store_is_content_addressed(tmp_path: object) -> None:
    from pathlib import Path

    store = LocalMediaStore(Path(str(tmp_path)))
    data = png((1, 2, 3))
    digest = store.put(data)
    assert digest == hashlib.sha256(data).hexdigest()
    assert store.put(data) == digest and store.exists(digest)
    with store.open(digest) as fh:
        assert fh.read() == data
    store.delete(digest)
    assert not store.exists(digest)
    store.delete(digest)  # gone already: no error
    assert image_type(data[:16]) == "image/png"
    assert image_type(b"<html>") is None


def test_keeps_approved_media_once_and_reports_status(day: Day) -> None:
    summary = day.keeper.fetch_event(day.event_id)
    # 6 own photos + 1 shared photo (two posts) + 3 avatars; the pending post's photo and avatar are not fetched.
    assert summary.kept == 10 and summary.failed == 0
    assert not day.server.requests_to("/img/9.png") and not day.server.requests_to("/avatar/mallory.png")
    assert len(day.server.requests_to("/img/shared.png")) == 1
    status = day.storage.media_status(day.event_id)
    assert (status.kept, status.missing, status.failed) == (10, 0, 0)
    assert status.bytes == sum(f.bytes for f in {f.sha256: f for f in day.storage.kept_media().values()}.values())
    # A second run has nothing to do.
    assert day.keeper.fetch_event(day.event_id).kept == 0


def test_not_an_image_is_refused(day: Day) -> None:
    ok, _ = day.keeper._keep(f"{day.server.url}/img/not-an-image.png", 10**6)
    assert not ok
    assert day.storage.kept_media([f"{day.server.url}/img/not-an-image.png"]) == {}


def test_takedown_removes_files_only_that_post_used(day: Day) -> None:
    day.keeper.fetch_event(day.event_id)
    ids = day.ids()
    kept = day.storage.kept_media()
    own = kept[f"{day.server.url}/img/0.png"].sha256
    shared = kept[f"{day.server.url}/img/shared.png"].sha256
    shared_post = next(i for ext, i in ids.items() if ext.endswith("/6"))
    day.storage.moderate_posts(day.event_id, [ids["https://mastodon.test/posts/0"], shared_post], "takedown", ACTOR)
    assert day.keeper.prune() == 1
    assert not day.store.exists(own)
    assert day.store.exists(shared), "another approved post still shows the shared photo"
    # alice's avatar stays: her other posts are still shown.
    assert day.store.exists(kept[f"{day.server.url}/avatar/alice.png"].sha256)


def test_reporters_uploads_are_kept_from_the_upload_folder(day: Day, tmp_path: object) -> None:
    from pathlib import Path

    from aggregator.media.fetch import MediaKeeper
    from aggregator.types import Author, Media, MediaKind, Post, PostKind
    from tests.factories import approved, make_post

    uploads = Path(str(tmp_path)) / "uploads"
    (uploads / day.slug).mkdir(parents=True)
    data = png((9, 9, 9))
    (uploads / day.slug / "abc.jpg").write_bytes(data)  # the bytes are sniffed, not the name
    base = make_post(30)
    author = Author(base.author.platform, base.author.external_id, "reporter", "Reporter")  # no avatar
    post = Post(**{**{f: getattr(base, f) for f in base.__dataclass_fields__}, "kind": PostKind.PHOTO,
                   "author": author,
                   "media": (Media(MediaKind.PHOTO, f"/media/{day.slug}/abc.jpg", f"/media/{day.slug}/../../x.jpg"),)})
    day.storage.ingest(day.event_id, None, [approved(post)], None)
    keeper = MediaKeeper(day.storage, day.store, day.keeper.http, uploads=uploads)
    keeper.fetch_event(day.event_id)
    kept = day.storage.kept_media([f"/media/{day.slug}/abc.jpg", f"/media/{day.slug}/../../x.jpg"])
    assert list(kept) == [f"/media/{day.slug}/abc.jpg"]  # the path outside the folder is refused
    assert kept[f"/media/{day.slug}/abc.jpg"].sha256 == hashlib.sha256(data).hexdigest()
