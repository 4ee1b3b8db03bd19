"""Source health in words, the same for the console and `aggregator sources`.

Pure functions over a stored SourceRecord: the state ("not run yet", "ok",
"failing", "rate limited", "off"), the last error said the way an organiser
would say it, and whether it deserves a banner (two failures in a row).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from aggregator.storage.records import SourceRecord

BANNER_AFTER = 2  # consecutive failures before every console page says so

# (pattern in the collector's message, what it means); the first match wins.
_PLAIN: tuple[tuple[re.Pattern[str], str], ...] = tuple((re.compile(p, re.I), m) for p, m in (
    (r"name or service not known|nodename nor servname|getaddrinfo|name resolution|\bdns\b|no address associated",
     "could not find the server's address (DNS): check the URL and this machine's internet connection"),
    (r"connection refused", "the server refused the connection: is the URL right and the service up?"),
    (r"timed? ?out|timeout", "the server did not answer in time"),
    (r"certificate|ssl|tls", "the secure connection failed (certificate problem)"),
    (r"rate limited|\b429\b|too many requests", "the platform asked us to slow down (rate limited)"),
    (r"\b401\b|unauthori[sz]ed|invalid token|bad credentials|authentication",
     "the platform refused our credentials: check the source's token or key"),
    (r"\b403\b|forbidden", "the platform refused access (403): check the credentials' permissions"),
    (r"\b404\b|not found", "the address was not found (404): check the source's URL or account name"),
    (r"\b5\d\d\b|server error|bad gateway|service unavailable", "the platform had a server error; it will be retried"),
    (r"not (?:valid )?(?:xml|json|a feed)|parse|malformed|syntax", "the answer could not be read (not a valid feed)"),
    (r"internal error", "a bug in this collector (see the server log)"),
))


@dataclass(frozen=True, slots=True)
class SourceHealth:
    name: str
    kind: str
    enabled: bool
    state: str  # "off" | "not run yet" | "ok" | "failing" | "rate limited"
    summary: str  # one line: state and, when failing, how often in a row
    error: str  # the last error in words ("" when the last run worked)
    raw_error: str  # as the collector reported it
    last_success_at: datetime | None
    last_error_at: datetime | None
    next_run_at: datetime | None
    posts: int
    alarm: bool  # failed BANNER_AFTER times or more in a row


def in_words(message: str) -> str:
    for pattern, meaning in _PLAIN:
        if pattern.search(message):
            return meaning
    return message.strip().rstrip(".") or "unknown error"


def health(s: SourceRecord, now: datetime) -> SourceHealth:
    failing = s.consecutive_failures > 0
    limited = s.rate_limited_until is not None and s.rate_limited_until > now
    if not s.enabled:
        state = "off"
    elif s.last_run_at is None and s.last_success_at is None and not failing:
        state = "not run yet"
    elif limited:
        state = "rate limited"
    elif failing:
        state = "failing"
    else:
        state = "ok"
    times = f"{s.consecutive_failures} time{'s' if s.consecutive_failures != 1 else ''} in a row"
    summary = f"failed {times}" if state == "failing" else state
    error = in_words(s.last_error) if failing and s.last_error else ""
    return SourceHealth(
        name=s.name, kind=s.kind, enabled=s.enabled, state=state, summary=summary, error=error,
        raw_error=(s.last_error or "") if failing else "", last_success_at=s.last_success_at,
        last_error_at=s.last_error_at if failing else None, next_run_at=s.next_run_at, posts=s.posts_collected,
        alarm=s.enabled and s.consecutive_failures >= BANNER_AFTER,
    )
