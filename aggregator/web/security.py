"""Safety headers on every response: a CSP without inline script, nosniff, referrer policy,
and framing allowed only where the config says (the embeds).

A pure ASGI middleware: it edits the `http.response.start` message in place, so
streamed responses (the live walls' SSE) pass through without extra tasks or
queues, and error responses (404, 403, 400, and the 500 of an unhandled
exception, which it sends itself before re-raising) carry the same headers as pages.
"""

from __future__ import annotations

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send


# Photos and avatars come from every platform's CDN: images from any https origin.
# Videos play in the platforms' own players (YouTube, Vimeo), nowhere else.
def content_security_policy(media_origins: tuple[str, ...] = ()) -> str:
    extra = "".join(f" {o}" for o in media_origins)
    return (
        f"default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' https: data:{extra}; "
        f"media-src 'self' https:{extra}; connect-src 'self'; font-src 'self'; object-src 'none'; "
        "base-uri 'none'; form-action 'self'; frame-src https://www.youtube-nocookie.com https://www.youtube.com "
        "https://player.vimeo.com"
    )


BASE_CSP = content_security_policy()


class SecurityHeaders:
    def __init__(
        self, app: ASGIApp, embed_origins: tuple[str, ...] = (), media_origins: tuple[str, ...] = ()
    ) -> None:
        self.app = app
        self.embed_ancestors = " ".join(("'self'", *embed_origins))
        self.csp = content_security_policy(media_origins)

    def headers_for(self, path: str) -> list[tuple[str, str]]:
        """The headers a response to `path` gets (each only where the route did not set it)."""
        embeddable = "/embed/" in path
        ancestors = self.embed_ancestors if embeddable else "'none'"
        out = [
            ("Content-Security-Policy", f"{self.csp}; frame-ancestors {ancestors}"),
            ("X-Content-Type-Options", "nosniff"),
            ("Referrer-Policy", "strict-origin-when-cross-origin"),
        ]
        if not embeddable:
            out.append(("X-Frame-Options", "DENY"))
        return out

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        extra = self.headers_for(str(scope.get("path", "")))
        started = False

        async def send_with_headers(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                headers = MutableHeaders(scope=message)
                for name, value in extra:
                    headers.setdefault(name, value)
            await send(message)

        try:
            await self.app(scope, receive, send_with_headers)
        except Exception:
            # Starlette's outer error handler would answer without our headers: answer here, in its
            # format (plain "Internal Server Error"), then let it log the exception as before.
            if not started:
                body = b"Internal Server Error"
                await send_with_headers({"type": "http.response.start", "status": 500, "headers": [
                    (b"content-type", b"text/plain; charset=utf-8"), (b"content-length", str(len(body)).encode())]})
                await send({"type": "http.response.body", "body": body})
            raise
