"""Posts: the idempotent batch ingest and keyset-paginated reads."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, tuple_, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from aggregator.storage import live
from aggregator.storage.records import PageCursor, PostPage, StoredPost
from aggregator.storage.schema import authors, media, moderation_decisions, posts, sources, tombstones
from aggregator.types import (
    Author,
    Cursor,
    IngestItem,
    IngestReport,
    Media,
    MediaKind,
    Platform,
    Post,
    PostKey,
    PostKind,
    Relation,
    RelationKind,
    Status,
)

CHUNK = 400  # keys per IN (...) list: well under SQLite's variable limit


def _chunks(seq: Sequence[Any], size: int = CHUNK) -> Iterator[Sequence[Any]]:
    for i in range(0, len(seq), size):
        yield seq[i : i + size]


def insert_for(conn: Connection) -> Any:
    """The dialect's INSERT, which has on_conflict_* (both SQLite and PostgreSQL do)."""
    return postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert


def upsert_author(conn: Connection, author: Author, seen_at: datetime) -> int:
    """The author's row id; the profile (name, avatar...) is replaced only by one from a newer post.

    `seen_at` is the time of the post the profile came from (stored as authors.updated_at): a
    collector delivering an old post late must not roll back a renamed account or a new avatar.
    """
    values = {
        "platform": author.platform.value,
        "external_id": author.external_id,
        "handle": author.handle,
        "name": author.name,
        "avatar_url": author.avatar_url,
        "profile_url": author.profile_url,
        "bot": author.bot,
        "updated_at": seen_at,
    }
    stmt = insert_for(conn)(authors).values(**values)
    stmt = stmt.on_conflict_do_update(
        index_elements=["platform", "external_id"],
        set_={k: stmt.excluded[k] for k in ("handle", "name", "avatar_url", "profile_url", "bot", "updated_at")},
        where=authors.c.updated_at <= stmt.excluded.updated_at,
    ).returning(authors.c.id)
    found = conn.execute(stmt).scalar_one_or_none()
    if found is None:  # a newer profile is stored: keep it
        found = conn.execute(
            select(authors.c.id).where(
                authors.c.platform == author.platform.value, authors.c.external_id == author.external_id
            )
        ).scalar_one()
    return int(found)


def _existing(conn: Connection, event_id: int, keys: Sequence[PostKey]) -> dict[PostKey, Any]:
    found: dict[PostKey, Any] = {}
    ids = sorted({k.external_id for k in keys})
    for part in _chunks(ids):
        rows = conn.execute(
            select(posts.c.id, posts.c.platform, posts.c.external_id, posts.c.status, posts.c.edited_at,
                   posts.c.canonical_id)
            .where(posts.c.event_id == event_id, posts.c.external_id.in_(part))
        )
        for row in rows:
            found[PostKey(Platform(row.platform), row.external_id)] = row
    return found


def tombstoned_keys(conn: Connection, event_id: int, keys: Sequence[PostKey]) -> set[PostKey]:
    out: set[PostKey] = set()
    ids = sorted({k.external_id for k in keys})
    for part in _chunks(ids):
        rows = conn.execute(
            select(tombstones.c.platform, tombstones.c.external_id).where(
                tombstones.c.event_id == event_id, tombstones.c.external_id.in_(part)
            )
        )
        out.update(PostKey(Platform(r.platform), r.external_id) for r in rows)
    return out


def known_keys(conn: Connection, event_id: int, keys: Sequence[PostKey]) -> set[PostKey]:
    """Which of these posts are stored or tombstoned already (nothing new to learn about them)."""
    return set(_existing(conn, event_id, keys)) | tombstoned_keys(conn, event_id, keys)


def _post_values(post: Post) -> dict[str, Any]:
    reply = post.relation(RelationKind.REPLY)
    quote = post.relation(RelationKind.QUOTE)
    return {
        "url": post.url,
        "created_at": post.created_at,
        "edited_at": post.edited_at,
        "kind": post.kind.value,
        "title": post.title,
        "text": post.text,
        "html": post.html,
        "language": post.language,
        "sensitive": post.sensitive,
        "spoiler_text": post.spoiler_text,
        "hashtags": list(post.hashtags),
        "links": list(post.links),
        "reply_to": reply.external_id if reply else None,
        "quote_of": quote.external_id if quote else None,
    }


