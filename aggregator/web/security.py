"""Safety headers on every response: a CSP without inline script, nosniff, referrer policy,
and framing allowed only where the config says (the embeds)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from starlette.middleware.base import BaseHTTPMiddleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp


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


class SecurityHeaders(BaseHTTPMiddleware):
    def __init__(
        self, app: ASGIApp, embed_origins: tuple[str, ...] = (), media_origins: tuple[str, ...] = ()
    ) -> None:
        super().__init__(app)
        self.embed_ancestors = " ".join(("'self'", *embed_origins))
        self.csp = content_security_policy(media_origins)

    async def dispatch(self, request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        response = await call_next(request)
        embeddable = "/embed/" in request.url.path
        ancestors = self.embed_ancestors if embeddable else "'none'"
        response.headers.setdefault("Content-Security-Policy", f"{self.csp}; frame-ancestors {ancestors}")
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "strict-origin-when-cross-origin")
        if not embeddable:
            response.headers.setdefault("X-Frame-Options", "DENY")
        return response
