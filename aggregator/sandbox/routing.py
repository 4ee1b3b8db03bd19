"""Send a client library's fixed-host requests to the sandbox.

tweepy hard-codes https://api.twitter.com; mount `RewriteAdapter` on its
`requests` session and every request goes to the sandbox instead:

    client = tweepy.Client(bearer_token=...)
    route_to(client.session, "https://api.twitter.com", sandbox.url("x"))
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import requests
from requests.adapters import HTTPAdapter


class RewriteAdapter(HTTPAdapter):
    """Rewrites the URL prefix `source` to `target` before sending."""

    def __init__(self, source: str, target: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.source = source.rstrip("/")
        self.target = target.rstrip("/")

    def send(
        self,
        request: requests.PreparedRequest,
        stream: bool = False,
        timeout: float | tuple[float, float] | tuple[float, None] | None = None,
        verify: bool | str = True,
        cert: bytes | str | tuple[bytes | str, bytes | str] | None = None,
        proxies: Mapping[str, str] | None = None,
    ) -> requests.Response:
        url = request.url or ""
        if url.startswith(self.source):
            request.url = self.target + url[len(self.source) :]
        return super().send(request, stream=stream, timeout=timeout, verify=verify, cert=cert, proxies=proxies)


def route_to(session: requests.Session, source: str, target: str) -> RewriteAdapter:
    """Mount a RewriteAdapter on `session` for URLs starting with `source`."""
    adapter = RewriteAdapter(source, target)
    session.mount(source.rstrip("/") + "/", adapter)
    return adapter
