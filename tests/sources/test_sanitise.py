"""The sanitiser: only the allowlist ever comes out, for any input (Hypothesis + hostile corpora)."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aggregator.pipeline.sanitise import (
    ALLOWED_TAGS,
    Span,
    clean_html,
    find_spans,
    html_to_text,
    safe_href,
    text_to_html,
)
from tests.corpora import CORPORA

BLNS: list[str] = json.loads((CORPORA / "naughty-strings/blns.json").read_text(encoding="utf-8"))
XSS_FILES = sorted((CORPORA / "xss-bleach").glob("*.test"), key=lambda p: int(p.stem))


def xss_input(path: Path) -> str:
    text = path.read_text(encoding="utf-8")
    return text.split("\n--\n", 1)[0]


class _Audit(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.problems: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in ALLOWED_TAGS:
            self.problems.append(f"tag {tag}")
        for name, value in attrs:
            if name.startswith("on"):
                self.problems.append(f"event handler {name}")
            allowed = {"href", "rel"} if tag == "a" else set()
            if name not in allowed:
                self.problems.append(f"attribute {tag}[{name}]")
            if name == "href":
                v = (value or "").strip().lower()
                if not v.startswith(("http://", "https://", "mailto:")):
                    self.problems.append(f"href {value!r}")
            if name == "rel" and value != "nofollow noopener noreferrer ugc":
                self.problems.append(f"rel {value!r}")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)

    def handle_comment(self, data: str) -> None:
        self.problems.append("comment")

    def handle_decl(self, decl: str) -> None:
        self.problems.append("declaration")

    def handle_pi(self, data: str) -> None:
        self.problems.append("processing instruction")


def assert_safe(html: str) -> None:
    audit = _Audit()
    audit.feed(html)
    audit.close()
    assert audit.problems == [], (html, audit.problems)
    lowered = html.lower()
    for tag in re.findall(r"<[^>]*>", lowered):  # text may say "javascript:"; markup never does
        assert not re.search(r"""\s[\w:-]+\s*=\s*["']?\s*(javascript|data|vbscript):""", tag), html
    assert "<script" not in lowered


def _tag_url(tag: str) -> str:
    return f"https://x.com/hashtag/{tag}"


def _mention_url(name: str) -> str:
    return f"https://x.com/{name}"


def all_outputs(s: str) -> list[str]:
    return [
        clean_html(s),
        text_to_html(s),
        text_to_html(s, hashtag_url=_tag_url, mention_url=_mention_url),
        text_to_html(s, [Span(0, len(s), "link", s)]),  # the input as an href: must be refused unless safe
        text_to_html("x", [Span(0, 1, "link", "https://e.example/?q=" + s)]),
    ]


@pytest.mark.parametrize("index", range(len(BLNS)))
def test_naughty_strings_never_become_markup(index: int) -> None:
    s = BLNS[index]
    for out in all_outputs(s):
        assert_safe(out)
    # As text, every naughty string survives escaping: what you see is what was written.
    plain = html_to_text(text_to_html(s))
    assert plain == html_to_text(text_to_html(plain))


@pytest.mark.parametrize("path", XSS_FILES, ids=[p.name for p in XSS_FILES])
def test_bleach_xss_corpus(path: Path) -> None:
    for out in all_outputs(xss_input(path)):
        assert_safe(out)
        assert not re.search(r"<[^>]*\son\w+\s*=", out, re.IGNORECASE)


@settings(max_examples=400, deadline=None)
@given(st.text())
def test_any_text_is_safe(s: str) -> None:
    for out in all_outputs(s):
        assert_safe(out)


_HTMLISH = st.lists(
    st.one_of(
        st.text(max_size=20),
        st.sampled_from(
            [
                "<script>",
                "</script>",
                "<a href='javascript:alert(1)'>",
                '<a href="https://ok.example">',
                "</a>",
                "<img src=x onerror=alert(1)>",
                "<p onclick='x'>",
                "</p>",
                "<br/>",
                "<svg/onload=alert(1)>",
                "<iframe src=//evil>",
                "<style>",
                "<!--",
                "-->",
                "<![CDATA[",
                "]]>",
                "&lt;",
                "&#x6a;avascript:",
                "<a href=' jav&#x09;ascript:alert(1)'>",
                "<math><mi xlink:href='javascript:1'>",
                "<span style='x'>",
                "<strong>",
                "<em>",
                "<object data=x>",
                "<form action=x>",
                "<input autofocus onfocus=x>",
            ]
        ),
    ),
    max_size=30,
).map("".join)


@settings(max_examples=400, deadline=None)
@given(_HTMLISH)
def test_any_html_soup_is_safe(s: str) -> None:
    assert_safe(clean_html(s))
    assert_safe(text_to_html(html_to_text(s)))


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.characters(blacklist_categories=("Cc", "Cs", "Zl", "Zp", "Zs")), max_size=60))
def test_text_round_trips(s: str) -> None:
    assert html_to_text(text_to_html(s)) == s


def test_spans_link_exactly() -> None:
    text = "see #Demo26 and @bob at https://e.example/a?b=1&c=2."
    html = text_to_html(text, hashtag_url=_tag_url, mention_url=_mention_url)
    assert html == (
        '<p>see <a href="https://x.com/hashtag/Demo26" rel="nofollow noopener noreferrer ugc">#Demo26</a> and '
        '<a href="https://x.com/bob" rel="nofollow noopener noreferrer ugc">@bob</a> at '
        '<a href="https://e.example/a?b=1&amp;c=2" rel="nofollow noopener noreferrer ugc">'
        "https://e.example/a?b=1&amp;c=2</a>.</p>"
    )


def test_paragraphs_and_line_breaks() -> None:
    assert text_to_html("one\ntwo\n\nthree") == "<p>one<br>two</p><p>three</p>"
    assert html_to_text("<p>one<br>two</p><p>three</p>") == "one\ntwo\n\nthree"


def test_unsafe_span_hrefs_are_plain_text() -> None:
    html = text_to_html("click", [Span(0, 5, "link", "javascript:alert(1)")])
    assert html == "<p>click</p>"
    assert safe_href("JaVaScRiPt:alert(1)") is None
    assert safe_href("https://ok.example/") == "https://ok.example/"
    assert safe_href("https:evil") is None
    assert safe_href("https://a.example/\nx") is None


def test_overlapping_and_out_of_range_spans_are_ignored() -> None:
    spans = [Span(0, 4, "link", "https://a.example"), Span(2, 6, "tag", "https://b.example"), Span(5, 99, "tag", "x")]
    assert text_to_html("abcdefg", spans) == (
        '<p><a href="https://a.example" rel="nofollow noopener noreferrer ugc">abcd</a>efg</p>'
    )


def test_find_spans_trims_punctuation() -> None:
    (span,) = find_spans("(see https://e.example/x).")
    assert span.href == "https://e.example/x"


def test_clean_html_keeps_the_allowlist() -> None:
    out = clean_html('<p>Hi <strong>there</strong> <em>you</em> <a href="mailto:a@b.example">mail</a><br></p>')
    assert out == (
        "<p>Hi <strong>there</strong> <em>you</em> "
        '<a href="mailto:a@b.example" rel="nofollow noopener noreferrer ugc">mail</a><br></p>'
    )
