"""The moderator and organiser console: queue, actions, authors, audit log, announcements, wall options.

Server-rendered pages and plain HTML forms (everything works without
JavaScript; static/console.js adds keyboard shortcuts and live arrivals).
Every POST passes verify_csrf before anything else, then a role check.

Roles: moderators and organisers moderate; organisers also read the audit
log, announce, change wall options, copy embed snippets and manage users.
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.datastructures import FormData, UploadFile

from aggregator.config import WALL_MODES, WallSettings
from aggregator.pipeline.moderate import RULES
from aggregator.storage import EventRecord, Storage
from aggregator.storage.announcements import (
    EDITABLE_WALL_OPTIONS,
    WallOptionsError,
    effective_wall_settings,
    wall_overrides,
)
from aggregator.storage.moderation import (
    AUTHOR_ACTIONS,
    MODERATION_TARGETS,
    POST_ACTIONS,
    ActionError,
    Actor,
    QueueQuery,
)
from aggregator.storage.users import UserExists
from aggregator.types import Platform, Status
from aggregator.web import audit_view, cards
from aggregator.web.auth import (
    ROLES,
    User,
    hash_password,
    render_console,
    require_role,
    safe_next,
    verify_csrf,
)
from aggregator.web.chrome import post_counts, source_health
from aggregator.web.uploads import MAX_UPLOAD_BYTES, UploadError, store_photo

router = APIRouter(include_in_schema=False)

moderator = require_role("moderator", "organiser")
organiser = require_role("organiser")
anyone = require_role()

QUEUE_PAGE = 50
RULE_FILTERS = (*RULES, "human:*")
DONE_MESSAGES = {
    "approve": "Approved", "reject": "Rejected", "takedown": "Taken down", "pin": "Pinned", "unpin": "Unpinned",
    "feature": "Featured", "unfeature": "Unfeatured", "block_author": "Author blocked",
    "trust_author": "Author trusted", "clear_author": "Author's standing cleared", "undo": "Undone",
    "nothing": "Nothing to change", "announce": "Announcement created", "withdrawn": "Announcement withdrawn",
    "wall": "Wall options saved", "user": "User saved",
}


def _storage(request: Request) -> Storage:
    storage: Storage = request.app.state.storage
    return storage


def _actor(user: User) -> Actor:
    return Actor(user.id, user.username)


def _event(request: Request, slug: str) -> EventRecord:
    ev = _storage(request).event(slug)
    if ev is None:
        raise HTTPException(404, f"no event {slug!r}")
    return ev


def _with_done(target: str, done: str, count: int | None = None) -> str:
    parts = urlsplit(target)
    query = [(k, v) for k, v in parse_qsl(parts.query) if k not in ("done", "n")]
    query.append(("done", done))
    if count is not None:
        query.append(("n", str(count)))
    return urlunsplit(("", "", parts.path, urlencode(query), ""))


def _without_done(target: str) -> str:
    parts = urlsplit(target)
    query = [(k, v) for k, v in parse_qsl(parts.query) if k not in ("done", "n")]
    return urlunsplit(("", "", parts.path, urlencode(query), ""))


def _back(target: str, done: str, count: int | None = None) -> RedirectResponse:
    return RedirectResponse(_with_done(target, done, count), status_code=303)


def _done_message(request: Request) -> str:
    done = request.query_params.get("done", "")
    message = DONE_MESSAGES.get(done, "")
    count = request.query_params.get("n", "")
    if message and count.isdigit() and done not in ("nothing", "wall", "user", "announce", "withdrawn"):
        message = f"{message}: {count} post{'s' if count != '1' else ''}"
    return message


async def form_fields(request: Request) -> dict[str, list[str]]:
    """The posted form as name -> values (a dependency; verify_csrf has already read and cached it)."""
    form = await request.form()
    out: dict[str, list[str]] = {}
    for key, value in form.multi_items():
        if isinstance(value, str):
            out.setdefault(key, []).append(value)
    return out


FormFields = Annotated[dict[str, list[str]], Depends(form_fields)]
AsModerator = Annotated[User, Depends(moderator)]
AsOrganiser = Annotated[User, Depends(organiser)]
SignedIn = Annotated[User, Depends(anyone)]


def _one(form: dict[str, list[str]], key: str, default: str = "") -> str:
    values = form.get(key)
    return values[-1] if values else default


# ---- home ----------------------------------------------------------------------------------------------------


@router.get("/console", response_class=HTMLResponse)
def home(request: Request, user: SignedIn) -> Response:
    storage = _storage(request)
    now = request.app.state.clock()
    events = storage.events()
    staff = user.can("moderator", "organiser")
    overview = [(ev, source_health(storage, ev, now) if staff else [],
                 post_counts(storage.count_by_status(ev.id)) if staff else None) for ev in events]
    return render_console(request, "console/home.html", {"events": events, "overview": overview, "event": None,
                                                          "done": _done_message(request)})


# ---- queue and post actions --------------------------------------------------------------------------------


def _queue_query(status: str, platform: str, rule: str, before: int | None = None, after: int | None = None,
                 ) -> QueueQuery:
    statuses = (Status(status),) if status in {s.value for s in Status} else ()
    platforms = (Platform(platform),) if platform in {p.value for p in Platform} else ()
    return QueueQuery(statuses=statuses, platforms=platforms, rule=rule if rule in RULE_FILTERS else "",
                      before_id=before, after_id=after, limit=QUEUE_PAGE)


@router.get("/console/{slug}/queue", response_class=HTMLResponse)
def queue_page(request: Request, slug: str, user: AsModerator, status: str = "pending", platform: str = "",
               rule: str = "", before: int | None = None) -> Response:
    ev = _event(request, slug)
    storage = _storage(request)
    q = _queue_query(status, platform, rule, before=before)
    found = storage.moderation_queue(ev.id, q)
    counts = storage.count_by_status(ev.id)
    here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return render_console(request, "console/queue.html", {
        "event": ev, "posts": found, "status": status, "platform": platform, "rule": rule,
        "statuses": [s.value for s in Status], "platforms": [p.value for p in Platform], "rules": RULE_FILTERS,
        "counts": {s.value: counts.get(s, 0) for s in Status}, "here": _without_done(here),
        "older": found[-1].id if len(found) == QUEUE_PAGE else None, "done": _done_message(request),
        "live": before is None and status == "pending",
    })


@router.get("/console/{slug}/queue/new", response_class=HTMLResponse)
def queue_new(request: Request, slug: str, after: int, user: AsModerator, status: str = "pending",
              platform: str = "", rule: str = "", next: str = "") -> Response:
    """Cards newer than `after` (for console.js to add to the top of the queue)."""
    ev = _event(request, slug)
    found = _storage(request).moderation_queue(ev.id, _queue_query(status, platform, rule, after=after))
    return render_console(request, "console/queue_new.html", {
        "event": ev, "posts": found, "here": safe_next(next, f"/console/{slug}/queue")})


@router.post("/console/{slug}/posts/bulk", dependencies=[Depends(verify_csrf)])
def bulk_action(request: Request, slug: str, form: FormFields, user: AsModerator) -> Response:
    ev = _event(request, slug)
    action = _one(form, "action")
    try:
        ids = [int(v) for v in form.get("post_id", [])]
    except ValueError:
        raise HTTPException(400, "post ids are numbers") from None
    target = safe_next(_one(form, "next"), f"/console/{slug}/queue")
    if action not in POST_ACTIONS:
        raise HTTPException(400, f"unknown action {action!r}")
    if not ids:
        return _back(target, "nothing")
    result = _storage(request).moderate_posts(ev.id, ids, action, _actor(user))
    return _back(target, action if result.changed else "nothing", len(result.changed))


@router.post("/console/{slug}/posts/{post_id}/{action}", dependencies=[Depends(verify_csrf)])
def post_action(request: Request, slug: str, post_id: int, action: str, form: FormFields,
                user: AsModerator) -> Response:
    ev = _event(request, slug)
    if action not in POST_ACTIONS:
        raise HTTPException(404, f"unknown action {action!r}")
    if _storage(request).post(ev.id, post_id) is None:
        raise HTTPException(404, f"no post {post_id} in {slug}")
    result = _storage(request).moderate_posts(ev.id, [post_id], action, _actor(user))
    target = safe_next(_one(form, "next"), f"/console/{slug}/queue")
    return _back(target, action if result.changed else "nothing", len(result.changed))


@router.post("/console/{slug}/authors/{author_id}/{action}", dependencies=[Depends(verify_csrf)])
def author_action(request: Request, slug: str, author_id: int, action: str, form: FormFields,
                  user: AsModerator) -> Response:
    ev = _event(request, slug)
    if action not in AUTHOR_ACTIONS:
        raise HTTPException(404, f"unknown action {action!r}")
    try:
        result = _storage(request).moderate_author(ev.id, author_id, action, _actor(user))
    except ActionError as exc:
        raise HTTPException(404, str(exc)) from None
    target = safe_next(_one(form, "next"), f"/console/{slug}/authors/{author_id}")
    return _back(target, result.action if result.audit_id else "nothing", len(result.changed))


@router.post("/console/{slug}/undo", dependencies=[Depends(verify_csrf)])
def undo(request: Request, slug: str, form: FormFields, user: AsModerator) -> Response:
    ev = _event(request, slug)
    result = _storage(request).undo_last(ev.id, _actor(user))
    target = safe_next(_one(form, "next"), f"/console/{slug}/queue")
    return _back(target, "undo" if result and result.changed else "nothing",
                 len(result.changed) if result else 0)


@router.get("/console/{slug}/authors/{author_id}", response_class=HTMLResponse)
def author_page(request: Request, slug: str, author_id: int, user: AsModerator) -> Response:
    ev = _event(request, slug)
    storage = _storage(request)
    rec = storage.author_record(ev.id, author_id)
    if rec is None:
        raise HTTPException(404, f"no author {author_id}")
    found = storage.moderation_queue(ev.id, QueueQuery(statuses=(), author_id=author_id, limit=200))
    return render_console(request, "console/author.html", {
        "event": ev, "author": rec, "posts": found, "here": request.url.path, "done": _done_message(request)})


# ---- organiser pages ---------------------------------------------------------------------------------------


@router.get("/console/{slug}/audit", response_class=HTMLResponse)
def audit_page(request: Request, slug: str, user: AsModerator, before: int | None = None) -> Response:
    """Organisers read every entry; moderators the moderation actions (posts, authors, undo)."""
    ev = _event(request, slug)
    types = () if user.can("organiser") else MODERATION_TARGETS
    entries = _storage(request).audit_entries(ev.id, limit=100, before_id=before, target_types=types)
    return render_console(request, "console/audit.html", {
        "event": ev, "entries": [audit_view.view(e, ev.slug) for e in entries],
        "older": entries[-1].id if len(entries) == 100 else None, "only_moderation": bool(types),
        "done": _done_message(request)})


def _local_input(ev: EventRecord, value: str) -> datetime | None:
    """A datetime-local form value in the event's timezone -> aware UTC; '' -> None."""
    value = value.strip()
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise ValueError(f"not a date and time: {value!r}") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=ZoneInfo(ev.timezone))
    return parsed.astimezone(ZoneInfo("UTC"))


