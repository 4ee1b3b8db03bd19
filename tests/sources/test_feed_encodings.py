"""Feed encodings: the safety check and the parser see the same decoded text (issue 9.3, issue 14.1).

Undeclared feeds in legacy encodings must not be read as windows-1252, and a hostile document must
be refused in every encoding feedparser itself would decode: UTF-16/32 in both byte orders with and
without a byte-order mark, and EBCDIC.
"""

from __future__ import annotations

import codecs
import re
from pathlib import Path

import pytest

from aggregator.sources import feedtext
from aggregator.sources.base import SourceError
from aggregator.sources.feed import FeedCollector, parse_feed
from aggregator.sources.feedtext import decode_feed
from aggregator.sources.http import HttpLimits
from aggregator.types import Cursor
from tests.corpora import XML_ATTACKS
from tests.sources.conftest import make_ctx
from tests.sources.server import LocalServer, Reply

URL = "http://127.0.0.1/feed"

# One feed text per legacy encoding, written without any encoding declaration; the Content-Type
# carries no charset either.
LEGACY = {
    "koi8-r": "Как пережить конференцию и не сойти с ума. Советы для докладчиков и слушателей, "
    "которые приезжают впервые.",
    "euc-jp": "カンファレンスを乗り切る方法。初めて参加する発表者と聴衆のためのヒント。会場での過ごし方について。",
    "gb2312": "如何度过一场会议而不发疯。给第一次参加的演讲者和听众的建议。关于会场的生活。",
    "euc-kr": "컨퍼런스에서 살아남는 방법. 처음 참가하는 발표자와 청중을 위한 조언. 행사장에서 지내는 법.",
    "shift_jis": "カンファレンスを乗り切る方法。初めて参加する発表者と聴衆のためのヒント。会場での過ごし方について。",
    "tis-620": "วิธีเอาตัวรอดจากการประชุมใหญ่ คำแนะนำสำหรับผู้บรรยายและผู้ฟังที่มาครั้งแรก การใช้ชีวิตในสถานที่จัดงาน",
    "windows-1255": "איך לשרוד כנס בלי להשתגע. עצות לדוברים ולמאזינים שמגיעים בפעם הראשונה. איך לבלות באולם הכנס.",
}


def legacy_feed(text: str) -> str:
    title = text.split(".")[0].split("。")[0]
    return (
        '<rss version="2.0"><channel><title>Blog</title><link>https://blog.example/</link>'
        f"<item><title>{title}</title><link>https://blog.example/1</link>"
        f"<description>{text}</description></item></channel></rss>"
    )


@pytest.mark.parametrize("encoding", sorted(LEGACY))
def test_undeclared_legacy_encoding_is_detected(server: LocalServer, encoding: str) -> None:
    text = LEGACY[encoding]
    body = legacy_feed(text).encode(encoding)
    with pytest.raises(UnicodeDecodeError):
        body.decode("utf-8")  # the test is about non-UTF-8 bodies
    server.routes["/feed"] = Reply(200, body, {"Content-Type": "application/rss+xml"})
    collector = FeedCollector(
        make_ctx("feed", server.url, params={"url": server.url + "/feed"}),
        limits=HttpLimits(connect_timeout=1, read_timeout=1, deadline=2),
    )
    try:
        (post,) = collector.fetch(Cursor()).posts
    finally:
        collector.close()
    assert post.text == text
    assert post.title == text.split(".")[0].split("。")[0]


def test_declared_and_http_charsets_are_honoured() -> None:
    text = LEGACY["koi8-r"]
    declared = ('<?xml version="1.0" encoding="koi8-r"?>' + legacy_feed(text)).encode("koi8-r")
    assert parse_feed(declared, URL, "application/rss+xml")["entries"][0]["summary"] == text
    by_http = legacy_feed(text).encode("koi8-r")
    assert parse_feed(by_http, URL, "application/rss+xml; charset=KOI8-R")["entries"][0]["summary"] == text
    assert decode_feed(by_http, URL, "text/xml; charset=koi8-r").how == "http"


# ---- hostile documents in every encoding the parser would decode --------------------------

