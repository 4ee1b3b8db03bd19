"""Feed bytes -> checked text, decoded once, so the safety check sees what the parser sees.

feedparser decodes by itself (BOM, XML declaration, HTTP charset, UTF-16/32
and EBCDIC sniffing, a detector if one is installed, else windows-1252). A
byte-level entity check cannot follow all of that: it missed UTF-16BE and
UTF-32BE without a byte-order mark and EBCDIC. So this module decides the
encoding, decodes, checks the *text* for entity declarations and DTD subsets,
caps its size, and the collector hands feedparser that text re-encoded as
UTF-8 with a declaration saying so: the parser has nothing left to guess.

Order (first that decodes without error wins):
1. a byte-order mark (UTF-32 before UTF-16, whose mark is a prefix of it);
2. the XML spec's sniffing of `<` / `<?` without a mark (UTF-16/32 BE/LE, EBCDIC);
3. the encoding in the XML declaration;
4. the charset in the Content-Type;
5. UTF-8;
6. the detector (chardet, the one feedparser itself uses);
7. windows-1252, feedparser's last resort (never fails).
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass

import chardet

from aggregator.sources.base import SourceError
from aggregator.sources.http import display_url

MAX_FEED_CHARS = 5_000_000  # decoded text; a feed this large is not a social feed
DETECT_SAMPLE = 64 * 1024  # bytes given to the detector (it is slow on big bodies)

_BOMS: tuple[tuple[bytes, str], ...] = (
    (b"\x00\x00\xfe\xff", "utf-32-be"),
    (b"\xff\xfe\x00\x00", "utf-32-le"),
    (b"\xef\xbb\xbf", "utf-8"),
    (b"\xfe\xff", "utf-16-be"),
    (b"\xff\xfe", "utf-16-le"),
)
_EBCDIC_LT_QM = b"\x4c\x6f\xa7\x94"  # "<?xm" in EBCDIC
_EBCDIC = ("cp037", "cp500", "cp1140", "cp273", "cp1026", "cp875")
_DECL = re.compile(r"""^\s*<\?xml\b[^>]{0,500}?\?>""")
_DECL_ENCODING = re.compile(rb"""^\s*<\?xml\b[^>]{0,500}?\bencoding\s*=\s*["']([A-Za-z0-9._:-]{1,40})["']""")
_CHARSET = re.compile(r"""charset\s*=\s*["']?([A-Za-z0-9._:-]{1,40})""", re.IGNORECASE)
_ENTITY_DECL = re.compile(r"<!\s*ENTITY", re.IGNORECASE)
_DOCTYPE_SUBSET = re.compile(r"<!\s*DOCTYPE[^>\[]*\[", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class FeedText:
    """A feed body decoded and checked, ready for the parser."""

    text: str  # the document without its XML declaration
    encoding: str  # Python codec name it was decoded with
    how: str  # which rule chose it: "bom", "sniffed", "declared", "http", "utf-8", "detected", "fallback"

    def utf8(self) -> bytes:
        """The document as UTF-8 with a declaration saying so (what feedparser is given)."""
        return ('<?xml version="1.0" encoding="utf-8"?>\n' + self.text).encode("utf-8")


def _codec(name: str | None) -> str | None:
    """Python's codec name for a charset label, or None if Python has no such codec."""
    if not name:
        return None
    try:
        return codecs.lookup(name.strip().lower()).name
    except LookupError:
        return None


def _sniff(body: bytes) -> tuple[str, int] | None:
    """(encoding, bytes to skip) from a byte-order mark or the XML spec's first-bytes table."""
    for bom, enc in _BOMS:
        if body.startswith(bom):
            return enc, len(bom)
    head = body[:4]
    if len(head) == 4 and 0 in head:
        # A document starts with "<" (maybe after whitespace); NULs around it tell the width and order.
        if head[0] == 0 and head[1] == 0 and head[2] == 0 and head[3] != 0:
            return "utf-32-be", 0
        if head[0] != 0 and head[1] == 0 and head[2] == 0 and head[3] == 0:
            return "utf-32-le", 0
        if head[0] == 0 and head[1] != 0:
            return "utf-16-be", 0
        if head[0] != 0 and head[1] == 0:
            return "utf-16-le", 0
    if head == _EBCDIC_LT_QM:
        declared = _DECL_ENCODING.match(body[:200].decode("cp037", "replace").encode("ascii", "replace"))
        variant = _codec(declared.group(1).decode("ascii")) if declared else None
        # Only an EBCDIC codec can be right here; the declaration just says which variant.
        return (variant if variant in _EBCDIC else "cp037"), 0
    return None


def _detect(body: bytes) -> str | None:
    # Any guess beats windows-1252 for a body that is not UTF-8 (short texts get low confidences).
    guess = chardet.detect(body[:DETECT_SAMPLE])
    return _codec(guess.get("encoding"))


def _candidates(body: bytes, content_type: str) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    declared = _DECL_ENCODING.match(body[:600])
    if declared:
        enc = _codec(declared.group(1).decode("ascii"))
        # A single-byte document cannot really be in UTF-16/32: that declaration is a lie (feedparser agrees).
        if enc and not enc.startswith(("utf-16", "utf-32")):
            out.append((enc, "declared"))
    http = _CHARSET.search(content_type or "")
    if http and (enc := _codec(http.group(1))) and not enc.startswith(("utf-16", "utf-32")):
        out.append((enc, "http"))
    out.append(("utf-8", "utf-8"))
    return out


def decode_feed(body: bytes, url: str, content_type: str = "") -> FeedText:
    """The feed's text as the parser will see it; SourceError if it is unsafe or too large."""
    chosen: tuple[str, str] | None = None
    sniffed = _sniff(body)
    if sniffed is not None:
        enc, skip = sniffed
        try:
            text = body[skip:].decode(enc)
            chosen = (enc, "bom" if skip else "sniffed")
        except UnicodeDecodeError:
            raise SourceError(
                f"refused feed from {display_url(url)}: it looks like {enc} but does not decode as it"
            ) from None
    else:
        for enc, how in _candidates(body, content_type):
            try:
                text = body.decode(enc)
            except UnicodeDecodeError:
                continue
            chosen = (enc, how)
            break
        if chosen is None:
            detected = _detect(body)
            if detected is not None:
                try:
                    text = body.decode(detected)
                    chosen = (detected, "detected")
                except UnicodeDecodeError:
                    pass
        if chosen is None:
            text = body.decode("cp1252", errors="replace")
            chosen = ("cp1252", "fallback")
    if len(text) > MAX_FEED_CHARS:
        raise SourceError(
            f"refused feed from {display_url(url)}: {len(text):,} characters once decoded "
            f"(limit {MAX_FEED_CHARS:,})"
        )
    check_text(text, url)
    return FeedText(_DECL.sub("", text, count=1).lstrip("\ufeff"), *chosen)


def check_text(text: str, url: str) -> None:
    """Refuse documents that declare entities or an internal DTD subset (billion laughs, XXE)."""
    if _ENTITY_DECL.search(text) or _DOCTYPE_SUBSET.search(text):
        raise SourceError(
            f"refused feed from {display_url(url)}: it declares XML entities or a DTD subset "
            "(possible entity-expansion or external-entity attack)"
        )
