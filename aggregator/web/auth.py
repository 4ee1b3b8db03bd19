"""Sign-in, sessions, roles and CSRF for the console (and the reporters' workspace).

- Passwords: argon2id (argon2-cffi).
- Session: a cookie holding {user id, nonce, issued at, password stamp}, signed
  with HMAC-SHA256 under the key in the environment variable that
  `server.secret_key_env` names (a random per-process key when unset). HttpOnly,
  SameSite=Lax, Secure when the public URL is https. A signed-in session is also
  a row in the `sessions` table (keyed by the nonce's hash), checked on every
  request: logging out deletes it (a copied cookie stops working), and changing
  a password or disabling a user deletes all of theirs; sessions last SESSION_HOURS.
- CSRF: a synchronizer token derived from the session's nonce (HMAC), sent back
  in the form field `csrf_token` or the `X-CSRF-Token` header on every
  state-changing request; missing or wrong -> 403. Visitors without a session
  get an anonymous one (user 0) so the sign-in form is protected too; the nonce
  is replaced at sign-in (no session fixation).
- Throttling: at most LOGIN_MAX_FAILURES password checks for a username, and
  LOGIN_MAX_FAILURES_PER_ADDRESS from an address, within LOGIN_WINDOW (-> 429).
  Each check first takes a slot with one conditional upsert, so concurrent
  guesses cannot all pass a read-then-check; a success gives its slots back.

Exports for other routers: User, current_user, require_role, csrf_token,
verify_csrf, attach_session, render_console.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from urllib.parse import quote

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from aggregator.clock import Clock
from aggregator.storage import Storage
from aggregator.storage.users import UserRecord, normalise_username

SESSION_COOKIE = "aggregator_session"
SESSION_HOURS = 12
LOGIN_WINDOW = timedelta(minutes=15)
LOGIN_MAX_FAILURES = 5  # per username, within LOGIN_WINDOW
LOGIN_MAX_FAILURES_PER_ADDRESS = 20  # per client address (a venue's wifi is one address for many people)
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})
ROLES = ("organiser", "moderator", "reporter")

_hasher = PasswordHasher()
_DUMMY_HASH = _hasher.hash("not-a-real-password")  # verified against unknown usernames, to even out timing
_key_lock = threading.Lock()

router = APIRouter()


@dataclass(frozen=True, slots=True)
class User:
    """The signed-in console user."""

    id: int
    username: str
    display_name: str
    role: str  # organiser / moderator / reporter

    def can(self, *roles: str) -> bool:
        return self.role in roles


# ---- passwords ---------------------------------------------------------------------------------------------


def hash_password(password: str) -> str:
    if len(password) < 8:
        raise ValueError("a password needs at least 8 characters")
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


# ---- the signed session cookie -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Session:
    user_id: int  # 0: anonymous (only carries a CSRF nonce)
    nonce: str
    issued: int  # unix seconds
    stamp: str  # from the password hash: a new password ends old sessions


def _key(request: Request) -> bytes:
    state = request.app.state
    key: bytes | None = getattr(state, "session_key", None)
    if key is None:
        with _key_lock:
            key = getattr(state, "session_key", None)
            if key is None:
                name = state.cfg.settings.server.secret_key_env
                value = os.environ.get(name, "")
                key = value.encode() if value else secrets.token_bytes(32)
                state.session_key = key
    return key


def _sign(key: bytes, data: bytes) -> str:
    return base64.urlsafe_b64encode(hmac.new(key, data, hashlib.sha256).digest()).decode().rstrip("=")


def _encode(key: bytes, s: _Session) -> str:
    body = base64.urlsafe_b64encode(
        json.dumps({"u": s.user_id, "n": s.nonce, "t": s.issued, "s": s.stamp}, separators=(",", ":")).encode()
    ).decode().rstrip("=")
    return f"{body}.{_sign(key, body.encode())}"


def _decode(key: bytes, value: str) -> _Session | None:
    body, _, sig = value.partition(".")
    if not body or not hmac.compare_digest(sig, _sign(key, body.encode())):
        return None
    try:
        data = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
        return _Session(int(data["u"]), str(data["n"]), int(data["t"]), str(data["s"]))
    except (ValueError, KeyError, TypeError):
        return None


def _stamp(password_hash: str) -> str:
    return hashlib.sha256(password_hash.encode()).hexdigest()[:16]


def _clock(request: Request) -> Clock:
    clock: Clock = request.app.state.clock
    return clock


def _storage(request: Request) -> Storage:
    storage: Storage = request.app.state.storage
    return storage


def _session(request: Request) -> _Session | None:
    """The request's valid session (signed, not expired), or a fresh one made during this request."""
    if hasattr(request.state, "session"):
        found: _Session | None = request.state.session
        return found
    raw = request.cookies.get(SESSION_COOKIE)
    found = _decode(_key(request), raw) if raw else None
    if found is not None:
        age = _clock(request)().timestamp() - found.issued
        if age < 0 or age > SESSION_HOURS * 3600:
            found = None
    request.state.session = found
    return found


