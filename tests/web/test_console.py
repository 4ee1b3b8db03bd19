"""The moderation console through HTTP, as a browser uses it, over SQLite and PostgreSQL."""

from __future__ import annotations

import re
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import Connection

from aggregator.storage.schema import audit_log, live_events, moderation_decisions, posts, tombstones
from aggregator.types import Status
from tests.factories import make_post, pending
from tests.web.conftest import ConsoleEnv, csrf_from


def _status(env: ConsoleEnv, post_id: int) -> str:
    with env.storage.read() as conn:
        return str(conn.execute(select(posts.c.status).where(posts.c.id == post_id)).scalar_one())


def _live(env: ConsoleEnv, post_id: int | None = None) -> list[str]:
    with env.storage.read() as conn:
        stmt = select(live_events.c.kind).order_by(live_events.c.seq)
        if post_id is not None:
            stmt = stmt.where(live_events.c.post_id == post_id)
        return [str(k) for k in conn.execute(stmt).scalars()]


def _audit(env: ConsoleEnv) -> list[Any]:
    with env.storage.read() as conn:
        return list(conn.execute(select(audit_log).order_by(audit_log.c.id)))


def _count(env: ConsoleEnv, table: Any) -> int:
    with env.storage.read() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())


def _queue(env: ConsoleEnv, client: Any, query: str = "") -> Any:
    resp = client.get(f"/console/{env.slug}/queue{query}")
    assert resp.status_code == 200, resp.text
    return resp


def _act(env: ConsoleEnv, client: Any, post_id: int, action: str) -> Any:
    """Read the token from the queue page (as a browser would) and submit the card's form."""
    page = _queue(env, client, "?status=" + _status(env, post_id))
    assert f'/posts/{post_id}/{action}"' in page.text, f"no {action} form for post {post_id}"
    return client.post(f"/console/{env.slug}/posts/{post_id}/{action}",
                       data={"csrf_token": csrf_from(page.text), "next": f"/console/{env.slug}/queue"})


def test_moderator_approves_a_pending_post(console: ConsoleEnv) -> None:
    post_id = console.pending(1, photos=1)
    console.add_user("mo", "moderator")
    client = console.client()
    login = client.get("/console/login?next=/console/coproduction-2014/queue")
    resp = client.post("/console/login", data={
        "username": "mo", "password": "correct horse battery", "csrf_token": csrf_from(login.text),
        "next": "/console/coproduction-2014/queue"})
    assert resp.status_code == 303 and resp.headers["location"] == "/console/coproduction-2014/queue"
    queue = client.get(resp.headers["location"])
    assert queue.status_code == 200
    assert f'id="post-{post_id}"' in queue.text
    assert 'referrerpolicy="no-referrer"' in queue.text  # media previews leak no referrer
    resp = client.post(f"/console/{console.slug}/posts/{post_id}/approve",
                       data={"csrf_token": csrf_from(queue.text), "next": f"/console/{console.slug}/queue"})
    assert resp.status_code == 303
    assert resp.headers["location"].startswith(f"/console/{console.slug}/queue?done=approve")
    assert _status(console, post_id) == "approved"
    assert _live(console, post_id) == ["post.approved"]
    [row] = _audit(console)
    assert (row.username, row.action, row.target_type, row.target_id) == ("mo", "approve", "post", str(post_id))
    assert row.before["posts"][str(post_id)]["status"] == "pending"
    assert row.after["posts"][str(post_id)]["status"] == "approved"
    with console.storage.read() as conn:
        rules = list(conn.execute(select(moderation_decisions.c.rule).where(
            moderation_decisions.c.post_id == post_id).order_by(moderation_decisions.c.id)).scalars())
    assert rules == ["mode:pre", "human:mo"]
    after = client.get(resp.headers["location"])
    assert f'id="post-{post_id}"' not in after.text and "Approved: 1 post" in after.text


def test_approve_change_live_row_and_audit_row_commit_together(console: ConsoleEnv) -> None:
    post_id = console.pending(1)
    console.add_user("mo", "moderator")
    client = console.sign_in("mo")
    token = csrf_from(_queue(console, client).text)

    seen: dict[str, Any] = {}

    def boom(conn: Connection) -> None:
        # Inside the transaction, everything is written ...
        seen["status"] = conn.execute(select(posts.c.status).where(posts.c.id == post_id)).scalar_one()
        seen["live"] = conn.execute(select(func.count()).select_from(live_events)).scalar_one()
        seen["audit"] = conn.execute(select(func.count()).select_from(audit_log)).scalar_one()
        raise RuntimeError("injected failure before commit")

    console.storage.before_commit = boom
    broken = console.client(raise_server_exceptions=False)
    broken.cookies.update(client.cookies)
    resp = broken.post(f"/console/{console.slug}/posts/{post_id}/approve", data={"csrf_token": token})
    assert resp.status_code == 500
    assert seen == {"status": "approved", "live": 1, "audit": 1}
    # ... and nothing of it survives the failed commit.
    console.storage.before_commit = None
    assert _status(console, post_id) == "pending"
    assert _live(console) == []
    assert _audit(console) == []