def _insert_media(conn: Connection, post_id: int, items: Iterable[Media], hashes: dict[str, str]) -> None:
    rows = [
        {
            "post_id": post_id,
            "position": i,
            "kind": m.kind.value,
            "url": m.url,
            "thumbnail_url": m.thumbnail_url,
            "alt_text": m.alt_text,
            "embed_url": m.embed_url,
            "video_key": m.video_key,
            "width": m.width,
            "height": m.height,
            "photo_hash": hashes.get(m.thumbnail_url or m.url),
        }
        for i, m in enumerate(items)
    ]
    if rows:
        conn.execute(media.insert(), rows)


@dataclass
class _Batch:
    """Running state of one ingest transaction."""

    event_id: int
    now: datetime
    ids: dict[PostKey, int]
    statuses: dict[int, str]
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    tombstoned: int = 0
    live_events: int = 0
    recounted: set[int] = field(default_factory=set)  # approved cards whose repost count grew
    authors: dict[tuple[str, str], int] = field(default_factory=dict)  # upserted once per batch
    author_seen: dict[tuple[str, str], datetime] = field(default_factory=dict)  # newest post's time per author
    decisions: list[dict[str, Any]] = field(default_factory=list)  # written together at the end
    approvals: list[tuple[str, int | None]] = field(default_factory=list)  # live rows, in order
    faces: dict[int, int] = field(default_factory=dict)  # folded post id -> the post it is folded into


def ingest(
    conn: Connection,
    event_id: int,
    source_id: int | None,
    items: Sequence[IngestItem],
    cursor: Cursor | None,
    now: datetime,
    photo_hashes: dict[str, str] | None = None,
    created_by: int | None = None,
) -> IngestReport:
    """Store a batch idempotently inside the caller's transaction.

    Items must list a canonical post before the duplicates that point at it
    (the pipeline's plan does). Re-delivered posts change nothing unless the
    platform reports an edit; tombstoned posts are skipped.
    """
    keys = [it.post.key for it in items]
    existing = _existing(conn, event_id, keys)
    dead = tombstoned_keys(conn, event_id, keys)
    state = _Batch(
        event_id,
        now,
        ids={k: row.id for k, row in existing.items()},
        statuses={row.id: row.status for row in existing.values()},
    )
    inserted_keys: list[PostKey] = []
    for item in items:
        key = item.post.key
        if key in dead:
            state.tombstoned += 1
        elif key in existing:
            _maybe_update(conn, state, existing[key], item.post)
        elif key in state.ids:  # twice in one batch
            state.unchanged += 1
        elif _insert(conn, state, source_id, item, photo_hashes or {}, created_by):
            inserted_keys.append(key)
    if state.decisions:
        conn.execute(moderation_decisions.insert(), state.decisions)
    state.approvals += [("post.updated", post_id) for post_id in sorted(state.recounted)]
    state.live_events += live.append_many(conn, event_id, state.approvals, now)
    if source_id is not None:
        _record_success(conn, source_id, cursor, state.inserted, now)
    return IngestReport(
        inserted=state.inserted,
        updated=state.updated,
        unchanged=state.unchanged,
        tombstoned=state.tombstoned,
        live_events=state.live_events,
        inserted_keys=tuple(inserted_keys),
    )


def _resolve_canonical(conn: Connection, state: _Batch, key: PostKey | None) -> int | None:
    """The id of the card `key` belongs to: its face, following a folded post to the one it is folded into."""
    if key is None:
        return None
    post_id = state.ids.get(key)
    if post_id is None:
        row = conn.execute(
            select(posts.c.id, posts.c.status).where(
                posts.c.event_id == state.event_id,
                posts.c.platform == key.platform.value,
                posts.c.external_id == key.external_id,
            )
        ).first()
        if row is None:
            return None
        post_id = int(row.id)
        state.ids[key] = post_id
        state.statuses[post_id] = row.status
    for _ in range(8):  # faces have no canonical; chains are at most a hop or two
        if post_id in state.faces:
            post_id = state.faces[post_id]
            continue
        row = conn.execute(select(posts.c.canonical_id, posts.c.status).where(posts.c.id == post_id)).first()
        if row is None or row.canonical_id is None:
            if row is not None:
                state.statuses[post_id] = row.status
            break
        state.faces[post_id] = int(row.canonical_id)
        post_id = int(row.canonical_id)
    return post_id


