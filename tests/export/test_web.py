"""Kept media on the pages, the feeds, the takedown sync, the report and the console's streamed export."""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Iterator
from pathlib import Path

import feedparser
import pytest

from aggregator.config import LoadedConfig, Settings
from tests.conftest import IN_CI
from tests.export.conftest import ACTOR, Day
from tests.factories import settings_dict
from tests.web.conftest import PASSWORD, TestClient, csrf_from


def make_client(day: Day, tmp_path: Path, **event: object) -> TestClient:
    from aggregator.web.app import create_app
    from aggregator.web.auth import hash_password

    data = settings_dict(**event)
    data["server"] = {"media_dir": str(day.store.root.parent), "public_url": "https://wall.example.org"}
    settings = Settings.model_validate(data)
    cfg = LoadedConfig(tmp_path / "config.toml", settings, day.storage.url, {})
    app = create_app(cfg, day.storage, clock=day.storage.clock, poll_interval=0.2)
    for name, role in (("olive", "organiser"), ("mo", "moderator")):
        if day.storage.user_by_name(name) is None:
            day.storage.create_user(name, hash_password(PASSWORD), role, name)
    return TestClient(app, base_url="https://127.0.0.1", follow_redirects=False)


def sign_in(client: TestClient, username: str) -> None:
    page = client.get("/console/login")
    resp = client.post("/console/login", data={"username": username, "password": PASSWORD,
                                               "csrf_token": csrf_from(page.text), "next": "/console"})
    assert resp.status_code == 303


@pytest.fixture
def client(day: Day, tmp_path: Path) -> Iterator[TestClient]:
    with make_client(day, tmp_path) as c:
        yield c


def test_pages_prefer_the_kept_copy(day: Day, client: TestClient) -> None:
    photo = f"{day.server.url}/img/1.png"
    before = client.get(f"/e/{day.slug}/timeline?latest=1").text
    assert photo in before and "/media/" not in before  # the platform's URL until kept
    day.keeper.fetch_event(day.event_id)
    client.app.state.templates.env.globals["media_index"]._loaded = float("-inf")  # type: ignore[attr-defined]
    after = client.get(f"/e/{day.slug}/timeline?latest=1").text
    digest = day.storage.kept_media([photo])[photo].sha256
    assert f"/media/{digest}" in after and photo not in after
    resp = client.get(f"/media/{digest}")
    assert resp.status_code == 200 and resp.headers["content-type"] == "image/png"
    assert "immutable" in resp.headers["cache-control"] and "max-age=31536000" in resp.headers["cache-control"]
    assert client.get(f"/media/{'0' * 64}").status_code == 404


def test_feeds_and_removed(day: Day, client: TestClient) -> None:
    feed = feedparser.parse(client.get(f"/e/{day.slug}/feed.atom").content)
    assert not feed.bozo and len(feed.entries) == 9
    assert "pk0009q" not in str(feed)
    story = day.storage.create_story(day.event_id, "Our day", None, summary="What happened <b>here</b>")
    day.storage.update_story(story.id, status="published")
    day.storage.create_story(day.event_id, "Draft only", None)
    stories = feedparser.parse(client.get(f"/e/{day.slug}/stories.atom").content)
    assert not stories.bozo and [e.title for e in stories.entries] == ["Our day"]

    assert client.get(f"/api/events/{day.slug}/removed").json()["removed"] == []
    post_id = day.ids()["https://mastodon.test/posts/2"]
    day.storage.moderate_posts(day.event_id, [post_id], "takedown", ACTOR)
    body = client.get(f"/api/events/{day.slug}/removed", params={"since": "2014-04-23T08:00:00Z"}).json()
    assert [(r["external_id"], r["reason"]) for r in body["removed"]] == [("https://mastodon.test/posts/2",
                                                                          "taken_down")]
    later = client.get(f"/api/events/{day.slug}/removed", params={"since": body["until"]}).json()
    assert later["removed"] == [] or all(r["removed_at"] >= body["until"] for r in later["removed"])
    assert len(feedparser.parse(client.get(f"/e/{day.slug}/feed.atom").content).entries) == 8


def test_report_is_for_organisers_unless_public(day: Day, client: TestClient, tmp_path: Path) -> None:
    assert client.get(f"/e/{day.slug}/report").status_code == 303
    sign_in(client, "mo")
    assert client.get(f"/e/{day.slug}/report").status_code == 403
    organiser = make_client(day, tmp_path)
    sign_in(organiser, "olive")
    page = organiser.get(f"/e/{day.slug}/report")
    assert page.status_code == 200 and "Report of the day" in page.text
    contributors = re.search(r"<dt>Contributors</dt><dd>(\d+)</dd>", page.text)
    assert contributors and contributors.group(1) == "3"
    with make_client(day, tmp_path, report_public=True) as anyone:
        assert anyone.get(f"/e/{day.slug}/report").status_code == 200


def test_console_export_streams_a_bundle(day: Day, client: TestClient, tmp_path: Path) -> None:
    day.keeper.fetch_event(day.event_id)
    assert client.get(f"/console/{day.slug}/export.zip").status_code in (303, 401)
    sign_in(client, "mo")
    assert client.get(f"/console/{day.slug}/export.zip").status_code == 403
    client = make_client(day, tmp_path)
    sign_in(client, "olive")
    page = client.get(f"/console/{day.slug}/export")
    assert page.status_code == 200 and f"/console/{day.slug}/export.zip" in page.text
    resp = client.get(f"/console/{day.slug}/export.zip")
    assert resp.status_code == 200 and resp.headers["content-type"] == "application/zip"
    assert "attachment" in resp.headers["content-disposition"]
    with zipfile.ZipFile(io.BytesIO(resp.content)) as zf:
        names = zf.namelist()
        assert zf.testzip() is None
    assert f"{day.slug}-export/data/index.html" in names
    assert sum(1 for n in names if "/data/media/" in n) == 10


def test_report_pdf(day: Day, tmp_path: Path) -> None:
    from aggregator.web.report_pdf import pdf_unavailable, write_pdf

    problem = pdf_unavailable()
    if problem:
        if IN_CI:
            pytest.fail(f"CI=true requires the pdf extra: {problem}")
        pytest.skip(f"the pdf extra is not installed: {problem}")

    day.keeper.fetch_event(day.event_id)
    event = day.storage.event(day.slug)
    assert event is not None
    out = tmp_path / "report.pdf"
    pages = write_pdf(day.storage, day.store, event, out, day.storage.clock())
    assert pages >= 1 and out.read_bytes().startswith(b"%PDF")
