"""Reporters' workspace: the stories editor and reporters' own posts (text, photo uploads, video links).

Everything here needs a signed-in reporter or organiser (auth.require_role)
and every form carries the session's CSRF token (auth.verify_csrf). Own posts
go through the same storage ingest as collected ones (platform "reporter",
created_by the user), decided by moderate() like any post: the rule
"reporter" approves them at once unless a blocked word or the age rule stops
them, so they reach the wall by the live log like any other approval.
"""

from __future__ import annotations

import re
import uuid
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from aggregator.pipeline.moderate import ModerationContext, moderate
from aggregator.pipeline.sanitise import clean_post_urls, find_spans, text_to_html
from aggregator.sources.video import video_from_url
from aggregator.storage import EventRecord
from aggregator.storage.stories import BLOCK_KINDS, StoryError, StoryRecord
from aggregator.types import Author, IngestItem, Media, MediaKind, Platform, Post, PostKey, PostKind, Status
from aggregator.web import auth, cards
from aggregator.web.auth import User
from aggregator.web.deps import app_config, app_storage, event_or_404
from aggregator.web.uploads import MAX_UPLOAD_BYTES, UploadError, store_photo

router = APIRouter(include_in_schema=False)

CURATORS = ("reporter", "organiser")
Curator = Annotated[User, Depends(auth.require_role(*CURATORS))]
CSRF = [Depends(auth.verify_csrf)]
MAX_POST_CHARS = 5000
MAX_PHOTOS = 4
_POST_LINK = re.compile(r"/e/[a-z0-9-]+/p/(\d+)")


_storage = app_storage
_cfg = app_config
_event = event_or_404


def _story(request: Request, event: EventRecord, story_id: int, user: User) -> StoryRecord:
    """The story, if `user` may edit it: its author, or any organiser (403 for other reporters)."""
    story = _storage(request).story_by_id(event.id, story_id)
    if story is None:
        raise HTTPException(404, "no such story")
    if not may_edit(user, story):
        raise HTTPException(403, "only the story's author or an organiser may change it")
    return story


def may_edit(user: User, story: StoryRecord) -> bool:
    return user.role == "organiser" or story.author_id == user.id


def _render(request: Request, name: str, context: dict[str, Any], status_code: int = 200) -> Response:
    cards.prepare(request.app.state.templates.env)
    return auth.render_console(request, name, context, status_code)


