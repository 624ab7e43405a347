"""No internal address is fetched because a feed named it.

A feed, a list API or an article page decides what the crawler fetches next: article pages,
images, redirects. Any of them can name the cloud metadata service (``169.254.169.254``), a
private network (``10.0.0.5``), the machine itself (``[::1]:6379``) or a name that resolves to
one of those. Such a URL is refused unless its host is one the sources file names (a
self-hosted RSSHub on 127.0.0.1 keeps working, with its images), or its address is in
``ALLOW_PRIVATE_NETWORKS``. Refused: loopback, private, link-local, shared (CGNAT,
100.64.0.0/10), NAT64 (64:ff9b::/96), multicast, reserved and unspecified addresses, IPv4 and
IPv6, IPv4-mapped IPv6 by the address it maps.

Two places hold the line, with one ``AddressPolicy``:

- ``PrivateAddressMiddleware`` (a downloader middleware: every request passes it, media
  requests and redirects included) refuses an IP literal in any spelling (``2852039166``,
  ``0xa9.0xfe.0xa9.0xfe``, ``0251.0376.0251.0376``, ``[::ffff:169.254.169.254]``) before any
  connection, and turns a name that resolved only to refused addresses into the same failure;
- ``GuardedResolver`` (the reactor's resolver, ``TWISTED_DNS_RESOLVER``) drops refused
  addresses from every name's answer, so the check is on the address actually connected to,
  and a name that answers differently the second time (DNS rebinding) cannot slip through.
"""

from __future__ import annotations

import ipaddress
import re
import socket
from collections.abc import Iterable
from pathlib import Path
from urllib.parse import urlsplit

from scrapy.exceptions import CannotResolveHostError, IgnoreRequest
from scrapy.resolver import CachingHostnameResolver
from scrapy.utils.defer import maybe_deferred_to_future
from twisted.internet import threads
from twisted.internet.error import DNSLookupError
from twisted.internet.interfaces import IResolutionReceiver
from zope.interface import implementer

from crawler.config import ConfigError, load_config

Address = ipaddress.IPv4Address | ipaddress.IPv6Address

_SHARED = ipaddress.ip_network("100.64.0.0/10")
_NAT64 = (ipaddress.ip_network("64:ff9b::/96"), ipaddress.ip_network("64:ff9b:1::/48"))
_NUMERIC_IPV4 = re.compile(r"^(0x[0-9a-f]*|\d+)(\.(0x[0-9a-f]*|\d+)){0,3}$", re.IGNORECASE)
"""What ``inet_aton`` reads as an address: one to four parts, each decimal, octal or hex."""


class PrivateAddressRefused(IgnoreRequest):
    """A URL whose host is, or resolves to, an address that is not fetched."""


def ip_literal(host: str) -> Address | None:
    """The address an IP literal in a URL's host means, in any spelling; None for a name."""
    host = host.strip("[]").lower()
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        pass
    if _NUMERIC_IPV4.match(host):
        try:
            return ipaddress.IPv4Address(socket.inet_aton(host))
        except OSError:
            return None
    return None


def kind_of(address: Address) -> str | None:
    """Why ``address`` is not fetched (``loopback``, ``private``…), or None for a public one."""
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return kind_of(address.ipv4_mapped)
        if any(address in network for network in _NAT64):
            return "NAT64-mapped"
    if address.is_unspecified:
        return "unspecified"
    if address.is_loopback:
        return "loopback"
    if address.is_link_local:
        return "link-local"
    if address.is_multicast:
        return "multicast"
    if isinstance(address, ipaddress.IPv4Address) and address in _SHARED:
        return "shared (CGNAT)"
    if address.is_reserved:
        return "reserved"
    if address.is_private:
        return "private"
    if not address.is_global:
        return "reserved"
    return None