def _insert(
    conn: Connection,
    state: _Batch,
    source_id: int | None,
    item: IngestItem,
    hashes: dict[str, str],
    created_by: int | None,
) -> bool:
    post = item.post
    canonical_id = _resolve_canonical(conn, state, item.duplicate_of)
    status = Status.DUPLICATE if canonical_id is not None else item.decision.status
    author_key = (post.author.platform.value, post.author.external_id)
    author_id = state.authors.get(author_key)
    if author_id is None or post.created_at > state.author_seen[author_key]:
        author_id = state.authors[author_key] = upsert_author(conn, post.author, min(post.created_at, state.now))
        state.author_seen[author_key] = post.created_at
    stmt = (
        insert_for(conn)(posts)
        .values(
            event_id=state.event_id,
            platform=post.platform.value,
            external_id=post.external_id,
            author_id=author_id,
            source_id=source_id,
            created_by=created_by,
            collected_at=state.now,
            updated_at=state.now,
            status=status.value,
            status_rule=item.decision.rule,
            status_detail=item.decision.detail,
            canonical_id=canonical_id,
            dup_kind=("repost" if item.is_repost else "duplicate") if canonical_id is not None else None,
            **_post_values(post),
        )
        .on_conflict_do_nothing(index_elements=["event_id", "platform", "external_id"])
        .returning(posts.c.id)
    )
    post_id = conn.execute(stmt).scalar()
    if post_id is None:  # a concurrent writer stored it first
        state.unchanged += 1
        return False
    state.ids[post.key] = post_id
    state.statuses[post_id] = status.value
    if canonical_id is not None:
        state.faces[post_id] = canonical_id
    state.inserted += 1
    _insert_media(conn, post_id, post.media, hashes)
    state.decisions.append({"post_id": post_id, "status": status.value, "rule": item.decision.rule,
                            "detail": item.decision.detail, "decided_at": state.now})
    if status is Status.APPROVED:
        state.approvals.append(("post.approved", post_id))
    if item.is_repost and canonical_id is not None:
        conn.execute(
            update(posts).where(posts.c.id == canonical_id).values(repost_count=posts.c.repost_count + 1)
        )
        if state.statuses.get(canonical_id) == Status.APPROVED.value:
            state.recounted.add(canonical_id)  # one post.updated per card per batch, not per repost
    return True


def _maybe_update(conn: Connection, state: _Batch, row: Any, post: Post) -> None:
    """An edit at the source replaces the text and media; a plain re-delivery changes nothing."""
    if post.edited_at is None or (row.edited_at is not None and post.edited_at <= row.edited_at):
        state.unchanged += 1
        return
    values = _post_values(post)
    values["updated_at"] = state.now
    conn.execute(update(posts).where(posts.c.id == row.id).values(**values))
    conn.execute(media.delete().where(media.c.post_id == row.id))
    _insert_media(conn, row.id, post.media, {})
    state.updated += 1
    if row.status == Status.APPROVED.value:
        state.live_events += live.append(conn, state.event_id, "post.updated", row.id, state.now)


def _record_success(conn: Connection, source_id: int, cursor: Cursor | None, inserted: int, now: datetime) -> None:
    values: dict[str, Any] = {
        "last_run_at": now,
        "last_success_at": now,
        "consecutive_failures": 0,
        "rate_limited_until": None,
        "posts_collected": sources.c.posts_collected + inserted,
    }
    if cursor is not None:
        values.update(cursor_position=cursor.position, etag=cursor.etag, last_modified=cursor.last_modified)
    conn.execute(update(sources).where(sources.c.id == source_id).values(**values))


# ---- reads -----------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PostQuery:
    """Filters and position for a page of an event's posts."""

    statuses: tuple[Status, ...] = (Status.APPROVED,)
    kinds: tuple[PostKind, ...] = ()
    platforms: tuple[Platform, ...] = ()
    author_id: int | None = None
    before: PageCursor | None = None  # older than this
    after: PageCursor | None = None  # newer than this
    limit: int = 50
    pinned_only: bool = False


def _author(row: Any) -> Author:
    return Author(
        platform=Platform(row.a_platform),
        external_id=row.a_external_id,
        handle=row.a_handle,
        name=row.a_name,
        avatar_url=row.a_avatar_url,
        profile_url=row.a_profile_url,
        bot=bool(row.a_bot),
    )