def _back(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


def post_id_from(value: str) -> int | None:
    """A post id typed as a number or pasted as a permalink URL."""
    value = value.strip()
    if value.isdigit():
        return int(value)
    found = _POST_LINK.search(value)
    return int(found.group(1)) if found else None


# ---- stories -------------------------------------------------------------------------------------------------


@router.get("/console/{slug}/stories")
def stories(request: Request, slug: str, user: Curator) -> Response:
    event = _event(request, slug)
    return _render(request, "reporter/stories.html", {
        "event": event, "stories": _storage(request).stories(event.id, include_drafts=True), "embed": False})


@router.post("/console/{slug}/stories", dependencies=CSRF)
def create_story(request: Request, slug: str, user: Curator, title: Annotated[str, Form()] = "",
                 template: Annotated[str, Form()] = "") -> Response:
    event = _event(request, slug)
    seed = template == "seed"
    story = _storage(request).create_story(event.id, title.strip()[:200] or (
        f"{event.title}: the day" if seed else "Untitled story"), user.id, seed=seed)
    return _back(f"/console/{slug}/stories/{story.id}")


@router.post("/console/{slug}/stories/add-post", dependencies=CSRF)
def add_post_to_story(request: Request, slug: str, user: Curator, post_id: Annotated[int, Form()],
                      target: Annotated[str, Form()]) -> Response:
    """From a post's page: append it to a story, at the end or at the end of one of its sections."""
    event = _event(request, slug)
    story_part, _, section_part = target.partition(":")
    if not story_part.isdigit():
        raise HTTPException(400, "choose a story")
    story = _story(request, event, int(story_part), user)
    section_id = int(section_part) if section_part.isdigit() else None
    _add_post_block(request, event, story, post_id, "", section_id, user)
    return _back(f"/console/{slug}/stories/{story.id}#block-end")


def _add_post_block(request: Request, event: EventRecord, story: StoryRecord, post_id: int, caption: str,
                    section_id: int | None, user: User) -> None:
    post = _storage(request).post(event.id, post_id)
    if post is None or post.status is not Status.APPROVED:
        raise HTTPException(400, "only approved posts can go into a story")
    try:
        _storage(request).add_story_block(story.id, "post", post_id=post_id, body=caption, section_id=section_id,
                                          by=user.id)
    except StoryError as exc:
        raise HTTPException(400, str(exc)) from None


@router.get("/console/{slug}/stories/{story_id}")
def edit_story(request: Request, slug: str, story_id: int, user: Curator) -> Response:
    event = _event(request, slug)
    return _edit_page(request, event, _story(request, event, story_id, user))


def _edit_page(request: Request, event: EventRecord, story: StoryRecord, error: str = "",
               draft: dict[str, str] | None = None, status_code: int = 200) -> Response:
    """The editor; after a refused block, with the error and everything the reporter typed kept."""
    ids = [b.post_id for b in story.blocks if b.post_id is not None]
    return _render(request, "reporter/story_edit.html", {
        "event": event, "story": story, "posts": _storage(request).posts_by_ids(event.id, ids),
        "sections": [b for b in story.blocks if b.kind == "section"], "kinds": BLOCK_KINDS, "embed": False,
        "now": request.app.state.clock(), "error": error,
        "draft": {"kind": "text", "section_id": "", "heading": "", "post": "", "media_url": "", "body": "",
                  **(draft or {})},
    }, status_code)


@router.post("/console/{slug}/stories/{story_id}", dependencies=CSRF)
def update_story(request: Request, slug: str, story_id: int, user: Curator, title: Annotated[str, Form()] = "",
                 summary: Annotated[str, Form()] = "", status: Annotated[str, Form()] = "draft") -> Response:
    event = _event(request, slug)
    story = _story(request, event, story_id, user)
    try:
        _storage(request).update_story(story.id, title=title[:200], summary=summary[:1000], status=status,
                                       by=user.id)
    except StoryError as exc:
        raise HTTPException(400, str(exc)) from None
    return _back(f"/console/{slug}/stories/{story.id}")


@router.post("/console/{slug}/stories/{story_id}/seed", dependencies=CSRF)
def seed_story(request: Request, slug: str, story_id: int, user: Curator) -> Response:
    event = _event(request, slug)
    story = _story(request, event, story_id, user)
    _storage(request).seed_story(story.id, by=user.id)
    return _back(f"/console/{slug}/stories/{story.id}")


@router.post("/console/{slug}/stories/{story_id}/blocks", dependencies=CSRF)
def add_block(request: Request, slug: str, story_id: int, user: Curator, kind: Annotated[str, Form()],
              heading: Annotated[str, Form()] = "", body: Annotated[str, Form()] = "",
              post: Annotated[str, Form()] = "", media_url: Annotated[str, Form()] = "",
              section_id: Annotated[str, Form()] = "") -> Response:
    event = _event(request, slug)
    story = _story(request, event, story_id, user)
    section = int(section_id) if section_id.isdigit() else None
    draft = {"kind": kind, "section_id": section_id, "heading": heading, "post": post, "media_url": media_url,
             "body": body}
    try:
        if kind == "post":
            found = post_id_from(post)
            if found is None:
                raise HTTPException(400, "give a post number (like 123) or paste the post's link")
            _add_post_block(request, event, story, found, body[:1000], section, user)
        else:
            if kind in ("photo", "video") and cards.safe_media_url(media_url.strip()) is None:
                raise HTTPException(400, "give an http(s) link")
            if kind == "section" and not heading.strip():
                raise HTTPException(400, "a section needs a heading")
            try:
                _storage(request).add_story_block(story.id, kind, heading=heading.strip()[:300], body=body[:20000],
                                                  media_url=media_url.strip() or None, section_id=section,
                                                  by=user.id)
            except StoryError as exc:
                raise HTTPException(400, str(exc)) from None
    except HTTPException as exc:
        return _edit_page(request, event, story, str(exc.detail), draft, exc.status_code)
    return _back(f"/console/{slug}/stories/{story.id}#block-end")


@router.post("/console/{slug}/stories/{story_id}/blocks/{block_id}", dependencies=CSRF)
def change_block(request: Request, slug: str, story_id: int, block_id: int, user: Curator,
                 action: Annotated[str, Form()] = "save", heading: Annotated[str | None, Form()] = None,
                 body: Annotated[str | None, Form()] = None) -> Response:
    event = _event(request, slug)
    story = _story(request, event, story_id, user)
    storage = _storage(request)
    if block_id not in {b.id for b in story.blocks}:
        raise HTTPException(404, "no such block")
    if action == "up":
        storage.move_story_block(story.id, block_id, -1, by=user.id)
    elif action == "down":
        storage.move_story_block(story.id, block_id, 1, by=user.id)
    elif action == "delete":
        storage.delete_story_block(story.id, block_id, by=user.id)
    else:
        storage.update_story_block(story.id, block_id, heading=None if heading is None else heading[:300],
                                   body=None if body is None else body[:20000], by=user.id)
    return _back(f"/console/{slug}/stories/{story.id}#block-{block_id}")


# ---- reporters' own posts -----------------------------------------------------------------------------------


@router.get("/console/{slug}/posts/new")
def new_post(request: Request, slug: str, user: Curator) -> Response:
    event = _event(request, slug)
    return _render(request, "reporter/post_new.html", {"event": event, "error": "", "text": "", "video_url": "",
                                                       "max_mb": MAX_UPLOAD_BYTES // (1024 * 1024), "embed": False})


def reporter_post(event: EventRecord, public_url: str, user: User, text: str, media: tuple[Media, ...],
                  token: str, now: Any) -> Post:
    base = public_url.rstrip("/")

    def tag_url(tag: str) -> str:
        return f"{base}/e/{event.slug}/timeline?q={quote(tag)}"

    links = tuple(dict.fromkeys(s.href for s in find_spans(text) if s.kind == "link"))
    hashtags = tuple(dict.fromkeys(s.href.rsplit("=", 1)[-1].lower()
                                   for s in find_spans(text, hashtag_url=tag_url) if s.kind == "tag"))
    kinds = {m.kind for m in media}
    kind = PostKind.PHOTO if MediaKind.PHOTO in kinds else PostKind.VIDEO if MediaKind.VIDEO in kinds else \
        PostKind.TEXT
    return clean_post_urls(Post(
        platform=Platform.REPORTER, external_id=f"reporter:{token}", url=f"{base}/e/{event.slug}/r/{token}",
        author=Author(Platform.REPORTER, f"user:{user.id}", user.username, user.display_name or user.username),
        created_at=now, text=text, html=text_to_html(text, hashtag_url=tag_url), kind=kind, media=media,
        hashtags=hashtags, links=links,
    ))


@router.post("/console/{slug}/posts", dependencies=CSRF)
async def create_post(request: Request, slug: str, user: Curator) -> Response:
    # Only the reading of the request happens on the event loop. Decoding and re-encoding photos
    # (seconds for a 40 MP photo) and the database write (which may wait for another process's
    # write lock) run in a worker thread, so the live walls and every other request keep flowing.
    async with request.form(max_files=MAX_PHOTOS + 1) as form:
        fields = {name: str(form.get(name) or "") for name in ("text", "video_url", "alt_text")}
        uploads = [f for f in form.getlist("photos") if isinstance(f, UploadFile) and f.filename]
        files = [(f.filename or "", await f.read(MAX_UPLOAD_BYTES + 1)) for f in uploads[:MAX_PHOTOS + 1]]
    return await run_in_threadpool(_create_post, request, slug, user, fields, files)


def _create_post(request: Request, slug: str, user: User, fields: dict[str, str],
                 files: list[tuple[str, bytes]]) -> Response:
    event = _event(request, slug)
    cfg = _cfg(request)
    text = fields["text"].strip()[:MAX_POST_CHARS]
    video_url = fields["video_url"].strip()
    alt = fields["alt_text"].strip()[:1000]

    def again(error: str, status_code: int = 400) -> Response:
        return _render(request, "reporter/post_new.html", {
            "event": event, "error": error, "text": text, "video_url": video_url, "embed": False,
            "max_mb": MAX_UPLOAD_BYTES // (1024 * 1024)}, status_code)

    if len(files) > MAX_PHOTOS:
        return again(f"at most {MAX_PHOTOS} photos per post")
    media: list[Media] = []
    media_dir = Path(cfg.settings.server.media_dir)
    for filename, data in files:
        try:
            photo = store_photo(data, media_dir, event.slug)
        except UploadError as exc:
            return again(f"{filename}: {exc}", 413 if len(data) > MAX_UPLOAD_BYTES else 400)
        media.append(Media(MediaKind.PHOTO, photo.url, photo.thumbnail_url, alt_text=alt, width=photo.width,
                           height=photo.height))
    if video_url:
        video = video_from_url(video_url)
        if video is None:
            return again("the video link must be a YouTube or Vimeo video")
        media.append(video)
    if not text and not media:
        return again("write something, add a photo or a video link")
    token = uuid.uuid4().hex
    storage = _storage(request)
    post = reporter_post(event, cfg.settings.server.public_url, user, text, tuple(media), token,
                         request.app.state.clock())
    settings = cfg.settings.event(event.slug)
    ctx = ModerationContext.build(settings.moderation, event_start=settings.utc(settings.start),
                                  event_end=settings.utc(settings.end), now=request.app.state.clock())
    decision = moderate(post, settings.moderation, ctx)  # rule "reporter" unless a word or age rule says no
    storage.ingest(event.id, None, [IngestItem(post, decision)], None, created_by=user.id)
    if decision.status is not Status.APPROVED:
        return again(f"saved for the moderators, not shown: {decision.rule} {decision.detail}".strip(), 200)
    stored = storage.post_by_key(event.id, PostKey(Platform.REPORTER, post.external_id))
    target = f"/e/{slug}/p/{stored.id}" if stored is not None else f"/e/{slug}/timeline?latest=1"
    return _back(target)
