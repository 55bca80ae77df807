"""Store what the crawl keeps: a downloader middleware just above decompression.

It sits below HttpCompressionMiddleware (590) on the way up, so it sees bodies
already decoded within DOWNLOAD_MAXSIZE; a decompression bomb was dropped
before it and never reaches a WARC file.  What it keeps:

- robots.txt answers (the robots middleware reads them back on resume);
- 2xx HTML/XHTML and PDF (a missing Content-Type is sniffed); other types are
  refused as ``type``, and HTML that is really binary as ``binary``;
- redirects and client errors (4xx but 429), with the body only when it is HTML;
- nothing for 429 and 5xx: retries and backoff decide, and a later crawl retries.

On a recrawl, 304 and a byte-identical body are journaled as ``same`` instead.

A page's CPU work goes out in one go (page_work.py, in a worker process where there are
cores for one): its WARC records and, for a 2xx HTML page, the links the spider then
admits, so the page crosses to the worker once.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from scrapy import signals

from .links import has_links
from .offload import default_processes
from .page_pool import take_early
from .page_work import PageDone, PageJob, do_page
from .refusals import Refused, RetryLater
from .session import session_of
from .warc_records import exchange_of

if TYPE_CHECKING:
    from scrapy import Request
    from scrapy.crawler import Crawler
    from scrapy.http import Response

HTML_TYPES = ("text/html", "application/xhtml+xml")
PDF_TYPE = "application/pdf"
_UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")
_HTML_STARTS = (b"<!doctype html", b"<html", b"<head", b"<body", b"<!--", b"<meta", b"<title")


def content_kind(response: Response) -> str | None:
    """``html``, ``pdf``, or None for anything the index has no use for."""
    raw = response.headers.get(b"Content-Type")
    ctype = raw.decode("latin-1").split(";")[0].strip().lower() if raw else ""
    head = response.body[:1024]
    if ctype in HTML_TYPES:
        if b"\x00" in head and not head.startswith(_UTF16_BOMS):
            return "binary"
        return "html"
    if ctype == PDF_TYPE:
        return "pdf"
    if not ctype:
        if head.startswith(b"%PDF-"):
            return "pdf"
        if head.lstrip().lower().startswith(_HTML_STARTS) and b"\x00" not in head:
            return "html"
    return None


class StoreMiddleware:
    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        processes = crawler.settings.get("STEPDR_PAGE_PROCESSES")
        if processes is None:
            processes = default_processes(worker=bool(crawler.settings.get("STEPDR_REDIS")))
        self.workers = take_early(int(processes))

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> StoreMiddleware:
        mw = cls(crawler)
        mw.workers.start()
        crawler.signals.connect(mw.workers.close, signal=signals.engine_stopped)
        return mw

    async def process_response(self, request: Request, response: Response) -> Response:
        session = session_of(self.crawler)
        status = response.status
        if request.meta.get("stepdr_robots"):
            if status < 500 and status != 429:
                session.store(request, response, page=False)
            return response
        if "stepdr_link" not in request.meta or status == 429 or status >= 500:
            return response
        url = response.url
        if status == 304:
            session.mark("same", url)
            session.stats.inc_value("stepdr/unchanged")
            return response
        kind = content_kind(response)
        if 200 <= status < 300:
            if kind in (None, "binary"):
                raise Refused("type" if kind is None else "binary", url)
            if kind == "html" and not response.headers.get(b"Content-Type"):
                response.headers[b"Content-Type"] = b"text/html"
            elif kind == "pdf" and not response.headers.get(b"Content-Type"):
                response.headers[b"Content-Type"] = PDF_TYPE.encode()
        elif kind != "html" and response.body:
            response = response.replace(body=b"")
        links = has_links(response)
        done: PageDone = await self.workers.run(
            do_page, PageJob(exchange_of(request, response), links)
        )
        encoded = done.encoded
        if done.links is not None:
            request.meta["stepdr_links"] = done.links  # the spider's, read with the records
        prev = session.stored_copy(url)
        same = prev is not None and prev.status == status
        if same and prev is not None and prev.digest == encoded.digest:
            session.mark("same", url)
            session.stats.inc_value("stepdr/unchanged")
            return response
        if session.store(request, response, encoded=encoded) is None:
            raise RetryLater("lease_lost", url)  # another worker crawls it now
        request.meta["stepdr_stored"] = True
        return response


__all__ = ["StoreMiddleware", "content_kind"]
