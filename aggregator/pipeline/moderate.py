"""Automatic moderation: one pure function from a post, the policy and a context to a Decision.

``moderate(post, policy, ctx)`` reads no clock, database or network: the
caller puts "now", the event's dates, the author lists (config *and* the ones
moderators added later in the console) and recent per-author counts into a
:class:`ModerationContext`. Every Decision names the rule that made it in
``rule`` (moderators filter the queue by it) and what matched in ``detail``.

Rules, first match wins:

==  =====================  ========  ==================================================
 #  rule                   status    when
==  =====================  ========  ==================================================
 1  ``blocked_author``     REJECTED  author is in blocked_authors (config or ctx)
 2  ``blocked_word``       REJECTED  a blocked word/phrase is in the text, content
                                     warning, title or a media alt text
 3  ``too_old``            REJECTED  created before event_start - max_age_days
 4  ``hide_replies``       REJECTED  hide_replies and the post is a reply
    ``hide_reposts``       REJECTED  hide_reposts and the post is a repost/boost
 5  ``reporter``           APPROVED  author is one of the event's reporters, or the
                                     post was written in our own console (detail
                                     ``console:<username>``)
    ``trusted_author``     APPROVED  author is trusted (even in pre mode; rules 1-4
                                     still apply to them)
 6  ``future``             PENDING   dated more than max_future_minutes after now
 7  ``queue_word``         PENDING   a queue word/phrase is in those same fields
    ``profanity``          PENDING   use_profanity_list and a word of the shipped list
 8  ``sensitive_media``    PENDING   hide_sensitive and the platform flagged the media
    ``content_warning``    PENDING   hide_content_warnings and the post has a CW
 9  ``language``           PENDING   languages is set and the post's language is known
                                     and not in it (unknown language passes)
10  ``per_author_cap``     PENDING   the author already has per_author_cap approved
                                     posts in the current window
11  ``mode:pre``           PENDING   pre-moderation: everything else waits
    ``mode:post``          APPROVED  post-moderation: everything else is shown
==  =====================  ========  ==================================================

Word matching (:mod:`aggregator.pipeline.textnorm`) is whole-word and
Unicode-aware after NFKC, case folding, removal of invisible characters and
accents, and folding of look-alike characters (Unicode confusables), so "ass"
does not match "class" while "sp\\u200bam", "cásino" and "cаsino" (Cyrillic
"а") match "spam" and "casino"; common leetspeak is folded too. Author lists
and handles are folded the same way. Author lists take ``platform:handle`` or a bare
``handle`` (case-insensitive, a leading ``@`` ignored; Mastodon handles as
``user@instance``), or a platform's own author id (``bluesky:did:plc:...``,
or a bare DID / profile URL).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from importlib import resources
from urllib.parse import urlsplit

from aggregator.config import ModerationSettings
from aggregator.pipeline.textnorm import PhraseMatcher, normalise_for_matching, phrase_matcher
from aggregator.types import Author, Decision, Platform, Post, RelationKind, Status

__all__ = [
    "RULES",
    "ModerationContext",
    "author_identifiers",
    "author_key",
    "moderate",
    "normalise_author_id",
    "normalise_author_ids",
    "profanity_matcher",
]

RULES: tuple[str, ...] = (
    "blocked_author",
    "blocked_word",
    "too_old",
    "hide_replies",
    "hide_reposts",
    "reporter",
    "trusted_author",
    "future",
    "queue_word",
    "profanity",
    "sensitive_media",
    "content_warning",
    "language",
    "per_author_cap",
    "mode:pre",
    "mode:post",
)
"""Every ``Decision.rule`` that :func:`moderate` can return, in rule order (for filters in the console)."""

_PLATFORMS = frozenset(p.value for p in Platform)
_UNKNOWN_LANGUAGES = frozenset({"", "und", "unk", "zxx", "mul"})


# --- author identity -------------------------------------------------------------------


def normalise_author_id(value: str) -> str:
    """One entry of an author list in canonical form.

    ``"@Alice"`` -> ``"alice"``; ``"X:@Alice"`` -> ``"x:alice"``;
    ``"mastodon:@a@Example.Social"`` -> ``"mastodon:a@example.social"``.
    A prefix that is not a platform name is kept (``"did:plc:xyz"`` stays whole).
    """
    v = "".join(normalise_for_matching(value).split())
    prefix, sep, rest = v.partition(":")
    if sep and prefix in _PLATFORMS:
        return f"{prefix}:{rest.lstrip('@')}"
    return v.lstrip("@")


def normalise_author_ids(values: Iterable[str]) -> frozenset[str]:
    """A set of normalised author-list entries (blank entries dropped)."""
    return frozenset(n for n in map(normalise_author_id, values) if n and n != "@")


def author_key(author: Author) -> str:
    """The key of ``ModerationContext.recent_author_counts``: ``"<platform>:<external_id>"``."""
    return f"{author.platform.value}:{author.external_id}"


def author_identifiers(author: Author) -> frozenset[str]:
    """Every normalised form under which an author list may name this author.

    ``handle``, ``platform:handle``, ``platform:external_id``, and the bare
    external id when it is globally unique (a DID or a URL). A Mastodon handle
    without an instance gets one from the profile URL.
    """
    platform = author.platform.value
    handle = "".join(normalise_for_matching(author.handle).split()).lstrip("@")
    ids: set[str] = set()
    # A real handle has no ":"; one that does must not pass for another platform's "platform:handle".
    handles = {handle} if handle and ":" not in handle else set()
    if handle and author.platform is Platform.MASTODON and "@" not in handle and author.profile_url:
        host = (urlsplit(author.profile_url).hostname or "").casefold()
        if host:
            handles.add(f"{handle}@{host}")
    for h in handles:
        ids.add(h)
        ids.add(f"{platform}:{h}")
    ext = "".join(normalise_for_matching(author.external_id).split())
    if ext:
        ids.add(f"{platform}:{ext}")
        if ext.startswith("did:") or "/" in ext:
            ids.add(ext)
    return frozenset(ids)


# --- context -------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True, slots=True)
class ModerationContext:
    """What moderation needs beyond the post and the policy; built by the caller for each run."""

    event_start: datetime  # aware; start of the event (for too_old)
    event_end: datetime  # aware; end of the event
    now: datetime  # aware; the caller's clock (for future)
    trusted_authors: frozenset[str] = frozenset()  # normalised ids: config + console (normalise_author_ids)
    blocked_authors: frozenset[str] = frozenset()  # normalised ids: config + console
    reporters: frozenset[str] = frozenset()  # normalised ids of the event's social reporters
    recent_author_counts: Mapping[str, int] = field(default_factory=dict)  # author_key -> approved in window

    def __post_init__(self) -> None:
        for name in ("event_start", "event_end", "now"):
            value = getattr(self, name)
            if value.tzinfo is None or value.utcoffset() is None:
                raise ValueError(f"ModerationContext.{name} must be timezone-aware, got {value!r}")

    @classmethod
    def build(
        cls,
        policy: ModerationSettings,
        *,
        event_start: datetime,
        event_end: datetime,
        now: datetime,
        trusted_authors: Iterable[str] = (),
        blocked_authors: Iterable[str] = (),
        reporters: Iterable[str] = (),
        recent_author_counts: Mapping[str, int] | None = None,
    ) -> ModerationContext:
        """A context whose author sets hold the policy's lists plus the given (console) ones, normalised."""
        return cls(
            event_start=event_start,
            event_end=event_end,
            now=now,
            trusted_authors=normalise_author_ids((*policy.trusted_authors, *trusted_authors)),
            blocked_authors=normalise_author_ids((*policy.blocked_authors, *blocked_authors)),
            reporters=normalise_author_ids(reporters),
            recent_author_counts=dict(recent_author_counts or {}),
        )