def _session_id(s: _Session) -> str:
    """The server-side record's key: the nonce's hash (the database never holds a usable cookie part)."""
    return hashlib.sha256(s.nonce.encode()).hexdigest()


def _new_session(request: Request, user_id: int, stamp: str) -> _Session:
    now = _clock(request)()
    s = _Session(user_id, secrets.token_urlsafe(18), int(now.timestamp()), stamp)
    if user_id:
        _storage(request).start_session(_session_id(s), user_id, now + timedelta(hours=SESSION_HOURS))
    request.state.session = s
    request.state.session_cookie = _encode(_key(request), s)
    return s


def _secure(request: Request) -> bool:
    return str(request.app.state.cfg.settings.server.public_url).startswith("https://")


def attach_session(request: Request, response: Response) -> Response:
    """Set or clear the session cookie if this request made or ended a session (call before returning)."""
    cookie = getattr(request.state, "session_cookie", None)
    if cookie == "":
        response.delete_cookie(SESSION_COOKIE, path="/", secure=_secure(request), httponly=True, samesite="lax")
    elif cookie is not None:
        response.set_cookie(SESSION_COOKIE, cookie, max_age=SESSION_HOURS * 3600, path="/", secure=_secure(request),
                            httponly=True, samesite="lax")
    return response


# ---- who is asking -----------------------------------------------------------------------------------------


def current_user(request: Request) -> User | None:
    """The signed-in, enabled user, or None."""
    if hasattr(request.state, "user"):
        cached: User | None = request.state.user
        return cached
    user: User | None = None
    s = _session(request)
    if s is not None and s.user_id and _storage(request).session_user(_session_id(s)) == s.user_id:
        rec = _storage(request).user(s.user_id)
        if rec is not None and not rec.disabled and hmac.compare_digest(_stamp(rec.password_hash), s.stamp):
            user = User(rec.id, rec.username, rec.display_name, rec.role)
    request.state.user = user
    return user


def _wants_html(request: Request) -> bool:
    return request.method in SAFE_METHODS or "text/html" in request.headers.get("accept", "")


def require_role(*roles: str) -> Callable[[Request], User]:
    """A dependency: the signed-in user if their role is one of `roles` (any role when none are given).

    Not signed in: browsers are sent to /console/login (303), other clients get 401.
    Signed in with another role: 403.
    """
    unknown = set(roles) - set(ROLES)
    if unknown:
        raise ValueError(f"unknown roles {sorted(unknown)}")

    def dependency(request: Request) -> User:
        user = current_user(request)
        if user is None:
            if _wants_html(request):
                target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
                raise HTTPException(303, "sign in first",
                                    headers={"Location": f"/console/login?next={quote(target, safe='')}"})
            raise HTTPException(401, "sign in first")
        if roles and user.role not in roles:
            raise HTTPException(403, f"this needs the {' or '.join(roles)} role; you are a {user.role}")
        return user

    return dependency


# ---- CSRF --------------------------------------------------------------------------------------------------


def csrf_token(request: Request) -> str:
    """The token forms must send back (field `csrf_token` or header `X-CSRF-Token`).

    Starts an anonymous session when there is none: the page that shows the
    form must then pass its response through attach_session (render_console does).
    """
    s = _session(request) or _new_session(request, 0, "")
    return _sign(_key(request), f"csrf:{s.nonce}".encode())


def _csrf_ok(request: Request, token: str | None) -> bool:
    s = _session(request)
    if s is None or not token:
        return False
    return hmac.compare_digest(token, _sign(_key(request), f"csrf:{s.nonce}".encode()))


