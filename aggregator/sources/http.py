"""The one HTTP client every collector uses: bounded in time and size, polite, explicit.

Every request has a connect timeout, a read timeout and an overall deadline
(a server that stalls or trickles bytes is cut off when the deadline passes),
and a body-size cap enforced while streaming (a huge body is never held in
memory). Statuses become our own exceptions: 429 -> RateLimited with the reset
time from whichever rate-limit header the platform sends, 401/403 ->
AuthError, anything else unexpected -> SourceError with a message an
organiser can read.

The limits live in `BoundedAdapter`, a requests transport adapter, so that
sessions we do not own (tweepy's) get the same guarantees by mounting it.

Destination policy: the adapter also checks every request -- the first and
each redirect hop, which requests sends through the adapter again -- with
`check_destination(url, policy)` (sources/destination.py): loopback, private,
link-local, CGNAT, multicast, unique-local and other non-public addresses and
ports other than 80/443 are refused unless `server.allow_private_fetch`
allows them. Its connections are made to the address that was checked (the
pool's connection classes take it from the adapter, so a second DNS answer is
never used), while the Host header, TLS SNI and certificate check keep the
URL's host name. Proxies from the environment are ignored for the same
reason. Anything else that fetches a URL on the server (a streaming source,
the media store) calls `check_destination` and connects to
`Destination.addresses`, or uses this client.
"""

from __future__ import annotations

import contextlib
import contextvars
import json
import logging
import socket
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter
from requests.structures import CaseInsensitiveDict
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import NewConnectionError

from aggregator.clock import Clock, system_clock
from aggregator.sources.base import AuthError, RateLimited, SourceError
from aggregator.sources.destination import (
    STRICT,
    Destination,
    DestinationRefused,
    FetchPolicy,
    check_destination,
)

log = logging.getLogger("aggregator.http")

MB = 1024 * 1024
_CHUNK = 64 * 1024
_MAX_REDIRECTS = 5
DEFAULT_RATE_LIMIT_WAIT = timedelta(seconds=60)
MAX_RATE_LIMIT_WAIT = timedelta(days=1)


@dataclass(frozen=True, slots=True)
class HttpLimits:
    """Time and size bounds of one request."""

    connect_timeout: float = 5.0  # seconds to open the connection
    read_timeout: float = 15.0  # seconds one socket read may wait
    deadline: float = 20.0  # seconds the whole request (redirects, headers, body) may take
    max_bytes: int = 10 * MB  # largest body accepted (after decompression)

    @classmethod
    def from_params(cls, params: Mapping[str, Any]) -> HttpLimits:
        """Limits overridden by a source's params (`timeout`, `max_bytes`), where set."""
        base = cls()
        try:
            deadline = float(params["timeout"]) if params.get("timeout") else None
            max_bytes = int(params["max_bytes"]) if params.get("max_bytes") else None
        except (TypeError, ValueError):
            raise SourceError("params.timeout and params.max_bytes must be numbers") from None
        if (deadline is not None and deadline <= 0) or (max_bytes is not None and max_bytes <= 0):
            raise SourceError("params.timeout and params.max_bytes must be positive")
        return cls(
            connect_timeout=base.connect_timeout,
            read_timeout=min(base.read_timeout, deadline) if deadline else base.read_timeout,
            deadline=deadline or base.deadline,
            max_bytes=max_bytes or base.max_bytes,
        )


def _size_label(n: int) -> str:
    if n % MB == 0:
        return f"{n // MB} MB"
    if n >= MB:
        return f"{n / MB:.1f} MB"
    return f"{n} bytes"


def _seconds_label(s: float) -> str:
    return f"{s:g} s"


def display_url(url: str, limit: int = 200) -> str:
    """A URL for messages: no credentials, bounded length."""
    parts = urlsplit(url)
    netloc = parts.hostname or ""
    if ":" in netloc:
        netloc = f"[{netloc}]"  # IPv6
    try:
        port = parts.port
    except ValueError:
        port = None
    if port:
        netloc += f":{port}"
    shown = f"{parts.scheme}://{netloc}{parts.path}"
    if parts.query:
        shown += "?" + parts.query
    return shown if len(shown) <= limit else shown[: limit - 3] + "..."


@dataclass(slots=True)
class _Budget:
    """The limits of the request in flight, shared by its redirects."""

    limits: HttpLimits
    started: float = field(default_factory=time.monotonic)

    @property
    def ends(self) -> float:
        return self.started + self.limits.deadline

    def remaining(self) -> float:
        return self.ends - time.monotonic()


_budget: contextvars.ContextVar[_Budget | None] = contextvars.ContextVar("aggregator_http_budget", default=None)


