"""The wall as the server renders it (no JavaScript): cards, pins, spotlight, programme, options, QR code."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from aggregator.storage import PostQuery
from aggregator.types import Platform
from tests.factories import approved, make_post, pending
from tests.web.conftest import ConsoleEnv
from tests.web.public_env import ACTOR, SLUG, parse, public_env


@pytest.fixture
def env(db_url: str, tmp_path: Path) -> Iterator[ConsoleEnv]:
    with public_env(db_url, tmp_path, wall={"max_cards": 5, "accent_colour": "#123abc"},
                    url="https://organiser.example/event") as e:
        yield e


def card_ids(html: str, container: str = "data-pool") -> list[str]:
    """data-post-id of the cards inside the element with the given data- attribute, in page order."""
    doc = parse(html)
    out: list[str] = []
    depth = 0
    for tag, attrs in doc.tags:
        names = dict(attrs)
        if container in names:
            depth = 1
            continue
        if depth and tag == "article":
            out.append(str(names["data-post-id"]))
        if depth and tag in ("aside", "div") and any(n in names for n in ("data-cta", "data-slides", "data-status")):
            break
    return out


def card_classes(html: str) -> dict[str, str]:
    return {str(dict(a)["data-post-id"]): str(dict(a).get("class")) for t, a in parse(html).tags
            if t == "article" and "data-post-id" in dict(a)}


def html_attrs(html: str) -> dict[str, str | None]:
    return next(dict(a) for t, a in parse(html).tags if t == "html")


def test_empty_state_before_the_first_post(env: ConsoleEnv) -> None:
    resp = env.client().get(f"/e/{SLUG}/wall")
    assert resp.status_code == 200
    doc = parse(resp.text)
    empty = [dict(a) for t, a in doc.tags if ("data-empty", None) in a]
    assert empty and "hidden" not in empty[0]
    assert "The wall fills up as people post" in resp.text
    # Call to action: hashtags and a server-made QR code of the event's page.
    assert "#<bdi>coprodscot</bdi>" in resp.text
    assert '<svg viewBox="0 0' in resp.text and 'class="qr"' in resp.text
    assert "QR code: https://organiser.example/event" in resp.text


def test_cards_newest_first_bounded_pinned_flagged_featured_kept(env: ConsoleEnv) -> None:
    s = env.storage
    s.ingest(env.event_id, None, [approved(make_post(i)) for i in range(8)] + [pending(make_post(20))], None)
    ids = {p.external_id: p.id for p in s.posts(env.event_id, PostQuery(limit=100)).posts}
    pid = [ids[make_post(i).external_id] for i in range(8)]
    s.moderate_posts(env.event_id, [pid[0]], "pin", ACTOR)
    s.moderate_posts(env.event_id, [pid[1]], "feature", ACTOR)
    html = env.client().get(f"/e/{SLUG}/wall").text
    # Pinned first in the page (wall.js gives them the last slots), then the newest (5 cards), then an older
    # featured post (a highlight for quiet moments and the spotlight).
    assert card_ids(html) == [str(i) for i in (pid[0], pid[7], pid[6], pid[5], pid[4], pid[1])]
    classes = card_classes(html)
    assert "is-pinned" in classes[str(pid[0])] and "is-pinned" not in classes[str(pid[7])]
    assert "Post number 20" not in html  # pending posts never show
    doc = parse(html)
    seq = next(dict(a)["data-seq"] for t, a in doc.tags if ("data-wall", None) in a)
    assert seq == str(s.last_live_seq())


def test_programme_session_on_now_in_the_event_timezone(env: ConsoleEnv) -> None:
    # 10:00 in Edinburgh (BST, UTC+1) is inside "Welcome" (09:45-10:45).
    env.clock.now = env.clock.now.replace(hour=9, minute=0)
    html = env.client().get(f"/e/{SLUG}/wall").text
    doc = parse(html)
    now = [dict(a) for t, a in doc.tags if t == "li" and "is-now" in (dict(a).get("class") or "")]
    assert len(now) == 1 and now[0]["data-start"] == "2014-04-23T08:45:00Z"
    assert "09:45–10:45" in html
    env.clock.now = env.clock.now + timedelta(minutes=90)  # 11:30 local: workshops
    html = env.client().get(f"/e/{SLUG}/wall").text
    assert 'class="session is-now" data-start="2014-04-23T10:00:00Z"' in html


def test_options_from_config_overrides_and_query(env: ConsoleEnv) -> None:
    client = env.client()
    assert client.get(f"/e/{SLUG}/theme.css").text.strip().startswith(":root { --accent: #123abc;")
    html = client.get(f"/e/{SLUG}/wall?reduced_motion=1&high_contrast=yes&theme=light").text
    root = html_attrs(html)
    assert set(str(root["class"]).split()) >= {"reduced-motion", "high-contrast", "theme-light"}
    env.storage.set_wall_options(env.event_id, {"accent_colour": "#00ff00", "high_contrast": True}, ACTOR)
    assert "#00ff00" in client.get(f"/e/{SLUG}/theme.css").text
    root = html_attrs(client.get(f"/e/{SLUG}/wall").text)
    assert "high-contrast" in str(root["class"])
    root = html_attrs(client.get(f"/e/{SLUG}/wall?high_contrast=0").text)
    assert "high-contrast" not in str(root["class"])


def test_platform_filter_and_announcements(env: ConsoleEnv) -> None:
    env.storage.set_wall_options(env.event_id, {"platforms": ["x"]}, ACTOR)
    env.storage.ingest(env.event_id, None, [approved(make_post(1)), approved(make_post(2, Platform.X))], None)
    env.storage.create_announcement(env.event_id, "Lunch <now>", env.clock(), None, ACTOR)
    html = env.client().get(f"/e/{SLUG}/wall").text
    assert "x.test" in html and "mastodon.test/@alice" not in html
    assert "<bdi>Lunch &lt;now&gt;</bdi>" in html


def test_unknown_event_is_404(env: ConsoleEnv) -> None:
    assert env.client().get("/e/nope/wall").status_code == 404
