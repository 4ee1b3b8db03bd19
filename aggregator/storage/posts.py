"""Posts: the idempotent batch ingest and keyset-paginated reads."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, func, select, tuple_, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from aggregator.storage import live
from aggregator.storage.records import PageCursor, PostPage, StoredPost
from aggregator.storage.schema import authors, live_events, media, moderation_decisions, posts, sources, tombstones
from aggregator.types import (
    Author,
    CardMerge,
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


def _platforms(keys: Iterable[PostKey]) -> list[str]:
    """The platforms of some keys: with it, a lookup by (platform, external id) uses the unique index."""
    return sorted({k.platform.value for k in keys})


def _existing(conn: Connection, event_id: int, keys: Sequence[PostKey]) -> dict[PostKey, Any]:
    found: dict[PostKey, Any] = {}
    ids = sorted({k.external_id for k in keys})
    for part in _chunks(ids):
        rows = conn.execute(
            select(posts.c.id, posts.c.platform, posts.c.external_id, posts.c.status, posts.c.edited_at,
                   posts.c.canonical_id)
            .where(posts.c.event_id == event_id, posts.c.platform.in_(_platforms(keys)),
                   posts.c.external_id.in_(part))
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
                tombstones.c.event_id == event_id, tombstones.c.platform.in_(_platforms(keys)),
                tombstones.c.external_id.in_(part)
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


def _media_rows(post_id: int, items: Iterable[Media], hashes: dict[str, str]) -> list[dict[str, Any]]:
    return [
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
    recounted: set[int] = field(default_factory=set)  # approved cards whose repost count grew
    decisions: list[dict[str, Any]] = field(default_factory=list)  # written together at the end
    approvals: list[tuple[str, int | None]] = field(default_factory=list)  # live rows, in order
    faces: dict[int, int | None] = field(default_factory=dict)  # post id -> the post it is folded into (None: a face)
    reposts: dict[int, int] = field(default_factory=dict)  # card id -> reposts added to its count


def generation(conn: Connection) -> tuple[int, int]:
    """(newest post id, newest live seq): changes whenever anyone stores a post or changes what walls show."""
    row = conn.execute(select(
        select(func.coalesce(func.max(posts.c.id), 0)).scalar_subquery(),
        select(func.coalesce(func.max(live_events.c.seq), 0)).scalar_subquery(),
    )).one()
    return int(row[0]), int(row[1])


def ingest(
    conn: Connection,
    event_id: int,
    source_id: int | None,
    items: Sequence[IngestItem],
    cursor: Cursor | None,
    now: datetime,
    photo_hashes: dict[str, str] | None = None,
    created_by: int | None = None,
    merges: Sequence[CardMerge] = (),
) -> IngestReport:
    """Store a batch idempotently inside the caller's transaction, a few statements per batch.

    Items must list a canonical post before the duplicates that point at it
    (the pipeline's plan does). Re-delivered posts change nothing unless the
    platform reports an edit, which replaces the text and takes the item's
    decision (DUPLICATE: keep the status); tombstoned posts are skipped.
    ``merges`` join stored cards first (the absorbed faces are retracted).
    """
    before = generation(conn)
    keys = [it.post.key for it in items]
    existing = _existing(conn, event_id, keys)
    dead = tombstoned_keys(conn, event_id, keys)
    state = _Batch(
        event_id,
        now,
        ids={k: row.id for k, row in existing.items()},
        statuses={row.id: row.status for row in existing.values()},
    )
    for row in existing.values():
        state.faces[row.id] = row.canonical_id
    for merge in merges:
        _merge(conn, state, merge)
    fresh: list[IngestItem] = []
    seen: set[PostKey] = set()
    for item in items:
        key = item.post.key
        if key in dead:
            state.tombstoned += 1
        elif key in existing:
            _maybe_update(conn, state, existing[key], item)
        elif key in seen:  # twice in one batch
            state.unchanged += 1
        else:
            seen.add(key)
            fresh.append(item)
    inserted_keys = _insert_all(conn, state, source_id, fresh, photo_hashes or {}, created_by)
    if state.reposts:
        conn.execute(
            update(posts).where(posts.c.id == bindparam("card")).values(
                repost_count=posts.c.repost_count + bindparam("added")),
            [{"card": card, "added": n} for card, n in sorted(state.reposts.items())],
        )
    if state.decisions:
        conn.execute(moderation_decisions.insert(), state.decisions)
    state.approvals += [("post.updated", post_id) for post_id in sorted(state.recounted)]
    written = live.append_many(conn, event_id, state.approvals, now)
    if source_id is not None:
        _record_success(conn, source_id, cursor, state.inserted, now)
    return IngestReport(
        inserted=state.inserted,
        updated=state.updated,
        unchanged=state.unchanged,
        tombstoned=state.tombstoned,
        live_events=written,
        inserted_keys=tuple(inserted_keys),
        generation=(before, generation(conn)),
    )


def _resolve_faces(conn: Connection, state: _Batch, keys: Iterable[PostKey]) -> dict[PostKey, int]:
    """Stored keys -> the id of their card's face, following folded posts to the post they fold into."""
    wanted = {k for k in keys if k is not None}
    missing = [k for k in wanted if k not in state.ids]
    if missing:
        for key, row in _existing(conn, state.event_id, missing).items():
            state.ids[key] = int(row.id)
            state.statuses[int(row.id)] = row.status
            state.faces[int(row.id)] = row.canonical_id
    for _ in range(8):  # faces have no canonical; chains are at most a hop or two
        unknown = sorted({c for k in wanted if k in state.ids for c in _chain(state, state.ids[k])
                          if c not in state.faces})
        if not unknown:
            break
        for part in _chunks(unknown):
            for row in conn.execute(select(posts.c.id, posts.c.status, posts.c.canonical_id)
                                    .where(posts.c.id.in_(part))):
                state.faces[int(row.id)] = row.canonical_id
                state.statuses[int(row.id)] = row.status
        for post_id in unknown:
            state.faces.setdefault(post_id, None)  # deleted meanwhile: treat as a face
    out: dict[PostKey, int] = {}
    for key in wanted:
        if key in state.ids:
            out[key] = _chain(state, state.ids[key])[-1]
    return out


def _chain(state: _Batch, post_id: int) -> list[int]:
    """post_id and the posts it is folded into, as far as state knows them."""
    chain = [post_id]
    while len(chain) < 10:
        nxt = state.faces.get(chain[-1])
        if nxt is None or nxt in chain:
            break
        chain.append(nxt)
    return chain


def _upsert_authors(conn: Connection, found: Iterable[Post], now: datetime) -> dict[tuple[str, str], int]:
    """Each author of the batch once, in one statement; (platform, external id) -> author id.

    The profile comes from the author's newest post of the batch and replaces the stored one only
    if that post is newer than the one it came from (see upsert_author).
    """
    newest: dict[tuple[str, str], Post] = {}
    for post in found:
        key = (post.author.platform.value, post.author.external_id)
        if key not in newest or post.created_at > newest[key].created_at:
            newest[key] = post
    if not newest:
        return {}
    stmt = insert_for(conn)(authors)
    stmt = stmt.on_conflict_do_update(
        index_elements=["platform", "external_id"],
        set_={k: stmt.excluded[k] for k in ("handle", "name", "avatar_url", "profile_url", "bot", "updated_at")},
        where=authors.c.updated_at <= stmt.excluded.updated_at,
    ).returning(authors.c.id, authors.c.platform, authors.c.external_id)
    rows = conn.execute(stmt, [
        {"platform": a.platform.value, "external_id": a.external_id, "handle": a.handle, "name": a.name,
         "avatar_url": a.avatar_url, "profile_url": a.profile_url, "bot": a.bot,
         "updated_at": min(p.created_at, now)}
        for _, p in sorted(newest.items(), key=lambda kv: kv[0]) for a in (p.author,)
    ])
    out = {(r.platform, r.external_id): int(r.id) for r in rows}
    kept = sorted({ext for key, ext in [(k, k[1]) for k in newest] if key not in out})
    for part in _chunks(kept):  # a newer profile is stored: the update was skipped, so no row came back
        for r in conn.execute(select(authors.c.id, authors.c.platform, authors.c.external_id).where(
                authors.c.platform.in_(sorted({p for p, _ in newest})), authors.c.external_id.in_(part))):
            if (r.platform, r.external_id) in newest:
                out.setdefault((r.platform, r.external_id), int(r.id))
    return out


def _insert_all(conn: Connection, state: _Batch, source_id: int | None, items: list[IngestItem],
                hashes: dict[str, str], created_by: int | None) -> list[PostKey]:
    """New posts in a few multi-row statements: faces first, then what folds into them."""
    author_ids = _upsert_authors(conn, (it.post for it in items), state.now)
    later = {it.post.key for it in items}
    inserted: list[PostKey] = []
    todo = items
    while todo:
        faces = _resolve_faces(conn, state, (it.duplicate_of for it in todo if it.duplicate_of is not None))
        ready: list[tuple[IngestItem, int | None]] = []
        wait: list[IngestItem] = []
        for it in todo:
            target = it.duplicate_of
            if target is not None and target not in faces and target in later and target != it.post.key:
                wait.append(it)  # folds into a post of this batch stored in a later round
            else:
                ready.append((it, faces.get(target) if target is not None else None))
        if not ready:  # a cycle: store them as faces
            ready, wait = [(it, None) for it in wait], []
        inserted += _insert_round(conn, state, source_id, ready, author_ids, hashes, created_by)
        later -= {it.post.key for it, _ in ready}
        todo = wait
    return inserted


def _insert_round(conn: Connection, state: _Batch, source_id: int | None,
                  ready: list[tuple[IngestItem, int | None]], author_ids: dict[tuple[str, str], int],
                  hashes: dict[str, str], created_by: int | None) -> list[PostKey]:
    rows = []
    for item, canonical_id in ready:
        post = item.post
        status = Status.DUPLICATE if canonical_id is not None else item.decision.status
        rows.append({
            "event_id": state.event_id,
            "platform": post.platform.value,
            "external_id": post.external_id,
            "author_id": author_ids[(post.author.platform.value, post.author.external_id)],
            "source_id": source_id,
            "created_by": created_by,
            "collected_at": state.now,
            "updated_at": state.now,
            "status": status.value,
            "status_rule": item.decision.rule,
            "status_detail": item.decision.detail,
            "canonical_id": canonical_id,
            "dup_kind": ("repost" if item.is_repost else "duplicate") if canonical_id is not None else None,
            "repost_count": 0,
            "pinned": False,
            "featured": False,
            **_post_values(post),
        })
    stmt = (
        insert_for(conn)(posts)
        .on_conflict_do_nothing(index_elements=["event_id", "platform", "external_id"])
        .returning(posts.c.id, posts.c.platform, posts.c.external_id)
    )
    got = {PostKey(Platform(r.platform), r.external_id): int(r.id) for r in conn.execute(stmt, rows)}
    media_rows: list[dict[str, Any]] = []
    inserted: list[PostKey] = []
    for (item, canonical_id), row in zip(ready, rows, strict=True):
        post = item.post
        post_id = got.get(post.key)
        if post_id is None:  # a concurrent writer stored it first
            state.unchanged += 1
            continue
        inserted.append(post.key)
        state.ids[post.key] = post_id
        state.statuses[post_id] = row["status"]
        state.faces[post_id] = canonical_id
        state.inserted += 1
        media_rows += _media_rows(post_id, post.media, hashes)
        state.decisions.append({"post_id": post_id, "status": row["status"], "rule": item.decision.rule,
                                "detail": item.decision.detail, "decided_at": state.now, "user_id": None})
        if row["status"] == Status.APPROVED.value:
            state.approvals.append(("post.approved", post_id))
        if item.is_repost and canonical_id is not None:
            state.reposts[canonical_id] = state.reposts.get(canonical_id, 0) + 1
            if state.statuses.get(canonical_id) == Status.APPROVED.value:
                state.recounted.add(canonical_id)  # one post.updated per card per batch, not per repost
    if media_rows:
        conn.execute(media.insert(), media_rows)
    return inserted


def _merge(conn: Connection, state: _Batch, merge: CardMerge) -> None:
    """Fold the absorbed cards into the survivor's: re-point their members, retract their faces."""
    found = _resolve_faces(conn, state, [merge.survivor, *merge.absorbed])
    survivor = found.get(merge.survivor)
    if survivor is None:
        return
    for key in merge.absorbed:
        face = found.get(key)
        if face is None or face == survivor:
            continue
        row = conn.execute(select(posts.c.status, posts.c.repost_count).where(posts.c.id == face)).one()
        conn.execute(update(posts).where(posts.c.canonical_id == face).values(canonical_id=survivor,
                                                                            updated_at=state.now))
        hidden = row.status in (Status.APPROVED.value, Status.PENDING.value)
        status = Status.DUPLICATE.value if hidden else row.status  # rejected and removed stay so
        conn.execute(update(posts).where(posts.c.id == face).values(
            canonical_id=survivor, status=status, dup_kind="duplicate", pinned=False, featured=False,
            updated_at=state.now, **({"status_rule": "dedup:merge", "status_detail": f"merged into {survivor}"}
                                     if hidden else {})))
        if row.repost_count:
            state.reposts[survivor] = state.reposts.get(survivor, 0) + int(row.repost_count)
        if status != row.status:
            state.decisions.append({"post_id": face, "status": status, "rule": "dedup:merge",
                                    "detail": f"merged into {survivor}", "decided_at": state.now, "user_id": None})
        if row.status == Status.APPROVED.value:
            state.approvals.append(("post.retracted", face))
        state.statuses[face] = status
        state.faces[face] = survivor
        for post_id, parent in list(state.faces.items()):
            if parent == face:
                state.faces[post_id] = survivor
        if state.statuses.get(survivor) == Status.APPROVED.value:
            state.recounted.add(survivor)  # its copies changed


_REDECIDED = (Status.APPROVED.value, Status.PENDING.value, Status.REJECTED.value)


def _maybe_update(conn: Connection, state: _Batch, row: Any, item: IngestItem) -> None:
    """An edit at the source replaces the text and media, and takes the plan's new decision."""
    post = item.post
    if post.edited_at is None or (row.edited_at is not None and post.edited_at <= row.edited_at):
        state.unchanged += 1
        return
    values = _post_values(post)
    values["updated_at"] = state.now
    decision = item.decision
    old = row.status
    new = old
    if decision.status is not Status.DUPLICATE and old in _REDECIDED:
        new = decision.status.value
    if new != old:
        values.update(status=new, status_rule=decision.rule, status_detail=decision.detail)
        if new != Status.APPROVED.value:
            values.update(pinned=False, featured=False)
        state.decisions.append({"post_id": row.id, "status": new, "rule": decision.rule,
                                "detail": decision.detail, "decided_at": state.now, "user_id": None})
        state.statuses[row.id] = new
    conn.execute(update(posts).where(posts.c.id == row.id).values(**values))
    conn.execute(media.delete().where(media.c.post_id == row.id))
    rows = _media_rows(row.id, post.media, {})
    if rows:
        conn.execute(media.insert(), rows)
    state.updated += 1
    if old == Status.APPROVED.value:
        state.approvals.append(("post.updated" if new == old else "post.retracted", row.id))
    elif new == Status.APPROVED.value:
        state.approvals.append(("post.approved", row.id))


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
    author_ids: tuple[int, ...] = ()  # any of these (one person's accounts on several networks)
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


def page_statement(event_id: int, q: PostQuery, base: Any = None) -> Any:
    """The keyset query for one page (newest first unless paging `after`), selecting `base`'s columns
    (by default every column of _select_posts())."""
    stmt = (_select_posts() if base is None else base).where(
        posts.c.event_id == event_id, posts.c.status.in_([s.value for s in q.statuses]))
    if q.kinds:
        stmt = stmt.where(posts.c.kind.in_([k.value for k in q.kinds]))
    if q.platforms:
        stmt = stmt.where(posts.c.platform.in_([p.value for p in q.platforms]))
    if q.author_id is not None:
        stmt = stmt.where(posts.c.author_id == q.author_id)
    if q.author_ids:
        stmt = stmt.where(posts.c.author_id.in_(q.author_ids))
    if q.pinned_only:
        stmt = stmt.where(posts.c.pinned.is_(True))
    position = tuple_(posts.c.created_at, posts.c.id)
    if q.after is not None:
        stmt = stmt.where(position > tuple_(q.after.created_at, q.after.id))
        return stmt.order_by(posts.c.created_at.asc(), posts.c.id.asc()).limit(q.limit + 1)
    if q.before is not None:
        stmt = stmt.where(position < tuple_(q.before.created_at, q.before.id))
    return stmt.order_by(posts.c.created_at.desc(), posts.c.id.desc()).limit(q.limit + 1)


def page_ids_statement(event_id: int, q: PostQuery) -> Any:
    """page_statement selecting ids only: the keyset walk touches the posts index and nothing else."""
    return page_statement(event_id, q, select(posts.c.id))


def rows_for(conn: Connection, ids_stmt: Any) -> list[Any]:
    """Rows of _select_posts() for the ids `ids_stmt` selects, in its order. The page is found first and
    joined to its authors after, so no plan can join every author (PostgreSQL hash-joins all of them
    when it guesses a search matches many posts)."""
    ids = [r.id for r in conn.execute(ids_stmt)]
    if not ids:
        return []
    found = {r.id: r for r in conn.execute(_select_posts().where(posts.c.id.in_(ids)))}
    return [found[i] for i in ids if i in found]


def list_posts(conn: Connection, event_id: int, q: PostQuery) -> PostPage:
    return page_from(conn, q, rows_for(conn, page_ids_statement(event_id, q)))


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


def dedup_candidates(conn: Connection, event_id: int, since: datetime | None, video_keys: Sequence[str],
                     limit: int = 5000, until: datetime | None = None) -> list[DedupCandidate]:
    """Stored posts a new batch could duplicate: those since `since` (and before `until`), and any sharing a video."""
    base = _select_posts().where(posts.c.event_id == event_id)
    rows: dict[int, Any] = {}
    if since is not None:
        recent = base.where(posts.c.created_at >= since)
        if until is not None:
            recent = recent.where(posts.c.created_at < until)
        recent = recent.order_by(posts.c.created_at.desc()).limit(limit)
        rows.update({r.id: r for r in conn.execute(recent)})
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


@dataclass(frozen=True, slots=True)
class IngestContext:
    """What planning a batch reads from storage besides the dedup index."""

    generation: tuple[int, int]  # see generation()
    known: dict[PostKey, tuple[Status, str, datetime | None]]  # stored keys of the batch: status, rule, edited_at
    dead: frozenset[PostKey]  # tombstoned keys of the batch
    standings: dict[str, set[tuple[str, str, str]]]  # authors.standings
    counts: dict[tuple[str, str], int]  # approved per author since counts_since ({} when not asked)
    videos: frozenset[str] = frozenset()  # of the video keys asked about, those some stored post carries


def ingest_context(conn: Connection, event_id: int, keys: Sequence[PostKey],
                   counts_since: datetime | None, video_keys: Sequence[str] = ()) -> IngestContext:
    from aggregator.storage.authors import standings  # authors imports this module

    wanted = set(keys)
    known: dict[PostKey, tuple[Status, str, datetime | None]] = {}
    ids = sorted({k.external_id for k in wanted})
    for part in _chunks(ids):
        for r in conn.execute(select(posts.c.platform, posts.c.external_id, posts.c.status, posts.c.status_rule,
                                     posts.c.edited_at)
                              .where(posts.c.event_id == event_id, posts.c.platform.in_(_platforms(keys)),
                                     posts.c.external_id.in_(part))):
            key = PostKey(Platform(r.platform), r.external_id)
            if key in wanted:
                known[key] = (Status(r.status), r.status_rule, r.edited_at)
    return IngestContext(
        generation=generation(conn),
        known=known,
        dead=frozenset(tombstoned_keys(conn, event_id, keys) & wanted),
        standings=standings(conn, event_id),
        counts=approved_counts_by_author(conn, event_id, counts_since) if counts_since is not None else {},
        videos=frozenset(conn.execute(
            select(media.c.video_key).join(posts, posts.c.id == media.c.post_id)
            .where(media.c.video_key.in_(sorted(set(video_keys))), posts.c.event_id == event_id)
        ).scalars()) if video_keys else frozenset(),
    )


def approved_counts_by_author(conn: Connection, event_id: int, since: datetime) -> dict[tuple[str, str], int]:
    """(platform, author external id) -> approved posts since `since` (for the per-author cap)."""
    rows = conn.execute(
        select(authors.c.platform, authors.c.external_id, func.count())
        .select_from(posts.join(authors, authors.c.id == posts.c.author_id))
        .where(posts.c.event_id == event_id, posts.c.status == Status.APPROVED.value, posts.c.created_at >= since)
        .group_by(authors.c.platform, authors.c.external_id)
    )
    return {(p, e): int(n) for p, e, n in rows}
