"""Atom/RSS: Flickr photo feeds, YouTube video feeds and any other feed.

Fetched with the bounded client (conditional GET from the cursor's ETag /
Last-Modified; 304 -> not_modified), decoded once and checked for entity
declarations in the decoded text (feedtext.py: billion laughs, quadratic
blow-up, external entities are refused in any encoding), then parsed by
feedparser from that text as UTF-8.

Keys: generic feeds' entry keys are namespaced by the source (`<source name>|<id>`);
Flickr and YouTube ids are platform-global and kept as they are.

Cursor: `etag` and `last_modified` from the last 200 answer; `position` is the
newest entry time seen (informational: feeds are re-read whole and dedup makes
re-delivery idempotent).
"""

from __future__ import annotations

import calendar
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
    Skips,
    clamp_time,
    dedupe,
    is_web_url,
    kind_of,
    norm_tags,
    opt_int,
    opt_str,
    text_of,
)
from aggregator.sources.feedtext import decode_feed
from aggregator.sources.http import HttpClient, HttpLimits, HttpResponse, display_url
from aggregator.sources.video import with_videos, youtube_media
from aggregator.types import Author, Cursor, FetchResult, Media, MediaKind, Platform, Post, PostKind

MAX_ENTRIES = 500
_HREF = re.compile(r'<a [^>]*href="([^"]+)"')
_HASHTAG = re.compile(r"(?<![\w&/#])#(\w{1,100})")


def reject_unsafe_xml(body: bytes, url: str, content_type: str = "") -> None:
    """Refuse documents that declare entities or an internal DTD subset, in whatever encoding, before parsing."""
    decode_feed(body, url, content_type)


def parse_feed(body: bytes, url: str, content_type: str = "") -> Any:
    """feedparser's result for a checked body; SourceError if it is unsafe or not a feed at all.

    The parser is given the text this module decoded and checked, as UTF-8 that says so, so it
    cannot decode the bytes differently from what was checked (feedtext.py).
    """
    checked = decode_feed(body, url, content_type)
    media_type = (content_type or "application/xml").split(";")[0].strip() or "application/xml"
    headers = {"content-location": url, "content-type": f"{media_type}; charset=utf-8"}
    parsed = feedparser.parse(BytesIO(checked.utf8()), response_headers=headers)
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


def _entry_id(entry: Mapping[str, Any], namespace: str) -> str:
    """The entry's key: `<namespace>|<id, else link, else a content hash>`.

    Generic feeds invent their ids (`1`, a bare path, nothing), so the key is namespaced by the
    source; Flickr and YouTube ids are platform-global (`namespace` is "" for them). Copies of one
    article in two feeds are dedup's business, not the key's.
    """
    ident = text_of(entry.get("id")) or text_of(entry.get("link"))
    if not ident:
        parts = [text_of(entry.get("title")), text_of(entry.get("summary")), text_of(entry.get("published"))]
        parts.extend(url for url, _, _, _ in _media_candidates(entry))
        digest = hashlib.sha256("\n".join(parts).encode("utf-8", "replace")).hexdigest()
        ident = f"sha256:{digest[:32]}"
    return f"{namespace}|{ident}" if namespace else ident


def _web_link(entry: Mapping[str, Any]) -> str | None:
    """The entry's web address, if it has one (feedparser copies a guid or urn id into `link`)."""
    link = text_of(entry.get("link"))
    return link if is_web_url(link) else None


def _title(entry: Mapping[str, Any]) -> str:
    """The title as plain text, read as text or HTML by its declared type."""
    title = text_of(entry.get("title"))
    detail = entry.get("title_detail")
    declared = text_of(detail.get("type")) if isinstance(detail, Mapping) else ""
    if declared in ("text/plain", ""):
        return " ".join(title.split())  # `<blink>` in a text title is a word, not markup
    return html_to_text(title)


_IMAGE_EXT = re.compile(r"\.(jpe?g|png|gif|webp|avif)(?:[?#]|$)", re.IGNORECASE)
_VIDEO_EXT = re.compile(r"\.(mp4|m4v|webm|mov)(?:[?#]|$)", re.IGNORECASE)


