import socket

import pytest
import requests

from tests.netguard import NonLoopbackConnection


def test_connect_to_public_address_is_refused() -> None:
    with socket.socket() as s, pytest.raises(NonLoopbackConnection):
        s.connect(("93.184.216.34", 443))


def test_resolving_a_platform_host_is_refused() -> None:
    with pytest.raises(NonLoopbackConnection):
        socket.getaddrinfo("api.twitter.com", 443)


def test_requests_to_a_live_api_fail_loudly() -> None:
    with pytest.raises((NonLoopbackConnection, requests.ConnectionError)) as info:
        requests.get("https://mastodon.social/api/v1/timelines/tag/test", timeout=2)
    assert "only loopback" in str(info.value)


def test_loopback_is_allowed() -> None:
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(1)
        with socket.socket() as client:
            client.connect(server.getsockname())
