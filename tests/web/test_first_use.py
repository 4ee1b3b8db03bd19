"""First use: pages (not JSON) for people, `/`, HEAD, API docs from the package, the console's ways in."""

from __future__ import annotations

from datetime import timedelta

from aggregator.web.chrome import areas
from tests.web.conftest import ConsoleEnv

HTML = {"accept": "text/html,application/xhtml+xml,*/*;q=0.8"}


def test_unknown_event_post_and_story_are_pages_for_browsers_and_json_for_programs(console: ConsoleEnv) -> None:
    client = console.client()
    for path in ("/e/nope/timeline", f"/e/{console.slug}/p/999999", f"/e/{console.slug}/stories/nope",
                 "/e/nope", "/no/such/page"):
        resp = client.get(path, headers=HTML)
        assert resp.status_code == 404, path
        assert resp.headers["content-type"].startswith("text/html"), path
        assert "<main" in resp.text and ("href=\"/\"" in resp.text or "/timeline" in resp.text)
        assert "Not found" in resp.text
    page = client.get(f"/e/{console.slug}/p/999999", headers=HTML)
    assert f'href="/e/{console.slug}/timeline"' in page.text  # the event's own navigation
    api = client.get("/api/events/nope", headers=HTML)
    assert api.status_code == 404 and api.headers["content-type"].startswith("application/json")
    plain = client.get("/e/nope/timeline")
    assert plain.headers["content-type"].startswith("application/json")


def test_a_bad_value_in_the_address_is_a_400_page(console: ConsoleEnv) -> None:
    client = console.client()
    resp = client.get(f"/e/{console.slug}/p/not-a-number", headers=HTML)
    assert resp.status_code == 400
    assert "not-a-number" in resp.text and "That value is not right" in resp.text
    assert client.get(f"/e/{console.slug}/p/not-a-number").status_code == 422  # programs: FastAPI's JSON


def test_a_wrong_role_is_a_403_page_with_a_way_back(console: ConsoleEnv) -> None:
    console.add_user("rita", "reporter")
    client = console.sign_in("rita")
    resp = client.get(f"/console/{console.slug}/queue", headers=HTML)
    assert resp.status_code == 403
    assert "Not for your role" in resp.text and 'href="/console"' in resp.text
    assert "Content-Security-Policy" in resp.headers


def test_sign_in_redirect_still_redirects(console: ConsoleEnv) -> None:
    resp = console.client().get(f"/console/{console.slug}/queue", headers=HTML)
    assert resp.status_code == 303 and resp.headers["location"].startswith("/console/login")


def test_the_front_page_goes_to_the_only_event(console: ConsoleEnv) -> None:
    resp = console.client().get("/", headers=HTML)
    assert resp.status_code == 307 and resp.headers["location"] == f"/e/{console.slug}/timeline"


def test_head_works_on_pages(console: ConsoleEnv) -> None:
    client = console.client()
    for path in (f"/e/{console.slug}/timeline", f"/e/{console.slug}/wall", "/console/login", "/docs",
                 "/static/common.css"):
        resp = client.head(path)
        assert resp.status_code == 200, path
        assert resp.content == b""
    assert client.head("/e/nope/timeline", headers=HTML).status_code == 404


def test_api_docs_come_from_this_server_under_the_csp(console: ConsoleEnv) -> None:
    client = console.client()
    page = client.get("/docs")
    assert page.status_code == 200
    assert "cdn" not in page.text.lower() and "<script>" not in page.text
    for src in ("/docs-assets/swagger-ui-bundle.js", "/docs-assets/swagger-ui.css", "/static/api-docs.js"):
        assert src in page.text
        asset = client.get(src)
        assert asset.status_code == 200 and len(asset.content) > 100, src
        assert "max-age" in asset.headers["cache-control"]
    assert "script-src 'self'" in page.headers["content-security-policy"]


def test_each_role_sees_its_areas() -> None:
    labels = {role: [a.label for a in areas(role, "ev")] for role in ("reporter", "moderator", "organiser")}
    assert labels["reporter"][:2] == ["Stories", "New post"] and "Queue" not in labels["reporter"]
    assert "Audit log" in labels["moderator"] and "Wall options" not in labels["moderator"]
    assert {"Queue", "Stories", "New post", "Announcements", "Wall options", "Embeds", "Audit log"} <= set(
        labels["organiser"])


def test_a_reporter_reaches_the_workspace_from_the_console_home(console: ConsoleEnv) -> None:
    console.add_user("rita", "reporter")
    client = console.sign_in("rita")
    home = client.get("/console")
    assert f'href="/console/{console.slug}/stories"' in home.text
    assert "reporters' workspace</a>" in home.text
    assert client.get(f"/console/{console.slug}/stories").status_code == 200


