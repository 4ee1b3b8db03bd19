"""HTML in, safe HTML out: the one place platform markup is kept.

Three functions, all pure:

- `clean_html` runs platform HTML (Mastodon content, feed summaries) through an
  nh3 allowlist: p, br, a[href] (http/https/mailto only, with a fixed rel),
  span, strong, em. Nothing else survives.
- `text_to_html` turns plain text plus entity spans (X entities, Bluesky
  facets converted to characters) into safe HTML by escaping every segment;
  markup is never built by formatting unescaped input.
- `html_to_text` flattens HTML to plain text for search, dedup and moderation.

And the URL rule: only absolute http(s) URLs (or our own /media/ files) are
kept in a post's URL fields (`safe_url`, applied to a whole post at ingest by
`clean_post_urls`), and the web checks again with `safe_url` at output.
"""

from __future__ import annotations

import html as _html
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from html.parser import HTMLParser
from typing import Literal

import nh3

from aggregator.types import Author, Media, Post

ALLOWED_TAGS = frozenset({"p", "br", "a", "span", "strong", "em"})
ALLOWED_ATTRIBUTES: dict[str, set[str]] = {"a": {"href"}}
ALLOWED_SCHEMES = frozenset({"http", "https", "mailto"})
LINK_REL = "nofollow noopener noreferrer ugc"

_cleaner = nh3.Cleaner(
    tags=set(ALLOWED_TAGS),
    clean_content_tags={"script", "style", "template", "iframe", "object", "noscript", "textarea", "title"},
    attributes=ALLOWED_ATTRIBUTES,
    url_schemes=set(ALLOWED_SCHEMES),
    url_relative="deny",
    link_rel=LINK_REL,
    strip_comments=True,
)


def safe_href(url: str) -> str | None:
    """The URL if it is an absolute http(s)/mailto URL without control characters, else None."""
    url = url.strip()
    if not url or any(ord(c) < 0x20 or ord(c) == 0x7F or c.isspace() for c in url):
        return None
    scheme, sep, rest = url.partition(":")
    if not sep or scheme.lower() not in ALLOWED_SCHEMES:
        return None
    if scheme.lower() in ("http", "https") and not rest.startswith("//"):
        return None
    return url


def safe_url(url: str | None, *, local_media: bool = True) -> str | None:
    """`url` if it is an absolute http(s) URL (or, with `local_media`, one of our /media/ paths)
    with no whitespace or control character anywhere; None for anything else: javascript:,
    data:, vbscript:, file:, mailto:, any case, any prefix of spaces or control characters."""
    if not url or any(ord(c) < 0x20 or 0x7F <= ord(c) <= 0x9F or c.isspace() or not c.isprintable() for c in url):
        return None
    if local_media and url.startswith("/media/") and not url.startswith("//"):
        return url
    scheme, sep, rest = url.partition(":")
    if sep and scheme.lower() in ("http", "https") and rest.startswith("//") and len(rest) > 2:
        return url
    return None


def _clean_author(a: Author) -> Author:
    return replace(a, avatar_url=safe_url(a.avatar_url), profile_url=safe_url(a.profile_url, local_media=False))


def _clean_media(m: Media) -> Media | None:
    url = safe_url(m.url)
    if url is None:
        return None
    return replace(m, url=url, thumbnail_url=safe_url(m.thumbnail_url),
                   embed_url=safe_url(m.embed_url, local_media=False))


def clean_post_urls(post: Post) -> Post:
    """The post with every URL field http(s) only: a bad permalink becomes "", bad avatar, profile,
    thumbnail, player and relation URLs become None, media and links with a bad URL are dropped."""
    media = tuple(m for m in (_clean_media(m) for m in post.media) if m is not None)
    return replace(
        post,
        url=safe_url(post.url, local_media=False) or "",
        author=_clean_author(post.author),
        media=media,
        links=tuple(u for u in post.links if safe_url(u, local_media=False)),
        relations=tuple(replace(r, url=safe_url(r.url, local_media=False)) for r in post.relations),
        repost_of=clean_post_urls(post.repost_of) if post.repost_of is not None else None,
    )


def clean_html(html: str) -> str:
    """Platform HTML through the allowlist; the result is safe to mark as safe in templates."""
    if not html:
        return ""
    return _cleaner.clean(html).strip()


