"""Atom (RFC 4287) feeds, written as a stream: the bundle's feed.atom and the live /e/<slug>/*.atom feeds.

XMLGenerator escapes every value; post HTML (sanitised on ingest) travels as
escaped `type="html"` content. Entry ids are stable URNs made from the post's
platform and id, so a feed reader never sees the same post twice.
"""

from __future__ import annotations

import io
import re
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from xml.sax.saxutils import XMLGenerator
from xml.sax.xmlreader import AttributesImpl

from aggregator.export.records import iso
from aggregator.storage.records import StoredPost

NS = "http://www.w3.org/2005/Atom"


@dataclass(frozen=True, slots=True)
class FeedEntry:
    id: str
    title: str
    link: str
    updated: datetime
    published: datetime | None
    author: str
    html: str
    summary: str = ""


def stable_id(*parts: str) -> str:
    return uuid.uuid5(uuid.NAMESPACE_URL, "\x1f".join(parts)).urn


def absolute(url: str, base: str) -> str:
    return url if url.startswith(("http://", "https://")) else base.rstrip("/") + "/" + url.lstrip("/")


def post_entry(p: StoredPost, base: str, slug: str) -> FeedEntry:
    who = p.author.name or p.author.handle
    first_line = (p.title or p.text).strip().splitlines()[0] if (p.title or p.text).strip() else p.kind.value
    title = f"{who}: {first_line}"
    return FeedEntry(stable_id(slug, p.platform.value, p.external_id), title[:200], absolute(p.url, base),
                     p.created_at, p.created_at, who, p.html)


# Characters XML 1.0 forbids (C0 controls but tab/LF/CR, lone surrogates, U+FFFE/U+FFFF): dropped.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def _attrs(values: dict[str, str]) -> AttributesImpl[str]:
    return AttributesImpl(values)


def xml_text(value: str) -> str:
    return _NOT_XML.sub("", value)


def _text(gen: XMLGenerator, tag: str, value: str, attrs: dict[str, str] | None = None) -> None:
    gen.startElement(tag, _attrs({k: xml_text(v) for k, v in (attrs or {}).items()}))
    gen.characters(xml_text(value))
    gen.endElement(tag)


def atom_chunks(feed_id: str, title: str, self_url: str, alternate: str, updated: datetime,
                entries: Iterable[FeedEntry]) -> Iterator[str]:
    """The feed document as text pieces (one per entry)."""
    buf = io.StringIO()
    gen = XMLGenerator(buf, encoding="utf-8", short_empty_elements=True)

    def flush() -> str:
        text = buf.getvalue()
        buf.seek(0)
        buf.truncate()
        return text

    gen.startDocument()
    gen.startElement("feed", _attrs({"xmlns": NS}))
    _text(gen, "id", feed_id)
    _text(gen, "title", title)
    _text(gen, "updated", iso(updated) or "")
    gen.startElement("link", _attrs({"rel": "self", "href": self_url}))
    gen.endElement("link")
    gen.startElement("link", _attrs({"rel": "alternate", "type": "text/html", "href": alternate}))
    gen.endElement("link")
    _text(gen, "generator", "event-aggregator")
    yield flush()
    for e in entries:
        gen.startElement("entry", _attrs({}))
        _text(gen, "id", e.id)
        _text(gen, "title", e.title)
        gen.startElement("link", _attrs({"rel": "alternate", "href": xml_text(e.link)}))
        gen.endElement("link")
        _text(gen, "updated", iso(e.updated) or "")
        if e.published is not None:
            _text(gen, "published", iso(e.published) or "")
        gen.startElement("author", _attrs({}))
        _text(gen, "name", e.author or "unknown")
        gen.endElement("author")
        if e.summary:
            _text(gen, "summary", e.summary)
        _text(gen, "content", e.html or e.title, {"type": "html"})
        gen.endElement("entry")
        gen.characters("\n")
        yield flush()
    gen.endElement("feed")
    gen.endDocument()
    yield flush() + "\n"