def _select_posts() -> Any:
    return select(
        posts,
        authors.c.platform.label("a_platform"),
        authors.c.external_id.label("a_external_id"),
        authors.c.handle.label("a_handle"),
        authors.c.name.label("a_name"),
        authors.c.avatar_url.label("a_avatar_url"),
        authors.c.profile_url.label("a_profile_url"),
        authors.c.bot.label("a_bot"),
    ).join(authors, authors.c.id == posts.c.author_id)


def hydrate(conn: Connection, rows: Sequence[Any]) -> list[StoredPost]:
    """Rows of _select_posts() -> StoredPost with media and cross-post copies."""
    ids = [r.id for r in rows]
    media_by: dict[int, list[Media]] = {i: [] for i in ids}
    copies_by: dict[int, list[tuple[Platform, str]]] = {i: [] for i in ids}
    for part in _chunks(ids):
        for m in conn.execute(select(media).where(media.c.post_id.in_(part)).order_by(media.c.post_id,
                                                                                         media.c.position)):
            media_by[m.post_id].append(
                Media(
                    kind=MediaKind(m.kind), url=m.url, thumbnail_url=m.thumbnail_url, alt_text=m.alt_text,
                    embed_url=m.embed_url, video_key=m.video_key, width=m.width, height=m.height,
                )
            )
        for c in conn.execute(
            select(posts.c.canonical_id, posts.c.platform, posts.c.url)
            .where(posts.c.canonical_id.in_(part), posts.c.dup_kind != "repost",
                   posts.c.status == Status.DUPLICATE.value)  # a copy deleted at its source is no link
            .order_by(posts.c.id)
        ):
            copies_by[c.canonical_id].append((Platform(c.platform), c.url))
    return [
        StoredPost(
            id=r.id, event_id=r.event_id, platform=Platform(r.platform), external_id=r.external_id, url=r.url,
            author_id=r.author_id, author=_author(r), created_at=r.created_at, collected_at=r.collected_at,
            kind=PostKind(r.kind), title=r.title, text=r.text, html=r.html, language=r.language,
            sensitive=bool(r.sensitive), spoiler_text=r.spoiler_text, hashtags=tuple(r.hashtags),
            links=tuple(r.links), status=Status(r.status), status_rule=r.status_rule,
            status_detail=r.status_detail, canonical_id=r.canonical_id, repost_count=r.repost_count,
            pinned=bool(r.pinned), featured=bool(r.featured), reply_to=r.reply_to, quote_of=r.quote_of,
            media=tuple(media_by[r.id]),
            copies=tuple(copies_by[r.id]),
        )
        for r in rows
    ]


def page_statement(event_id: int, q: PostQuery) -> Any:
    """The keyset query for one page (newest first unless paging `after`)."""
    stmt = _select_posts().where(posts.c.event_id == event_id, posts.c.status.in_([s.value for s in q.statuses]))
    if q.kinds:
        stmt = stmt.where(posts.c.kind.in_([k.value for k in q.kinds]))
    if q.platforms:
        stmt = stmt.where(posts.c.platform.in_([p.value for p in q.platforms]))
    if q.author_id is not None:
        stmt = stmt.where(posts.c.author_id == q.author_id)
    if q.pinned_only:
        stmt = stmt.where(posts.c.pinned.is_(True))
    position = tuple_(posts.c.created_at, posts.c.id)
    if q.after is not None:
        stmt = stmt.where(position > tuple_(q.after.created_at, q.after.id))
        return stmt.order_by(posts.c.created_at.asc(), posts.c.id.asc()).limit(q.limit + 1)
    if q.before is not None:
        stmt = stmt.where(position < tuple_(q.before.created_at, q.before.id))
    return stmt.order_by(posts.c.created_at.desc(), posts.c.id.desc()).limit(q.limit + 1)


def list_posts(conn: Connection, event_id: int, q: PostQuery) -> PostPage:
    return page_from(conn, q, list(conn.execute(page_statement(event_id, q))))


