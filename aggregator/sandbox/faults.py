"""Faults injected per platform prefix: errors, stalls, slow or huge or broken bodies.

A fault applies to requests whose path starts with `/<prefix>/` ("x",
"mastodon", "mastodon/b", "bluesky", "flickr", "youtube", "feed", "media"),
the longest prefix winning. It is one-shot (`times=N`: the next N matching
requests) or persistent (`times=None`) until cleared.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass, fields
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Literal, get_args

from aggregator.sandbox.http import Request, Response, json_response

FaultKind = Literal["status", "stall", "trickle", "huge", "malformed", "truncated", "html", "file", "drop", "freeze"]
FAULT_KINDS: tuple[str, ...] = get_args(FaultKind)
JSON_PLATFORMS = ("x", "mastodon", "bluesky")


@dataclass(frozen=True, slots=True)
class Fault:
    kind: FaultKind
    status: int = 503  # status: the HTTP status (429 carries the platform's own rate-limit headers)
    # stall: wait before answering; trickle: spread the body over; 429/503: reset after;
    # drop: a stream ends after this long; freeze: a stream sends nothing (no heartbeat) for this long
    seconds: float = 5.0
    times: int | None = None  # answer the next N matching requests with the fault; None: until cleared
    size: int = 50_000_000  # huge: bytes streamed (never held in memory)
    chunk: int = 64  # trickle: bytes per write
    fraction: float = 0.5  # truncated: share of the real body sent
    honest_length: bool = False  # truncated: Content-Length matches what is sent (a cut document, not a cut transfer)
    path: str = ""  # file: whose bytes to serve (e.g. corpora/xml-attacks/xmlbomb.xml)
    content_type: str = ""  # file/html/huge: Content-Type to claim (default: guessed)
    match: str = ""  # only requests whose path contains this string

    def __post_init__(self) -> None:
        if self.kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {self.kind!r} (use one of {', '.join(FAULT_KINDS)})")
        if self.times is not None and self.times < 1:
            raise ValueError("times must be >= 1 or None")
        if self.kind == "file" and not self.path:
            raise ValueError("a file fault needs path")
        if not 0 <= self.fraction <= 1:
            raise ValueError("fraction must be within 0..1")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Fault:
        known = {f.name for f in fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"unknown fault keys: {', '.join(sorted(unknown))}")
        return cls(**data)


def normalise_prefix(prefix: str) -> str:
    return prefix.strip("/")


class FaultTable:
    """prefix -> (fault, remaining uses). Thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._faults: dict[str, tuple[Fault, int | None]] = {}

    def set(self, prefix: str, fault: Fault) -> None:
        with self._lock:
            self._faults[normalise_prefix(prefix)] = (fault, fault.times)

    def clear(self, prefix: str | None = None) -> None:
        with self._lock:
            if prefix is None:
                self._faults.clear()
            else:
                self._faults.pop(normalise_prefix(prefix), None)

    def snapshot(self) -> dict[str, dict[str, Any]]:
        with self._lock:
            return {p: {**f.to_dict(), "remaining": n} for p, (f, n) in self._faults.items()}

    def take(self, path: str) -> Fault | None:
        """The fault for this request path (using up one of a one-shot fault's uses)."""
        with self._lock:
            best: str | None = None
            for prefix, (fault, _) in self._faults.items():
                hit = (path == "/" + prefix or path.startswith("/" + prefix + "/")) and fault.match in path
                if hit and (best is None or len(prefix) > len(best)):
                    best = prefix
            if best is None:
                return None
            fault, left = self._faults[best]
            if left is not None:
                if left <= 1:
                    del self._faults[best]
                else:
                    self._faults[best] = (fault, left - 1)
            return fault


# ------------------------------------------------------------------ platform styles


def rate_headers(platform: str, limit: int, remaining: int, reset: datetime) -> list[tuple[str, str]]:
    """Each platform's own rate-limit headers."""
    epoch = str(int(reset.timestamp()))
    if platform == "x":
        return [("x-rate-limit-limit", str(limit)), ("x-rate-limit-remaining", str(remaining)),
                ("x-rate-limit-reset", epoch)]
    if platform == "mastodon":
        iso = reset.strftime("%Y-%m-%dT%H:%M:%S.") + f"{reset.microsecond // 1000:03d}Z"
        return [("X-RateLimit-Limit", str(limit)), ("X-RateLimit-Remaining", str(remaining)),
                ("X-RateLimit-Reset", iso)]
    if platform == "bluesky":
        return [("ratelimit-limit", str(limit)), ("ratelimit-remaining", str(remaining)),
                ("ratelimit-reset", epoch), ("ratelimit-policy", f"{limit};w=300")]
    return []


_REASONS = {
    400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found", 429: "Too Many Requests",
    500: "Internal Server Error", 502: "Bad Gateway", 503: "Service Unavailable", 504: "Gateway Timeout",
}


def _html_error(status: int) -> Response:
    reason = _REASONS.get(status, "Error")
    body = (
        f"<html>\r\n<head><title>{status} {reason}</title></head>\r\n<body>\r\n"
        f"<center><h1>{status} {reason}</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"
    )
    return Response(status, body.encode(), content_type="text/html")