class AddressPolicy:
    """Which hosts and addresses may be fetched: the sources' own hosts always; any public
    address; a refused kind only inside ``ALLOW_PRIVATE_NETWORKS`` (``True``: all of them)."""

    def __init__(self, source_hosts: Iterable[str], allowed: bool | list) -> None:
        self.source_hosts = frozenset(host.lower() for host in source_hosts)
        self.source_addresses = frozenset(a for a in map(ip_literal, self.source_hosts) if a is not None)
        self.allow_all = allowed is True
        self.networks = [] if allowed in (True, False, None) else [ipaddress.ip_network(n, strict=False) for n in allowed]

    @classmethod
    def from_settings(cls, settings) -> "AddressPolicy":
        """From the sources file ``SOURCES_FILE`` names (its hosts, and its
        ``[settings]`` over the given ones: the reactor's resolver is built from the process's
        settings, which do not hold them)."""
        hosts: list[str] = []
        allowed = settings.get("ALLOW_PRIVATE_NETWORKS")
        path = settings.get("SOURCES_FILE")
        if path and Path(path).is_file():
            try:
                config = load_config(path)
            except ConfigError:
                config = None  # the crawl itself says what is wrong with the file
            if config is not None:
                hosts = [urlsplit(source.url).hostname or "" for source in config.sources]
                allowed = config.settings.get("ALLOW_PRIVATE_NETWORKS", allowed)
        if isinstance(allowed, str):
            allowed = allowed.lower() in ("true", "1") or [part for part in allowed.split(",") if part.strip()]
        return cls(hosts, allowed or False)

    def host_allowed(self, host: str) -> bool:
        """A host the sources file names, by name or by address."""
        host = host.lower()
        return host in self.source_hosts or (ip_literal(host) in self.source_addresses)

    def refusal(self, address: Address) -> str | None:
        """Why ``address`` is refused, or None."""
        kind = kind_of(address)
        if kind is None or self.allow_all:
            return None
        checked = address.ipv4_mapped if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped else address
        if any(checked in network for network in self.networks):
            return None
        return kind


class PrivateAddressMiddleware:
    """Refuses requests for refused addresses (see the module docstring). Placed after
    Scrapy's retries in the exception chain (a higher order than 550), so a name refused at
    connect time fails at once, with its reason, instead of being asked again."""

    def __init__(self, policy: AddressPolicy) -> None:
        self.policy = policy

    @classmethod
    def from_crawler(cls, crawler):
        return cls(AddressPolicy.from_settings(crawler.settings))

    def process_request(self, request):
        host = urlsplit(request.url).hostname or ""
        if self.policy.host_allowed(host):
            return None
        address = ip_literal(host)
        if address is not None and (kind := self.policy.refusal(address)) is not None:
            raise PrivateAddressRefused(f"private address refused: {host} is a {kind} address ({address})")
        return None

    async def process_exception(self, request, exception):
        """A name whose every address the resolver dropped fails as a failed lookup: say why."""
        if not isinstance(exception, (CannotResolveHostError, DNSLookupError)):
            return None
        host = urlsplit(request.url).hostname or ""
        if self.policy.host_allowed(host) or ip_literal(host) is not None:
            return None
        kinds = await maybe_deferred_to_future(threads.deferToThread(self._refused_kinds, host))
        if kinds:
            raise PrivateAddressRefused(f"private address refused: {host} resolves to {', '.join(kinds)}")
        return None

    def _refused_kinds(self, host: str) -> list[str]:
        """``kind (address)`` of each address ``host`` has, if every one is refused."""
        try:
            found = {info[4][0] for info in socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)}
        except OSError:
            return []
        kinds = []
        for text in sorted(found):
            kind = self.policy.refusal(ipaddress.ip_address(text.split("%", 1)[0]))
            if kind is None:
                return []
            kinds.append(f"{kind} ({text})")
        return kinds


@implementer(IResolutionReceiver)
class _RefusingReceiver:
    """Passes on the addresses of a name that may be connected to, and drops the others."""

    def __init__(self, receiver, policy: AddressPolicy) -> None:
        self.receiver = receiver
        self.policy = policy

    def resolutionBegan(self, resolution) -> None:
        self.receiver.resolutionBegan(resolution)

    def addressResolved(self, address) -> None:
        try:
            refused = self.policy.refusal(ipaddress.ip_address(address.host.split("%", 1)[0])) is not None
        except (AttributeError, ValueError):
            refused = True  # not an IP address: nothing this crawler connects to
        if not refused:
            self.receiver.addressResolved(address)

    def resolutionComplete(self) -> None:
        self.receiver.resolutionComplete()


class GuardedResolver(CachingHostnameResolver):
    """Scrapy's caching resolver (IPv4 and IPv6), answering only addresses that may be
    connected to, except for the sources' own hosts."""

    def __init__(self, reactor, cache_size: int, policy: AddressPolicy) -> None:
        super().__init__(reactor, cache_size)
        self.policy = policy

    @classmethod
    def from_crawler(cls, crawler, reactor):
        """``crawler`` is the crawler process (Scrapy builds the reactor's resolver from it)."""
        settings = crawler.settings
        cache_size = settings.getint("DNSCACHE_SIZE") if settings.getbool("DNSCACHE_ENABLED") else 0
        return cls(reactor, cache_size, AddressPolicy.from_settings(settings))

    def resolveHostName(self, resolutionReceiver, hostName, portNumber=0, addressTypes=None, transportSemantics="TCP"):
        if not self.policy.host_allowed(hostName):
            resolutionReceiver = _RefusingReceiver(resolutionReceiver, self.policy)
        return super().resolveHostName(resolutionReceiver, hostName, portNumber, addressTypes, transportSemantics)