@contextlib.contextmanager
def request_budget(limits: HttpLimits) -> Iterator[None]:
    """Within this block, every request on a BoundedAdapter shares one deadline and these limits."""
    token = _budget.set(_Budget(limits))
    try:
        yield
    finally:
        _budget.reset(token)


def _timed_out(limits: HttpLimits, url: str) -> SourceError:
    return SourceError(f"timed out after {_seconds_label(limits.deadline)}: {display_url(url)}")


def _set_socket_timeout(resp: requests.Response, seconds: float) -> None:
    """Tighten the socket timeout of a streaming response to what is left of the deadline."""
    conn = getattr(resp.raw, "_connection", None)
    sock = getattr(conn, "sock", None)
    if isinstance(sock, socket.socket):
        with contextlib.suppress(OSError):
            sock.settimeout(max(0.01, seconds))


def read_body(resp: requests.Response, budget: _Budget, url: str) -> bytes:
    """Stream a response body under the size cap and the deadline; close the response on failure."""
    limits = budget.limits
    length = resp.headers.get("content-length", "")
    if length.isdigit() and int(length) > limits.max_bytes:
        resp.close()
        raise SourceError(f"response over {_size_label(limits.max_bytes)}: {display_url(url)}")
    chunks: list[bytes] = []
    total = 0
    try:
        while True:
            remaining = budget.remaining()
            if remaining <= 0:
                raise _timed_out(limits, url)
            _set_socket_timeout(resp, min(limits.read_timeout, remaining))
            chunk = resp.raw.read1(_CHUNK, decode_content=True)
            if not chunk:
                break
            total += len(chunk)
            if total > limits.max_bytes:
                raise SourceError(f"response over {_size_label(limits.max_bytes)}: {display_url(url)}")
            chunks.append(chunk)
    except SourceError:
        resp.close()
        raise
    except (requests.exceptions.RequestException, OSError, ValueError) as exc:
        resp.close()
        if budget.remaining() <= 0 or isinstance(exc, TimeoutError) or "timed out" in str(exc).lower():
            raise _timed_out(limits, url) from None
        raise SourceError(f"connection broken while reading {display_url(url)}: {exc}") from None
    except Exception as exc:  # urllib3 protocol / decode errors
        resp.close()
        if budget.remaining() <= 0 or "timed out" in str(exc).lower():
            raise _timed_out(limits, url) from None
        raise SourceError(f"could not read response from {display_url(url)}: {exc}") from None
    return b"".join(chunks)


# --- pinned connections ------------------------------------------------------------------------

# The destination the adapter checked for the request in flight; its connections connect there.
_pinned: contextvars.ContextVar[Destination | None] = contextvars.ContextVar("aggregator_http_pin", default=None)


class _Unchecked(OSError):
    """A connection was about to open without a checked destination (a bug, refused all the same)."""


def _pinned_addresses(conn: HTTPConnection) -> tuple[str, ...]:
    pin = _pinned.get()
    host = conn.host.strip("[]").rstrip(".").lower()
    if pin is None or pin.host != host or pin.port != conn.port:
        raise _Unchecked(f"refused: no checked destination for {host}:{conn.port}")
    return pin.addresses


def _connect_pinned(conn: HTTPConnection, connect: Callable[[], socket.socket]) -> socket.socket:
    """Connect to the checked addresses in turn (a refused one moves on); Host, SNI, cert keep the name."""
    addresses = _pinned_addresses(conn)
    for i, address in enumerate(addresses):
        conn._dns_host = address
        try:
            return connect()
        except NewConnectionError:
            if i == len(addresses) - 1:
                raise
    raise _Unchecked("refused: no address")  # unreachable: check_destination returns at least one


class _PinnedHTTPConnection(HTTPConnection):
    def _new_conn(self) -> socket.socket:
        return _connect_pinned(self, super()._new_conn)


class _PinnedHTTPSConnection(HTTPSConnection):
    def _new_conn(self) -> socket.socket:
        return _connect_pinned(self, super()._new_conn)


class _PinnedHTTPPool(HTTPConnectionPool):
    ConnectionCls = _PinnedHTTPConnection


class _PinnedHTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _PinnedHTTPSConnection