def _announcements_page(request: Request, ev: EventRecord, error: str = "", status_code: int = 200,
                        text: str = "", starts_at: str = "", ends_at: str = "") -> Response:
    storage = _storage(request)
    now = request.app.state.clock()
    items = storage.announcements(ev.id)
    return render_console(request, "console/announcements.html", {
        "event": ev, "items": items, "now": now, "error": error, "text": text, "starts_at": starts_at,
        "ends_at": ends_at, "done": _done_message(request),
    }, status_code=status_code)


@router.get("/console/{slug}/announcements", response_class=HTMLResponse)
def announcements_page(request: Request, slug: str, user: AsOrganiser) -> Response:
    return _announcements_page(request, _event(request, slug))


@router.post("/console/{slug}/announcements", dependencies=[Depends(verify_csrf)])
def announce(request: Request, slug: str, form: FormFields, user: AsOrganiser) -> Response:
    ev = _event(request, slug)
    text = _one(form, "text")
    try:
        starts = _local_input(ev, _one(form, "starts_at")) or request.app.state.clock()
        ends = _local_input(ev, _one(form, "ends_at"))
        _storage(request).create_announcement(ev.id, text, starts, ends, _actor(user))
    except ValueError as exc:
        return _announcements_page(request, ev, str(exc), 400, text, _one(form, "starts_at"), _one(form, "ends_at"))
    return _back(f"/console/{slug}/announcements", "announce")


