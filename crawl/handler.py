"""A Scrapy download handler that fetches mirrored URLs from the loopback mirror.

Everything above the handler (robots.txt, stats, the WARC writer) sees only the
real URL; the bytes come from the local copy.  With ``STEPDR_OFFLINE`` set, a
URL outside every mirror is refused instead of fetched, so an air-gapped run
never touches the network.  A body over DOWNLOAD_MAXSIZE (announced or
streamed) is refused here, as ``too_large``, so the crawl settles it for good.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from scrapy.core.downloader.handlers.http11 import HTTP11DownloadHandler
from scrapy.exceptions import DownloadCancelledError
from scrapy.utils.httpobj import urlparse_cached
from twisted.internet.defer import CancelledError

from stepdr.core.urls import host_in

from .refusals import Refused, RetryLater

if TYPE_CHECKING:
    from scrapy import Request
    from scrapy.crawler import Crawler
    from scrapy.http import Response


class MirrorDownloadHandler(HTTP11DownloadHandler):
    def __init__(self, crawler: Crawler) -> None:
        super().__init__(crawler)
        settings = crawler.settings
        self._proxy: str | None = settings.get("STEPDR_MIRROR_PROXY")
        self._hosts: tuple[str, ...] = tuple(settings.getlist("STEPDR_MIRROR_HOSTS"))
        self._offline = settings.getbool("STEPDR_OFFLINE")
        if self._proxy:
            # Every mirrored host shares the mirror's one pool key, so a pool kept at
            # CONCURRENT_REQUESTS_PER_DOMAIN closed most connections after one request
            # (368 connects for 501 fetches): keep as many as can be in flight.
            self._pool.maxPersistentPerHost = max(
                self._pool.maxPersistentPerHost, settings.getint("CONCURRENT_REQUESTS")
            )

    def _mirrored(self, host: str) -> bool:
        return host_in(host, self._hosts)

    async def download_request(self, request: Request) -> Response:
        parts = urlparse_cached(request)
        host = (parts.hostname or "").lower()
        try:
            if self._proxy and self._mirrored(host):
                # Absolute-form request through the mirror, as to an HTTP proxy; plain
                # http so no TLS tunnel is needed, the real scheme passed alongside.
                url = "http" + request.url[len(parts.scheme) :]
                proxied = request.replace(url=url, meta={**request.meta, "proxy": self._proxy})
                proxied.headers["X-Forwarded-Proto"] = parts.scheme
                response = await super().download_request(proxied)
                return response.replace(url=request.url, request=request)
            if self._offline:
                raise RetryLater("offline", f"{request.url} has no mirror")
            return await super().download_request(request)
        except (DownloadCancelledError, CancelledError) as e:
            # Raised by the HTTP/1.1 handler when the body passes DOWNLOAD_MAXSIZE.
            raise Refused("too_large", request.url) from e
