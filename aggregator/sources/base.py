"""What every collector is: fetch and translate, nothing else.

A collector takes its source settings, credentials and the stored cursor and
returns a FetchResult (posts in the one Post shape plus the next cursor). It
never touches the database and never decides visibility. Failures are raised
as SourceError (or RateLimited, which carries when to try again) so the
scheduler can record them and back off; one source's failure never stops
another's.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from aggregator.clock import Clock
from aggregator.config import SourceSettings
from aggregator.types import Cursor, FetchResult, Post, PostKey

if TYPE_CHECKING:
    from aggregator.sources.destination import FetchPolicy


class SourceError(Exception):
    """A source could not be collected this time. The message is shown to organisers."""


class RateLimited(SourceError):
    """The platform asked us to wait; try again at `reset_at` (UTC)."""

    def __init__(self, message: str, reset_at: datetime) -> None:
        super().__init__(message)
        self.reset_at = reset_at


class AuthError(SourceError):
    """Credentials missing, wrong or expired, or the endpoint needs sign-in."""


@dataclass(frozen=True, slots=True)
class SourceContext:
    """Everything a collector is built from."""

    settings: SourceSettings  # the source's block of the config
    hashtags: tuple[str, ...]  # resolved: the source's, else the event's
    credentials: Mapping[str, str]  # credential name -> secret value (from the environment)
    clock: Clock  # "now", for clamping future dates and rate-limit arithmetic
    user_agent: str
    event_start: datetime | None = None  # UTC; bounds the first poll's window where an API allows
    source_name: str = ""  # the source's unique name in its event (namespaces generic feed keys)
    fetch_policy: FetchPolicy | None = None  # non-public destinations allowed (server.allow_private_fetch); None: none


class Collector(Protocol):
    """One configured source. Instances may keep in-memory state (a login session) between runs."""

    def fetch(self, cursor: Cursor) -> FetchResult:
        """Collect what is new since `cursor`. Raises SourceError / RateLimited / AuthError."""
        ...

    def close(self) -> None:
        """Release connections."""
        ...


@runtime_checkable
class DeletionChecker(Protocol):
    """A collector that can ask its platform which of the posts it delivered are gone."""

    def check_deleted(self, external_ids: Sequence[str]) -> list[str]:
        """The ids the platform definitively reports as gone (deleted, or no longer public).

        Only a clear "not found" counts; any failure raises SourceError, so a platform
        outage never removes a post.
        """
        ...


@dataclass(frozen=True, slots=True)
class StreamBatch:
    """What one stream event brought: new or edited posts, and posts deleted at the source."""

    posts: tuple[Post, ...] = ()  # translated by the platform's polling translation, filtered like a poll
    deleted: tuple[PostKey, ...] = ()  # candidates: the runner keeps only the ones this event stored


class Stream(Protocol):
    """A live connection to a platform for one source: open, read batches until it ends, close."""

    name: str  # for logs: "mastodon hashtag copro14", "jetstream"

    def open(self) -> None:
        """Connect. Raises SourceError (StreamUnavailable when the endpoint does not stream)."""
        ...

    def batches(self) -> Iterator[StreamBatch]:
        """Batches as events arrive; returns when the server ends the stream, raises SourceError when it
        breaks or stalls. Malformed frames are logged and skipped."""
        ...

    def close(self) -> None:
        ...