@router.post("/console/{slug}/announcements/{announcement_id}/withdraw", dependencies=[Depends(verify_csrf)])
def withdraw(request: Request, slug: str, announcement_id: int, user: AsOrganiser) -> Response:
    ev = _event(request, slug)
    done = _storage(request).withdraw_announcement(ev.id, announcement_id, _actor(user))
    return _back(f"/console/{slug}/announcements", "withdrawn" if done else "nothing")


def _wall_name(request: Request, ev: EventRecord, name: str) -> str:
    if name not in cards.wall_names(request.app.state.cfg, ev):
        raise HTTPException(404, f"no wall {name!r}")
    return name


def _wall_base(request: Request, ev: EventRecord, name: str) -> WallSettings:
    """A wall's settings as the config file has them (the console's overrides go on top)."""
    return request.app.state.cfg.settings.event(ev.slug).wall_settings(name) or WallSettings()


def _wall_page(request: Request, ev: EventRecord, name: str, error: str = "", status_code: int = 200) -> Response:
    overrides = wall_overrides(ev.wall_options, name)
    effective = effective_wall_settings(_wall_base(request, ev, name), overrides)
    return render_console(request, "console/wall.html", {
        "event": ev, "wall": effective, "overrides": overrides, "platforms": [p.value for p in Platform],
        "error": error, "done": _done_message(request), "wall_name": name,
        "walls": cards.wall_names(request.app.state.cfg, ev), "modes": WALL_MODES,
        "wall_url": f"/e/{ev.slug}/wall/{name}" if name else f"/e/{ev.slug}/wall",
    }, status_code=status_code)