def test_reject_after_approval_retracts_and_tombstones(console: ConsoleEnv) -> None:
    post_id = console.pending(1)
    console.add_user("mo", "moderator")
    client = console.sign_in("mo")
    assert _act(console, client, post_id, "approve").status_code == 303
    assert _act(console, client, post_id, "reject").status_code == 303
    assert _status(console, post_id) == "rejected"
    assert _live(console, post_id) == ["post.approved", "post.retracted"]
    assert [r.action for r in _audit(console)] == ["approve", "reject"]
    report = console.storage.ingest(console.event_id, None, [pending(make_post(1))], None)
    assert report.tombstoned == 1 and _status(console, post_id) == "rejected"


def test_undo_restores_and_writes_its_own_audit_row(console: ConsoleEnv) -> None:
    post_id = console.pending(1)
    console.add_user("mo", "moderator")
    client = console.sign_in("mo")
    _act(console, client, post_id, "approve")
    page = _queue(console, client, "?status=approved")
    resp = client.post(f"/console/{console.slug}/undo", data={"csrf_token": csrf_from(page.text)})
    assert resp.status_code == 303 and "done=undo" in resp.headers["location"]
    assert _status(console, post_id) == "pending"
    assert _live(console, post_id) == ["post.approved", "post.retracted"]
    undo_row = _audit(console)[-1]
    assert (undo_row.action, undo_row.target_type) == ("undo", "audit")
    assert undo_row.after["posts"][str(post_id)]["status"] == "pending"
    # Nothing further to undo: a second undo changes nothing.
    resp = client.post(f"/console/{console.slug}/undo", data={"csrf_token": csrf_from(page.text)})
    assert "done=nothing" in resp.headers["location"] and _status(console, post_id) == "pending"


def test_take_down_tombstones_so_collection_never_brings_it_back(console: ConsoleEnv) -> None:
    post_id = console.pending(1)
    console.add_user("mo", "moderator")
    client = console.sign_in("mo")
    _act(console, client, post_id, "pin")  # pinning a queued post shows it, pinned
    assert _status(console, post_id) == "approved"
    assert _act(console, client, post_id, "takedown").status_code == 303
    stored = console.storage.post(console.event_id, post_id)
    assert stored is not None and stored.status is Status.REMOVED and not stored.pinned
    assert _live(console, post_id) == ["post.approved", "post.retracted"]
    with console.storage.read() as conn:
        assert conn.execute(select(tombstones.c.reason)).scalar_one() == "taken_down"
    report = console.storage.ingest(console.event_id, None, [pending(make_post(1, edited_at=make_post(2).created_at))],
                                    None)
    assert report.tombstoned == 1 and report.inserted == 0 and report.updated == 0


def test_block_author_rejects_pending_and_retracts_approved(console: ConsoleEnv) -> None:
    spam = [console.pending(i, author="spammer") for i in (1, 2)]
    other = console.pending(3, author="bob")
    console.add_user("mo", "moderator")
    client = console.sign_in("mo")
    _act(console, client, spam[0], "approve")
    stored = console.storage.post(console.event_id, spam[0])
    assert stored is not None
    page = _queue(console, client)
    resp = client.post(f"/console/{console.slug}/authors/{stored.author_id}/block",
                       data={"csrf_token": csrf_from(page.text), "next": f"/console/{console.slug}/queue"})
    assert resp.status_code == 303
    assert [_status(console, i) for i in spam] == ["rejected", "rejected"]
    assert _status(console, other) == "pending"
    assert _live(console, spam[0]) == ["post.approved", "post.retracted"]
    assert _live(console, spam[1]) == []
    assert console.storage.author_standings(console.event_id)["blocked"] == {
        ("mastodon", "https://mastodon.test/users/spammer", "spammer")}
    assert _audit(console)[-1].action == "block_author"
    author_page = client.get(f"/console/{console.slug}/authors/{stored.author_id}")
    assert author_page.status_code == 200 and "blocked" in author_page.text


