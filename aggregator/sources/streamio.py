"""Long-lived connections for streaming sources: server-sent events and WebSocket, policy-checked.

Both open their socket the same way: `check_destination` on the URL (ws/wss are checked as
http/https), then a TCP connection to one of the checked addresses, TLS with the URL's host
as server name. Nothing else resolves the name again.

- SSE: `http.client` over that socket (it handles chunked transfer); lines are read with a
  length cap and a socket timeout that doubles as stall detection (a healthy stream sends
  heartbeat comments).
- WebSocket: the `websockets` package's synchronous client given that socket.

Every failure is a SourceError; `StreamUnavailable` (a status such as 404 or 503 on connect)
tells the runner to fall back to polling and retry later.
"""

from __future__ import annotations

import contextlib
import http.client
import logging
import socket
import ssl
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from aggregator.sources.base import AuthError, SourceError
from aggregator.sources.destination import STRICT, Destination, FetchPolicy, check_destination
from aggregator.sources.http import display_url

log = logging.getLogger("aggregator.streams")

MAX_LINE = 1024 * 1024  # an SSE line (one status) or a WebSocket message larger than this is refused
MAX_EVENT = 2 * MAX_LINE


class StreamUnavailable(SourceError):
    """The stream endpoint answered but does not stream (404, 503, not an event stream)."""

    def __init__(self, message: str, status: int = 0) -> None:
        super().__init__(message)
        self.status = status


class StreamStalled(SourceError):
    """Nothing arrived, not even a heartbeat, for longer than the stall timeout."""


def http_form(url: str) -> str:
    """ws://… and wss://… as the http(s) URL the destination policy checks."""
    scheme, _, rest = url.partition("://")
    mapped = {"ws": "http", "wss": "https"}.get(scheme.lower(), scheme)
    return f"{mapped}://{rest}"


def open_socket(url: str, policy: FetchPolicy | None, timeout: float) -> tuple[socket.socket, Destination]:
    """A connected (and for https/wss, TLS-wrapped) socket to the checked address of `url`."""
    dest = check_destination(http_form(url), policy or STRICT)
    error: OSError | None = None
    for address in dest.addresses:
        try:
            sock = socket.create_connection((address, dest.port), timeout=timeout)
        except OSError as exc:
            error = exc
            continue
        if dest.scheme == "https":
            try:
                sock = ssl.create_default_context().wrap_socket(sock, server_hostname=dest.host)
            except (OSError, ssl.SSLError) as exc:
                sock.close()
                raise SourceError(f"TLS error talking to {display_url(url)}: {exc}") from None
        return sock, dest
    raise SourceError(f"cannot connect to {display_url(url)}: {error}")


@dataclass(frozen=True, slots=True)
class SseEvent:
    """One server-sent event: its name (default "message") and its data lines joined by newlines."""

    event: str
    data: str


def parse_sse(lines: Iterator[bytes]) -> Iterator[SseEvent]:
    """The events of an SSE byte-line stream (comments and unknown fields ignored, as the spec says)."""
    event, size = "", 0
    data: list[str] = []
    for raw in lines:
        line = raw.rstrip(b"\r\n").decode("utf-8", "replace")
        if not line:
            if data:
                yield SseEvent(event or "message", "\n".join(data))
            event, data, size = "", [], 0
            continue
        if line.startswith(":"):
            continue
        name, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if name == "event":
            event = value
        elif name == "data":
            size += len(value)
            if size > MAX_EVENT:
                log.warning("stream.event_too_large bytes=%d", size)
                event, data, size = "", [], 0
                continue
            data.append(value)


