"""Mastodon: the hashtag timeline of one instance.

`GET {api_base}/api/v1/timelines/tag/<first tag>` with `any[]`/`all[]` for
the other tags (at most four), `none[]` for excluded #tags, `min_id` from the
cursor and `limit=40`. With `min_id` the instance returns the statuses just
after it, newest first; the Link header's rel="prev" carries the `min_id` of
the next newer page, which we follow (bounded per run) until caught up.

Cursor: `position` is the newest instance-local status id seen. Posts carry
the status `uri` as external_id (one identity across instances).
"""

from __future__ import annotations

import json
import logging
import re
import threading
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from datetime import datetime
from html import escape
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

from aggregator.pipeline.sanitise import clean_html, html_to_text
from aggregator.sources.base import AuthError, SourceContext, SourceError
from aggregator.sources.common import (
    Exclusions,
    Skips,
    arr,
    clamp_time,
    dedupe,
    id_newer,
    kind_of,
    max_pages,
    norm_tags,
    obj,
    opt_int,
    opt_str,
    parse_time,
    repost_post,
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

PAGE_LIMIT = 40
LOCAL_IDS_KEPT = 50_000
log = logging.getLogger("aggregator.sources.mastodon")


def _decode_positions(position: str | None) -> dict[str, str | None]:
    """A cursor's per-stream positions; a plain id (the tag timeline's) from older cursors."""
    if position and position.startswith("{"):
        try:
            data = json.loads(position)
        except ValueError:
            return {}
        return {str(k): (str(v) if v is not None else None) for k, v in data.items()} if isinstance(data, dict) else {}
    return {"tag": position} if position else {}


def _encode_positions(positions: dict[str, str | None]) -> str:
    return json.dumps({k: v for k, v in positions.items() if v}, sort_keys=True)
BACKFILL_PAGES = 25  # first poll: at most 1,000 older statuses back to the event's start
MAX_EXTRA_TAGS = 4
_LINK_PART = re.compile(r"<([^>]*)>\s*;\s*(.*)")
_HREF_RE = re.compile(r"""<a\s[^>]*href=["']([^"']+)["'][^>]*>""", re.IGNORECASE)
_CLASS_RE = re.compile(r"""class=["']([^"']*)["']""", re.IGNORECASE)


def parse_link_header(value: str) -> dict[str, str]:
    """RFC 8288 Link header -> {rel: url}."""
    out: dict[str, str] = {}
    for part in value.split(","):
        m = _LINK_PART.match(part.strip())
        if not m:
            continue
        url, params = m.group(1), m.group(2)
        for param in params.split(";"):
            key, _, val = param.strip().partition("=")
            if key.strip().lower() == "rel":
                for rel in val.strip().strip('"').split():
                    out.setdefault(rel.lower(), url)
    return out


def _link_param(url: str, name: str) -> str | None:
    values = parse_qs(urlsplit(url).query).get(name)
    return values[0] if values else None


_INVISIBLE = re.compile(r'<span class="invisible">[^<]*</span>')
_ELLIPSIS = re.compile(r'<span class="ellipsis">([^<]*)</span>')


def shorten_links(content: str) -> str:
    """Links as Mastodon shows them: the `invisible` parts dropped, the `ellipsis` part ending in "…".

    (The sanitiser drops class attributes, so this must happen before it.)
    """
    return _ELLIPSIS.sub(lambda m: m.group(1) + "\u2026", _INVISIBLE.sub("", content))


def poll_options(status: Mapping[str, Any]) -> list[str]:
    """A poll's option titles, in order (a poll is shown as its options)."""
    return [t for t in (text_of(obj(o).get("title")).strip() for o in arr(obj(status.get("poll")).get("options"))) if t]


def _outbound_links(content: str) -> tuple[str, ...]:
    """Links in status HTML that are not mentions or hashtags."""
    links: list[str] = []
    for m in _HREF_RE.finditer(content):
        tag = m.group(0)
        cls = _CLASS_RE.search(tag)
        classes = cls.group(1).split() if cls else []
        if "mention" in classes or "hashtag" in classes or "u-url" in classes:
            continue
        href = html_to_text(m.group(1))
        if href.startswith(("http://", "https://")):
            links.append(href)
    return dedupe(links)


def _media(item: Mapping[str, Any]) -> Media | None:
    kind = text_of(item.get("type"))
    url = opt_str(item.get("url")) or opt_str(item.get("remote_url"))
    if not url:
        return None
    meta = obj(obj(item.get("meta")).get("original"))
    width, height = opt_int(meta.get("width")), opt_int(meta.get("height"))
    alt = text_of(item.get("description"))
    preview = opt_str(item.get("preview_url"))
    if kind == "image":
        return Media(MediaKind.PHOTO, url, thumbnail_url=preview, alt_text=alt, width=width, height=height)
    if kind in ("video", "gifv"):
        return Media(MediaKind.VIDEO, url, thumbnail_url=preview, alt_text=alt, width=width, height=height)
    return None


def _domain(url: str) -> str:
    return (urlsplit(url).hostname or "").lower()


def _author(account: Mapping[str, Any], instance: str) -> Author:
    acct = text_of(account.get("acct")) or text_of(account.get("username"))
    profile = opt_str(account.get("url"))
    if acct and "@" not in acct:
        acct = f"{acct}@{_domain(profile) if profile else instance}"
    return Author(
        platform=Platform.MASTODON,
        external_id=profile or acct,
        handle=acct,
        name=text_of(account.get("display_name")) or text_of(account.get("username")) or acct,
        avatar_url=opt_str(account.get("avatar")),
        profile_url=profile,
        bot=bool(account.get("bot")),
    )


def status_to_post(status: Mapping[str, Any], now: datetime, base_url: str, *, depth: int = 0) -> Post | None:
    instance = _domain(base_url)
    uri = text_of(status.get("uri"))
    if not uri:
        return None
    author = _author(obj(status.get("account")), instance)
    url = text_of(status.get("url")) or uri
    created = clamp_time(parse_time(status.get("created_at")), now)
    edited = parse_time(status.get("edited_at"))
    reblog = obj(status.get("reblog"))
    if reblog and depth == 0:
        original = status_to_post(reblog, now, base_url, depth=1)
        if original is not None:
            return repost_post(original, platform=Platform.MASTODON, external_id=uri,
                               url=opt_str(status.get("url")) or original.url, author=author, created_at=created)
    content = text_of(status.get("content"))
    html = clean_html(shorten_links(content))
    text = html_to_text(content)  # full URLs: search and cross-post matching see the whole address
    options = poll_options(status)
    if options:
        html += "<p>" + "<br>".join(f"\u25ef {escape(o)}" for o in options) + "</p>"
        text = (text + "\n\n" if text else "") + "\n".join(f"\u25ef {o}" for o in options)
    media_items = [m for m in (_media(obj(a)) for a in arr(status.get("media_attachments"))) if m]
    links = list(_outbound_links(content))
    card_url = opt_str(obj(status.get("card")).get("url"))
    if card_url and card_url.startswith(("http://", "https://")):
        links.append(card_url)
    links_t = dedupe(links)
    media = with_videos(tuple(media_items), links_t)
    relations: list[Relation] = []
    reply_to = opt_str(status.get("in_reply_to_id"))
    if reply_to:
        # Only the instance-local id is in the payload; the parent's API URL names it uniquely.
        relations.append(Relation(RelationKind.REPLY, f"{base_url}/api/v1/statuses/{reply_to}"))
    quote = obj(status.get("quote"))
    quoted = obj(quote.get("quoted_status")) or (quote if quote.get("uri") else {})
    if quoted.get("uri"):
        relations.append(Relation(RelationKind.QUOTE, text_of(quoted.get("uri")), opt_str(quoted.get("url"))))
    return Post(
        platform=Platform.MASTODON,
        external_id=uri,
        url=url,
        author=author,
        created_at=created,
        text=text,
        html=html,
        kind=kind_of(media, links_t),
        language=opt_str(status.get("language")),
        media=media,
        hashtags=norm_tags(text_of(obj(t).get("name")) for t in arr(status.get("tags"))),
        links=links_t,
        relations=tuple(relations),
        sensitive=bool(status.get("sensitive")),
        spoiler_text=html_to_text(text_of(status.get("spoiler_text"))),
        edited_at=edited,
    )


class MastodonCollector:
    """One instance's hashtag timeline."""

    def __init__(self, ctx: SourceContext, *, limits: HttpLimits | None = None) -> None:
        self.ctx = ctx
        self.settings = ctx.settings
        tags = [t.strip().lstrip("#") for t in ctx.hashtags if t.strip().lstrip("#")]
        if not tags:
            raise SourceError("a Mastodon source needs at least one hashtag")
        self.tags = tags
        self.http = HttpClient(
            ctx.user_agent,
            limits=limits or HttpLimits.from_params(self.settings.params),
            clock=ctx.clock,
            policy=ctx.fetch_policy,
        )
        self.instance = _domain(self.settings.base_url)
        self.url = f"{self.settings.base_url}/api/v1/timelines/tag/{quote(tags[0].lower(), safe='')}"
        self.exclusions = Exclusions(self.settings)
        self.max_pages = max_pages(self.settings)
        token = ctx.credentials.get("access_token", "")
        self.headers = {"Authorization": f"Bearer {token}"} if token else {}
        self._account_ids: dict[str, str] = {}  # acct -> this instance's account id (looked up once)
        # This instance's status id -> status uri, for streamed deletions (their payload is the local id).
        self.local_ids: OrderedDict[str, str] = OrderedDict()
        self._ids_lock = threading.Lock()  # the poller and the stream both note ids

    def remember(self, status: Mapping[str, Any]) -> None:
        """Note a status's local id and uri (bounded: the oldest are forgotten first)."""
        sid, uri = text_of(status.get("id")), text_of(status.get("uri"))
        if sid and uri:
            with self._ids_lock:
                self.local_ids[sid] = uri
                self.local_ids.move_to_end(sid)
                while len(self.local_ids) > LOCAL_IDS_KEPT:
                    self.local_ids.popitem(last=False)

    def uri_of(self, local_id: str) -> str | None:
        """The uri of a status this collector or its stream has seen, by this instance's id."""
        with self._ids_lock:
            return self.local_ids.get(local_id)

    def _params(self, min_id: str | None, max_id: str | None = None) -> list[tuple[str, str]]:
        params: list[tuple[str, str]] = []
        extra = [t.lower() for t in self.tags[1 : 1 + MAX_EXTRA_TAGS]]
        key = "all[]" if self.settings.match == "all" else "any[]"
        params += [(key, t) for t in extra]
        none = [w.lstrip("#").lower() for w in self.settings.exclude_words if w.startswith("#")]
        params += [("none[]", t) for t in none[:MAX_EXTRA_TAGS]]
        for flag in ("local", "remote", "only_media"):
            if self.settings.params.get(flag):
                params.append((flag, "true"))
        params.append(("limit", str(PAGE_LIMIT)))
        if min_id:
            params.append(("min_id", min_id))
        if max_id:
            params.append(("max_id", max_id))
        return params

    def _get(self, min_id: str | None, max_id: str | None = None) -> HttpResponse:
        try:
            return self.http.get(self.url, params=self._params(min_id, max_id), headers=self.headers)
        except AuthError as exc:
            if self.headers:
                raise AuthError(
                    f"{self.instance} refused the access token ({exc}): check credentials.access_token"
                ) from None
            raise AuthError(
                f"{self.instance} requires sign-in for hashtag timelines ({exc}): "
                "set credentials.access_token to a token with read:statuses"
            ) from None

    def fetch(self, cursor: Cursor) -> FetchResult:
        """The tag timeline, then each followed account's statuses, each from its own cursor.

        With no accounts the cursor is the tag timeline's newest id (as it always was); with
        accounts it is JSON: {"tag": id, "@user@host": id, ...}.
        """
        now = self.ctx.clock()
        positions = _decode_positions(cursor.position)
        posts, newest, requests_made = self._fetch_tag(positions.get("tag"), now)
        positions["tag"] = newest
        for acct in self.settings.accounts:
            got, acct_newest, n = self._fetch_account(acct, positions.get("@" + acct), now)
            posts += got
            requests_made += n
            positions["@" + acct] = acct_newest
        skips = Skips()
        kept = skips.screen(posts, self.exclusions)
        position = _encode_positions(positions) if self.settings.accounts else positions.get("tag")
        return FetchResult(posts=kept, cursor=Cursor(position=position), requests=requests_made,
                           skipped=skips.result())

    def _fetch_account(self, acct: str, min_id: str | None, now: datetime) -> tuple[list[Post], str | None, int]:
        """A followed account's own statuses (and boosts) during the event, hashtag or not."""
        made = 0
        account_id = self._account_ids.get(acct)
        if account_id is None:
            resp = self.http.get(f"{self.settings.base_url}/api/v1/accounts/lookup", params={"acct": acct},
                                 headers=self.headers, check=False)
            made += 1
            if resp.status == 404:
                log.info("mastodon.account_unknown instance=%s acct=%s", self.instance, acct)
                return [], min_id, made
            check_status(resp, now)
            account_id = text_of(resp.json_object().get("id"))
            if not account_id:
                raise SourceError(f"malformed JSON from {self.instance}: account lookup without an id")
            self._account_ids[acct] = account_id
        url = f"{self.settings.base_url}/api/v1/accounts/{account_id}/statuses"
        start = self.ctx.event_start
        posts: list[Post] = []
        newest = min_id
        for _ in range(self.max_pages):
            params: list[tuple[str, str]] = [("limit", str(PAGE_LIMIT))]
            if newest:
                params.append(("min_id", newest))
            resp = self.http.get(url, params=params, headers=self.headers)
            made += 1
            data = resp.json()
            if not isinstance(data, list):
                raise SourceError(f"malformed JSON from {self.instance}: expected a list of statuses")
            for raw in data:
                status = obj(raw)
                sid = text_of(status.get("id"))
                if sid and id_newer(sid, newest):
                    newest = sid
                self.remember(status)
                post = status_to_post(status, now, self.settings.base_url)
                if post is not None and (start is None or post.created_at >= start):
                    posts.append(post)
            if min_id is None or len(data) < PAGE_LIMIT:
                break  # first poll: the newest page is enough before the event; or caught up
        return posts, newest, made

    def _fetch_tag(self, cursor_id: str | None, now: datetime) -> tuple[list[Post], str | None, int]:
        newest = cursor_id
        min_id = cursor_id
        posts: list[Post] = []
        requests_made = 0
        for _ in range(self.max_pages):
            resp = self._get(min_id)
            requests_made += 1
            data = resp.json()
            if not isinstance(data, list):
                raise SourceError(f"malformed JSON from {self.instance}: expected a list of statuses")
            page: list[Post] = []
            page_newest: str | None = None
            for raw in data:
                status = obj(raw)
                sid = text_of(status.get("id"))
                if sid and id_newer(sid, page_newest):
                    page_newest = sid
                self.remember(status)
                post = status_to_post(status, now, self.settings.base_url)
                if post is not None:
                    page.append(post)
            if page_newest and id_newer(page_newest, newest):
                newest = page_newest
            posts.extend(page)
            if not data:
                break
            if min_id is None:
                # First poll: nothing newer to follow; go back through the event so far instead.
                older, n = self._backfill(resp, page, now)
                posts.extend(older)
                requests_made += n
                break
            prev = parse_link_header(resp.headers.get("link", "")).get("prev")
            next_min = (_link_param(prev, "min_id") if prev else None) or page_newest
            if not next_min or next_min == min_id or len(data) < PAGE_LIMIT:
                break
            min_id = next_min
        return posts, newest, requests_made

    def check_deleted(self, external_ids: Sequence[str]) -> list[str]:
        """Statuses that originate on this instance are looked up by their local id (the tail of
        their uri); a 404 means deleted. Statuses from other instances are left to their own
        sources (this instance may not hear of a remote deletion at once)."""
        gone: list[str] = []
        base = self.settings.base_url.rstrip("/") + "/"
        for uri in external_ids:
            if not uri.startswith(base):
                continue
            local_id = uri.rstrip("/").rsplit("/", 1)[-1]
            if not local_id.isdigit():
                continue
            resp = self.http.get(f"{self.settings.base_url}/api/v1/statuses/{local_id}", headers=self.headers,
                                 check=False)
            if resp.status == 404:
                gone.append(uri)
            else:
                check_status(resp, self.ctx.clock())
        return gone

    def _backfill(self, resp: HttpResponse, page: list[Post], now: datetime) -> tuple[list[Post], int]:
        """Older pages (Link rel="next", max_id) back to the event's start, within BACKFILL_PAGES."""
        start = self.ctx.event_start
        older: list[Post] = []
        made = 0
        oldest = min((p.created_at for p in page), default=None)
        while made < BACKFILL_PAGES and start is not None and oldest is not None and oldest > start:
            nxt = parse_link_header(resp.headers.get("link", "")).get("next")
            max_id = _link_param(nxt, "max_id") if nxt else None
            if not max_id:
                break
            resp = self._get(None, max_id)
            made += 1
            data = resp.json()
            if not isinstance(data, list) or not data:
                break
            got = [p for p in (status_to_post(obj(raw), now, self.settings.base_url) for raw in data) if p]
            older.extend(p for p in got if p.created_at >= start)
            oldest = min((p.created_at for p in got), default=None)
        return older, made

    def close(self) -> None:
        self.http.close()