class BoundedAdapter(HTTPAdapter):
    """A transport adapter that enforces HttpLimits and reads the body eagerly.

    `rewrite_from`/`rewrite_to` redirect one origin to another (tweepy's fixed
    api.twitter.com to a configured base URL). The returned Response has its
    content loaded, so callers that do not stream (tweepy) still get the caps.
    Every request (each redirect hop comes through here again) is checked
    against `policy` and connects to the checked address.
    """

    def __init__(
        self,
        limits: HttpLimits | None = None,
        *,
        rewrite_from: str | None = None,
        rewrite_to: str | None = None,
        policy: FetchPolicy | None = None,
    ) -> None:
        super().__init__(max_retries=0)
        self.limits = limits or HttpLimits()
        self.rewrite_from = rewrite_from.rstrip("/") if rewrite_from else None
        self.rewrite_to = rewrite_to.rstrip("/") if rewrite_to else None
        self.policy = policy or STRICT

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {"http": _PinnedHTTPPool, "https": _PinnedHTTPSPool}

    def send(
        self,
        request: requests.PreparedRequest,
        stream: bool = False,
        timeout: Any = None,
        verify: bool | str = True,
        cert: Any = None,
        proxies: Mapping[str, str] | None = None,
    ) -> requests.Response:
        url = request.url or ""
        if self.rewrite_from and self.rewrite_to and url.startswith(self.rewrite_from):
            url = self.rewrite_to + url[len(self.rewrite_from) :]
            request.url = url
            host = urlsplit(url).netloc
            if host:
                request.headers["Host"] = host
        budget = _budget.get() or _Budget(self.limits)
        limits = budget.limits
        remaining = budget.remaining()
        if remaining <= 0:
            raise _timed_out(limits, url)
        try:
            destination = check_destination(url, self.policy)
        except DestinationRefused as exc:
            log.warning("fetch.refused %s", exc)
            raise
        timeouts = (min(limits.connect_timeout, remaining), min(limits.read_timeout, remaining))
        pin = _pinned.set(destination)
        try:
            # No proxies: the connection must go to the address that was checked.
            resp = super().send(request, stream=True, timeout=timeouts, verify=verify, cert=cert, proxies=None)
        except requests.exceptions.Timeout:
            raise _timed_out(limits, url) from None
        except requests.exceptions.SSLError as exc:
            raise SourceError(f"TLS error talking to {display_url(url)}: {exc}") from None
        except requests.exceptions.ConnectionError as exc:
            if budget.remaining() <= 0:
                raise _timed_out(limits, url) from None
            raise SourceError(f"cannot connect to {display_url(url)}: {_short(exc)}") from None
        except requests.exceptions.RequestException as exc:
            raise SourceError(f"request to {display_url(url)} failed: {_short(exc)}") from None
        finally:
            _pinned.reset(pin)
        body = read_body(resp, budget, url)
        resp._content = body
        resp._content_consumed = True  # type: ignore[attr-defined]
        resp.close()
        return resp


def _short(exc: BaseException) -> str:
    text = str(exc)
    return text if len(text) <= 200 else text[:197] + "..."


# --- rate-limit headers -------------------------------------------------------------------------


def _parse_reset_value(value: str, now: datetime, *, delta_ok: bool) -> datetime | None:
    value = value.strip()
    if not value:
        return None
    try:
        number = float(value)
    except ValueError:
        number = None
    if number is not None:
        if number > 1_000_000_000:  # epoch seconds
            try:
                return datetime.fromtimestamp(number, UTC)
            except (OverflowError, OSError, ValueError):
                return None
        if delta_ok and number >= 0:
            return now + timedelta(seconds=number)
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        try:
            parsed = parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def rate_limit_reset(headers: Mapping[str, str], now: datetime) -> datetime:
    """When to try again, from any platform's headers; the latest one named wins.

    X: `x-rate-limit-reset` (epoch seconds); Mastodon: `X-RateLimit-Reset`
    (ISO-8601); Bluesky: `ratelimit-reset` (epoch seconds); anyone:
    `Retry-After` (seconds or an HTTP date). Without any, a minute from now;
    never earlier than now and never more than a day ahead.
    """
    lowered = CaseInsensitiveDict(headers)
    candidates: list[datetime] = []
    retry_after = lowered.get("retry-after")
    if retry_after:
        found = _parse_reset_value(retry_after, now, delta_ok=True)
        if found:
            candidates.append(found)
    for name in ("x-rate-limit-reset", "x-ratelimit-reset", "ratelimit-reset"):
        value = lowered.get(name)
        if value:
            # Small numbers here are delta seconds (IETF draft RateLimit headers).
            found = _parse_reset_value(value, now, delta_ok=True)
            if found:
                candidates.append(found)
    if not candidates:
        return now + DEFAULT_RATE_LIMIT_WAIT
    reset = max(candidates)
    return min(max(reset, now), now + MAX_RATE_LIMIT_WAIT)