async def verify_csrf(request: Request) -> None:
    """A dependency for every state-changing route: 403 unless the request carries the session's token."""
    if request.method in SAFE_METHODS:
        return
    token = request.headers.get("x-csrf-token")
    if not token:
        content_type = request.headers.get("content-type", "")
        if content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
            form = await request.form()
            value = form.get("csrf_token")
            token = value if isinstance(value, str) else None
    if not _csrf_ok(request, token):
        raise HTTPException(403, "missing or invalid CSRF token: reload the page and try again")


# ---- pages -------------------------------------------------------------------------------------------------


def render_console(request: Request, name: str, context: dict[str, Any], status_code: int = 200) -> Response:
    """A console template with the user, the CSRF token and the session cookie taken care of."""
    from aggregator.web import chrome

    user = current_user(request)
    # Pages outside an event (sign-in, users) have none; the navigation asks.
    ctx = {"user": user, "csrf_token": csrf_token(request), "request": request, "event": None, **context}
    env = request.app.state.templates.env
    env.globals.setdefault("nav_areas", chrome.areas)
    env.globals.setdefault("nav_site_areas", chrome.site_areas)
    env.globals.setdefault("platform_label", chrome.platform_label)
    if user is not None and user.can("moderator", "organiser"):  # reporters cannot act on sources
        ctx.setdefault("source_alarms", chrome.source_alarms(_storage(request), _clock(request)()))
    response = request.app.state.templates.TemplateResponse(request, name, ctx, status_code=status_code)
    response.headers["Cache-Control"] = "no-store"
    return attach_session(request, response)


def safe_next(value: str | None, default: str = "/console") -> str:
    """Only local paths: never another site (//evil, /\\evil, https://...)."""
    if not value or not value.startswith("/") or value.startswith(("//", "/\\")) or "\n" in value or "\r" in value:
        return default
    return value


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


@router.get("/console/login", response_class=HTMLResponse, include_in_schema=False)
def login_page(request: Request, next: str = "/console") -> Response:
    return render_console(request, "console/login.html", {"next": safe_next(next), "error": "", "username": ""})


@router.post("/console/login", include_in_schema=False, dependencies=[Depends(verify_csrf)])
async def login(request: Request) -> Response:
    form = await request.form()
    username = str(form.get("username") or "").strip()[:64]
    password = str(form.get("password") or "")
    target = safe_next(str(form.get("next") or ""))
    return await run_in_threadpool(_login, request, username, password, target)


def _login(request: Request, username: str, password: str, target: str) -> Response:
    storage = _storage(request)
    address = client_address(request)
    now = _clock(request)()
    user_key, address_key = f"user:{normalise_username(username) or '-'}", f"addr:{address}"
    context = {"next": target, "username": username}
    slots = [(user_key, LOGIN_MAX_FAILURES), (address_key, LOGIN_MAX_FAILURES_PER_ADDRESS)]
    if not storage.take_login_slot(slots, now - LOGIN_WINDOW):
        minutes = int(LOGIN_WINDOW.total_seconds() // 60)
        return render_console(request, "console/login.html", {
            **context,
            "error": f"Too many failed sign-ins for this username or from this address. "
                     f"Wait {minutes} minutes, then try again.",
        }, status_code=429)
    rec: UserRecord | None = storage.user_by_name(username) if username else None
    ok = verify_password(rec.password_hash if rec else _DUMMY_HASH, password)
    if rec is None or not ok or rec.disabled:
        storage.record_login_failure(username.lower() or "-", address)
        return render_console(request, "console/login.html",
                              {**context, "error": "Wrong username or password (or the account is disabled)."},
                              status_code=401)
    storage.clear_login_slots(user_key)
    storage.release_login_slot(address_key)
    storage.record_login(rec.id)
    if _hasher.check_needs_rehash(rec.password_hash):
        storage.update_user(rec.id, password_hash=_hasher.hash(password))
        rec = storage.user(rec.id) or rec
    _new_session(request, rec.id, _stamp(rec.password_hash))
    request.state.user = User(rec.id, rec.username, rec.display_name, rec.role)
    return attach_session(request, RedirectResponse(target, status_code=303))


@router.post("/console/logout", include_in_schema=False, dependencies=[Depends(verify_csrf)])
def logout(request: Request) -> Response:
    s = _session(request)
    if s is not None and s.user_id:
        _storage(request).end_session(_session_id(s))  # a copy of the cookie is refused from now on
    request.state.session_cookie = ""
    return attach_session(request, RedirectResponse("/console/login", status_code=303))
