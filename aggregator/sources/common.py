"""Small pieces every collector shares: dates, kinds, exclusions, payload access."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from aggregator.config import SourceSettings
from aggregator.sources.base import SourceError
from aggregator.types import Media, Post, PostKind

FUTURE_TOLERANCE = timedelta(minutes=2)  # clock skew we let through before clamping
DEFAULT_MAX_PAGES = 5


def parse_time(value: Any) -> datetime | None:
    """An ISO-8601 timestamp as aware UTC; None when missing or unreadable."""
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip().replace("Z", "+00:00").replace("z", "+00:00")
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    try:
        return parsed.astimezone(UTC)
    except (OverflowError, ValueError):
        return None


def clamp_time(value: datetime | None, now: datetime) -> datetime:
    """Missing -> now; further ahead than a small tolerance -> now (client-set dates can lie)."""
    if value is None:
        return now
    if value > now + FUTURE_TOLERANCE:
        return now
    return value


def format_utc(value: datetime) -> str:
    """2026-05-14T09:30:00Z (what search APIs take)."""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def kind_of(media: Sequence[Media], links: Sequence[str]) -> PostKind:
    """The card's main kind: its first media's kind, else link, else text."""
    if media:
        return PostKind(media[0].kind.value)
    if links:
        return PostKind.LINK
    return PostKind.TEXT


def dedupe(values: Iterable[str]) -> tuple[str, ...]:
    seen: dict[str, None] = {}
    for v in values:
        if v and v not in seen:
            seen[v] = None
    return tuple(seen)


def norm_tags(tags: Iterable[str]) -> tuple[str, ...]:
    return dedupe(t.strip().lstrip("#").lower() for t in tags if t and t.strip().lstrip("#"))


def _word_re(word: str) -> re.Pattern[str]:
    escaped = re.escape(word.strip())
    return re.compile(rf"(?<!\w){escaped}(?!\w)", re.IGNORECASE)


class Exclusions:
    """exclude_words / exclude_accounts of a source: what it does not follow."""

    def __init__(self, settings: SourceSettings) -> None:
        self.words = [_word_re(w) for w in settings.exclude_words if w.strip()]
        self.accounts = {a.strip().lower().lstrip("@") for a in settings.exclude_accounts if a.strip()}

    def _author_excluded(self, post: Post) -> bool:
        a = post.author
        return a.handle.lower() in self.accounts or a.external_id.lower() in self.accounts

    def excludes(self, post: Post) -> bool:
        for p in (post, post.repost_of):
            if p is None:
                continue
            if self.accounts and self._author_excluded(p):
                return True
            if self.words:
                hay = "\n".join((p.text, p.spoiler_text, p.title, " ".join("#" + t for t in p.hashtags)))
                if any(r.search(hay) for r in self.words):
                    return True
        return False

    def filter(self, posts: Iterable[Post]) -> tuple[Post, ...]:
        return tuple(p for p in posts if not self.excludes(p))


def is_blank(post: Post) -> bool:
    """Nothing to show: no text, title, media or link (stored, it would be an empty approved card)."""
    if post.repost_of is not None:
        return is_blank(post.repost_of)
    return not (post.text.strip() or post.title.strip() or post.media or post.links)


class Skips:
    """Why items a collector fetched were not handed on, counted per reason for the collect report."""

    def __init__(self) -> None:
        self.counts: dict[str, int] = {}

    def add(self, reason: str, n: int = 1) -> None:
        if n:
            self.counts[reason] = self.counts.get(reason, 0) + n

    def keep(self, posts: Iterable[Post], reason: str, drop: Callable[[Post], bool]) -> list[Post]:
        """The posts `drop` does not reject; the rejected ones are counted under `reason`."""
        kept: list[Post] = []
        for p in posts:
            if drop(p):
                self.add(reason)
            else:
                kept.append(p)
        return kept

    def screen(self, posts: Iterable[Post], exclusions: Exclusions) -> tuple[Post, ...]:
        """Blank posts and what the source excludes, dropped and counted."""
        kept = self.keep(posts, "empty (no text, media or link)", is_blank)
        return tuple(self.keep(kept, "excluded by the source's words or accounts", exclusions.excludes))

    def result(self) -> tuple[tuple[str, int], ...]:
        return tuple(sorted(self.counts.items()))


def obj(value: Any) -> Mapping[str, Any]:
    """A JSON object, or an empty one for anything else."""
    return value if isinstance(value, Mapping) else {}


def arr(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def text_of(value: Any) -> str:
    return value if isinstance(value, str) else ""


def opt_str(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def opt_int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return None


def is_web_url(value: str) -> bool:
    """An absolute http(s) URL without whitespace or control characters."""
    return value.lower().startswith(("http://", "https://")) and not any(c.isspace() or ord(c) < 0x20 for c in value)


def require(value: Any, what: str, where: str) -> Any:
    if value is None or value == "":
        raise SourceError(f"unexpected payload from {where}: missing {what}")
    return value


def max_pages(settings: SourceSettings, default: int = DEFAULT_MAX_PAGES) -> int:
    value = settings.params.get("max_pages", default)
    return max(1, int(value)) if isinstance(value, int | float | str) and str(value).isdigit() else default


def id_newer(a: str, b: str | None) -> bool:
    """Whether snowflake-ish id `a` sorts after `b` (numeric when both are digits)."""
    if b is None:
        return True
    if a.isdigit() and b.isdigit():
        return int(a) > int(b)
    return (len(a), a) > (len(b), b)