class SseConnection:
    """GET an event stream and read its events until it ends, stalls or breaks."""

    def __init__(self, url: str, *, headers: Mapping[str, str], policy: FetchPolicy | None,
                 connect_timeout: float, stall_timeout: float) -> None:
        self.url = url
        self.headers = dict(headers)
        self.policy = policy
        self.connect_timeout = connect_timeout
        self.stall_timeout = stall_timeout
        self._conn: http.client.HTTPConnection | None = None
        self._resp: http.client.HTTPResponse | None = None

    def open(self) -> None:
        sock, dest = open_socket(self.url, self.policy, self.connect_timeout)
        parts = urlsplit(self.url)
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        conn = http.client.HTTPConnection(dest.host, dest.port, timeout=self.stall_timeout)
        conn.sock = sock
        self._conn = conn
        try:
            sock.settimeout(self.stall_timeout)
            conn.request("GET", target, headers={"Accept": "text/event-stream", "Cache-Control": "no-cache",
                                                  **self.headers})
            resp = conn.getresponse()
        except (OSError, http.client.HTTPException) as exc:
            self.close()
            raise SourceError(f"cannot open the stream {display_url(self.url)}: {exc}") from None
        self._resp = resp
        if resp.status in (401, 403):
            self.close()
            raise AuthError(f"HTTP {resp.status} from {display_url(self.url)}")
        ctype = resp.getheader("Content-Type", "")
        if resp.status != 200 or not ctype.startswith("text/event-stream"):
            self.close()
            raise StreamUnavailable(f"no event stream at {display_url(self.url)} (HTTP {resp.status}, {ctype!r})",
                                    resp.status)

    def _lines(self) -> Iterator[bytes]:
        resp = self._resp
        assert resp is not None
        while True:
            try:
                line = resp.readline(MAX_LINE)
            except TimeoutError:
                raise StreamStalled(f"nothing from {display_url(self.url)} for {self.stall_timeout:g} s") from None
            except (OSError, http.client.HTTPException, ValueError) as exc:
                raise SourceError(f"stream {display_url(self.url)} broke: {exc}") from None
            if not line:
                return
            if len(line) >= MAX_LINE and not line.endswith(b"\n"):
                log.warning("stream.line_too_long url=%s", display_url(self.url))
                yield b"data-dropped: too long\n"  # ends nothing; the rest of the line is read and dropped too
                continue
            yield line

    def events(self) -> Iterator[SseEvent]:
        """The stream's events; returns when the server ends the stream."""
        return parse_sse(self._lines())

    def close(self) -> None:
        resp, conn = self._resp, self._conn
        self._resp = self._conn = None
        if resp is not None:
            with contextlib.suppress(Exception):
                resp.close()
        if conn is not None:
            with contextlib.suppress(Exception):
                conn.close()


class WebSocketConnection:
    """A WebSocket client over a policy-checked socket; recv() returns text messages."""

    def __init__(self, url: str, *, policy: FetchPolicy | None, user_agent: str, connect_timeout: float,
                 stall_timeout: float) -> None:
        self.url = url
        self.policy = policy
        self.user_agent = user_agent
        self.connect_timeout = connect_timeout
        self.stall_timeout = stall_timeout
        self._ws: Any = None
        self._stack: contextlib.ExitStack | None = None  # closes the connection (websockets wants a `with`)

    def open(self) -> None:
        from websockets.exceptions import InvalidHandshake, InvalidStatus
        from websockets.sync.client import connect

        sock, dest = open_socket(self.url, self.policy, self.connect_timeout)
        stack = contextlib.ExitStack()
        try:
            self._ws = stack.enter_context(connect(
                self.url, sock=sock, server_hostname=dest.host if dest.scheme == "https" else None,
                open_timeout=self.connect_timeout, ping_interval=None, close_timeout=2, max_size=MAX_LINE,
                user_agent_header=self.user_agent, compression=None,
            ))
            self._stack = stack
        except InvalidStatus as exc:
            sock.close()
            status = exc.response.status_code
            raise StreamUnavailable(f"no WebSocket at {display_url(self.url)} (HTTP {status})", status) from None
        except (InvalidHandshake, OSError, TimeoutError) as exc:
            sock.close()
            raise SourceError(f"cannot open the stream {display_url(self.url)}: {exc}") from None

    def messages(self) -> Iterator[str]:
        """Text messages until the server closes; binary ones are skipped."""
        from websockets.exceptions import ConnectionClosed, ConnectionClosedOK

        ws = self._ws
        assert ws is not None
        while True:
            try:
                msg = ws.recv(timeout=self.stall_timeout)
            except TimeoutError:
                raise StreamStalled(f"nothing from {display_url(self.url)} for {self.stall_timeout:g} s") from None
            except ConnectionClosedOK:
                return
            except ConnectionClosed as exc:
                raise SourceError(f"stream {display_url(self.url)} broke: {exc}") from None
            except OSError as exc:
                raise SourceError(f"stream {display_url(self.url)} broke: {exc}") from None
            if isinstance(msg, str):
                yield msg

    def close(self) -> None:
        stack, self._stack, self._ws = self._stack, None, None
        if stack is not None:
            with contextlib.suppress(Exception):
                stack.close()