ENCODINGS: list[tuple[str, str, bytes]] = [
    # (id, codec, byte-order mark or b"")
    ("utf-8", "utf-8", b""),
    ("utf-8-bom", "utf-8", codecs.BOM_UTF8),
    ("utf-16le-bom", "utf-16-le", codecs.BOM_UTF16_LE),
    ("utf-16be-bom", "utf-16-be", codecs.BOM_UTF16_BE),
    ("utf-16le", "utf-16-le", b""),
    ("utf-16be", "utf-16-be", b""),
    ("utf-32le-bom", "utf-32-le", codecs.BOM_UTF32_LE),
    ("utf-32be-bom", "utf-32-be", codecs.BOM_UTF32_BE),
    ("utf-32le", "utf-32-le", b""),
    ("utf-32be", "utf-32-be", b""),
    ("cp037", "cp037", b""),
    ("cp500", "cp500", b""),
]
ATTACKS = sorted(XML_ATTACKS.glob("*.xml"))
_DECL = re.compile(r"^\s*<\?xml[^>]*\?>\s*")


def encode_doc(xml: str, codec: str, bom: bytes, declare: bool = True) -> bytes:
    xml = _DECL.sub("", xml)
    label = {"utf-16-le": "utf-16", "utf-16-be": "utf-16", "utf-32-le": "utf-32", "utf-32-be": "utf-32"}
    decl = f'<?xml version="1.0" encoding="{label.get(codec, codec)}"?>\n' if declare else ""
    return bom + (decl + xml).encode(codec)


@pytest.mark.parametrize("path", ATTACKS, ids=[p.name for p in ATTACKS])
@pytest.mark.parametrize(("codec", "bom"), [(c, b) for _, c, b in ENCODINGS], ids=[i for i, _, _ in ENCODINGS])
def test_xml_attacks_are_refused_in_every_encoding(path: Path, codec: str, bom: bytes) -> None:
    body = encode_doc(path.read_text(encoding="utf-8"), codec, bom)
    # dtd.xml only names a public DTD (allowed, never fetched): it is refused as not being a feed.
    with pytest.raises(SourceError, match="not a feed" if path.name == "dtd.xml" else "refused"):
        parse_feed(body, URL, "application/xml")


HOSTILE_FEED = (
    '<!DOCTYPE rss [<!ENTITY a "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA">'
    '<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;"><!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">]>'
    '<rss version="2.0"><channel><title>t</title><item><title>boom</title><link>https://e.example/1</link>'
    "<description>&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;</description></item></channel></rss>"
)


@pytest.mark.parametrize(("codec", "bom"), [(c, b) for _, c, b in ENCODINGS], ids=[i for i, _, _ in ENCODINGS])
@pytest.mark.parametrize("declare", [True, False], ids=["declared", "undeclared"])
def test_hostile_feed_is_refused_in_every_encoding(
    server: LocalServer, codec: str, bom: bytes, declare: bool
) -> None:
    if codec.startswith("cp") and not declare:
        declare = True  # EBCDIC is recognised by its "<?xm" in EBCDIC: it always starts with a declaration
    server.routes["/feed"] = Reply(200, encode_doc(HOSTILE_FEED, codec, bom, declare), {"Content-Type": "text/xml"})
    collector = FeedCollector(
        make_ctx("feed", server.url, params={"url": server.url + "/feed"}),
        limits=HttpLimits(connect_timeout=1, read_timeout=1, deadline=2),
    )
    try:
        with pytest.raises(SourceError, match="refused"):
            collector.fetch(Cursor())
    finally:
        collector.close()


@pytest.mark.parametrize(("codec", "bom"), [(c, b) for _, c, b in ENCODINGS], ids=[i for i, _, _ in ENCODINGS])
def test_harmless_feed_reads_the_same_in_every_encoding(codec: str, bom: bytes) -> None:
    feed = legacy_feed("Grüße from the venue, naïve café talk")
    parsed = parse_feed(encode_doc(feed, codec, bom), URL, "application/rss+xml")
    (entry,) = parsed["entries"]
    assert entry["summary"] == "Grüße from the venue, naïve café talk"


def test_decoded_size_is_capped(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(feedtext, "MAX_FEED_CHARS", 1000)
    body = legacy_feed("x" * 2000).encode("utf-16-be")  # no mark: the old check did not even decode it
    with pytest.raises(SourceError, match="characters once decoded"):
        parse_feed(body, URL, "application/rss+xml")


def test_parser_gets_the_checked_text_not_the_bytes() -> None:
    # A UTF-32BE body without a mark: what the check read is exactly what feedparser is handed.
    body = legacy_feed("plain words").encode("utf-32-be")
    checked = decode_feed(body, URL)
    assert (checked.encoding, checked.how) == ("utf-32-be", "sniffed")
    assert checked.utf8().startswith(b'<?xml version="1.0" encoding="utf-8"?>')
    assert parse_feed(body, URL)["entries"][0]["summary"] == "plain words"
