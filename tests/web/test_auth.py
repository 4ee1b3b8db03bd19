"""Sign-in, sessions, roles, CSRF and throttling of the console."""

from __future__ import annotations

import pytest

from aggregator.web.auth import LOGIN_MAX_FAILURES, SESSION_COOKIE, hash_password, safe_next, verify_password
from tests.web.conftest import PASSWORD, ConsoleEnv, csrf_from


def _login(env: ConsoleEnv, client: object, username: str, password: str) -> object:
    page = client.get("/console/login")  # type: ignore[attr-defined]
    return client.post("/console/login", data={  # type: ignore[attr-defined]
        "username": username, "password": password, "csrf_token": csrf_from(page.text)})


def test_passwords_are_argon2_hashes() -> None:
    hashed = hash_password("a long password")
    assert hashed.startswith("$argon2id$")
    assert verify_password(hashed, "a long password") and not verify_password(hashed, "another one")
    assert not verify_password("not a hash", "x")
    with pytest.raises(ValueError, match="8 characters"):
        hash_password("short")


def test_session_cookie_flags(console: ConsoleEnv) -> None:
    console.add_user("mo", "moderator")
    client = console.client()
    page = client.get("/console/login")
    assert "httponly" in page.headers["set-cookie"].lower() and "samesite=lax" in page.headers["set-cookie"].lower()
    anonymous = client.cookies[SESSION_COOKIE]
    resp = client.post("/console/login", data={"username": "mo", "password": PASSWORD,
                                               "csrf_token": csrf_from(page.text)})
    assert resp.status_code == 303
    cookie = resp.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie and "secure" not in cookie
    assert client.cookies[SESSION_COOKIE] != anonymous  # a new session at sign-in: no fixation
    assert client.get(f"/console/{console.slug}/queue").status_code == 200


def test_secure_cookie_when_public_url_is_https(console: ConsoleEnv) -> None:
    settings = console.app.state.cfg.settings
    server = settings.server.model_copy(update={"public_url": "https://wall.example.org"})
    console.app.state.cfg = type(console.app.state.cfg)(
        console.app.state.cfg.path, settings.model_copy(update={"server": server}), "", {})
    page = console.client().get("/console/login")
    assert "; secure" in page.headers["set-cookie"].lower()


def test_state_changing_requests_without_a_valid_csrf_token_get_403(console: ConsoleEnv) -> None:
    post_id = console.pending(1)
    console.add_user("mo", "moderator")
    # The sign-in form itself.
    fresh = console.client()
    fresh.get("/console/login")
    assert fresh.post("/console/login", data={"username": "mo", "password": PASSWORD}).status_code == 403
    client = console.sign_in("mo")
    url = f"/console/{console.slug}/posts/{post_id}/approve"
    assert client.post(url).status_code == 403
    assert client.post(url, data={"csrf_token": "forged"}).status_code == 403
    assert client.post(url, headers={"X-CSRF-Token": "forged"}).status_code == 403
    # Another session's token is no good either.
    other = console.client()
    stolen = csrf_from(other.get("/console/login").text)
    assert client.post(url, data={"csrf_token": stolen}).status_code == 403
    for path in (f"/console/{console.slug}/undo", f"/console/{console.slug}/posts/bulk", "/console/logout",
                 f"/console/{console.slug}/announcements", f"/console/{console.slug}/wall", "/console/users"):
        assert client.post(path, data={"action": "approve", "post_id": str(post_id)}).status_code == 403, path
    assert console.storage.post(console.event_id, post_id).status.value == "pending"  # type: ignore[union-attr]
    # The header works as well as the form field.
    token = csrf_from(client.get(f"/console/{console.slug}/queue").text)
    assert client.post(url, headers={"X-CSRF-Token": token}).status_code == 303


def test_roles(console: ConsoleEnv) -> None:
    post_id = console.pending(1)
    console.add_user("rep", "reporter")
    console.add_user("mo", "moderator")
    anonymous = console.client()
    resp = anonymous.get(f"/console/{console.slug}/queue")
    assert resp.status_code == 303 and resp.headers["location"].startswith("/console/login?next=")
    reporter = console.sign_in("rep")
    token = csrf_from(reporter.get("/console").text)
    resp = reporter.post(f"/console/{console.slug}/posts/{post_id}/approve", data={"csrf_token": token})
    assert resp.status_code == 403
    assert reporter.get(f"/console/{console.slug}/queue").status_code == 403
    assert console.storage.post(console.event_id, post_id).status.value == "pending"  # type: ignore[union-attr]
    moderator = console.sign_in("mo")
    for path in ("/console/users", f"/console/{console.slug}/wall",
                 f"/console/{console.slug}/announcements", f"/console/{console.slug}/embed"):
        assert moderator.get(path).status_code == 403, path
    assert moderator.get(f"/console/{console.slug}/audit").status_code == 200  # moderation actions only


