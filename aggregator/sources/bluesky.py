"""Bluesky: app.bsky.feed.searchPosts with a logged-in session.

The session is created once (handle + app password), its tokens kept in
memory; an ExpiredToken answer triggers refreshSession, and only if that fails
do we log in again (createSession is limited to 30 per 5 minutes).

One search per query: match="all" -> q="#first" with every tag as `tag`
(the API ANDs repeated tags); match="any" -> one search per hashtag; plus one
per keyword and one `from:<account>` per account.

Cursor: `position` is the newest sort time seen (the earlier of createdAt and
indexedAt, ISO-8601 UTC). The next run asks for `since` = that minus a small
overlap, so late-indexed posts are not missed; re-delivered posts are
idempotent downstream. searchPosts' own `cursor` only pages within a run.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import quote

from aggregator.pipeline.sanitise import Span, byte_span_to_chars, text_to_html
from aggregator.sources.base import AuthError, SourceContext, SourceError
from aggregator.sources.common import (
    Exclusions,
    Skips,
    arr,
    clamp_time,
    dedupe,
    format_utc,
    is_web_url,
    kind_of,
    max_pages,
    norm_tags,
    obj,
    opt_int,
    opt_str,
    parse_time,
    text_of,
)
from aggregator.sources.http import HttpClient, HttpLimits, HttpResponse, check_status
from aggregator.sources.video import with_videos
from aggregator.types import (
    Author,
    Cursor,
    FetchResult,
    Media,
    MediaKind,
    Platform,
    Post,
    Relation,
    RelationKind,
)

WEB = "https://bsky.app"
PAGE_LIMIT = 100
OVERLAP = timedelta(minutes=2)
SENSITIVE_LABELS = frozenset({"porn", "sexual", "nudity", "graphic-media", "gore", "nsfl"})
_EXPIRED = frozenset({"ExpiredToken", "InvalidToken"})


def rkey_of(uri: str) -> str:
    return uri.rstrip("/").rsplit("/", 1)[-1]


def did_of(uri: str) -> str:
    rest = uri.removeprefix("at://")
    return rest.split("/", 1)[0]


def post_web_url(uri: str, handle: str | None) -> str:
    who = handle if handle and handle != "handle.invalid" else did_of(uri)
    return f"{WEB}/profile/{who}/post/{rkey_of(uri)}"


def _author(author: Mapping[str, Any]) -> Author:
    did = text_of(author.get("did"))
    handle = text_of(author.get("handle")) or did
    who = handle if handle and handle != "handle.invalid" else did
    return Author(
        platform=Platform.BLUESKY,
        external_id=did or handle,
        handle=handle,
        name=text_of(author.get("displayName")) or handle,
        avatar_url=opt_str(author.get("avatar")),
        profile_url=f"{WEB}/profile/{who}" if who else None,
    )


def facet_spans(text: str, facets: Any) -> tuple[list[Span], list[str], list[str]]:
    """Facets (UTF-8 byte offsets) -> character spans, link URIs and tags."""
    spans: list[Span] = []
    links: list[str] = []
    tags: list[str] = []
    for facet in arr(facets):
        facet = obj(facet)
        index = obj(facet.get("index"))
        bs, be = opt_int(index.get("byteStart")), opt_int(index.get("byteEnd"))
        chars = byte_span_to_chars(text, bs, be) if bs is not None and be is not None else None
        for feature in arr(facet.get("features")):
            feature = obj(feature)
            ftype = text_of(feature.get("$type"))
            if ftype.endswith("#link"):
                uri = text_of(feature.get("uri"))
                if is_web_url(uri):
                    links.append(uri)
                    if chars:
                        spans.append(Span(chars[0], chars[1], "link", uri))
            elif ftype.endswith("#tag"):
                tag = text_of(feature.get("tag")).lstrip("#")
                if tag:
                    tags.append(tag)
                    if chars:
                        spans.append(Span(chars[0], chars[1], "tag", f"{WEB}/hashtag/{quote(tag, safe='')}"))
            elif ftype.endswith("#mention"):
                did = text_of(feature.get("did"))
                if did and chars:
                    spans.append(Span(chars[0], chars[1], "mention", f"{WEB}/profile/{quote(did, safe=':')}"))
    return spans, links, tags


def _images(view: Mapping[str, Any]) -> list[Media]:
    out: list[Media] = []
    for img in arr(view.get("images")):
        img = obj(img)
        full = opt_str(img.get("fullsize")) or opt_str(img.get("thumb"))
        if not full:
            continue
        ratio = obj(img.get("aspectRatio"))
        out.append(
            Media(
                MediaKind.PHOTO,
                full,
                thumbnail_url=opt_str(img.get("thumb")),
                alt_text=text_of(img.get("alt")),
                width=opt_int(ratio.get("width")),
                height=opt_int(ratio.get("height")),
            )
        )
    return out


def _video(view: Mapping[str, Any]) -> list[Media]:
    playlist = opt_str(view.get("playlist"))
    if not playlist:
        return []
    ratio = obj(view.get("aspectRatio"))
    return [
        Media(
            MediaKind.VIDEO,
            playlist,
            thumbnail_url=opt_str(view.get("thumbnail")),
            alt_text=text_of(view.get("alt")),
            width=opt_int(ratio.get("width")),
            height=opt_int(ratio.get("height")),
        )
    ]


def _record_relation(record_view: Mapping[str, Any]) -> Relation | None:
    """app.bsky.embed.record#view -> a QUOTE relation to the embedded post."""
    rec = obj(record_view.get("record"))
    uri = text_of(rec.get("uri"))
    if not uri or "/app.bsky.feed.post/" not in uri:
        return None  # lists, feeds, starter packs are not quotes
    handle = opt_str(obj(rec.get("author")).get("handle"))
    return Relation(RelationKind.QUOTE, uri, post_web_url(uri, handle))


