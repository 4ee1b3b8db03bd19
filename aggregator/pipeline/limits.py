"""Bounds on one post: what a hostile author or feed can make the pipeline work on and store.

Every post passes :func:`bound_post` as it enters ingest, before dedup,
moderation or a thumbnail fetch sees it. Texts longer than the limits are cut
and end in :data:`CUT_MARK` ("…"), which dedup already reads as "a copy cut
short"; a cut post's HTML is rebuilt from the cut text (a tag is never cut in
half); media, links and hashtags beyond their counts are dropped. The limits
are generous: no platform's post comes near them (X 280 characters, Mastodon
500 by default, Bluesky 300, four media each).
"""

from __future__ import annotations

import dataclasses

from aggregator.pipeline.sanitise import text_to_html
from aggregator.types import Author, Post

MAX_TEXT_CHARS = 10_000
MAX_HTML_CHARS = 40_000  # sanitised HTML of a text within MAX_TEXT_CHARS stays well under this
MAX_TITLE_CHARS = 1_000
MAX_SPOILER_CHARS = 1_000
MAX_NAME_CHARS = 200
MAX_MEDIA = 16
MAX_LINKS = 25
MAX_HASHTAGS = 50
CUT_MARK = "…"


def cut_text(text: str, limit: int) -> str:
    """``text`` if it fits, else its first ``limit - 1`` characters and the cut mark."""
    if len(text) <= limit:
        return text
    return text[: limit - 1].rstrip() + CUT_MARK


def _bound_author(author: Author) -> Author:
    name = cut_text(author.name, MAX_NAME_CHARS)
    return author if name == author.name else dataclasses.replace(author, name=name)


def bound_post(post: Post) -> Post:
    """``post`` within the limits (the same object when it already is)."""
    text = cut_text(post.text, MAX_TEXT_CHARS)
    html = post.html
    if text != post.text or len(html) > MAX_HTML_CHARS:
        html = text_to_html(text)
    original = bound_post(post.repost_of) if post.repost_of is not None else None
    bounded = dataclasses.replace(
        post,
        text=text,
        html=html,
        title=cut_text(post.title, MAX_TITLE_CHARS),
        spoiler_text=cut_text(post.spoiler_text, MAX_SPOILER_CHARS),
        author=_bound_author(post.author),
        media=post.media[:MAX_MEDIA],
        links=post.links[:MAX_LINKS],
        hashtags=post.hashtags[:MAX_HASHTAGS],
        repost_of=original,
    )
    return post if bounded == post else bounded
