"""SSRF guard: a listed domain that resolves to a non-public address is refused.

A hostile or misconfigured DNS answer (``docs.example.org -> 127.0.0.1``, a
``169.254.169.254`` metadata address, a 10/8 intranet host) must not turn the
crawler into a client of the machine's own network.  Two layers:

- ``GuardedResolver`` replaces Scrapy's DNS resolver: every connection the
  crawler makes resolves through it, so a name rebound between check and
  connect still cannot reach a private address;
- ``SsrfMiddleware`` asks the same resolver before robots.txt, so the refusal
  is clear (``stepdr/rejected/ssrf``) instead of a DNS error retried.

Exceptions: the loopback mirror the crawl itself started, and the hosts listed
in STEPDR_ALLOW_PRIVATE_HOSTS (``CrawlConfig.allow_private_hosts``: test
servers on 127.0.0.1, an intranet you mean to crawl).  STEPDR_RESOLVE
(``CrawlConfig.resolve``) pins names to addresses, like ``curl --resolve``.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from scrapy.resolver import CachingThreadedResolver
from scrapy.utils.defer import maybe_deferred_to_future
from scrapy.utils.httpobj import urlparse_cached
from twisted.internet import defer

from stepdr.core.urls import host_in

from .refusals import RetryLater
from .session import session_of

if TYPE_CHECKING:
    from scrapy import Request
    from scrapy.crawler import Crawler
    from twisted.internet.base import ReactorBase
    from twisted.internet.defer import Deferred


class AddressRefused(Exception):
    pass


def is_public(address: str) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


class GuardedResolver(CachingThreadedResolver):
    def __init__(
        self,
        reactor: ReactorBase,
        cache_size: int,
        timeout: float,
        pinned: dict[str, str],
        allowed: tuple[str, ...],
    ) -> None:
        super().__init__(reactor, cache_size, timeout)
        self.pinned = pinned
        self.allowed = allowed

    @classmethod
    def from_crawler(cls, crawler: Crawler, reactor: ReactorBase) -> GuardedResolver:
        s = crawler.settings
        proxy = s.get("STEPDR_MIRROR_PROXY")
        allowed = [h.lower() for h in s.getlist("STEPDR_ALLOW_PRIVATE_HOSTS")]
        if proxy:
            allowed.append((urlsplit(proxy).hostname or "").lower())
        return cls(
            reactor,
            s.getint("DNSCACHE_SIZE") if s.getbool("DNSCACHE_ENABLED") else 0,
            s.getfloat("DNS_TIMEOUT"),
            {k.lower(): v for k, v in s.getdict("STEPDR_RESOLVE").items()},
            tuple(allowed),
        )

    def getHostByName(self, name: str, timeout: Sequence[int] = ()) -> Deferred[str]:
        host = name.lower().rstrip(".")
        pinned = self.pinned.get(host)
        d = defer.succeed(pinned) if pinned else super().getHostByName(name, timeout)
        d.addCallback(self._check, host)
        return d

    def _check(self, address: str, host: str) -> str:
        if not is_public(address) and not host_in(host, self.allowed):
            raise AddressRefused(f"{host} resolves to non-public address {address}")
        return address


class SsrfMiddleware:
    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.offline = crawler.settings.getbool("STEPDR_OFFLINE")
        self._refused: dict[str, str] = {}

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> SsrfMiddleware:
        return cls(crawler)

    async def process_request(self, request: Request) -> None:
        host = (urlparse_cached(request).hostname or "").lower()
        if session_of(self.crawler).is_mirrored(host):
            return
        if self.offline:
            raise RetryLater("offline", f"{request.url} has no mirror")
        if host in self._refused:
            raise RetryLater("ssrf", self._refused[host])
        from twisted.internet import reactor

        resolver: Any = getattr(reactor, "resolver", None)
        if not isinstance(resolver, GuardedResolver):
            return
        try:
            await maybe_deferred_to_future(resolver.getHostByName(host))
        except AddressRefused as e:
            self._refused[host] = str(e)
            raise RetryLater("ssrf", str(e)) from None
        except Exception:
            return  # a DNS failure: the download fails and is retried as usual


__all__ = ["AddressRefused", "GuardedResolver", "SsrfMiddleware", "is_public"]
