"""Atom/RSS: Flickr photo feeds, YouTube video feeds and any other feed.

Fetched with the bounded client (conditional GET from the cursor's ETag /
Last-Modified; 304 -> not_modified), checked for entity declarations before
any XML parser sees the bytes (billion laughs, quadratic blow-up, external
entities are refused outright), then parsed by feedparser from memory.

Cursor: `etag` and `last_modified` from the last 200 answer; `position` is the
newest entry time seen (informational: feeds are re-read whole and dedup makes
re-delivery idempotent).
"""

from __future__ import annotations

import calendar
import contextlib
import hashlib
import html as html_lib
import re
import time
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from io import BytesIO
from typing import Any
from urllib.parse import urlencode

import feedparser

from aggregator.pipeline.sanitise import clean_html, find_spans, html_to_text, text_to_html
from aggregator.sources.base import SourceContext, SourceError
from aggregator.sources.common import (
    Exclusions,
    clamp_time,
    dedupe,
    kind_of,
    norm_tags,
    opt_int,
    opt_str,
    text_of,
)
from aggregator.sources.http import HttpClient, HttpLimits, HttpResponse, display_url
from aggregator.sources.video import with_videos, youtube_media
from aggregator.types import Author, Cursor, FetchResult, Media, MediaKind, Platform, Post, PostKind

MAX_ENTRIES = 500
_ENTITY_DECL = re.compile(rb"<!\s*ENTITY", re.IGNORECASE)
_DOCTYPE_SUBSET = re.compile(rb"<!\s*DOCTYPE[^>\[]*\[", re.IGNORECASE)
_HREF = re.compile(r'<a [^>]*href="([^"]+)"')
_HASHTAG = re.compile(r"(?<![\w&/#])#(\w{1,100})")


def reject_unsafe_xml(body: bytes, url: str) -> None:
    """Refuse documents that declare entities or an internal DTD subset, before parsing."""
    candidates = [body]
    if body.startswith((b"\xff\xfe", b"\xfe\xff")) or body[:4] in (b"<\x00?\x00", b"\x00<\x00?"):
        for enc in ("utf-16",) if body[:2] in (b"\xff\xfe", b"\xfe\xff") else ("utf-16-le", "utf-16-be"):
            with contextlib.suppress(LookupError, ValueError):
                candidates.append(body.decode(enc, errors="ignore").encode("utf-8"))
    elif body.startswith((b"\x00\x00\xfe\xff", b"\xff\xfe\x00\x00")):
        candidates.append(body.decode("utf-32", errors="ignore").encode("utf-8"))
    for data in candidates:
        if _ENTITY_DECL.search(data) or _DOCTYPE_SUBSET.search(data):
            raise SourceError(
                f"refused feed from {display_url(url)}: it declares XML entities or a DTD subset "
                "(possible entity-expansion or external-entity attack)"
            )


def parse_feed(body: bytes, url: str, content_type: str = "") -> Any:
    """feedparser's result for a checked body; SourceError if it is not a feed at all."""
    reject_unsafe_xml(body, url)
    headers = {"content-location": url}
    headers["content-type"] = content_type or "application/xml"
    parsed = feedparser.parse(BytesIO(body), response_headers=headers)
    entries = parsed.get("entries") or []
    if not parsed.get("version") and not entries:
        problem = parsed.get("bozo_exception")
        detail = f" ({type(problem).__name__}: {problem})" if parsed.get("bozo") and problem else ""
        raise SourceError(f"not a feed: {display_url(url)} gave no RSS/Atom entries{detail}")
    return parsed


def _when(entry: Mapping[str, Any]) -> datetime | None:
    for key in ("published_parsed", "updated_parsed", "created_parsed"):
        value = entry.get(key)
        if isinstance(value, time.struct_time):
            try:
                return datetime.fromtimestamp(calendar.timegm(value), UTC)
            except (OverflowError, OSError, ValueError):
                continue
    return None


def _entry_html(entry: Mapping[str, Any]) -> tuple[str, str]:
    """(safe html, plain text) of an entry's content or summary."""
    contents = entry.get("content") or []
    detail: Mapping[str, Any] = {}
    if contents and isinstance(contents, list):
        detail = contents[0]
    elif isinstance(entry.get("summary_detail"), Mapping):
        detail = entry["summary_detail"]
    value = text_of(detail.get("value")) or text_of(entry.get("summary"))
    if not value:
        return "", ""
    if text_of(detail.get("type")) == "text/plain":
        return text_to_html(value), value.strip()
    html = clean_html(value)
    return html, html_to_text(html)


def _tags(entry: Mapping[str, Any]) -> list[str]:
    out: list[str] = []
    for tag in entry.get("tags") or []:
        term = text_of(tag.get("term")) if isinstance(tag, Mapping) else ""
        # Flickr RSS puts every tag into one space-separated media:category.
        out.extend(t for t in term.split() if t)
    return out