def _wall_target(slug: str, name: str) -> str:
    return f"/console/{slug}/wall?wall={name}" if name else f"/console/{slug}/wall"


@router.get("/console/{slug}/wall", response_class=HTMLResponse)
def wall_page(request: Request, slug: str, user: AsOrganiser, wall: str = "") -> Response:
    ev = _event(request, slug)
    return _wall_page(request, ev, _wall_name(request, ev, wall))


def _wall_form(form: dict[str, list[str]], base: dict[str, Any]) -> dict[str, Any]:
    """Form fields -> the options that differ from the configured ones (sparse overrides).
    Slides have their own forms (upload, remove) and are not part of this one."""
    values: dict[str, Any] = {}
    for name in EDITABLE_WALL_OPTIONS:
        current = base[name]
        if name == "slides":
            continue
        if isinstance(current, bool):
            values[name] = _one(form, name) == "on"
        elif name == "platforms":
            values[name] = [p for p in form.get("platforms", []) if p in {x.value for x in Platform}]
        elif name == "hashtags":
            values[name] = [t.lstrip("#").lower() for t in _one(form, name).replace(",", " ").split() if t.lstrip("#")]
        elif name in form:
            raw = _one(form, name).strip()
            values[name] = int(raw) if isinstance(current, int) and raw.lstrip("-").isdigit() else raw
    return {k: v for k, v in values.items()
            if v != base[k] and not (isinstance(base[k], tuple) and tuple(v) == base[k])}


@router.post("/console/{slug}/wall", dependencies=[Depends(verify_csrf)])
def save_wall(request: Request, slug: str, form: FormFields, user: AsOrganiser) -> Response:
    ev = _event(request, slug)
    name = _wall_name(request, ev, _one(form, "wall"))
    base = _wall_base(request, ev, name).model_dump()
    overrides = {} if _one(form, "reset") else _wall_form(form, base)
    kept = wall_overrides(ev.wall_options, name).get("slides")
    if kept is not None and not _one(form, "reset"):
        overrides["slides"] = kept
    try:
        _storage(request).set_wall_options(ev.id, overrides, _actor(user), name)
    except WallOptionsError as exc:
        return _wall_page(request, ev, name, str(exc), 400)
    return _back(_wall_target(slug, name), "wall")


def _set_slides(request: Request, ev: EventRecord, name: str, slides: list[dict[str, Any]], user: User) -> None:
    overrides = {**wall_overrides(ev.wall_options, name), "slides": slides}
    _storage(request).set_wall_options(ev.id, overrides, _actor(user), name)


def _current_slides(request: Request, ev: EventRecord, name: str) -> list[dict[str, Any]]:
    settings = effective_wall_settings(_wall_base(request, ev, name), wall_overrides(ev.wall_options, name))
    return [s.model_dump() for s in settings.slides]


