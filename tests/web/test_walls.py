"""Several walls per event ([[events.walls]]): routes, filters, per-wall options and slides in the console,
live messages per wall; and the wall's pure helpers (short links, playable videos, skew-free timers)."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest
from PIL import Image

from aggregator.config import ConfigError, NamedWall, WallSettings, parse_settings
from aggregator.storage import PostQuery
from aggregator.storage.announcements import wall_overrides
from aggregator.storage.records import LiveEvent
from aggregator.types import Media, MediaKind, Platform, PostKind
from aggregator.web import cards
from aggregator.web.live_stream import live_message
from tests.factories import approved, make_post, settings_dict
from tests.web.conftest import ConsoleEnv, csrf_from
from tests.web.public_env import ACTOR, SLUG, parse, public_env

WALLS = [
    {"name": "stage", "title": "Main stage", "mode": "spotlight", "dwell_seconds": 5},
    {"name": "pics", "mode": "photos", "card_size": "large"},
    {"name": "x-only", "platforms": ["x"], "hashtags": ["#CoProdScot"]},
]


@pytest.fixture
def env(db_url: str, tmp_path: Path) -> Iterator[ConsoleEnv]:
    with public_env(db_url, tmp_path, wall={"theme": "light", "max_cards": 20}, walls=WALLS) as e:
        yield e


def ids_on(html: str) -> list[int]:
    return [int(str(dict(a)["data-post-id"])) for t, a in parse(html).tags
            if t == "article" and "data-post-id" in dict(a)]


def seed(env: ConsoleEnv) -> dict[str, int]:
    posts = [
        make_post(1, Platform.MASTODON, text="Mastodon words #coprodscot"),
        make_post(2, Platform.X, text="X words #coprodscot"),
        make_post(3, Platform.X, text="X other tag #elsewhere"),
        make_post(4, Platform.BLUESKY, text="Bluesky photo", photos=1),
    ]
    posts[2] = replace(posts[2], hashtags=("elsewhere",))
    env.storage.ingest(env.event_id, None, [approved(p) for p in posts], None)
    found = {p.external_id: p.id for p in env.storage.posts(env.event_id, PostQuery(limit=10)).posts}
    return {name: found[p.external_id] for name, p in zip(("m", "x", "x_other", "photo"), posts, strict=True)}


def test_named_walls_inherit_the_event_wall_and_override_what_they_set() -> None:
    settings = parse_settings(settings_dict(wall={"theme": "light", "dwell_seconds": 20}, walls=WALLS), Path("t"))
    ev = settings.events[0]
    stage = ev.wall_settings("stage")
    assert stage is not None and stage.mode == "spotlight" and stage.theme == "light" and stage.dwell_seconds == 5
    x_only = ev.wall_settings("x-only")
    assert x_only is not None and x_only.hashtags == ("coprodscot",) and x_only.platforms == ("x",)
    assert ev.wall_settings("") == ev.wall and ev.wall_settings("nope") is None
    assert isinstance(ev.walls[0], NamedWall) and ev.walls[0].title == "Main stage"


@pytest.mark.parametrize(("walls", "problem"), [
    ([{"name": "a"}, {"name": "a"}], "duplicate wall name 'a'"),
    ([{"name": "Not A Name"}], "walls[0].name"),
    ([{"name": "a", "mode": "carousel"}], "walls[0].mode"),
    ([{"name": "a", "slides": [{"image": "javascript:alert(1)"}]}], "https://"),
])
def test_bad_walls_are_refused_with_the_key_named(walls: list[dict[str, object]], problem: str) -> None:
    with pytest.raises(ConfigError, match=problem.replace("[", r"\[").replace("(", r"\(")):
        parse_settings(settings_dict(walls=walls), Path("t"))


def test_each_wall_shows_its_own_posts_at_its_own_address(env: ConsoleEnv) -> None:
    ids = seed(env)
    client = env.client()
    main = client.get(f"/e/{SLUG}/wall")
    assert set(ids_on(main.text)) == set(ids.values())
    x_only = client.get(f"/e/{SLUG}/wall/x-only")
    assert x_only.status_code == 200 and ids_on(x_only.text) == [ids["x"]]  # X, and only #coprodscot
    pics = client.get(f"/e/{SLUG}/wall/pics")
    assert ids_on(pics.text) == [ids["photo"]]
    assert 'data-mode="photos"' in pics.text and "cards-large" in pics.text
    stage = client.get(f"/e/{SLUG}/wall/stage")
    assert 'data-mode="spotlight"' in stage.text and 'data-dwell-seconds="5"' in stage.text
    assert "Main stage" in stage.text and 'data-stream="/e/coproduction-2014/live?wall=stage"' in stage.text
    assert client.get(f"/e/{SLUG}/wall/nope").status_code == 404
    assert client.get(f"/e/{SLUG}/live?wall=nope").status_code == 404


def _row(env: ConsoleEnv, kind: str, post_id: int | None = None, **payload: object) -> LiveEvent:
    return LiveEvent(1, env.event_id, kind, post_id, dict(payload), env.clock())


def test_live_messages_follow_each_walls_filters_and_options(env: ConsoleEnv) -> None:
    ids = seed(env)
    app_env = env.app.state.templates.env
    ev = env.storage.event(SLUG)
    assert ev is not None
    cfg = env.app.state.cfg

    def message(wall: str, row: LiveEvent) -> dict[str, object] | None:
        return live_message(env.storage, app_env, ev, cards.wall_settings(cfg, ev, wall), row, env.clock(), wall)

    approve_m = _row(env, "post.approved", ids["m"])
    assert message("", approve_m)["kind"] == "post.approved"  # type: ignore[index]
    assert message("x-only", approve_m) == {"kind": "post.retracted", "post_id": ids["m"]}
    assert message("pics", _row(env, "post.approved", ids["photo"]))["kind"] == "post.approved"  # type: ignore[index]
    changed = _row(env, "wall.options", options={"theme": "dark"}, wall="stage")
    assert message("stage", changed) == {"kind": "wall.options"}
    assert message("", changed) is None and message("pics", changed) is None
    assert message("", _row(env, "wall.options", options={}, wall="")) == {"kind": "wall.options"}


def test_options_are_stored_per_wall_and_reach_only_that_wall(env: ConsoleEnv) -> None:
    env.storage.set_wall_options(env.event_id, {"theme": "dark"}, ACTOR)
    env.storage.set_wall_options(env.event_id, {"mode": "slideshow", "footer": True}, ACTOR, "stage")
    ev = env.storage.event(SLUG)
    assert ev is not None
    assert wall_overrides(ev.wall_options) == {"theme": "dark"}
    assert wall_overrides(ev.wall_options, "stage") == {"mode": "slideshow", "footer": True}
    assert wall_overrides(ev.wall_options, "pics") == {}
    # Replacing the main wall's overrides keeps the named walls'.
    env.storage.set_wall_options(env.event_id, {"high_contrast": True}, ACTOR)
    ev = env.storage.event(SLUG)
    assert ev is not None and wall_overrides(ev.wall_options, "stage") == {"mode": "slideshow", "footer": True}
    client = env.client()
    assert 'data-mode="slideshow"' in client.get(f"/e/{SLUG}/wall/stage").text
    assert "has-footer" in client.get(f"/e/{SLUG}/wall/stage").text
    assert 'data-mode="grid"' in client.get(f"/e/{SLUG}/wall").text
    with env.storage.read() as conn:
        from sqlalchemy import select

        from aggregator.storage.schema import live_events
        rows = conn.execute(select(live_events.c.payload).where(live_events.c.kind == "wall.options")).all()
    assert [json.loads(r[0])["wall"] if isinstance(r[0], str) else r[0]["wall"] for r in rows] == ["", "stage", ""]


def _jpeg() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (64, 48), (200, 80, 40)).save(out, "PNG")
    return out.getvalue()


def test_console_edits_one_walls_options_and_slides(env: ConsoleEnv) -> None:
    env.add_user("org", "organiser")
    client = env.sign_in("org")
    page = client.get(f"/console/{SLUG}/wall?wall=stage")
    assert page.status_code == 200 and "/e/coproduction-2014/wall/stage" in page.text
    assert client.get(f"/console/{SLUG}/wall?wall=nope").status_code == 404
    token = csrf_from(page.text)
    resp = client.post(f"/console/{SLUG}/wall", data={
        "csrf_token": token, "wall": "stage", "mode": "slideshow", "dwell_seconds": "7", "slide_every": "4",
        "theme": "light", "accent_colour": "#e4572e", "card_size": "medium", "max_cards": "20",
        "spotlight_seconds": "12", "hashtags": "#coprodscot, lunch", "show_media": "on", "inline_video": "on",
        "footer": "on"})
    assert resp.status_code == 303 and resp.headers["location"].startswith(f"/console/{SLUG}/wall?wall=stage")
    ev = env.storage.event(SLUG)
    assert ev is not None
    assert wall_overrides(ev.wall_options, "stage") == {
        "mode": "slideshow", "dwell_seconds": 7, "hashtags": ["coprodscot", "lunch"], "footer": True}
    assert wall_overrides(ev.wall_options) == {}
    # A slide: the image is re-encoded into the media folder; the wall shows it.
    resp = client.post(f"/console/{SLUG}/wall/slides", data={"csrf_token": token, "wall": "stage",
                                                              "text": "Thanks to  our sponsor"},
                       files={"image": ("sponsor.png", _jpeg(), "image/png")})
    assert resp.status_code == 303
    ev = env.storage.event(SLUG)
    assert ev is not None
    [slide] = wall_overrides(ev.wall_options, "stage")["slides"]
    assert slide["text"] == "Thanks to our sponsor" and slide["image"].startswith(f"/media/{SLUG}/")
    assert client.get(slide["image"]).status_code == 200
    wall = env.client().get(f"/e/{SLUG}/wall/stage").text
    assert "data-slide=" in wall and "Thanks to our sponsor" in wall
    # Saving the form again keeps the slide; removing it takes it away.
    client.post(f"/console/{SLUG}/wall", data={
        "csrf_token": token, "wall": "stage", "mode": "spotlight", "dwell_seconds": "7", "theme": "light",
        "accent_colour": "#e4572e", "card_size": "medium", "max_cards": "20", "spotlight_seconds": "12",
        "slide_every": "4", "show_media": "on", "inline_video": "on"})
    ev = env.storage.event(SLUG)
    assert ev is not None and len(wall_overrides(ev.wall_options, "stage")["slides"]) == 1
    resp = client.post(f"/console/{SLUG}/wall/slides/0/remove", data={"csrf_token": token, "wall": "stage"})
    assert resp.status_code == 303
    ev = env.storage.event(SLUG)
    assert ev is not None and wall_overrides(ev.wall_options, "stage")["slides"] == []
    bad = client.post(f"/console/{SLUG}/wall/slides", data={"csrf_token": token, "wall": "stage"},
                      files={"image": ("x.png", b"not an image", "image/png")})
    assert bad.status_code == 400


def test_links_show_as_a_short_domain_and_path() -> None:
    html = ('<p>Slides: https://www.example.org/talks/2014/co-production-in-practice?x=1&amp;y=2, and '
            '<a href="https://bit.example/x">https://bit.example/abc</a> &lt;b&gt;</p>')
    out = str(cards.short_links(html))
    assert "Slides: example.org/talks/2014/co-produ…, and" in out and "https://www.example.org" not in out
    assert '<a href="https://bit.example/x">bit.example/abc</a>' in out
    assert "&lt;b&gt;" in out  # text stays escaped
    assert cards.short_link_text("https://www.example.org/") == "example.org"


def test_only_platform_served_video_files_play_inline() -> None:
    assert cards.playable_video("https://files.mastodon.example/a/b.mp4", Platform.MASTODON)
    assert cards.playable_video("https://video.twimg.example/v.mp4?tag=12", Platform.X)
    assert cards.playable_video("https://www.youtube.com/watch?v=abc", Platform.YOUTUBE) is None
    assert cards.playable_video("https://video.bsky.example/playlist.m3u8", Platform.BLUESKY) is None
    assert cards.playable_video("javascript:alert(1)//.mp4", Platform.MASTODON) is None


def test_a_wall_plays_video_files_inline_and_gives_other_videos_a_qr_code(env: ConsoleEnv) -> None:
    clip = Media(MediaKind.VIDEO, "https://files.mastodon.test/v/1.mp4", "https://files.mastodon.test/v/1.jpg")
    talk = Media(MediaKind.VIDEO, "https://www.youtube.com/watch?v=abcdefghijk", "https://i.ytimg.test/p.jpg")
    env.storage.ingest(env.event_id, None, [
        approved(replace(make_post(1), media=(clip,), kind=PostKind.VIDEO)),
        approved(replace(make_post(2, Platform.YOUTUBE), media=(talk,), kind=PostKind.VIDEO)),
    ], None)
    html = env.client().get(f"/e/{SLUG}/wall").text
    assert '<video src="https://files.mastodon.test/v/1.mp4"' in html and "muted loop autoplay playsinline" in html
    assert "Watch on your phone" in html
    env.storage.set_wall_options(env.event_id, {"inline_video": False}, ACTOR)
    assert "<video" not in env.client().get(f"/e/{SLUG}/wall").text


def test_announcements_carry_offsets_from_the_server_time(env: ConsoleEnv) -> None:
    now = env.clock()
    env.storage.create_announcement(env.event_id, "Now", now, now + timedelta(minutes=5), ACTOR)
    env.storage.create_announcement(env.event_id, "Later", now + timedelta(seconds=90), None, ACTOR)
    tags = {dict(a)["data-announcement-id"]: dict(a) for t, a in parse(env.client().get(f"/e/{SLUG}/wall").text).tags
            if t == "li" and "data-announcement-id" in dict(a)}
    shown, later = sorted(tags.values(), key=lambda a: float(str(a["data-starts-in"])))
    assert float(str(shown["data-starts-in"])) == 0 and float(str(shown["data-ends-in"])) == 300
    assert "hidden" not in shown
    assert float(str(later["data-starts-in"])) == 90 and "data-ends-in" not in later and "hidden" in later


def test_wall_settings_validate_slides_and_tags() -> None:
    assert WallSettings.model_validate({"hashtags": ["#Lunch", " "]}).hashtags == ("lunch",)
    with pytest.raises(ValueError):
        WallSettings.model_validate({"slides": [{"image": "//evil.example/x.jpg"}]})
