"""The spider: start at each domain's seeds, follow in-scope links within budget.

It extracts links and nothing else; responses are stored by StoreMiddleware on
their way up from the downloader, and text extraction happens at build time.
Redirects are links too: the spider follows ``Location`` itself (Scrapy's
RedirectMiddleware is off), so a redirect target is scoped, trap-checked,
deduplicated and journaled like any other URL, and a loop ends at the first
URL seen twice.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Sequence
from typing import TYPE_CHECKING, Any, NamedTuple

import scrapy
from scrapy import signals
from scrapy.exceptions import DontCloseSpider, IgnoreRequest
from scrapy.http import Headers, Response
from scrapy.responsetypes import responsetypes

from .curator import note_redirect, note_seed
from .journal import Link, Stored
from .links import extract_links, has_links
from .offload import off_thread
from .order import ReorderBuffer
from .partition import WHOLE, Partition
from .refusals import Refused, RetryLater
from .session import CrawlSession, session_of

if TYPE_CHECKING:
    from scrapy.crawler import Crawler
    from twisted.python.failure import Failure

log = logging.getLogger(__name__)


class Found(NamedTuple):
    """A URL a page pointed to, not yet admitted."""

    url: str
    depth: int
    hops: int


class Settled(NamedTuple):
    """A page done with, waiting its turn (see order.py) to have its links admitted."""

    link: Link
    found: tuple[Found, ...]
    parsed: bool  # stored and parsed: journaled as such once its links are in


class AuthoritySpider(scrapy.Spider):
    name = "stepdr"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.order: ReorderBuffer[Settled] = ReorderBuffer()

    @classmethod
    def from_crawler(cls, crawler: Crawler, *args: Any, **kwargs: Any) -> AuthoritySpider:
        spider = super().from_crawler(crawler, *args, **kwargs)
        crawler.signals.connect(spider.idle, signal=signals.spider_idle)
        return spider

    @property
    def session(self) -> CrawlSession:
        return session_of(self.crawler)

    async def start(self) -> AsyncIterator[Any]:
        session = self.session
        if session.partitioned:
            return  # the coordinator opens partitions as it leases them (coordinator.py)
        try:
            due = session.open()
        except Exception as e:
            # Scrapy would log this and end the crawl as "finished": make it fail.
            first = str(e).splitlines()[0] if str(e) else ""
            fatal = f"cannot resume: {type(e).__name__}: {first}"
            self.crawler.stats.set_value("stepdr/fatal", fatal)
            raise
        for req in self.first_requests(session.parts[WHOLE], due):
            yield req

    def first_requests(self, part: Partition, due: list[Link]) -> list[scrapy.Request]:
        """A partition just opened: its unparsed pages' links, its seeds, what is due."""
        session = self.session
        out: list[scrapy.Request] = []
        for stored in session.unparsed(part):
            out += self._reextract(stored)
        for d in session.partition_domains(part.key):
            for seed in d.seeds or (d.base_url,):
                link = session.admit(seed, depth=0)
                if link is not None:
                    due.append(link)
        out += [self.request(link) for link in due]
        return out

    def request(self, link: Link) -> scrapy.Request:
        session = self.session
        key = session.key_of(link.url)
        session.pending[key] += 1
        headers: dict[str, str] = {}
        prev = session.stored_copy(link.url)
        if prev is not None and prev.status == 200:
            # A recrawl: let the server say "unchanged" instead of sending the page.
            if prev.etag:
                headers["If-None-Match"] = prev.etag
            if prev.last_modified:
                headers["If-Modified-Since"] = prev.last_modified
        return scrapy.Request(
            link.url,
            callback=self.parse,
            errback=self.failed,
            headers=headers,
            priority=-link.depth,
            dont_filter=True,
            meta={
                "handle_httpstatus_all": True,
                "stepdr_link": link,
                "stepdr_order": (key, self.order.issue(key)),
            },
        )

    async def parse(self, response: Response) -> list[scrapy.Request]:
        link: Link = response.meta["stepdr_link"]
        if link.depth == 0 and link.hops == 0:
            note_seed(self.crawler.stats, link.url, response.status)
        if response.status == 429 or response.status >= 500:
            self.crawler.stats.inc_value("stepdr/errors")  # retries spent; a later crawl retries
            return self._settle(link, response.meta, ())
        try:
            found = await self._found(response, link)
        except Exception:
            # Settle it anyway: the pages after it must not wait on it.  Not marked
            # parsed, so a resumed crawl reads its links from the WARC again.
            log.exception("%s: links not read", link.url)
            self.crawler.stats.inc_value("stepdr/errors")
            return self._settle(link, response.meta, ())
        return self._settle(link, response.meta, found, bool(response.meta.get("stepdr_stored")))

    async def _found(self, response: Response, link: Link) -> tuple[Found, ...]:
        """The page's links: read with its WARC records, else scanned on a thread."""
        if has_links(response):
            urls: Sequence[str] | None = response.meta.get("stepdr_links")  # read with its records
            if urls is None:
                urls = await off_thread(extract_links, response)
            return tuple(Found(url, link.depth + 1, 0) for url in urls)
        return self._follow(response, link)

    def _follow(self, response: Response, link: Link) -> tuple[Found, ...]:
        if 300 <= response.status < 400 and response.status != 304:
            location = response.headers.get(b"Location")
            if location:
                target = response.urljoin(location.decode("latin-1"))
                domains = self.session.domains
                note_redirect(self.crawler.stats, domains, link.url, target, response.status)
                return (Found(target, link.depth, link.hops + 1),)
        elif has_links(response):
            return tuple(Found(url, link.depth + 1, 0) for url in extract_links(response))
        return ()

    def _settle(
        self, link: Link, meta: dict[str, Any], found: Sequence[Found], parsed: bool = False
    ) -> list[scrapy.Request]:
        key, seq = meta["stepdr_order"]
        pending = self.session.pending
        pending[key] = max(0, pending[key] - 1)
        return self._release(self.order.settle(key, seq, Settled(link, tuple(found), parsed)))

    def _release(self, settled: Sequence[Settled]) -> list[scrapy.Request]:
        """Admit the pages' links, in order; the requests for those to fetch now."""
        session = self.session
        out: list[scrapy.Request] = []
        for page in settled:
            for f in page.found:
                # A page's links come canonical from extract_links; a Location does not.
                link = session.admit(f.url, f.depth, f.hops, canonical=f.hops == 0)
                if link is not None:
                    out.append(self.request(link))
            if page.parsed:
                if session.flush is not None:
                    session.flush()  # handed-over links are out before the page counts as parsed
                session.mark("parsed", page.link.url)
        return out

    def idle(self) -> None:
        """Nothing left in flight: release what still waits on a request that never settled."""
        held = self.order.drain()
        if not held:
            return
        self.crawler.stats.inc_value("stepdr/released_on_idle", len(held))
        requests = self._release(held)
        assert self.crawler.engine is not None
        for r in requests:
            self.crawler.engine.crawl(r)
        if requests:
            raise DontCloseSpider

    def _reextract(self, stored: Stored) -> list[scrapy.Request]:
        """Links of a page stored just before a kill, read back from its WARC record."""
        session = self.session
        link = session.link_of(stored.url) or Link(stored.url, 0)
        rec = session.read(stored)
        found: tuple[Found, ...] = ()
        if rec is not None:
            headers = Headers()
            for k, v in rec.headers:
                headers.appendlist(k, v)
            cls = responsetypes.from_args(headers=headers, url=rec.url, body=rec.body)
            response = cls(url=rec.url, status=rec.status, headers=headers, body=rec.body)
            found = self._follow(response, link)
            self.crawler.stats.inc_value("stepdr/reparsed_pages")
        # Before any request is issued, so admitted at once, in journal order.
        return self._release([Settled(link, found, parsed=True)])

    def failed(self, failure: Failure) -> list[scrapy.Request]:
        request = failure.request  # type: ignore[attr-defined]
        link: Link = request.meta["stepdr_link"]
        exc = failure.value
        stats = self.crawler.stats
        assert stats is not None
        if isinstance(exc, Refused):
            stats.inc_value(f"stepdr/rejected/{exc.reason}")
            if not isinstance(exc, RetryLater):
                self.session.mark("done", link.url, exc.reason)
        elif isinstance(exc, IgnoreRequest):
            # HttpCompressionMiddleware: over DOWNLOAD_MAXSIZE once decompressed.
            reason = "too_large" if "DOWNLOAD_MAXSIZE" in str(exc) else "ignored"
            stats.inc_value(f"stepdr/rejected/{reason}")
            self.session.mark("done", link.url, reason)
        else:
            stats.inc_value("stepdr/errors")
            log.warning("%s: %s", link.url, str(exc).splitlines()[0] if str(exc) else repr(exc))
        if link.depth == 0 and link.hops == 0:
            note_seed(stats, link.url, f"error: {type(exc).__name__}: {str(exc)[:120]}")
        return self._settle(link, request.meta, ())