@router.post("/console/{slug}/wall/slides", dependencies=[Depends(verify_csrf)])
async def add_slide(request: Request, slug: str, user: AsOrganiser) -> Response:
    """An organiser slide: an uploaded image (re-encoded like reporters' photos) and a line of text."""
    async with request.form(max_files=1) as form:  # closes the uploaded file's temporary copy
        return await _add_slide(request, slug, user, form)


async def _add_slide(request: Request, slug: str, user: User, form: FormData) -> Response:
    ev = await asyncio.to_thread(_event, request, slug)
    name = _wall_name(request, ev, str(form.get("wall") or ""))
    text = " ".join(str(form.get("text") or "").split())[:200]
    upload = form.get("image")
    if not isinstance(upload, UploadFile) or not upload.filename:
        return await asyncio.to_thread(_wall_page, request, ev, name, "choose an image for the slide", 400)
    data = await upload.read(MAX_UPLOAD_BYTES + 1)
    media_dir = Path(request.app.state.cfg.settings.server.media_dir)
    try:
        photo = await asyncio.to_thread(store_photo, data, media_dir, ev.slug)
    except UploadError as exc:
        return await asyncio.to_thread(_wall_page, request, ev, name, f"{upload.filename}: {exc}", 400)
    slides = [*_current_slides(request, ev, name), {"image": photo.url, "text": text}]
    await asyncio.to_thread(_set_slides, request, ev, name, slides, user)
    return _back(_wall_target(slug, name), "wall")


@router.post("/console/{slug}/wall/slides/{index}/remove", dependencies=[Depends(verify_csrf)])
def remove_slide(request: Request, slug: str, index: int, form: FormFields, user: AsOrganiser) -> Response:
    ev = _event(request, slug)
    name = _wall_name(request, ev, _one(form, "wall"))
    slides = _current_slides(request, ev, name)
    if not 0 <= index < len(slides):
        raise HTTPException(404, "no such slide")
    del slides[index]
    _set_slides(request, ev, name, slides, user)
    return _back(_wall_target(slug, name), "wall")


@router.get("/console/{slug}/embed", response_class=HTMLResponse)
def embed_page(request: Request, slug: str, user: AsOrganiser) -> Response:
    ev = _event(request, slug)
    public = str(request.app.state.cfg.settings.server.public_url).rstrip("/")
    stories = _storage(request).published_story_slugs(ev.id)
    return render_console(request, "console/embed.html", {
        "event": ev, "public": public, "stories": stories, "done": ""})


# ---- users -------------------------------------------------------------------------------------------------


def _users_page(request: Request, error: str = "", status_code: int = 200) -> Response:
    return render_console(request, "console/users.html", {
        "event": None, "users": _storage(request).users(), "roles": ROLES, "error": error,
        "done": _done_message(request)}, status_code=status_code)


@router.get("/console/users", response_class=HTMLResponse)
def users_page(request: Request, user: AsOrganiser) -> Response:
    return _users_page(request)


@router.post("/console/users", dependencies=[Depends(verify_csrf)])
def create_user(request: Request, form: FormFields, user: AsOrganiser) -> Response:
    try:
        _storage(request).create_user(_one(form, "username"), hash_password(_one(form, "password")),
                                      _one(form, "role"), _one(form, "display_name"), actor=_actor(user))
    except (UserExists, ValueError) as exc:
        return _users_page(request, str(exc), 400)
    return _back("/console/users", "user")


@router.post("/console/users/{user_id}", dependencies=[Depends(verify_csrf)])
def update_user(request: Request, user_id: int, form: FormFields, user: AsOrganiser) -> Response:
    role = _one(form, "role") or None
    disabled = {"on": True, "off": False}.get(_one(form, "disabled"))
    password = _one(form, "password")
    if user_id == user.id and (disabled or (role is not None and role != "organiser")):
        return _users_page(request, "You cannot disable yourself or give up your own organiser role.", 400)
    try:
        _storage(request).update_user(user_id, actor=_actor(user), role=role, disabled=disabled,
                                      password_hash=hash_password(password) if password else None)
    except (ActionError, ValueError) as exc:
        return _users_page(request, str(exc), 400)
    return _back("/console/users", "user")