def embed_parts(embed: Any) -> tuple[list[Media], list[str], list[Relation]]:
    """Media, links and quote relations of an embed view."""
    embed = obj(embed)
    etype = text_of(embed.get("$type"))
    if etype.startswith("app.bsky.embed.images"):
        return _images(embed), [], []
    if etype.startswith("app.bsky.embed.video"):
        return _video(embed), [], []
    if etype.startswith("app.bsky.embed.external"):
        uri = text_of(obj(embed.get("external")).get("uri"))
        return [], [uri] if is_web_url(uri) else [], []
    if etype.startswith("app.bsky.embed.recordWithMedia"):
        media, links, _ = embed_parts(embed.get("media"))
        rel = _record_relation(obj(embed.get("record")))
        return media, links, [rel] if rel else []
    if etype.startswith("app.bsky.embed.record"):
        rel = _record_relation(embed)
        return [], [], [rel] if rel else []
    return [], [], []


def sort_time(post: Mapping[str, Any], now: datetime) -> datetime | None:
    created = parse_time(obj(post.get("record")).get("createdAt"))
    indexed = parse_time(post.get("indexedAt"))
    times = [t for t in (created, indexed) if t is not None]
    if not times:
        return None
    return min(min(times), now)


def post_view_to_post(view: Mapping[str, Any], now: datetime) -> Post | None:
    uri = text_of(view.get("uri"))
    record = obj(view.get("record"))
    if not uri or not record:
        return None
    author = _author(obj(view.get("author")))
    text = text_of(record.get("text"))
    spans, facet_links, facet_tags = facet_spans(text, record.get("facets"))
    media, embed_links, relations = embed_parts(view.get("embed"))
    links = dedupe([*facet_links, *embed_links])
    media_t = with_videos(tuple(media), links)
    reply = obj(record.get("reply"))
    parent_uri = text_of(obj(reply.get("parent")).get("uri"))
    rels: list[Relation] = []
    if parent_uri:
        rels.append(Relation(RelationKind.REPLY, parent_uri, post_web_url(parent_uri, None)))
    rels.extend(relations)
    labels = {text_of(obj(label).get("val")) for label in arr(view.get("labels"))}
    labels |= {text_of(obj(v).get("val")) for v in arr(obj(record.get("labels")).get("values"))}
    langs = [text_of(lang) for lang in arr(record.get("langs")) if text_of(lang)]
    created = parse_time(record.get("createdAt")) or parse_time(view.get("indexedAt"))
    return Post(
        platform=Platform.BLUESKY,
        external_id=uri,
        url=post_web_url(uri, author.handle),
        author=author,
        created_at=clamp_time(created, now),
        text=text,
        html=text_to_html(text, spans),
        kind=kind_of(media_t, links),
        language=langs[0] if langs else None,
        media=media_t,
        hashtags=norm_tags([*facet_tags, *(text_of(t) for t in arr(record.get("tags")))]),
        links=links,
        relations=tuple(rels),
        sensitive=bool(labels & SENSITIVE_LABELS),
    )