def test_console_home_shows_source_health_and_what_the_counts_mean(console: ConsoleEnv) -> None:
    console.add_user("olga", "organiser")
    client = console.sign_in("olga")
    home = client.get("/console").text
    assert "masto" in home and "not run yet" in home and "Mastodon" in home
    assert "posts collected" in home or "post collected" in home
    source = console.storage.sources(console.event_id)[0]
    now = console.clock()
    for _ in range(2):
        console.storage.record_source_failure(source.id, "[Errno -2] Name or service not known", now
                                              + timedelta(minutes=5))
    page = client.get(f"/console/{console.slug}/queue").text
    assert 'class="alarm"' in page and "failed 2 times in a row" in page
    assert "could not find the server" in page
    home = client.get("/console").text
    assert "failed 2 times in a row" in home and "DNS" in home


def test_a_refused_story_block_keeps_what_the_reporter_typed(console: ConsoleEnv) -> None:
    from tests.web.conftest import csrf_from

    rita = console.add_user("rita", "reporter")
    client = console.sign_in("rita")
    story = console.storage.create_story(console.event_id, "Day one", rita)  # her own story
    page = client.get(f"/console/{console.slug}/stories/{story.id}")
    resp = client.post(f"/console/{console.slug}/stories/{story.id}/blocks", data={
        "csrf_token": csrf_from(page.text), "kind": "post", "post": "post twelve", "body": "My careful caption"},
        headers=HTML)
    assert resp.status_code == 400
    assert "Give a post number" in resp.text
    assert 'value="post twelve"' in resp.text and "My careful caption</textarea>" in resp.text
    assert '<option value="post" selected>' in resp.text


def test_a_refused_announcement_keeps_both_dates(console: ConsoleEnv) -> None:
    from tests.web.conftest import csrf_from

    console.add_user("olga", "organiser")
    client = console.sign_in("olga")
    page = client.get(f"/console/{console.slug}/announcements")
    resp = client.post(f"/console/{console.slug}/announcements", data={
        "csrf_token": csrf_from(page.text), "text": "Lunch is served", "starts_at": "2014-04-23T12:00",
        "ends_at": "not a date"})
    assert resp.status_code == 400
    assert 'value="2014-04-23T12:00"' in resp.text and 'value="not a date"' in resp.text
    assert "Lunch is served</textarea>" in resp.text


def test_moderators_read_the_moderation_audit_as_readable_changes(console: ConsoleEnv) -> None:
    from aggregator.storage.moderation import Actor

    console.add_user("mo", "moderator")
    post_id = console.pending(1)
    console.storage.moderate_posts(console.event_id, [post_id], "approve", Actor(None, "olga"))
    console.storage.create_announcement(console.event_id, "Secret organiser note", console.clock(), None,
                                        Actor(None, "olga"))
    page = console.sign_in("mo").get(f"/console/{console.slug}/audit")
    assert page.status_code == 200
    assert "approved" in page.text and f"post {post_id}: status" in page.text
    assert "<del>pending</del> → <ins>approved</ins>" in page.text
    assert f'href="/console/{console.slug}/queue?status=&amp;before={post_id + 1}#post-{post_id}"' in page.text
    assert "Secret organiser note" not in page.text and "announced" not in page.text
    console.add_user("olga", "organiser")
    assert "announced" in console.sign_in("olga").get(f"/console/{console.slug}/audit").text


def test_curators_get_an_add_to_story_link_on_timeline_cards(console: ConsoleEnv) -> None:
    from tests.factories import approved, make_post

    console.storage.ingest(console.event_id, None, [approved(make_post(1, minutes=-30))], None)
    console.clock.advance(24 * 3600)
    anonymous = console.client().get(f"/e/{console.slug}/timeline")
    assert "Add to a story" not in anonymous.text
    console.add_user("rita", "reporter")
    page = console.sign_in("rita").get(f"/e/{console.slug}/timeline")
    assert "#add-to-story\">Add to a story</a>" in page.text
    assert page.headers["cache-control"] == "private, no-store"


def test_timeline_and_story_embeds_have_a_light_theme_and_report_their_height(console: ConsoleEnv) -> None:
    client = console.client()
    light = client.get(f"/e/{console.slug}/embed/timeline?theme=light").text
    assert '<html lang="en" class="theme-light">' in light and "/static/embed-height.js" in light
    assert '<html lang="en" class="theme-dark">' in client.get(f"/e/{console.slug}/embed/timeline").text
    assert "/static/embed-height.js" not in client.get(f"/e/{console.slug}/timeline").text
    console.add_user("olga", "organiser")
    snippets = console.sign_in("olga").get(f"/console/{console.slug}/embed").text
    assert "data-aggregator-embed" in snippets and "aggregator:height" in snippets
    assert 'e.origin!==&#34;http://127.0.0.1:8000&#34;' in snippets or "e.origin!==" in snippets
