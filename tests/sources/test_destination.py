"""The destination policy of server-side fetches: what is refused, what the allow-list lets through.

Every test that reaches the client points it at a loopback listener that is NOT
allowed and asserts the listener accepted no connection at all: refusing must
happen before connecting, for the first request and for every redirect hop.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterator

import pytest

from aggregator.clock import FakeClock
from aggregator.sources import destination
from aggregator.sources.base import SourceError
from aggregator.sources.destination import (
    LOOPBACK,
    STRICT,
    DestinationRefused,
    FetchPolicy,
    check_destination,
    refusal_reason,
)
from aggregator.sources.http import HttpClient, HttpLimits
from tests.sources.conftest import NOW, UA
from tests.sources.server import LocalServer, Reply

FAST = HttpLimits(connect_timeout=2.0, read_timeout=2.0, deadline=5.0)


class Listener:
    """A bare TCP listener on loopback; counts the connections that reached it (accepted or queued)."""

    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0), backlog=64)
        self.port = int(self.sock.getsockname()[1])

    def connections(self) -> int:
        # A completed TCP handshake sits in the backlog until accepted: drain it without blocking.
        self.sock.setblocking(False)
        count = 0
        while True:
            try:
                conn, _ = self.sock.accept()
            except BlockingIOError:
                return count
            conn.close()
            count += 1

    def close(self) -> None:
        self.sock.close()


@pytest.fixture
def listener() -> Iterator[Listener]:
    lst = Listener()
    yield lst
    lst.close()


@pytest.fixture
def fake_dns(monkeypatch: pytest.MonkeyPatch) -> dict[str, list[str]]:
    """Names the resolver answers for the test (anything else resolves as usual)."""
    answers: dict[str, list[str]] = {}
    real = destination.resolve_addresses

    def resolve(host: str, port: int) -> list[ipaddress.IPv4Address | ipaddress.IPv6Address]:
        if host in answers:
            return [ipaddress.ip_address(a) for a in answers[host]]
        return real(host, port)

    monkeypatch.setattr(destination, "resolve_addresses", resolve)
    return answers


@pytest.mark.parametrize(("address", "reason"), [
    ("127.0.0.1", "a loopback address"),
    ("127.8.9.10", "a loopback address"),
    ("::1", "a loopback address"),
    ("10.0.0.1", "a private address"),
    ("172.16.5.4", "a private address"),
    ("192.168.1.20", "a private address"),
    ("169.254.169.254", "a link-local address"),
    ("fe80::1", "a link-local address"),
    ("100.64.0.1", "a carrier-grade NAT address"),
    ("224.0.0.1", "a multicast address"),
    ("ff02::1", "a multicast address"),
    ("0.0.0.0", "an unspecified address"),
    ("::", "an unspecified address"),
    ("240.0.0.1", "a reserved address"),
    ("255.255.255.255", "a reserved address"),
    ("fd00::1", "a unique-local address"),
    ("::ffff:127.0.0.1", "a loopback address (IPv4-mapped)"),
    ("::ffff:10.0.0.1", "a private address (IPv4-mapped)"),
    ("64:ff9b::7f00:1", "a loopback address (NAT64)"),
    ("2002:7f00:1::", "a loopback address (6to4)"),
    ("2002:a9fe:a9fe::", "a link-local address (6to4)"),
    ("192.0.2.1", "a private address"),  # documentation range: not global
])
def test_non_public_addresses_are_refused_with_a_reason(address: str, reason: str) -> None:
    assert refusal_reason(ipaddress.ip_address(address)) == reason


@pytest.mark.parametrize("address", ["93.184.216.34", "8.8.8.8", "2606:4700::1111", "::ffff:8.8.8.8"])
def test_public_addresses_pass(address: str) -> None:
    assert refusal_reason(ipaddress.ip_address(address)) is None


def test_a_refusal_names_the_url_the_reason_and_the_setting() -> None:
    with pytest.raises(DestinationRefused) as err:
        check_destination("http://10.0.0.1/feed.xml")
    assert str(err.value) == (
        "refused: 10.0.0.1 is a private address; allow it with server.allow_private_fetch (http://10.0.0.1/feed.xml)"
    )
    assert isinstance(err.value, SourceError)


def test_ports_other_than_80_and_443_need_configuring(fake_dns: dict[str, list[str]]) -> None:
    fake_dns["feeds.example"] = ["93.184.216.34"]
    assert check_destination("https://feeds.example/a").addresses == ("93.184.216.34",)
    assert check_destination("http://feeds.example:80/a").port == 80
    for url in ("http://feeds.example:5432/", "http://feeds.example:6379/", "https://feeds.example:8443/"):
        with pytest.raises(DestinationRefused, match="is not 80 or 443"):
            check_destination(url)
    assert check_destination("https://feeds.example:8443/", FetchPolicy.allowing(ports=[8443])).port == 8443


@pytest.mark.parametrize("url", ["file:///etc/passwd", "ftp://example.com/", "gopher://127.0.0.1/", "http:///x"])
def test_only_http_urls_with_a_host_are_fetched(url: str) -> None:
    with pytest.raises(DestinationRefused):
        check_destination(url)


def test_every_resolved_address_must_pass(fake_dns: dict[str, list[str]]) -> None:
    fake_dns["split.example"] = ["93.184.216.34", "127.0.0.1"]
    with pytest.raises(DestinationRefused, match=r"split\.example resolves to 127\.0\.0\.1, a loopback address"):
        check_destination("http://split.example/")


def test_the_allow_list_takes_networks_addresses_and_names(fake_dns: dict[str, list[str]]) -> None:
    fake_dns["intranet.example"] = ["10.1.2.3"]
    policy = FetchPolicy.allowing(["10.1.0.0/16", "fd00::1", "Metadata.Internal."])
    assert check_destination("http://intranet.example/feed", policy).addresses == ("10.1.2.3",)
    assert check_destination("http://[fd00::1]/feed", policy).addresses == ("fd00::1",)
    fake_dns["metadata.internal"] = ["169.254.169.254"]
    assert check_destination("http://metadata.internal/", policy).host == "metadata.internal"
    with pytest.raises(DestinationRefused):
        check_destination("http://10.2.0.1/feed", policy)
    with pytest.raises(DestinationRefused):
        check_destination("http://[fd00::2]/feed", policy)


def _client(policy: FetchPolicy = STRICT) -> HttpClient:
    return HttpClient(UA, limits=FAST, clock=FakeClock(NOW), policy=policy)


def test_the_default_client_refuses_loopback_before_connecting(listener: Listener) -> None:
    with _client() as client, pytest.raises(DestinationRefused, match="a loopback address"):
        client.get_bytes(f"http://127.0.0.1:{listener.port}/photo.jpg")
    # Even with the port allowed, the address is not.
    with _client(FetchPolicy(any_port=True)) as client, pytest.raises(DestinationRefused, match="a loopback address"):
        client.get(f"http://[::ffff:127.0.0.1]:{listener.port}/")
    assert listener.connections() == 0


def test_a_name_that_resolves_to_loopback_is_refused(listener: Listener, fake_dns: dict[str, list[str]]) -> None:
    fake_dns["photos.example"] = ["127.0.0.1"]
    with _client(FetchPolicy(any_port=True)) as client, pytest.raises(DestinationRefused, match="resolves to 127"):
        client.get(f"http://photos.example:{listener.port}/a.jpg")
    assert listener.connections() == 0


@pytest.mark.parametrize("target", [
    "http://127.0.0.1:{port}/",
    "http://localhost:{port}/",
    "http://[::ffff:127.0.0.1]:{port}/",
    "http://169.254.169.254/latest/meta-data/",
    "http://10.0.0.1/",
    "http://[fd00::1]/",
    "http://192.168.1.1/",
])
def test_a_redirect_from_an_allowed_server_to_a_private_address_is_refused(
    listener: Listener, server: LocalServer, fake_dns: dict[str, list[str]], target: str
) -> None:
    # The feed server is allowed by name; its redirect target is checked on its own and refused.
    fake_dns["feeds.allowed"] = ["127.0.0.1"]
    fake_dns["localhost"] = ["127.0.0.1"]
    port = server.url.rsplit(":", 1)[1]
    location = target.format(port=listener.port)
    server.routes["/feed.xml"] = Reply(302, b"", {"Location": location})
    policy = FetchPolicy.allowing(["feeds.allowed"], any_port=True)
    with _client(policy) as client, pytest.raises(DestinationRefused) as err:
        client.get(f"http://feeds.allowed:{port}/feed.xml")
    assert "refused:" in str(err.value)
    assert len(server.seen) == 1  # the first hop was served, the redirect never left
    assert listener.connections() == 0


def test_the_connection_goes_to_the_checked_address_not_a_second_lookup(
    server: LocalServer, fake_dns: dict[str, list[str]]
) -> None:
    # "pinned.example" resolves (once, in the policy check) to the loopback test server. The test
    # network guard refuses to resolve any other name, so a second lookup at connect time would fail.
    fake_dns["pinned.example"] = ["127.0.0.1"]
    port = server.url.rsplit(":", 1)[1]
    server.routes["/a"] = Reply(200, b"ok")
    with _client(FetchPolicy.allowing(["127.0.0.1/32"], any_port=True)) as client:
        assert client.get(f"http://pinned.example:{port}/a").body == b"ok"
    assert server.seen[0].headers["Host"] == f"pinned.example:{port}"


def test_unresolvable_hosts_are_a_source_error(monkeypatch: pytest.MonkeyPatch) -> None:
    def fail(host: str, port: int) -> list[ipaddress.IPv4Address]:
        raise socket.gaierror("Name or service not known")

    monkeypatch.setattr(destination, "resolve_addresses", fail)
    with pytest.raises(SourceError, match=r"cannot resolve nowhere\.example"):
        check_destination("https://nowhere.example/")


def test_loopback_policy_is_what_the_sandbox_and_fixtures_use(listener: Listener) -> None:
    quick = HttpLimits(connect_timeout=1.0, read_timeout=0.2, deadline=0.3)
    with HttpClient(UA, limits=quick, policy=LOOPBACK) as client, pytest.raises(SourceError, match="timed out"):
        client.get(f"http://127.0.0.1:{listener.port}/", check=False)  # allowed: it connects (no answer)
    assert listener.connections() == 1