class BlueskyCollector:
    """searchPosts for the event's tags, keywords and accounts, with one long-lived session."""

    def __init__(self, ctx: SourceContext, *, limits: HttpLimits | None = None) -> None:
        self.ctx = ctx
        self.settings = ctx.settings
        self.identifier = ctx.credentials.get("identifier", "")
        self.password = ctx.credentials.get("app_password", "")
        if not self.identifier or not self.password:
            raise AuthError("Bluesky needs credentials.identifier (handle) and credentials.app_password")
        self.http = HttpClient(
            ctx.user_agent,
            limits=limits or HttpLimits.from_params(self.settings.params),
            clock=ctx.clock,
            policy=ctx.fetch_policy,
        )
        self.base = self.settings.base_url
        self.access_jwt: str | None = None
        self.refresh_jwt: str | None = None
        self.exclusions = Exclusions(self.settings)
        self.max_pages = max_pages(self.settings)
        self.queries = self._queries()

    def _queries(self) -> list[tuple[str, list[str]]]:
        tags = [t.strip().lstrip("#") for t in self.ctx.hashtags if t.strip().lstrip("#")]
        out: list[tuple[str, list[str]]] = []
        if tags:
            if self.settings.match == "all":
                out.append((f"#{tags[0]}", tags))
            else:
                out.extend((f"#{t}", [t]) for t in tags)
        out.extend((k.strip(), []) for k in self.settings.keywords if k.strip())
        out.extend((f"from:{a.strip().lstrip('@')}", []) for a in self.settings.accounts if a.strip())
        if not out:
            raise SourceError("a Bluesky source needs hashtags, keywords or accounts to search for")
        return out

    # -- session -------------------------------------------------------------------------------

    def _xrpc(self, method: str) -> str:
        return f"{self.base}/xrpc/{method}"

    def _store_session(self, resp: HttpResponse) -> None:
        data = resp.json_object()
        access, refresh = opt_str(data.get("accessJwt")), opt_str(data.get("refreshJwt"))
        if not access or not refresh:
            raise SourceError("malformed session from Bluesky: no accessJwt/refreshJwt")
        self.access_jwt, self.refresh_jwt = access, refresh

    def login(self) -> None:
        resp = self.http.request(
            "POST",
            self._xrpc("com.atproto.server.createSession"),
            json_body={"identifier": self.identifier, "password": self.password},
            check=False,
        )
        if resp.status in (400, 401):
            code = resp.error_code() or f"HTTP {resp.status}"
            raise AuthError(f"Bluesky login failed for {self.identifier} ({code}): check the handle and app password")
        check_status(resp, self.ctx.clock())
        self._store_session(resp)

    def _refresh(self) -> bool:
        if not self.refresh_jwt:
            return False
        resp = self.http.request(
            "POST",
            self._xrpc("com.atproto.server.refreshSession"),
            headers={"Authorization": f"Bearer {self.refresh_jwt}"},
            check=False,
        )
        if resp.status in (400, 401):
            self.access_jwt = self.refresh_jwt = None
            return False
        check_status(resp, self.ctx.clock())
        self._store_session(resp)
        return True

    def check_deleted(self, external_ids: Sequence[str]) -> list[str]:
        """getPosts answers only for posts that still exist: the missing at:// uris are gone."""
        gone: list[str] = []
        uris = [u for u in external_ids if u.startswith("at://")]
        for start in range(0, len(uris), 25):
            chunk = uris[start : start + 25]
            data = self._authed_get("app.bsky.feed.getPosts", [("uris", u) for u in chunk]).json_object()
            posts = data.get("posts")
            if not isinstance(posts, list):
                raise SourceError("malformed JSON from Bluesky getPosts: no posts list")
            found = {p.get("uri") for p in posts if isinstance(p, dict)}
            gone += [u for u in chunk if u not in found]
        return gone

    def hydrate(self, uris: Sequence[str]) -> dict[str, Post]:
        """Posts by at:// uri through getPosts (what the polling translation reads); absent ones left out."""
        now = self.ctx.clock()
        out: dict[str, Post] = {}
        for start in range(0, len(uris), 25):
            chunk = list(uris[start : start + 25])
            data = self._authed_get("app.bsky.feed.getPosts", [("uris", u) for u in chunk]).json_object()
            for raw in arr(data.get("posts")):
                post = post_view_to_post(obj(raw), now)
                if post is not None:
                    out[post.external_id] = post
        return out

    def resolve_did(self, handle: str) -> str | None:
        """An account's DID (Jetstream names authors by DID); None when the handle is unknown."""
        handle = handle.strip().lstrip("@")
        if handle.startswith("did:"):
            return handle
        resp = self.http.get(self._xrpc("com.atproto.identity.resolveHandle"), params={"handle": handle},
                             check=False)
        if resp.status == 400:
            return None
        check_status(resp, self.ctx.clock())
        return opt_str(resp.json_object().get("did"))

    def _search(self, params: list[tuple[str, str]]) -> HttpResponse:
        return self._authed_get("app.bsky.feed.searchPosts", params)

    def _authed_get(self, method: str, params: list[tuple[str, str]]) -> HttpResponse:
        if self.access_jwt is None:
            self.login()
        for attempt in range(2):
            resp = self.http.get(
                self._xrpc(method),
                params=params,
                headers={"Authorization": f"Bearer {self.access_jwt}"},
                check=False,
            )
            expired = resp.status in (400, 401) and resp.error_code() in _EXPIRED
            if not expired or attempt == 1:
                return check_status(resp, self.ctx.clock())
            if not self._refresh():
                self.login()
        raise AssertionError("unreachable")

    # -- fetch ---------------------------------------------------------------------------------

    def _since(self, cursor: Cursor) -> str | None:
        seen = parse_time(cursor.position)
        if seen is not None:
            return format_utc(seen - OVERLAP)
        if self.ctx.event_start is not None:
            return format_utc(self.ctx.event_start)
        return None

    def fetch(self, cursor: Cursor) -> FetchResult:
        now = self.ctx.clock()
        since = self._since(cursor)
        newest = parse_time(cursor.position)
        found: dict[str, Post] = {}
        requests_before = self.http.requests_made
        limit = max(1, min(PAGE_LIMIT, int(self.settings.params.get("limit", PAGE_LIMIT))))
        for q, tags in self.queries:
            page_cursor: str | None = None
            for _ in range(self.max_pages):
                params: list[tuple[str, str]] = [("q", q), ("sort", "latest"), ("limit", str(limit))]
                params += [("tag", t) for t in tags]
                if since:
                    params.append(("since", since))
                if page_cursor:
                    params.append(("cursor", page_cursor))
                data = self._search(params).json_object()
                views = arr(data.get("posts"))
                for raw in views:
                    view = obj(raw)
                    post = post_view_to_post(view, now)
                    if post is None:
                        continue
                    found.setdefault(post.external_id, post)
                    t = sort_time(view, now)
                    if t is not None and (newest is None or t > newest):
                        newest = t
                page_cursor = opt_str(data.get("cursor"))
                if not page_cursor or not views:
                    break
        position = newest.isoformat().replace("+00:00", "Z") if newest else cursor.position
        skips = Skips()
        kept = skips.screen(found.values(), self.exclusions)
        return FetchResult(
            posts=kept, cursor=Cursor(position=position), requests=self.http.requests_made - requests_before,
            skipped=skips.result(),
        )

    def close(self) -> None:
        self.http.close()
