"""Split scenario text into plain text, hashtags, links and mentions, and render it per platform."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from html import escape
from typing import Literal

SegmentKind = Literal["text", "tag", "url", "mention"]

_TOKEN = re.compile(
    r"(?P<url>https?://[^\s<>\"]+)"
    r"|(?<![\w&#/])#(?P<tag>\w+)"
    r"|(?<![\w@/])@(?P<mention>[A-Za-z0-9_][A-Za-z0-9_.-]*[A-Za-z0-9_]|[A-Za-z0-9_])"
)
_TRAILING = ".,;:!?)'\""


@dataclass(frozen=True, slots=True)
class Segment:
    kind: SegmentKind
    value: str  # text: the text; tag: tag without '#'; url: the URL; mention: the name after '@'


def full_text(text: str, hashtags: tuple[str, ...]) -> str:
    """The text plus any hashtag not already in it, appended as ' #tag'."""
    present = {s.value.lower() for s in segments(text) if s.kind == "tag"}
    extra = [t.lstrip("#") for t in hashtags if t.lstrip("#").lower() not in present]
    if not extra:
        return text
    tail = " ".join("#" + t for t in extra)
    return f"{text} {tail}" if text else tail


def segments(text: str) -> list[Segment]:
    out: list[Segment] = []
    pos = 0
    for m in _TOKEN.finditer(text):
        start, end = m.span()
        if m.group("url"):
            url = m.group("url")
            stripped = url.rstrip(_TRAILING)
            while url[len(stripped) :].startswith(")") and stripped.count("(") > stripped.count(")"):
                stripped += ")"  # keep a closing paren that balances one inside the URL
            end = start + len(stripped)
            seg = Segment("url", stripped)
        elif m.group("tag"):
            seg = Segment("tag", m.group("tag"))
        else:
            seg = Segment("mention", m.group("mention"))
        if start > pos:
            out.append(Segment("text", text[pos:start]))
        out.append(seg)
        pos = end
    if pos < len(text):
        out.append(Segment("text", text[pos:]))
    return _merge(out)


def _merge(segs: list[Segment]) -> list[Segment]:
    out: list[Segment] = []
    for s in segs:
        if s.kind == "text" and out and out[-1].kind == "text":
            out[-1] = Segment("text", out[-1].value + s.value)
        else:
            out.append(s)
    return out


def hashtags_of(text: str) -> list[str]:
    return [s.value for s in segments(text) if s.kind == "tag"]


def urls_of(text: str) -> list[str]:
    return [s.value for s in segments(text) if s.kind == "url"]


# ------------------------------------------------------------------ rendering


@dataclass(frozen=True, slots=True)
class Span:
    """A rendered token with its position in the rendered text."""

    kind: SegmentKind
    value: str  # tag / URL / mention target as given by the resolver
    shown: str  # the characters in the rendered text
    start: int  # code-point offset
    end: int
    byte_start: int  # UTF-8 byte offset
    byte_end: int


MentionResolver = Callable[[str], str | None]  # scenario name -> shown handle (without '@'), None: plain text


def render_plain(
    segs: list[Segment],
    mention: MentionResolver,
    url_shown: Callable[[str], str] = lambda u: u,
) -> tuple[str, list[Span]]:
    """Render to plain text; return it with the spans of tags, links and resolved mentions."""
    text = ""
    nbytes = 0
    spans: list[Span] = []
    for s in segs:
        if s.kind == "text":
            shown = s.value
            kind: SegmentKind = "text"
            value = s.value
        elif s.kind == "tag":
            shown, kind, value = "#" + s.value, "tag", s.value
        elif s.kind == "url":
            shown, kind, value = url_shown(s.value), "url", s.value
        else:
            handle = mention(s.value)
            if handle is None:
                shown, kind, value = "@" + s.value, "text", s.value
            else:
                shown, kind, value = "@" + handle, "mention", s.value
        b = len(shown.encode("utf-8"))
        if kind != "text":
            spans.append(Span(kind, value, shown, len(text), len(text) + len(shown), nbytes, nbytes + b))
        text += shown
        nbytes += b
    return text, spans


def mastodon_html(
    segs: list[Segment],
    tag_url: Callable[[str], str],
    mention: Callable[[str], tuple[str, str] | None],  # name -> (shown username, profile url)
) -> str:
    """Status `content` the way Mastodon renders it: <p> per paragraph, <br /> per line break."""
    paragraphs: list[list[str]] = [[]]
    for s in segs:
        if s.kind == "text":
            parts = re.split(r"(\n\n+|\n)", s.value)
            for part in parts:
                if not part:
                    continue
                if part.startswith("\n\n"):
                    paragraphs.append([])
                elif part == "\n":
                    paragraphs[-1].append("<br />")
                else:
                    paragraphs[-1].append(escape(part, quote=False))
        elif s.kind == "tag":
            paragraphs[-1].append(
                f'<a href="{escape(tag_url(s.value))}" class="mention hashtag" rel="tag">'
                f"#<span>{escape(s.value)}</span></a>"
            )
        elif s.kind == "url":
            paragraphs[-1].append(_mastodon_link(s.value))
        else:
            found = mention(s.value)
            if found is None:
                paragraphs[-1].append(escape("@" + s.value, quote=False))
            else:
                name, url = found
                paragraphs[-1].append(
                    f'<span class="h-card" translate="no"><a href="{escape(url)}" class="u-url mention">'
                    f"@<span>{escape(name)}</span></a></span>"
                )
    return "".join(f"<p>{''.join(p)}</p>" for p in paragraphs if p)


def _mastodon_link(url: str) -> str:
    m = re.match(r"(https?://(?:www\.)?)(.*)", url)
    prefix, rest = (m.group(1), m.group(2)) if m else ("", url)
    if len(rest) > 30:
        shown = f'<span class="ellipsis">{escape(rest[:30])}</span><span class="invisible">{escape(rest[30:])}</span>'
    else:
        shown = f'<span class="">{escape(rest)}</span><span class="invisible"></span>'
    return (
        f'<a href="{escape(url)}" target="_blank" rel="nofollow noopener" translate="no">'
        f'<span class="invisible">{escape(prefix)}</span>{shown}</a>'
    )


def paragraphs_html(text: str) -> str:
    """Plain text as escaped HTML paragraphs (feeds, Flickr descriptions)."""
    parts = [p for p in re.split(r"\n\n+", text) if p]
    return "".join("<p>" + escape(p, quote=False).replace("\n", "<br />") + "</p>" for p in parts)