def _media_candidates(entry: Mapping[str, Any]) -> list[tuple[str, str, int | None, int | None]]:
    """(url, type or medium, width, height) from Media RSS, RSS enclosures and Atom enclosure links."""
    out: list[tuple[str, str, int | None, int | None]] = []
    for mc in entry.get("media_content") or []:  # media:content, inside media:group or not
        if isinstance(mc, Mapping) and opt_str(mc.get("url")):
            mtype = text_of(mc.get("type")) or text_of(mc.get("medium"))
            out.append((mc["url"], mtype, _int(mc.get("width")), _int(mc.get("height"))))
    for enc in entry.get("enclosures") or []:
        if isinstance(enc, Mapping) and opt_str(enc.get("href")):
            out.append((enc["href"], text_of(enc.get("type")), None, None))
    for link in entry.get("links") or []:  # Atom <link rel="enclosure">, not always in `enclosures`
        if isinstance(link, Mapping) and link.get("rel") == "enclosure" and opt_str(link.get("href")):
            out.append((link["href"], text_of(link.get("type")), None, None))
    return out


def _media_of(entry: Mapping[str, Any]) -> list[Media]:
    """Photos and videos from enclosures and Media RSS; a lone media:thumbnail is the photo."""
    thumbs = [opt_str(t.get("url")) for t in entry.get("media_thumbnail") or [] if isinstance(t, Mapping)]
    thumb = next((t for t in thumbs if t and is_web_url(t)), None)
    out: list[Media] = []
    seen: set[str] = set()
    for url, mtype, width, height in _media_candidates(entry):
        if url in seen or not is_web_url(url):
            continue
        if mtype.startswith("image") or (not mtype and _IMAGE_EXT.search(url)):
            kind = MediaKind.PHOTO
        elif mtype.startswith("video") or (not mtype and _VIDEO_EXT.search(url)):
            kind = MediaKind.VIDEO
        else:
            continue
        seen.add(url)
        out.append(Media(kind, url, thumbnail_url=thumb, width=width, height=height))
    if not out and thumb:
        out.append(Media(MediaKind.PHOTO, thumb, thumbnail_url=thumb))
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


def entry_to_post(
    entry: Mapping[str, Any], feed: Mapping[str, Any], platform: Platform, now: datetime, namespace: str = ""
) -> Post:
    title = _title(entry)
    link = _web_link(entry)
    external_id = _entry_id(entry, namespace)
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
        vid = text_of(entry.get("yt_videoid")) or text_of(entry.get("id")).removeprefix("yt:video:")
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
        url=link or "",  # no web address: none, not the id
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
        entries = parsed.get("entries") or []
        skips = Skips()
        skips.add(f"beyond the first {MAX_ENTRIES} entries", max(len(entries) - MAX_ENTRIES, 0))
        namespace = self.namespace()
        posts = [entry_to_post(entry, feed, self.platform, now, namespace) for entry in entries[:MAX_ENTRIES]]
        if self.platform is Platform.FEED:
            posts = skips.keep(posts, "no matching hashtag or keyword", lambda p: not self._wanted(p))
        newest = max((p.created_at for p in posts), default=None)
        position = newest.isoformat().replace("+00:00", "Z") if newest else cursor.position
        next_cursor = Cursor(position=position, etag=resp.etag, last_modified=resp.last_modified)
        kept = skips.screen(posts, self.exclusions)
        return FetchResult(posts=kept, cursor=next_cursor, requests=1, skipped=skips.result())

    def namespace(self) -> str:
        """What generic feed keys are prefixed with: the source's name (migration 0007 moved old keys)."""
        if self.platform is not Platform.FEED:
            return ""
        return self.ctx.source_name or self.settings.name or self.settings.kind

    def _wanted(self, p: Post) -> bool:
        """A generic feed's entry passes its optional hashtag / keyword filters."""
        params = self.settings.params
        by_tags = bool(params.get("filter_hashtags"))
        by_words = bool(params.get("filter_keywords")) and bool(self.settings.keywords)
        if not by_tags and not by_words:
            return True
        words = [
            re.compile(rf"(?<!\w){re.escape(k.strip())}(?!\w)", re.IGNORECASE)
            for k in self.settings.keywords
            if k.strip()
        ]
        hay = f"{p.title}\n{p.text}"
        return (by_tags and _matches(p, self.ctx.hashtags, self.settings.match)) or (
            by_words and any(w.search(hay) for w in words)
        )

    def close(self) -> None:
        self.http.close()
