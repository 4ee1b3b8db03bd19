"""A tiny programmable HTTP server on 127.0.0.1 for collector tests.

Routes map a path (without query) to a Reply, a list of Replies (served in
order, the last one repeating) or a function of the request. Every request is
recorded so tests can assert what the collector sent. It runs on the sandbox's
loopback server (aggregator/sandbox/http.py), so there is one HTTP plumbing.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

from aggregator.sandbox.http import Request, Response, SandboxHTTPServer


@dataclass
class Seen:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes

    def arg(self, name: str) -> str | None:
        values = self.query.get(name)
        return values[0] if values else None


@dataclass
class Reply:
    status: int = 200
    body: bytes | Callable[[], Iterator[bytes]] = b""
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0  # seconds before the status line
    chunk_delay: float = 0.0  # seconds between body chunks (trickle)
    content_length: bool = True  # send Content-Length for bytes bodies

    @classmethod
    def json(cls, data: bytes | str, status: int = 200, headers: dict[str, str] | None = None) -> Reply:
        body = data.encode() if isinstance(data, str) else data
        return cls(status, body, {"Content-Type": "application/json; charset=utf-8", **(headers or {})})

    @classmethod
    def file(cls, path: Path, content_type: str, status: int = 200, headers: dict[str, str] | None = None) -> Reply:
        return cls(status, path.read_bytes(), {"Content-Type": content_type, **(headers or {})})


Route = Reply | list[Reply] | Callable[[Seen], Reply]


class _Stopped(Exception):
    """The server stopped while a reply was being delayed."""


class LocalServer:
    def __init__(self) -> None:
        self.routes: dict[str, Route] = {}
        self.seen: list[Seen] = []
        self.httpd = SandboxHTTPServer(("127.0.0.1", 0), self._app)
        self.stop = self.httpd.stopping
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)

    def _app(self, req: Request) -> Response:
        seen = Seen(req.method, req.path, {k: list(v) for k, v in req.query.items()}, dict(req.headers.items()),
                    req.body)
        self.seen.append(seen)
        reply = self._reply(seen)
        if reply.delay and self.stop.wait(reply.delay):
            raise _Stopped
        headers = list(reply.headers.items())
        if isinstance(reply.body, bytes) and reply.content_length and not reply.chunk_delay:
            return Response(reply.status, reply.body, content_type="", headers=headers)
        chunks: Iterable[bytes] = [reply.body] if isinstance(reply.body, bytes) else reply.body()
        length = len(reply.body) if isinstance(reply.body, bytes) and reply.content_length else None
        return Response(reply.status, content_type="", headers=headers, stream=self._trickle(chunks, reply.chunk_delay),
                        length=length)

    def _trickle(self, chunks: Iterable[bytes], delay: float) -> Iterator[bytes]:
        for chunk in chunks:
            yield chunk
            if delay and self.stop.wait(delay):
                return

    def _reply(self, seen: Seen) -> Reply:
        route = self.routes.get(seen.path)
        if route is None:
            return Reply(404, b'{"error":"NotFound"}', {"Content-Type": "application/json"})
        if isinstance(route, Reply):
            return route
        if isinstance(route, list):
            return route.pop(0) if len(route) > 1 else route[0]
        return route(seen)

    @property
    def url(self) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{host!s}:{port}"

    def requests_to(self, path: str) -> list[Seen]:
        return [s for s in self.seen if s.path == path]

    def __enter__(self) -> LocalServer:
        self.thread.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.httpd.stop()
        self.thread.join(timeout=5)
