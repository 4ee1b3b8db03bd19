"""A tiny programmable HTTP server on 127.0.0.1 for collector tests.

Routes map a path (without query) to a Reply, a list of Replies (served in
order, the last one repeating) or a function of the request. Every request is
recorded so tests can assert what the collector sent.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from urllib.parse import parse_qs, urlsplit


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


class LocalServer:
    def __init__(self) -> None:
        self.routes: dict[str, Route] = {}
        self.seen: list[Seen] = []
        self.stop = threading.Event()
        owner = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.0"

            def log_message(self, format: str, *args: object) -> None:
                pass

            def _serve(self) -> None:
                parts = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                seen = Seen(self.command, parts.path, parse_qs(parts.query), dict(self.headers.items()), body)
                owner.seen.append(seen)
                reply = owner._reply(seen)
                if reply.delay and owner.stop.wait(reply.delay):
                    return
                self.send_response(reply.status)
                for k, v in reply.headers.items():
                    self.send_header(k, v)
                chunks: Iterable[bytes]
                if isinstance(reply.body, bytes):
                    if reply.content_length:
                        self.send_header("Content-Length", str(len(reply.body)))
                    chunks = [reply.body]
                else:
                    chunks = reply.body()
                self.end_headers()
                try:
                    for chunk in chunks:
                        if owner.stop.is_set():
                            return
                        self.wfile.write(chunk)
                        self.wfile.flush()
                        if reply.chunk_delay and owner.stop.wait(reply.chunk_delay):
                            return
                except (BrokenPipeError, ConnectionResetError):
                    return

            do_GET = _serve
            do_POST = _serve

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)

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
        self.stop.set()
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=5)
        time.sleep(0)