# --- word lists -----------------------------------------------------------------------


@lru_cache(maxsize=1)
def profanity_matcher() -> PhraseMatcher:
    """The shipped list (aggregator/data/profanity.txt), compiled once."""
    text = resources.files("aggregator").joinpath("data/profanity.txt").read_text(encoding="utf-8")
    words = (line.strip() for line in text.splitlines())
    return PhraseMatcher(w for w in words if w and not w.startswith("#"))


def _fields(post: Post) -> list[str]:
    """The normalised texts a word list is checked against (each on its own, no cross-field matches)."""
    raw = [post.text, post.spoiler_text, post.title, *(m.alt_text for m in post.media)]
    out = []
    for value in raw:
        if value:
            norm = normalise_for_matching(value)
            if norm:
                out.append(norm)
    return out


def _find(matcher: PhraseMatcher, fields: list[str]) -> str | None:
    if not matcher:
        return None
    for text in fields:
        found = matcher.find(text, leet=True)
        if found is not None:
            return found
    return None


# --- the rules --------------------------------------------------------------------------


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


def _is_repost(post: Post) -> bool:
    return post.repost_of is not None or post.relation(RelationKind.REPOST) is not None


def _language(tag: str | None) -> str:
    """ "en-GB" / "EN_gb" -> "en"; "" for unknown."""
    if not tag:
        return ""
    primary = tag.strip().replace("_", "-").split("-", 1)[0].casefold()
    return "" if primary in _UNKNOWN_LANGUAGES else primary


