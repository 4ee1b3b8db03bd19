"""The HTTP plumbing: request/response values and a threading server that stops cleanly."""

from __future__ import annotations

import contextlib
import json
import socket
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit


@dataclass(frozen=True, slots=True)
class Request:
    method: str
    path: str  # decoded path, no query
    query: Mapping[str, list[str]]
    headers: Message
    body: bytes
    base: str  # http://host:port of the sandbox

    def arg(self, name: str, default: str | None = None) -> str | None:
        values = self.query.get(name)
        return values[0] if values else default

    def args(self, name: str) -> list[str]:
        return list(self.query.get(name, []))

    def header(self, name: str) -> str | None:
        return self.headers.get(name)

    def bearer(self) -> str | None:
        auth = self.headers.get("Authorization") or ""
        scheme, _, token = auth.partition(" ")
        return token.strip() if scheme.lower() == "bearer" and token.strip() else None

    def json(self) -> Any:
        return json.loads(self.body or b"null")


@dataclass(slots=True)
class Response:
    status: int = 200
    body: bytes = b""
    content_type: str = "application/json; charset=utf-8"
    headers: list[tuple[str, str]] = field(default_factory=list)
    stream: Iterable[bytes] | None = None  # sent instead of `body` when set
    length: int | None = None  # declared Content-Length (default: len(body)); None with stream: close-delimited
    close: bool = False  # close the connection after this response

    def header(self, name: str) -> str | None:
        for k, v in self.headers:
            if k.lower() == name.lower():
                return v
        return None


def json_response(obj: Any, status: int = 200, headers: list[tuple[str, str]] | None = None) -> Response:
    body = json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    return Response(status, body, headers=list(headers or []))


def text_response(text: str, status: int = 200, content_type: str = "text/plain; charset=utf-8") -> Response:
    return Response(status, text.encode("utf-8"), content_type=content_type)


App = Callable[[Request], Response]


def _host_port(address: Any) -> tuple[str, int]:
    host = address[0].decode() if isinstance(address[0], bytes) else str(address[0])
    return host, int(address[1])


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go out in separate writes
    server_version = "sandbox"
    sys_version = ""
    server: SandboxHTTPServer

    def version_string(self) -> str:
        return "sandbox"

    def do_GET(self) -> None:
        self._dispatch()

    def do_HEAD(self) -> None:
        self._dispatch()

    def do_POST(self) -> None:
        self._dispatch()

    def do_PUT(self) -> None:
        self._dispatch()

    def do_DELETE(self) -> None:
        self._dispatch()

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _dispatch(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(min(length, 10_000_000)) if length > 0 else b""
        parts = urlsplit(self.path)
        host, port = _host_port(self.server.server_address)
        req = Request(
            method=self.command,
            path=unquote(parts.path),
            query=parse_qs(parts.query, keep_blank_values=True),
            headers=self.headers,
            body=body,
            base=f"http://{host}:{port}",
        )
        try:
            resp = self.server.app(req)
        except Exception as exc:  # a bug in a fake must not kill the connection silently
            resp = json_response({"error": "SandboxError", "message": f"{type(exc).__name__}: {exc}"}, 500)
        self._send(resp)

    def _send(self, resp: Response) -> None:
        try:
            self.send_response(resp.status)
            if resp.content_type:
                self.send_header("Content-Type", resp.content_type)
            for k, v in resp.headers:
                self.send_header(k, v)
            if resp.status == 101:  # a WebSocket: the stream is the connection from here on
                self.close_connection = True
            elif resp.stream is None:
                self.send_header("Content-Length", str(resp.length if resp.length is not None else len(resp.body)))
            elif resp.length is not None:
                self.send_header("Content-Length", str(resp.length))
            else:
                resp.close = True
            if resp.status == 101:
                pass
            elif resp.close or (resp.length is not None and resp.stream is None and resp.length != len(resp.body)):
                self.send_header("Connection", "close")
                self.close_connection = True
            self.end_headers()
            if self.command == "HEAD":
                return
            if resp.stream is None:
                self.wfile.write(resp.body)
            else:
                for chunk in resp.stream:
                    if self.server.stopping.is_set():
                        self.close_connection = True
                        break
                    self.wfile.write(chunk)
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError, ConnectionAbortedError, TimeoutError, OSError):
            self.close_connection = True
        finally:
            close = getattr(resp.stream, "close", None)
            if callable(close):
                close()


class SandboxHTTPServer(ThreadingHTTPServer):
    """ThreadingHTTPServer that tracks its connections so stop() can end them all."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], app: App) -> None:
        self.app = app
        self.stopping = threading.Event()
        self._conns: dict[threading.Thread, socket.socket] = {}
        self._conns_lock = threading.Lock()
        super().__init__(address, _Handler)

    def process_request(self, request: Any, client_address: Any) -> None:
        t = threading.Thread(target=self._serve_one, args=(request, client_address), daemon=True)
        with self._conns_lock:
            self._conns[t] = request
        t.start()

    def _serve_one(self, request: Any, client_address: Any) -> None:
        try:
            request.settimeout(30)
            self.finish_request(request, client_address)
        except Exception:
            pass  # a client going away mid-answer is normal here
        finally:
            self.shutdown_request(request)
            with self._conns_lock:
                self._conns.pop(threading.current_thread(), None)

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass

    def open_connections(self) -> int:
        """Connections being served now (a stalled request counts until stop() ends it)."""
        with self._conns_lock:
            return len(self._conns)

    def stop(self, timeout: float = 5.0) -> None:
        """Stop accepting, interrupt stalls, close open connections, join handler threads."""
        self.stopping.set()
        self.shutdown()
        with self._conns_lock:
            conns = list(self._conns.items())
        for _, sock in conns:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        for t, _ in conns:
            t.join(timeout)
        self.server_close()