def _author(entry: Mapping[str, Any], feed: Mapping[str, Any], platform: Platform) -> Author:
    detail = entry.get("author_detail") if isinstance(entry.get("author_detail"), Mapping) else {}
    assert isinstance(detail, Mapping)
    name = text_of(detail.get("name")) or text_of(entry.get("author")) or text_of(feed.get("title")) or "unknown"
    # Flickr RSS: nobody@flickr.com ("name")
    m = re.match(r"^\S+@\S+\s+\((.*)\)$", name)
    if m:
        name = m.group(1)
    name = name.strip().strip('"').strip() or "unknown"
    href = opt_str(detail.get("href"))
    if href is None and platform is Platform.FLICKR:
        # https://www.flickr.com/photos/<user>/<photo id>/ -> the photographer's photostream
        fm = re.match(r"^(https?://[^/]+/photos/[^/]+/)", text_of(entry.get("link")))
        href = fm.group(1) if fm else None
    if href is None and platform is not Platform.FLICKR:
        href = opt_str(feed.get("link"))
    ext = text_of(entry.get("yt_channelid")) or text_of(entry.get("flickr_nsid")) or href or name
    avatar = opt_str(entry.get("flickr_buddyicon"))
    return Author(platform=platform, external_id=ext, handle=name, name=name, avatar_url=avatar, profile_url=href)


def _entry_id(entry: Mapping[str, Any]) -> str:
    ident = text_of(entry.get("id")) or text_of(entry.get("link"))
    if ident:
        return ident
    digest = hashlib.sha256(
        (text_of(entry.get("title")) + "\n" + text_of(entry.get("summary"))).encode("utf-8", "replace")
    ).hexdigest()
    return f"sha256:{digest[:32]}"


def _media_of(entry: Mapping[str, Any]) -> list[Media]:
    """Photos and videos from enclosures and Media RSS."""
    thumbs = [opt_str(t.get("url")) for t in entry.get("media_thumbnail") or [] if isinstance(t, Mapping)]
    thumb = next((t for t in thumbs if t), None)
    out: list[Media] = []
    seen: set[str] = set()
    candidates: list[tuple[str, str, int | None, int | None]] = []
    for mc in entry.get("media_content") or []:
        if isinstance(mc, Mapping) and opt_str(mc.get("url")):
            mtype = text_of(mc.get("type")) or text_of(mc.get("medium"))
            candidates.append((mc["url"], mtype, _int(mc.get("width")), _int(mc.get("height"))))
    for enc in entry.get("enclosures") or []:
        if isinstance(enc, Mapping) and opt_str(enc.get("href")):
            candidates.append((enc["href"], text_of(enc.get("type")), None, None))
    for url, mtype, width, height in candidates:
        if url in seen or not url.startswith(("http://", "https://")):
            continue
        if mtype.startswith("image") or mtype == "image":
            kind = MediaKind.PHOTO
        elif mtype.startswith("video") or mtype == "video":
            kind = MediaKind.VIDEO
        else:
            continue
        seen.add(url)
        out.append(Media(kind, url, thumbnail_url=thumb, width=width, height=height))
    return out


def _unescape_attr(value: str) -> str:
    return html_lib.unescape(value)


def _int(value: Any) -> int | None:
    if isinstance(value, str) and value.isdigit():
        return int(value)
    return opt_int(value)


def _flickr_thumb(url: str) -> str | None:
    m = re.match(r"^(.*)_[a-z]\.(jpg|jpeg|png|gif)$", url, re.IGNORECASE)
    return f"{m.group(1)}_m.{m.group(2)}" if m else None


def _flickr_description(text: str) -> str:
    paragraphs = [p.strip() for p in text.split("\n\n")]
    kept = [p for p in paragraphs if p and not re.search(r"posted (a|an) (photo|video|image):?$", p)]
    return "\n\n".join(kept)


def entry_to_post(entry: Mapping[str, Any], feed: Mapping[str, Any], platform: Platform, now: datetime) -> Post:
    title = html_to_text(text_of(entry.get("title")))
    link = opt_str(entry.get("link"))
    external_id = _entry_id(entry)
    html, text = _entry_html(entry)
    author = _author(entry, feed, platform)
    created = clamp_time(_when(entry), now)
    lang = opt_str(entry.get("language")) or opt_str(feed.get("language"))
    language = lang.split("-")[0].lower() if lang else None
    tags = _tags(entry)
    media: list[Media] = []
    links: list[str] = []
    kind: PostKind
    if platform is Platform.YOUTUBE:
        vid = text_of(entry.get("yt_videoid")) or external_id.removeprefix("yt:video:")
        media = [youtube_media(vid, title=title)]
        link = link or media[0].url
        description = text_of(entry.get("media_description")) or text or ""
        text = description.strip()
        html = text_to_html(text, hashtag_url=lambda tag: f"https://www.youtube.com/hashtag/{tag.lower()}")
        kind = PostKind.VIDEO
    elif platform is Platform.FLICKR:
        media = _media_of(entry)
        text = _flickr_description(text)
        html = text_to_html(text)
        photos = [m for m in media if m.kind is MediaKind.PHOTO]
        if photos and not photos[0].thumbnail_url:
            media = [
                Media(m.kind, m.url, thumbnail_url=_flickr_thumb(m.url), alt_text=title, width=m.width, height=m.height)
                if m.kind is MediaKind.PHOTO
                else m
                for m in media
            ]
        else:
            media = [
                Media(m.kind, m.url, m.thumbnail_url, title, m.embed_url, m.video_key, m.width, m.height) for m in media
            ]
        kind = PostKind.PHOTO if media else PostKind.LINK
    else:
        media = _media_of(entry)
        if link:
            links.append(link)
        links.extend(_unescape_attr(m.group(1)) for m in _HREF.finditer(html))
        links.extend(s.href for s in find_spans(text) if s.kind == "link")
        kind = kind_of(media, links)
    links_t = dedupe(links)
    media_t = with_videos(tuple(media), links_t if platform is Platform.FEED else ())
    hashtags = norm_tags([*tags, *(m.group(1) for m in _HASHTAG.finditer(text) if not m.group(1).isdigit())])
    return Post(
        platform=platform,
        external_id=external_id,
        url=link or external_id,
        author=author,
        created_at=created,
        text=text or title,
        html=html or text_to_html(title),
        kind=kind,
        language=language,
        media=media_t,
        hashtags=hashtags,
        links=links_t,
        title=title,
    )