def moderate(post: Post, policy: ModerationSettings, ctx: ModerationContext) -> Decision:
    """The automatic verdict for one post (see the module docstring for the rule order)."""
    ids = author_identifiers(post.author)

    blocked = ids & (ctx.blocked_authors | _policy_ids(policy.blocked_authors))
    if blocked:
        return Decision(Status.REJECTED, "blocked_author", min(blocked))

    fields = _fields(post)
    word = _find(phrase_matcher(policy.blocked_words), fields)
    if word is not None:
        return Decision(Status.REJECTED, "blocked_word", word)

    created = _utc(post.created_at)
    oldest = ctx.event_start - timedelta(days=policy.max_age_days)
    if created < oldest:
        return Decision(Status.REJECTED, "too_old", f"created {created.isoformat()}, before {oldest.isoformat()}")

    if policy.hide_replies and post.relation(RelationKind.REPLY) is not None:
        return Decision(Status.REJECTED, "hide_replies", "reply")
    if policy.hide_reposts and _is_repost(post):
        return Decision(Status.REJECTED, "hide_reposts", "repost")

    reporter = ids & ctx.reporters
    if reporter or post.platform is Platform.REPORTER:
        return Decision(Status.APPROVED, "reporter", min(reporter) if reporter else f"console:{post.author.handle}")
    trusted = ids & (ctx.trusted_authors | _policy_ids(policy.trusted_authors))
    if trusted:
        return Decision(Status.APPROVED, "trusted_author", min(trusted))

    latest = ctx.now + timedelta(minutes=policy.max_future_minutes)
    if created > latest:
        return Decision(Status.PENDING, "future", f"created {created.isoformat()}, after {latest.isoformat()}")

    word = _find(phrase_matcher(policy.queue_words), fields)
    if word is not None:
        return Decision(Status.PENDING, "queue_word", word)
    if policy.use_profanity_list:
        word = _find(profanity_matcher(), fields)
        if word is not None:
            return Decision(Status.PENDING, "profanity", word)

    if policy.hide_sensitive and post.sensitive:
        return Decision(Status.PENDING, "sensitive_media", "flagged sensitive")
    if policy.hide_content_warnings and post.spoiler_text.strip():
        return Decision(Status.PENDING, "content_warning", post.spoiler_text.strip()[:200])

    if policy.languages:
        language = _language(post.language)
        if language and language not in _allowed_languages(policy.languages):
            return Decision(Status.PENDING, "language", language)

    if policy.per_author_cap:
        count = ctx.recent_author_counts.get(author_key(post.author), 0)
        if count >= policy.per_author_cap:
            return Decision(
                Status.PENDING,
                "per_author_cap",
                f"{count} approved in {policy.per_author_window}s (cap {policy.per_author_cap})",
            )

    if policy.mode == "pre":
        return Decision(Status.PENDING, "mode:pre")
    return Decision(Status.APPROVED, "mode:post")


@lru_cache(maxsize=64)
def _policy_ids(values: tuple[str, ...]) -> frozenset[str]:
    return normalise_author_ids(values)


@lru_cache(maxsize=64)
def _allowed_languages(values: tuple[str, ...]) -> frozenset[str]:
    return frozenset(_language(v) for v in values) - {""}