def error_response(platform: str, status: int, now: datetime, reset_after: float) -> Response:
    """What the platform answers with this status (429 with its rate-limit headers)."""
    reason = _REASONS.get(status, "Error")
    reset = now + timedelta(seconds=reset_after)
    if status == 502 or platform not in JSON_PLATFORMS:
        resp = _html_error(status)
        if status in (429, 503):
            resp.headers.append(("Retry-After", str(max(0, round(reset_after)))))
        return resp
    if platform == "x":
        resp = json_response({"title": reason, "detail": reason, "type": "about:blank", "status": status}, status)
        if status == 429:
            resp.headers += rate_headers("x", 450, 0, reset)
        return resp
    if platform == "mastodon":
        msg = "Too many requests" if status == 429 else "We're sorry, but something went wrong on our end."
        resp = json_response({"error": msg if status >= 429 else reason}, status)
        if status == 429:
            resp.headers += rate_headers("mastodon", 300, 0, reset)
        return resp
    names = {429: ("RateLimitExceeded", "Rate Limit Exceeded"), 500: ("InternalServerError", "Internal Server Error"),
             503: ("UpstreamFailure", "Upstream Failure"), 504: ("UpstreamTimeout", "Upstream Timeout")}
    err, msg = names.get(status, (reason.replace(" ", ""), reason))
    resp = json_response({"error": err, "message": msg}, status)
    if status == 429:
        resp.headers += rate_headers("bluesky", 3000, 0, reset)
    return resp


HTML_PAGE = (
    b"<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>Sign in</title></head>\n"
    b"<body><h1>Please sign in to continue</h1><form method=\"post\" action=\"/login\">"
    b"<input name=\"user\"><input name=\"password\" type=\"password\"><button>Sign in</button></form>"
    b"<p>This network requires you to accept the terms of use.</p></body></html>\n"
)


def _guess_type(platform: str, path: str) -> str:
    if path.endswith(".json"):
        return "application/json"
    if path.endswith((".xml", ".atom", ".rss")):
        return "application/xml"
    if platform in JSON_PLATFORMS:
        return "application/json; charset=utf-8"
    return "application/atom+xml; charset=utf-8"


def apply(
    fault: Fault, platform: str, req: Request, real: Callable[[], Response], now: datetime,
    stopping: threading.Event,
) -> Response:
    """The faulty answer to `req`; `real()` computes the normal one when the fault needs it."""
    if fault.kind in ("drop", "freeze") or (fault.kind == "malformed" and _is_stream(req)):
        resp = real()
        if resp.stream is not None:
            resp.stream = _stream_fault(fault, resp.stream, resp.status == 101, stopping)
        return resp
    if fault.kind == "status":
        return error_response(platform, fault.status, now, fault.seconds)
    if fault.kind == "stall":
        if stopping.wait(fault.seconds):
            return Response(503, b"", close=True)
        return real()
    if fault.kind == "html":
        return Response(200, HTML_PAGE, content_type=fault.content_type or "text/html; charset=utf-8")
    if fault.kind == "file":
        data = Path(fault.path).read_bytes()
        return Response(200, data, content_type=fault.content_type or _guess_type(platform, fault.path))
    if fault.kind == "huge":
        ctype = fault.content_type or _guess_type(platform, req.path)
        return Response(200, content_type=ctype, stream=_huge(fault.size, ctype, stopping), length=fault.size)
    resp = real()
    body = resp.body
    if fault.kind == "trickle":
        resp.stream = _trickle(body, fault.chunk, fault.seconds, stopping)
        resp.length = len(body)
        return resp
    if fault.kind == "malformed":
        resp.body = _corrupt(body, resp.content_type)
        return resp
    # truncated
    cut = body[: int(len(body) * fault.fraction)]
    resp.body = cut
    resp.length = len(cut) if fault.honest_length else len(body)
    resp.close = True
    return resp


def _corrupt(body: bytes, content_type: str) -> bytes:
    if "json" in content_type:
        i = body.find(b":")
        if i >= 0:
            return body[: i + 1] + b"," + body[i + 1 :] + b"\x00}"
        return b"{" + body
    i = body.find(b"</title>")
    if i >= 0:
        return body[:i] + b"</titel><broken" + body[i + 8 :]
    return body + b"<unclosed"


def _trickle(body: bytes, chunk: int, seconds: float, stopping: threading.Event) -> Iterator[bytes]:
    chunk = max(1, chunk)
    pieces = [body[i : i + chunk] for i in range(0, len(body), chunk)] or [b""]
    pause = seconds / max(1, len(pieces))
    for piece in pieces:
        yield piece
        if stopping.wait(pause):
            return


def _huge(size: int, ctype: str, stopping: threading.Event) -> Iterator[bytes]:
    """`size` bytes of a syntactically valid document, produced piece by piece."""
    if "json" in ctype:
        head, filler, tail = b'{"data":"', b"x", b'"}'
    else:
        head = b'<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom"><!-- '
        filler, tail = b" ", b" --></feed>"
    if size < len(head) + len(tail):
        yield (head + tail)[:size]
        return
    block = filler * 65536
    yield head
    left = size - len(head) - len(tail)
    while left > 0:
        if stopping.is_set():
            return
        n = min(left, len(block))
        yield block if n == len(block) else block[:n]
        left -= n
    yield tail


def _is_stream(req: Request) -> bool:
    return "/streaming/" in req.path or req.path.rstrip("/").endswith("/subscribe")


def _stream_fault(fault: Fault, frames: Iterable[bytes], websocket: bool, stopping: threading.Event) -> Iterator[bytes]:
    """A stream with the fault applied: ended early (drop), silent for a while (freeze), a broken frame first."""
    from aggregator.sandbox.streams import sse_frame, ws_frame

    started = time.monotonic()
    source = iter(frames)
    if fault.kind == "malformed":
        yield ws_frame('{"did":"did:plc:broken","time_us":') if websocket else sse_frame("update", '{"id": "1", "uri"')
    for chunk in source:
        elapsed = time.monotonic() - started
        if fault.kind == "drop" and elapsed >= fault.seconds:
            return  # the connection closes without a goodbye
        if fault.kind == "freeze" and elapsed < fault.seconds:
            continue  # swallowed: the client hears nothing, not even a heartbeat
        yield chunk
        if stopping.is_set():
            return