def _matches(post: Post, tags: Sequence[str], match: str) -> bool:
    have = set(post.hashtags)
    wanted = [t.lower() for t in tags]
    hay = f"{post.title}\n{post.text}".lower()
    hits = [t in have or f"#{t}" in hay for t in wanted]
    return all(hits) if match == "all" else any(hits)


class FeedCollector:
    """One feed URL: Flickr tags, a YouTube channel/playlist, or any RSS/Atom (params.url)."""

    def __init__(self, ctx: SourceContext, *, limits: HttpLimits | None = None) -> None:
        self.ctx = ctx
        self.settings = ctx.settings
        self.platform = {"flickr": Platform.FLICKR, "youtube": Platform.YOUTUBE}.get(self.settings.kind, Platform.FEED)
        self.url = self.feed_url()
        self.http = HttpClient(
            ctx.user_agent,
            limits=limits or HttpLimits.from_params(self.settings.params),
            clock=ctx.clock,
            policy=ctx.fetch_policy,
        )
        self.exclusions = Exclusions(self.settings)

    def feed_url(self) -> str:
        s = self.settings
        params = s.params
        if s.kind == "flickr":
            tags = [t.strip().lstrip("#") for t in self.ctx.hashtags if t.strip()]
            if not tags:
                raise SourceError("a Flickr source needs at least one hashtag (used as Flickr tags)")
            query = {
                "tags": ",".join(tags),
                "tagmode": "all" if s.match == "all" else "any",
                "format": "rss2" if params.get("format") == "rss2" else "atom",
            }
            return f"{s.base_url}/services/feeds/photos_public.gne?{urlencode(query)}"
        if s.kind == "youtube":
            if params.get("channel_id"):
                return f"{s.base_url}/feeds/videos.xml?{urlencode({'channel_id': params['channel_id']})}"
            return f"{s.base_url}/feeds/videos.xml?{urlencode({'playlist_id': params['playlist_id']})}"
        url = str(params.get("url", ""))
        if not url.startswith(("http://", "https://")):
            raise SourceError(f"feed url must be http(s): {url!r}")
        return url

    def fetch(self, cursor: Cursor) -> FetchResult:
        resp: HttpResponse = self.http.get(self.url, etag=cursor.etag, last_modified=cursor.last_modified)
        if resp.not_modified:
            return FetchResult(posts=(), cursor=cursor, not_modified=True, requests=1)
        now = self.ctx.clock()
        parsed = parse_feed(resp.body, resp.url, resp.content_type)
        feed = parsed.get("feed") or {}
        posts: list[Post] = []
        for entry in (parsed.get("entries") or [])[:MAX_ENTRIES]:
            posts.append(entry_to_post(entry, feed, self.platform, now))
        if self.platform is Platform.FEED:
            posts = self._filter(posts)
        newest = max((p.created_at for p in posts), default=None)
        position = newest.isoformat().replace("+00:00", "Z") if newest else cursor.position
        next_cursor = Cursor(position=position, etag=resp.etag, last_modified=resp.last_modified)
        return FetchResult(posts=self.exclusions.filter(posts), cursor=next_cursor, requests=1)

    def _filter(self, posts: list[Post]) -> list[Post]:
        params = self.settings.params
        by_tags = bool(params.get("filter_hashtags"))
        by_words = bool(params.get("filter_keywords")) and bool(self.settings.keywords)
        if not by_tags and not by_words:
            return posts
        words = [
            re.compile(rf"(?<!\w){re.escape(k.strip())}(?!\w)", re.IGNORECASE)
            for k in self.settings.keywords
            if k.strip()
        ]
        out = []
        for p in posts:
            hay = f"{p.title}\n{p.text}"
            if (by_tags and _matches(p, self.ctx.hashtags, self.settings.match)) or (
                by_words and any(w.search(hay) for w in words)
            ):
                out.append(p)
        return out

    def close(self) -> None:
        self.http.close()