def test_bulk_approve_and_every_action_is_in_the_audit_log(console: ConsoleEnv) -> None:
    ids = [console.pending(i) for i in range(1, 4)]
    console.add_user("org", "organiser")
    client = console.sign_in("org")
    page = _queue(console, client)
    resp = client.post(f"/console/{console.slug}/posts/bulk",
                       data={"csrf_token": csrf_from(page.text), "action": "approve", "post_id": ids[:2]})
    assert resp.status_code == 303 and "n=2" in resp.headers["location"]
    assert [_status(console, i) for i in ids] == ["approved", "approved", "pending"]
    for action in ("feature", "unfeature", "pin", "unpin"):
        _act(console, client, ids[0], action)
    assert _live(console, ids[0]) == ["post.approved", "post.featured", "post.unfeatured", "post.pinned",
                                      "post.unpinned"]
    rows = _audit(console)
    assert [(r.action, r.target_type) for r in rows] == [
        ("approve", "posts"), ("feature", "post"), ("unfeature", "post"), ("pin", "post"), ("unpin", "post")]
    audit = client.get(f"/console/{console.slug}/audit")
    assert audit.status_code == 200
    for action in ("approved", "featured", "unfeatured", "pinned", "unpinned"):  # in words
        assert f"<td>{action}</td>" in audit.text


def test_queue_filters_and_live_arrivals(console: ConsoleEnv) -> None:
    first = console.pending(1)
    console.add_user("mo", "moderator")
    client = console.sign_in("mo")
    page = _queue(console, client, "?platform=mastodon&rule=mode:pre")
    assert f'id="post-{first}"' in page.text and 'data-live="' in page.text
    assert f'id="post-{first}"' not in _queue(console, client, "?rule=human:*").text
    assert f'id="post-{first}"' not in _queue(console, client, "?platform=x").text
    second = console.pending(2)
    fresh = client.get(f"/console/{console.slug}/queue/new?after={first}")
    assert fresh.status_code == 200
    assert f'id="post-{second}"' in fresh.text and f'id="post-{first}"' not in fresh.text


def test_announcements_and_wall_options(console: ConsoleEnv) -> None:
    console.add_user("org", "organiser")
    client = console.sign_in("org")
    page = client.get(f"/console/{console.slug}/announcements")
    assert page.status_code == 200
    resp = client.post(f"/console/{console.slug}/announcements",
                       data={"csrf_token": csrf_from(page.text), "text": "Lunch is served in the <hall>",
                             "starts_at": "", "ends_at": ""})
    assert resp.status_code == 303
    now = console.clock()
    [active] = console.storage.active_announcements(console.event_id, now)
    page = client.get(f"/console/{console.slug}/announcements")
    assert "Lunch is served in the &lt;hall&gt;" in page.text
    client.post(f"/console/{console.slug}/announcements/{active.id}/withdraw",
                data={"csrf_token": csrf_from(page.text)})
    assert console.storage.active_announcements(console.event_id, now) == []

    page = client.get(f"/console/{console.slug}/wall")
    assert page.status_code == 200
    resp = client.post(f"/console/{console.slug}/wall", data={
        "csrf_token": csrf_from(page.text), "theme": "light", "accent_colour": "#e4572e", "logo_url": "",
        "background_url": "", "card_size": "large", "max_cards": "60", "spotlight_seconds": "12",
        "show_media": "on", "inline_video": "on", "high_contrast": "on", "platforms": ["bluesky", "mastodon"]})
    assert resp.status_code == 303
    ev = console.storage.event(console.slug)
    assert ev is not None and ev.wall_options == {
        "theme": "light", "card_size": "large", "high_contrast": True, "platforms": ["bluesky", "mastodon"]}
    bad = client.post(f"/console/{console.slug}/wall", data={
        "csrf_token": csrf_from(page.text), "accent_colour": "red", "show_media": "on"})
    assert bad.status_code == 400 and "accent_colour" in bad.text
    assert _live(console) == ["announcement", "announcement.withdrawn", "wall.options"]
    assert [r.action for r in _audit(console)] == ["announce", "withdraw_announcement", "wall_options"]


def test_organiser_pages_render(console: ConsoleEnv) -> None:
    console.add_user("org", "organiser")
    client = console.sign_in("org")
    for path in ("/console", f"/console/{console.slug}/embed", "/console/users", f"/console/{console.slug}/audit"):
        resp = client.get(path)
        assert resp.status_code == 200, path
        # CSP: no inline script, no style attribute or element (the snippets are text, escaped)
        assert not re.search(r"<script(?![^>]*\bsrc=)|<style|<[a-z][^>]*\sstyle=", resp.text), path
    embed = client.get(f"/console/{console.slug}/embed").text
    assert f"/e/{console.slug}/embed/wall" in embed and f"/e/{console.slug}/embed/timeline" in embed


@pytest.mark.parametrize("path", ["/console/nope/queue", "/console/nope/audit"])
def test_unknown_event_is_404(console: ConsoleEnv, path: str) -> None:
    console.add_user("org", "organiser")
    assert console.sign_in("org").get(path).status_code == 404

