"""Issue 9 item 7, from the attack: concurrent guesses against the sign-in throttle, a cookie copied
before logout, and a reporter editing another reporter's story. Over SQLite and PostgreSQL."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from aggregator.web import auth
from aggregator.web.auth import LOGIN_MAX_FAILURES, SESSION_COOKIE
from tests.web.conftest import PASSWORD, ConsoleEnv, csrf_from

GUESSES = 30


def test_thirty_concurrent_wrong_guesses_check_at_most_the_limit(console: ConsoleEnv,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    console.add_user("mo", "moderator")
    checked: list[str] = []
    all_in = threading.Event()
    lock = threading.Lock()
    real_verify = auth.verify_password

    def slow_verify(password_hash: str, password: str) -> bool:
        # Hold every check open until all guesses are in (or a moment passes): a throttle that reads,
        # checks, then writes lets every one of them through; an atomic one never lets more than 5 in.
        with lock:
            checked.append(password)
            if len(checked) == GUESSES:
                all_in.set()
        all_in.wait(timeout=1.5)
        return real_verify(password_hash, password)

    monkeypatch.setattr(auth, "verify_password", slow_verify)
    clients = [console.client() for _ in range(GUESSES)]
    tokens = [csrf_from(c.get("/console/login").text) for c in clients]
    start = threading.Barrier(GUESSES)
    statuses: list[int] = []

    def guess(i: int) -> None:
        start.wait()
        resp = clients[i].post("/console/login", data={"username": "mo", "password": f"wrong guess {i}",
                                                       "csrf_token": tokens[i]})
        with lock:
            statuses.append(resp.status_code)

    threads = [threading.Thread(target=guess, args=(i,)) for i in range(GUESSES)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert len(statuses) == GUESSES
    assert len(checked) <= LOGIN_MAX_FAILURES, f"{len(checked)} of {GUESSES} concurrent guesses were checked"
    assert statuses.count(401) == len(checked) and statuses.count(429) == GUESSES - len(checked)
    # And the right password waits too, until the window is over.
    client = console.client()
    page = client.get("/console/login")
    resp = client.post("/console/login", data={"username": "mo", "password": PASSWORD,
                                               "csrf_token": csrf_from(page.text)})
    assert resp.status_code == 429


def test_a_successful_sign_in_gives_its_address_slot_back(console: ConsoleEnv) -> None:
    # A venue's wifi is one address for many people: successful sign-ins never fill its quota.
    for i in range(auth.LOGIN_MAX_FAILURES_PER_ADDRESS + 5):
        console.add_user(f"user{i}", "moderator")
        console.sign_in(f"user{i}")


def test_a_cookie_copied_before_logout_is_refused_after(console: ConsoleEnv) -> None:
    console.add_user("mo", "moderator")
    client = console.sign_in("mo")
    copied = client.cookies[SESSION_COOKIE]
    thief = console.client()
    thief.cookies.set(SESSION_COOKIE, copied)
    queue = f"/console/{console.slug}/queue"
    assert thief.get(queue).status_code == 200
    token = csrf_from(client.get("/console").text)
    assert client.post("/console/logout", data={"csrf_token": token}).status_code == 303
    refused = thief.get(queue)
    assert refused.status_code == 303 and refused.headers["location"].startswith("/console/login")
    # Well within the 12 hours the cookie itself would still be valid for.
    console.clock.advance(60)
    assert thief.get(queue).status_code == 303
    # Other sessions of the same user are not ended by this logout.
    other = console.sign_in("mo")
    assert other.get(queue).status_code == 200


def _story_form(client: Any, slug: str) -> str:
    return csrf_from(client.get(f"/console/{slug}/stories").text)


def test_a_reporter_may_change_only_their_own_stories_an_organiser_any(console: ConsoleEnv) -> None:
    rita_id = console.add_user("rita", "reporter")
    console.add_user("sam", "reporter")
    org_id = console.add_user("org", "organiser")
    slug = console.slug
    rita = console.sign_in("rita")
    token = csrf_from(rita.get(f"/console/{slug}/stories").text)
    made = rita.post(f"/console/{slug}/stories", data={"csrf_token": token, "title": "Rita's day"})
    assert made.status_code == 303
    story_id = int(made.headers["location"].rsplit("/", 1)[1])
    base = f"/console/{slug}/stories/{story_id}"

    sam = console.sign_in("sam")
    token = _story_form(sam, slug)
    edit_link = f'href="{base}"'
    assert edit_link not in sam.get(f"/console/{slug}/stories").text  # listed, but not offered for editing
    attempts = [
        sam.get(base),
        sam.post(base, data={"csrf_token": token, "title": "Hijacked", "status": "published"}),
        sam.post(f"{base}/blocks", data={"csrf_token": token, "kind": "text", "body": "not mine"}),
        sam.post(f"{base}/seed", data={"csrf_token": token}),
    ]
    assert [r.status_code for r in attempts] == [403, 403, 403, 403]
    story = console.storage.story_by_id(console.event_id, story_id)
    assert story is not None and story.title == "Rita's day" and not story.published and not story.blocks
    assert story.author_id == rita_id and story.updated_by == rita_id

    org = console.sign_in("org")
    token = _story_form(org, slug)
    assert org.get(base).status_code == 200
    assert edit_link in org.get(f"/console/{slug}/stories").text
    assert org.post(base, data={"csrf_token": token, "title": "Rita's day, edited",
                                "status": "published"}).status_code == 303
    story = console.storage.story_by_id(console.event_id, story_id)
    assert story is not None and story.published and story.title == "Rita's day, edited"
    assert story.author_id == rita_id and story.updated_by == org_id  # who created it, who changed it last
