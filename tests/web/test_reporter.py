"""Reporters' own posts and uploads, and the stories editor, through HTTP as a browser uses them."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import ExifTags, Image

from aggregator.storage import PostQuery
from aggregator.types import Platform, Status
from tests.web.conftest import ConsoleEnv, csrf_from
from tests.web.public_env import SLUG, public_env


@pytest.fixture
def env(db_url: str, tmp_path: Path) -> Iterator[ConsoleEnv]:
    with public_env(db_url, tmp_path) as e:
        yield e


def jpeg_with_gps() -> bytes:
    img = Image.new("RGB", (320, 200), (200, 60, 40))
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "SpyCam"
    exif[ExifTags.Base.Model] = "Serial 12345"
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    gps[ExifTags.GPS.GPSLatitudeRef] = "N"
    gps[ExifTags.GPS.GPSLatitude] = (55.0, 56.0, 30.0)
    gps[ExifTags.GPS.GPSLongitudeRef] = "W"
    gps[ExifTags.GPS.GPSLongitude] = (3.0, 10.0, 12.0)
    out = io.BytesIO()
    img.save(out, "JPEG", exif=exif)
    data = out.getvalue()
    assert Image.open(io.BytesIO(data)).getexif().get_ifd(ExifTags.IFD.GPSInfo), "the fixture must carry GPS"
    return data


def new_post_form(env: ConsoleEnv, client: object) -> str:
    page = client.get(f"/console/{SLUG}/posts/new")  # type: ignore[attr-defined]
    assert page.status_code == 200
    return csrf_from(page.text)


def test_an_uploaded_jpeg_with_gps_is_served_without_it(env: ConsoleEnv) -> None:
    env.add_user("rita", "reporter")
    client = env.sign_in("rita")
    token = new_post_form(env, client)
    resp = client.post(f"/console/{SLUG}/posts", data={"csrf_token": token, "text": "Our table #coprodscot",
                                                       "alt_text": "Sticky notes"},
                       files={"photos": ("table.jpg", jpeg_with_gps(), "image/jpeg")})
    assert resp.status_code == 303, resp.text
    assert resp.headers["location"].startswith(f"/e/{SLUG}/p/")
    page = env.storage.posts(env.event_id, PostQuery())
    [post] = page.posts
    assert post.platform is Platform.REPORTER and post.status is Status.APPROVED
    assert post.author.handle == "rita" and post.hashtags == ("coprodscot",)
    [photo] = post.media
    assert photo.url.startswith(f"/media/{SLUG}/") and photo.thumbnail_url
    assert photo.alt_text == "Sticky notes"
    for url in (photo.url, photo.thumbnail_url):
        served = client.get(url)
        assert served.status_code == 200
        assert served.headers["content-type"] == "image/jpeg"
        assert b"Exif" not in served.content and b"SpyCam" not in served.content
        img = Image.open(io.BytesIO(served.content))
        assert img.format == "JPEG"
        assert not img.getexif(), "EXIF survived"
        assert not img.getexif().get_ifd(ExifTags.IFD.GPSInfo)
    # The approval reached the live log like any other.
    assert [e.kind for e in env.storage.live_after(0, env.event_id)] == ["post.approved"]
    # And the permalink shows it.
    shown = client.get(resp.headers["location"])
    assert shown.status_code == 200 and "Our table" in shown.text


@pytest.mark.parametrize("payload, reason", [
    (b"<svg xmlns='http://www.w3.org/2000/svg' onload='alert(1)'/>", "not a photo we can read"),
    (b"GIF89a" + b"\x00" * 20, "not a photo we can read"),
    (b"", "empty"),
])
def test_files_that_are_not_photos_are_refused(env: ConsoleEnv, payload: bytes, reason: str) -> None:
    env.add_user("rita", "reporter")
    client = env.sign_in("rita")
    token = new_post_form(env, client)
    resp = client.post(f"/console/{SLUG}/posts", data={"csrf_token": token, "text": "x"},
                       files={"photos": ("evil.jpg", payload, "image/jpeg")})
    assert resp.status_code == 400
    assert reason in resp.text or "damaged" in resp.text
    assert env.storage.posts(env.event_id, PostQuery()).posts == ()


def test_a_video_link_becomes_a_video_post(env: ConsoleEnv) -> None:
    env.add_user("otto", "organiser")
    client = env.sign_in("otto")
    token = new_post_form(env, client)
    resp = client.post(f"/console/{SLUG}/posts", data={"csrf_token": token, "text": "Highlights",
                                                       "video_url": "https://youtu.be/dQw4w9WgXcQ"})
    assert resp.status_code == 303
    [post] = env.storage.posts(env.event_id, PostQuery()).posts
    assert post.kind.value == "video" and post.media[0].video_key == "youtube:dQw4w9WgXcQ"


def test_posting_needs_a_reporter_and_a_csrf_token(env: ConsoleEnv) -> None:
    anonymous = env.client()
    assert anonymous.get(f"/console/{SLUG}/posts/new").status_code == 303
    env.add_user("mo", "moderator")
    mod = env.sign_in("mo")
    assert mod.get(f"/console/{SLUG}/posts/new").status_code == 403
    env.add_user("rita", "reporter")
    rita = env.sign_in("rita")
    assert rita.post(f"/console/{SLUG}/posts", data={"text": "no token"}).status_code == 403
    assert env.storage.posts(env.event_id, PostQuery()).posts == ()


def test_seed_template_and_adding_posts_from_the_post_page(env: ConsoleEnv) -> None:
    from tests.factories import approved, make_post

    env.storage.ingest(env.event_id, None, [approved(make_post(1, text="A post worth keeping"))], None)
    [post] = env.storage.posts(env.event_id, PostQuery()).posts
    env.add_user("rita", "reporter")
    client = env.sign_in("rita")
    token = csrf_from(client.get(f"/console/{SLUG}/stories").text)
    resp = client.post(f"/console/{SLUG}/stories", data={"csrf_token": token, "title": "Our day",
                                                         "template": "seed"})
    assert resp.status_code == 303
    [story] = env.storage.stories(env.event_id, include_drafts=True)
    assert [b.heading for b in env.storage.story(env.event_id, story.slug).blocks] == [  # type: ignore[union-attr]
        "Welcome and opening remarks", "Workshops and open space", "Bringing it all together",
        "Videos from the day", "Social reporting"]
    # The post page offers "add to a story" to a signed-in reporter, per section.
    page = client.get(f"/e/{SLUG}/p/{post.id}")
    assert "Add to a story" in page.text
    full = env.storage.story(env.event_id, story.slug)
    assert full is not None
    workshops = full.blocks[1].id
    resp = client.post(f"/console/{SLUG}/stories/add-post", data={
        "csrf_token": csrf_from(page.text), "post_id": str(post.id), "target": f"{story.id}:{workshops}"})
    assert resp.status_code == 303
    full = env.storage.story(env.event_id, story.slug)
    assert full is not None
    assert [(b.kind, b.post_id) for b in full.blocks][1:3] == [("section", None), ("post", post.id)]
    # Drafts: visible to the reporter, not to the public; published: to everyone.
    assert client.get(f"/e/{SLUG}/stories/{story.slug}").status_code == 200
    assert env.client().get(f"/e/{SLUG}/stories/{story.slug}").status_code == 404
    edit = client.get(f"/console/{SLUG}/stories/{story.id}")
    client.post(f"/console/{SLUG}/stories/{story.id}", data={
        "csrf_token": csrf_from(edit.text), "title": "Our day", "summary": "", "status": "published"})
    public = env.client().get(f"/e/{SLUG}/stories/{story.slug}")
    assert public.status_code == 200 and "A post worth keeping" in public.text


def test_a_reporters_post_is_decided_by_the_rules_and_filterable_by_rule(env: ConsoleEnv) -> None:
    from aggregator.pipeline.moderate import RULES
    from aggregator.storage.moderation import QueueQuery
    from aggregator.types import Status

    env.add_user("rita", "reporter")
    client = env.sign_in("rita")
    token = new_post_form(env, client)
    resp = client.post(f"/console/{SLUG}/posts", data={"csrf_token": token, "text": "Lunch is served"})
    assert resp.status_code == 303
    [post] = env.storage.posts(env.event_id, PostQuery()).posts
    assert (post.status_rule, post.status_detail) == ("reporter", "console:rita")
    assert post.status_rule in RULES  # the console's rule filter lists it
    found = env.storage.moderation_queue(env.event_id, QueueQuery(statuses=(Status.APPROVED,), rule="reporter"))
    assert [p.id for p in found] == [post.id]