def page_from(conn: Connection, q: PostQuery, rows: list[Any]) -> PostPage:
    """Rows of page_statement(q) (limit + 1 of them) -> a page, newest first, with cursors both ways."""
    more = len(rows) > q.limit
    rows = rows[: q.limit]
    if q.after is not None:
        rows.reverse()  # fetched oldest-first; pages always read newest first
    found = hydrate(conn, rows)

    def pos(p: StoredPost) -> PageCursor:
        return PageCursor(p.created_at, p.id)

    if not found:
        return PostPage((), earlier=q.after, later=q.before)
    if q.after is not None:
        return PostPage(tuple(found), earlier=pos(found[-1]), later=pos(found[0]) if more else None)
    return PostPage(
        tuple(found),
        earlier=pos(found[-1]) if more else None,
        later=pos(found[0]) if q.before is not None else None,
    )


def get_post(conn: Connection, event_id: int, post_id: int) -> StoredPost | None:
    rows = list(conn.execute(_select_posts().where(posts.c.event_id == event_id, posts.c.id == post_id)))
    return hydrate(conn, rows)[0] if rows else None


def count_by_status(conn: Connection, event_id: int) -> dict[Status, int]:
    rows = conn.execute(
        select(posts.c.status, func.count()).where(posts.c.event_id == event_id).group_by(posts.c.status)
    )
    return {Status(s): int(n) for s, n in rows}


# ---- what the pipeline needs to decide -------------------------------------------------------------


def as_post(p: StoredPost) -> Post:
    """A stored post back in the pipeline's shape (for dedup against what is stored)."""
    return Post(
        platform=p.platform, external_id=p.external_id, url=p.url, author=p.author, created_at=p.created_at,
        text=p.text, html=p.html, kind=p.kind, language=p.language, media=p.media, hashtags=p.hashtags,
        links=p.links, sensitive=p.sensitive, spoiler_text=p.spoiler_text, title=p.title,
        relations=tuple(
            Relation(kind, ext) for kind, ext in ((RelationKind.REPLY, p.reply_to), (RelationKind.QUOTE, p.quote_of))
            if ext
        ),
    )


@dataclass(frozen=True, slots=True)
class DedupCandidate:
    post: Post
    photo_hashes: tuple[int, ...]
    duplicate_of: PostKey | None  # where it was folded, if it was


def dedup_candidates(conn: Connection, event_id: int, since: datetime, video_keys: Sequence[str],
                     limit: int = 5000) -> list[DedupCandidate]:
    """Stored posts a new batch could duplicate: those since `since`, and any sharing a video."""
    base = _select_posts().where(posts.c.event_id == event_id)
    recent = base.where(posts.c.created_at >= since).order_by(posts.c.created_at.desc()).limit(limit)
    rows = {r.id: r for r in conn.execute(recent)}
    if video_keys:
        with_video = base.where(posts.c.id.in_(
            select(media.c.post_id).where(media.c.video_key.in_(list(video_keys)))
        ))
        rows.update({r.id: r for r in conn.execute(with_video)})
    ordered = sorted(rows.values(), key=lambda r: (r.created_at, r.id))
    stored = hydrate(conn, ordered)
    hashes: dict[int, list[int]] = {p.id: [] for p in stored}
    keys = {p.id: PostKey(p.platform, p.external_id) for p in stored}
    for part in _chunks(list(hashes)):
        for m in conn.execute(select(media.c.post_id, media.c.photo_hash).where(
                media.c.post_id.in_(part), media.c.photo_hash.is_not(None))):
            hashes[m.post_id].append(int(m.photo_hash, 16))
    missing = {p.canonical_id for p in stored if p.canonical_id is not None and p.canonical_id not in keys}
    for part in _chunks(sorted(missing)):
        for r in conn.execute(select(posts.c.id, posts.c.platform, posts.c.external_id).where(posts.c.id.in_(part))):
            keys[r.id] = PostKey(Platform(r.platform), r.external_id)
    return [
        DedupCandidate(as_post(p), tuple(hashes[p.id]),
                       keys.get(p.canonical_id) if p.canonical_id is not None else None)
        for p in stored
    ]


def approved_counts_by_author(conn: Connection, event_id: int, since: datetime) -> dict[tuple[str, str], int]:
    """(platform, author external id) -> approved posts since `since` (for the per-author cap)."""
    rows = conn.execute(
        select(authors.c.platform, authors.c.external_id, func.count())
        .select_from(posts.join(authors, authors.c.id == posts.c.author_id))
        .where(posts.c.event_id == event_id, posts.c.status == Status.APPROVED.value, posts.c.created_at >= since)
        .group_by(authors.c.platform, authors.c.external_id)
    )
    return {(p, e): int(n) for p, e, n in rows}
