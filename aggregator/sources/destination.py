"""Where the server may send a request: the destination policy of every server-side fetch.

URLs reach the server from people we do not trust (a post's media and link
URLs, a feed's redirects, an organiser's typo), so before any connection
:func:`check_destination` resolves the host once and refuses, unless the
config allows it (``server.allow_private_fetch``):

- schemes other than http and https, and ports other than 80 and 443;
- loopback, private (RFC 1918), link-local (the cloud metadata address
  169.254.169.254 among them), carrier-grade NAT (100.64.0.0/10), multicast,
  unspecified, reserved and unique-local (fc00::/7) addresses, and anything
  else that is not a global unicast address;
- IPv6 addresses that embed an IPv4 one (IPv4-mapped ``::ffff:a.b.c.d``,
  NAT64 ``64:ff9b::/96``, 6to4 ``2002::/16``, Teredo): the embedded address
  is checked too.

Every address the name resolves to must pass (a name resolving to one public
and one private address is refused); the caller connects to the returned
:class:`Destination`'s ``addresses``, the ones that were checked, so a DNS answer
that changes between the check and the connect cannot redirect the request
(``sources/http.py`` does this for every request and every redirect).
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit

from aggregator.sources.base import SourceError

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

DEFAULT_PORTS = frozenset({80, 443})
ALLOW_HINT = "allow it with server.allow_private_fetch"
_CGNAT = ipaddress.ip_network("100.64.0.0/10")
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_UNIQUE_LOCAL = ipaddress.ip_network("fc00::/7")


class DestinationRefused(SourceError):
    """The policy forbids this destination; the message names the URL and why."""


def _norm_host(host: str) -> str:
    return host.strip().strip("[]").rstrip(".").lower()


@dataclass(frozen=True, slots=True)
class FetchPolicy:
    """What the server may fetch besides public addresses on ports 80 and 443.

    ``networks`` and ``hosts`` allow non-public addresses (by address, or by the
    name in the URL); ``ports`` adds ports for any host; ``any_port`` allows all.
    The default instance allows nothing extra.
    """

    networks: tuple[IPNetwork, ...] = ()
    hosts: frozenset[str] = frozenset()
    ports: frozenset[int] = frozenset()
    any_port: bool = False

    @classmethod
    def allowing(cls, entries: Iterable[str] = (), ports: Iterable[int] = (), *, any_port: bool = False) -> FetchPolicy:
        """A policy from config strings: each entry an address, a network (CIDR) or a host name."""
        networks: list[IPNetwork] = []
        hosts: set[str] = set()
        for entry in entries:
            text = entry.strip()
            if not text:
                continue
            try:
                networks.append(ipaddress.ip_network(text.strip("[]"), strict=False))
            except ValueError:
                hosts.add(_norm_host(text))
        return cls(tuple(networks), frozenset(hosts), frozenset(int(p) for p in ports), any_port)

    def port_allowed(self, port: int) -> bool:
        return self.any_port or port in DEFAULT_PORTS or port in self.ports

    def address_allowed(self, host: str, address: IPAddress) -> bool:
        if _norm_host(host) in self.hosts:
            return True
        plain = ipaddress.ip_address(str(address).split("%")[0])
        return any(plain.version == n.version and plain in n for n in self.networks)


STRICT = FetchPolicy()
# Loopback only, any port: the sandbox, the demo and the test fixtures (never a default).
LOOPBACK = FetchPolicy.allowing(("127.0.0.0/8", "::1", "localhost"), any_port=True)


@dataclass(frozen=True, slots=True)
class Destination:
    """A checked destination: connect to ``address``; send ``host`` as Host and TLS server name."""

    scheme: str
    host: str  # as in the URL, lower-case, without brackets or a trailing dot
    port: int
    addresses: tuple[str, ...]  # the checked IP addresses to connect to, in the resolver's order


def refusal_reason(address: IPAddress) -> str | None:
    """Why a fetch to ``address`` is refused by default ("a private address"), or None if it is public."""
    if isinstance(address, ipaddress.IPv6Address):
        embedded: ipaddress.IPv4Address | None = None
        label = ""
        if address.ipv4_mapped is not None:
            embedded, label = address.ipv4_mapped, "IPv4-mapped"
        elif address in _NAT64:
            embedded, label = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF), "NAT64"
        elif address.sixtofour is not None:
            embedded, label = address.sixtofour, "6to4"
        elif address.teredo is not None:
            embedded, label = address.teredo[1], "Teredo"
        if embedded is not None:
            inner = refusal_reason(embedded)
            if inner is not None:
                return f"{inner} ({label})"
            if label == "IPv4-mapped":
                return None
        address = ipaddress.ip_address(str(address).split("%")[0])
    if address.is_loopback:
        return "a loopback address"
    if address.is_unspecified:
        return "an unspecified address"
    if address.is_link_local:
        return "a link-local address"
    if address.is_multicast:
        return "a multicast address"
    if isinstance(address, ipaddress.IPv4Address) and address in _CGNAT:
        return "a carrier-grade NAT address"
    if isinstance(address, ipaddress.IPv6Address) and address in _UNIQUE_LOCAL:
        return "a unique-local address"
    if address.is_reserved:
        return "a reserved address"
    if address.is_private:
        return "a private address"
    if not address.is_global:
        return "not a public address"
    return None


def resolve_addresses(host: str, port: int) -> list[IPAddress]:
    """Every address ``host`` resolves to, in the resolver's order (tests replace this)."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    seen: dict[str, IPAddress] = {}
    for info in infos:
        text = str(info[4][0])
        if text not in seen:
            seen[text] = ipaddress.ip_address(text)
    return list(seen.values())


def _shown(url: str) -> str:
    from aggregator.sources.http import display_url  # http.py imports this module

    return display_url(url)


def check_destination(url: str, policy: FetchPolicy = STRICT) -> Destination:
    """Resolve ``url``'s host once and check it against ``policy``; the address to connect to.

    Raises :class:`DestinationRefused` (a SourceError) naming the URL and the
    reason, or SourceError when the host cannot be resolved.
    """
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise DestinationRefused(f"refused: {_shown(url)} is not a valid URL") from None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise DestinationRefused(f"refused: {_shown(url)}: only http and https URLs are fetched")
    host = _norm_host(parts.hostname or "")
    if not host:
        raise DestinationRefused(f"refused: {_shown(url)} has no host")
    port = port or (443 if scheme == "https" else 80)
    literal: IPAddress | None
    try:
        literal = ipaddress.ip_address(host)
    except ValueError:
        literal = None
    if literal is not None:
        addresses = [literal]
    else:
        try:
            addresses = resolve_addresses(host, port)
        except (OSError, UnicodeError) as exc:
            raise SourceError(f"cannot resolve {host} ({_shown(url)}): {exc}") from None
        if not addresses:
            raise SourceError(f"cannot resolve {host} ({_shown(url)})")
    for address in addresses:
        reason = refusal_reason(address)
        if reason is not None and not policy.address_allowed(host, address):
            what = f"{address} is {reason}" if literal is not None else f"{host} resolves to {address}, {reason}"
            raise DestinationRefused(f"refused: {what}; {ALLOW_HINT} ({_shown(url)})")
    if not policy.port_allowed(port):
        raise DestinationRefused(
            f"refused: {_shown(url)}: port {port} is not 80 or 443; allow it with server.allow_private_fetch.ports"
        )
    return Destination(scheme, host, port, tuple(str(a) for a in addresses))