def test_repeated_failed_sign_ins_are_throttled(console: ConsoleEnv) -> None:
    console.add_user("mo", "moderator")
    client = console.client()
    for _ in range(LOGIN_MAX_FAILURES):
        assert _login(console, client, "mo", "wrong password").status_code == 401  # type: ignore[attr-defined]
    throttled = _login(console, client, "mo", PASSWORD)  # even the right password now waits
    assert throttled.status_code == 429  # type: ignore[attr-defined]
    assert "Too many failed sign-ins" in throttled.text  # type: ignore[attr-defined]
    console.clock.advance(16 * 60)
    assert _login(console, client, "mo", PASSWORD).status_code == 303  # type: ignore[attr-defined]


def test_disabling_a_user_or_changing_the_password_ends_their_sessions(console: ConsoleEnv) -> None:
    mo = console.add_user("mo", "moderator")
    console.add_user("org", "organiser")
    client = console.sign_in("mo")
    assert client.get(f"/console/{console.slug}/queue").status_code == 200
    console.storage.update_user(mo, password_hash=hash_password("a new password"))
    assert client.get(f"/console/{console.slug}/queue").status_code == 303
    client = console.sign_in("mo", "a new password")
    org = console.sign_in("org")
    page = org.get("/console/users")
    resp = org.post(f"/console/users/{mo}", data={"csrf_token": csrf_from(page.text), "role": "moderator",
                                                  "disabled": "on"})
    assert resp.status_code == 303
    assert client.get(f"/console/{console.slug}/queue").status_code == 303
    assert _login(console, console.client(), "mo", "a new password").status_code == 401  # type: ignore[attr-defined]


def test_sessions_expire(console: ConsoleEnv) -> None:
    console.add_user("mo", "moderator")
    client = console.sign_in("mo")
    console.clock.advance(13 * 3600)
    assert client.get(f"/console/{console.slug}/queue").status_code == 303


def test_organisers_create_users_in_the_web(console: ConsoleEnv) -> None:
    console.add_user("org", "organiser")
    org = console.sign_in("org")
    page = org.get("/console/users")
    resp = org.post("/console/users", data={"csrf_token": csrf_from(page.text), "username": "Rita",
                                            "display_name": "Rita R", "role": "reporter", "password": PASSWORD})
    assert resp.status_code == 303
    rita = console.storage.user_by_name("rita")
    assert rita is not None and rita.role == "reporter" and rita.password_hash.startswith("$argon2")
    again = org.post("/console/users", data={"csrf_token": csrf_from(page.text), "username": "rita",
                                             "role": "reporter", "password": PASSWORD})
    assert again.status_code == 400 and "already exists" in again.text
    console.sign_in("rita")
    audit = console.storage.audit_entries(None)
    assert [(e.action, e.username) for e in audit] == [("create_user", "org")]
    assert "password" not in str(audit[0].after)


def test_sign_out(console: ConsoleEnv) -> None:
    console.add_user("mo", "moderator")
    client = console.sign_in("mo")
    token = csrf_from(client.get("/console").text)
    assert client.post("/console/logout", data={"csrf_token": token}).status_code == 303
    assert client.get("/console").status_code == 303


@pytest.mark.parametrize(("given", "expected"), [
    ("/console/x/queue", "/console/x/queue"),
    ("//evil.example", "/console"),
    ("/\\evil.example", "/console"),
    ("https://evil.example/", "/console"),
    ("", "/console"),
])
def test_next_is_only_ever_local(given: str, expected: str) -> None:
    assert safe_next(given) == expected


def test_the_sign_in_page_opens_for_someone_already_signed_in(console: ConsoleEnv) -> None:
    # The console's navigation reads `event`; the sign-in page has none (this was a 500).
    console.add_user("mo2", "moderator")
    moderator = console.sign_in("mo2")
    resp = moderator.get("/console/login")
    assert resp.status_code == 200 and "<form" in resp.text