class _TextExtractor(HTMLParser):
    _BLOCK = frozenset({"p", "div", "li", "blockquote", "pre", "h1", "h2", "h3", "h4", "h5", "h6", "tr"})
    _SKIP = frozenset({"script", "style", "template", "noscript", "title"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self._SKIP:
            self._skip += 1
        elif tag == "br":
            self.parts.append("\n")
        elif tag in self._BLOCK:
            self.parts.append("\n\n")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "br":
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in self._SKIP:
            self._skip = max(0, self._skip - 1)
        elif tag in self._BLOCK:
            self.parts.append("\n\n")

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.parts.append(data)


_MANY_NEWLINES = re.compile(r"\n[ \t]*\n(?:[ \t]*\n)+")
_TRAILING_SPACE = re.compile(r"[ \t]+\n")
_SPACES = re.compile(r"[ \t]{2,}")


def html_to_text(html: str) -> str:
    """Plain text of an HTML fragment: tags dropped, entities decoded, paragraphs kept as blank lines."""
    if not html:
        return ""
    parser = _TextExtractor()
    parser.feed(html)
    parser.close()
    text = "".join(parser.parts).replace("\r\n", "\n").replace("\xa0", " ")
    text = _SPACES.sub(" ", text)
    text = _TRAILING_SPACE.sub("\n", text)
    text = _MANY_NEWLINES.sub("\n\n", text)
    return text.strip()


SpanKind = Literal["link", "tag", "mention"]


@dataclass(frozen=True, slots=True)
class Span:
    """A stretch of `text` (character offsets, end exclusive) that becomes a link."""

    start: int
    end: int
    kind: SpanKind
    href: str  # where it links; dropped (kept as text) unless http/https/mailto
    label: str | None = None  # shown instead of the covered text (e.g. an expanded URL)


# Auto-linking of plain text where the platform gives no entities.
_URL_RE = re.compile(r"\bhttps?://[^\s<>\"'`]+", re.IGNORECASE)
_TAG_RE = re.compile(r"(?<![\w&/#])#(\w{1,100})", re.UNICODE)
_MENTION_RE = re.compile(r"(?<![\w@/])@([A-Za-z0-9_][A-Za-z0-9_.\-]{0,99}(?:@[A-Za-z0-9.\-]+\.[A-Za-z]{2,})?)")
_TRAILING_PUNCT = ".,;:!?)]}'\""


def _trim_url(url: str) -> str:
    while url and url[-1] in _TRAILING_PUNCT:
        if url[-1] == ")" and url.count("(") >= url.count(")"):
            break
        url = url[:-1]
    return url


def find_spans(
    text: str,
    *,
    hashtag_url: Callable[[str], str | None] | None = None,
    mention_url: Callable[[str], str | None] | None = None,
) -> list[Span]:
    """URLs, #hashtags and @mentions found in plain text (for sources without entities)."""
    spans: list[Span] = []
    for m in _URL_RE.finditer(text):
        url = _trim_url(m.group(0))
        if safe_href(url):
            spans.append(Span(m.start(), m.start() + len(url), "link", url))
    if hashtag_url is not None:
        for m in _TAG_RE.finditer(text):
            tag = m.group(1)
            if tag.isdigit():
                continue
            href = hashtag_url(tag)
            if href:
                spans.append(Span(m.start(), m.end(), "tag", href))
    if mention_url is not None:
        for m in _MENTION_RE.finditer(text):
            name = m.group(1).rstrip(".-")
            href = mention_url(name)
            if href:
                spans.append(Span(m.start(), m.start() + 1 + len(name), "mention", href))
    return spans


def _non_overlapping(spans: Iterable[Span], length: int) -> list[Span]:
    out: list[Span] = []
    pos = 0
    for span in sorted(spans, key=lambda s: (s.start, -s.end)):
        if span.start < pos or span.start >= span.end or span.end > length or span.start < 0:
            continue
        out.append(span)
        pos = span.end
    return out


def _escape_lines(segment: str) -> str:
    return "<br>".join(_html.escape(line, quote=True) for line in segment.split("\n"))


def text_to_html(
    text: str,
    spans: Sequence[Span] | None = None,
    *,
    hashtag_url: Callable[[str], str | None] | None = None,
    mention_url: Callable[[str], str | None] | None = None,
) -> str:
    """Plain text -> safe HTML: escaped, newlines as <br>, paragraphs as <p>, spans as links.

    With `spans=None` the text is scanned for URLs (and, given the URL
    builders, #hashtags and @mentions). Spans use character offsets into `text`.
    """
    if not text:
        return ""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if spans is None:
        spans = find_spans(text, hashtag_url=hashtag_url, mention_url=mention_url)
    pieces: list[str] = []
    pos = 0
    for span in _non_overlapping(spans, len(text)):
        pieces.append(_escape_lines(text[pos : span.start]))
        label = span.label if span.label is not None else text[span.start : span.end]
        href = safe_href(span.href)
        if href is None:
            pieces.append(_escape_lines(label))
        else:
            pieces.append(f'<a href="{_html.escape(href, quote=True)}">{_html.escape(label, quote=True)}</a>')
        pos = span.end
    pieces.append(_escape_lines(text[pos:]))
    body = "".join(pieces)
    paragraphs = [p for p in re.split(r"(?:<br>\s*){2,}", body) if p.strip()]
    out = "".join(f"<p>{p.removeprefix('<br>').removesuffix('<br>')}</p>" for p in paragraphs)
    # Defence in depth: whatever went in, only the allowlist comes out.
    return clean_html(out)


def byte_span_to_chars(text: str, byte_start: int, byte_end: int) -> tuple[int, int] | None:
    """UTF-8 byte offsets (Bluesky facets) -> character offsets; None when they do not fall on characters."""
    data = text.encode("utf-8")
    if not (0 <= byte_start < byte_end <= len(data)):
        return None
    try:
        start = len(data[:byte_start].decode("utf-8"))
        length = len(data[byte_start:byte_end].decode("utf-8"))
    except UnicodeDecodeError:
        return None
    return start, start + length