# --- responses and the client -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class HttpResponse:
    """A fully read response."""

    url: str  # final URL, after redirects
    status: int
    headers: CaseInsensitiveDict[str]
    body: bytes

    @property
    def not_modified(self) -> bool:
        return self.status == 304

    @property
    def etag(self) -> str | None:
        return self.headers.get("etag") or None

    @property
    def last_modified(self) -> str | None:
        return self.headers.get("last-modified") or None

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "")

    def json(self) -> Any:
        """The body as JSON; SourceError('malformed JSON: ...') if it is not."""
        try:
            return json.loads(self.body)
        except (ValueError, UnicodeDecodeError) as exc:
            raise SourceError(f"malformed JSON from {display_url(self.url)}: {exc}") from None

    def json_object(self) -> dict[str, Any]:
        data = self.json()
        if not isinstance(data, dict):
            raise SourceError(f"malformed JSON from {display_url(self.url)}: expected an object")
        return data

    def error_code(self) -> str:
        """An XRPC/JSON API's `error` field, if the body is a JSON object with one."""
        try:
            data = json.loads(self.body)
        except (ValueError, UnicodeDecodeError):
            return ""
        if isinstance(data, dict):
            code = data.get("error")
            return code if isinstance(code, str) else ""
        return ""


def check_status(resp: HttpResponse, now: datetime) -> HttpResponse:
    """Raise the matching SourceError for anything but 2xx/304 (429, and 503 with Retry-After: RateLimited)."""
    status = resp.status
    if 200 <= status < 300 or status == 304:
        return resp
    where = display_url(resp.url)
    if status == 429:
        reset = rate_limit_reset(resp.headers, now)
        raise RateLimited(f"rate limited by {where} until {reset.isoformat(timespec='seconds')}", reset)
    if status == 503 and resp.headers.get("retry-after"):
        # Unavailable with a Retry-After (RFC 9110 §10.2.3): wait as long as asked, like a 429.
        reset = rate_limit_reset({"retry-after": resp.headers["retry-after"]}, now)
        raise RateLimited(f"HTTP 503 from {where}: unavailable until {reset.isoformat(timespec='seconds')}", reset)
    if status in (401, 403):
        raise AuthError(f"HTTP {status} from {where}")
    raise SourceError(f"HTTP {status} from {where}")


class HttpClient:
    """requests.Session with a BoundedAdapter, our User-Agent and status handling.

    `policy` says which non-public destinations it may reach (default: none).
    """

    def __init__(
        self,
        user_agent: str,
        *,
        limits: HttpLimits | None = None,
        clock: Clock = system_clock,
        policy: FetchPolicy | None = None,
    ) -> None:
        self.limits = limits or HttpLimits()
        self.clock = clock
        self.requests_made = 0
        self.session = requests.Session()
        self.session.max_redirects = _MAX_REDIRECTS
        self.session.headers["User-Agent"] = user_agent
        adapter = BoundedAdapter(self.limits, policy=policy)
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)

    def request(
        self,
        method: str,
        url: str,
        *,
        params: Mapping[str, Any] | list[tuple[str, Any]] | None = None,
        headers: Mapping[str, str] | None = None,
        json_body: Any = None,
        etag: str | None = None,
        last_modified: str | None = None,
        max_bytes: int | None = None,
        check: bool = True,
    ) -> HttpResponse:
        """One request, fully read. With `check`, statuses other than 2xx/304 raise."""
        limits = self.limits
        if max_bytes is not None:
            limits = HttpLimits(limits.connect_timeout, limits.read_timeout, limits.deadline, max_bytes)
        hdrs = dict(headers or {})
        if etag:
            hdrs["If-None-Match"] = etag
        if last_modified:
            hdrs["If-Modified-Since"] = last_modified
        self.requests_made += 1
        with request_budget(limits):
            try:
                raw = self.session.request(method, url, params=params, headers=hdrs, json=json_body)
            except requests.exceptions.TooManyRedirects:
                raise SourceError(f"too many redirects from {display_url(url)}") from None
            except requests.exceptions.InvalidURL as exc:
                raise SourceError(f"invalid URL {url!r}: {exc}") from None
            except requests.exceptions.RequestException as exc:
                raise SourceError(f"request to {display_url(url)} failed: {_short(exc)}") from None
        with raw:
            resp = HttpResponse(raw.url or url, raw.status_code, CaseInsensitiveDict(raw.headers), raw.content)
        return check_status(resp, self.clock()) if check else resp

    def get(self, url: str, **kwargs: Any) -> HttpResponse:
        return self.request("GET", url, **kwargs)

    def get_json(self, url: str, **kwargs: Any) -> Any:
        return self.request("GET", url, **kwargs).json()

    def get_bytes(self, url: str, max_bytes: int | None = None) -> bytes:
        """A small resource (a thumbnail for perceptual hashing) under its own size cap."""
        return self.request("GET", url, max_bytes=max_bytes).body

    def close(self) -> None:
        self.session.close()

    def __enter__(self) -> HttpClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
