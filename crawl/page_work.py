"""A fetched page's CPU work, done in one go where the reactor is not: its WARC
records and, for a 2xx HTML page, its links.

The link scanner's regular expressions hold the GIL, so on a thread they slow the
reactor as much as in place; in a worker process (``page_pool.PageProcesses``) they do
not, and the page crosses once, as bytes, with the records and links coming back.
"""

from __future__ import annotations

from dataclasses import dataclass

from scrapy.http import HtmlResponse

from .links import extract_links
from .warc_records import Encoded, Exchange, encode_exchange


@dataclass(frozen=True)
class PageJob:
    exchange: Exchange
    links: bool
    """Read its links too (a 2xx HTML page, as the spider would)."""


@dataclass(frozen=True)
class PageDone:
    encoded: Encoded
    links: tuple[str, ...] | None
    """None when not asked for, or not read: the spider then reads them itself, and
    says why it could not."""


def do_page(job: PageJob) -> PageDone:
    encoded = encode_exchange(job.exchange)
    links = None
    if job.links:
        try:
            links = tuple(extract_links(html_response(job.exchange)))
        except Exception:  # the spider tries again in place and logs what went wrong
            links = None
    return PageDone(encoded, links)


def html_response(x: Exchange) -> HtmlResponse:
    """The page as the spider's HtmlResponse: the same URL, body and Content-Type, so
    the same encoding is found and the same text scanned."""
    ctype = [(k, v) for k, v in x.headers if k.lower() == b"content-type"][
        -1:
    ]  # the one Scrapy reads
    return HtmlResponse(x.url, status=x.status, headers=ctype, body=x.body)


__all__ = ["PageDone", "PageJob", "do_page", "html_response"]
