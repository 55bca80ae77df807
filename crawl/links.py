"""Links of an HTML page, fast: lxml's parser and XPath, no per-link Python machinery.

Scrapy's LinkExtractor spent most of a crawl's time on documentation pages
(hundreds of links each, mostly the same navigation on every page); this does
the same job — ``<a>`` and ``<area>`` hrefs, resolved against ``<base href>`` —
at a fraction of the cost.
"""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING
from urllib.parse import urljoin

from scrapy.linkextractors import IGNORED_EXTENSIONS

from stepdr.core.urls import canonical

if TYPE_CHECKING:
    from scrapy.http import TextResponse

# PDFs are kept for the index; the other binary extensions are not worth a request.
SKIPPED_EXTENSIONS = frozenset("." + e for e in IGNORED_EXTENSIONS if e != "pdf")
_NOT_LINKS = ("mailto:", "javascript:", "tel:", "data:", "#", "about:", "ftp:", "file:")


@lru_cache(maxsize=1 << 16)
def _join(directory: str, href: str) -> str:
    return urljoin(directory, href)


def resolve(base: str, href: str) -> str:
    """``urljoin(base, href)``, cached by the base's directory: pages of one
    directory share most of their (navigation) links."""
    if not href or ":" in href.split("/", 1)[0] or href.startswith(("/", "?")):
        return urljoin(base, href)  # absolute, or relative to the host or the page itself
    if "?" in base or "#" in base or base.count("/") < 3:
        return urljoin(base, href)
    return _join(base[: base.rfind("/") + 1], href)


def _skipped(url: str) -> bool:
    name = url.split("?", 1)[0].rsplit("/", 1)[-1]
    dot = name.rfind(".")
    return dot > 0 and name[dot:].lower() in SKIPPED_EXTENSIONS


def extract_links(response: TextResponse) -> list[str]:
    """Canonical in-page link targets, in document order, each once."""
    import lxml.etree

    body = response.body
    if not body.strip():
        return []
    try:
        # etree's parser, not lxml.html's: no custom element classes to look up per node.
        parser = lxml.etree.HTMLParser(encoding=response.encoding, recover=True)
        root = lxml.etree.fromstring(body, parser=parser)
    except (LookupError, ValueError, lxml.etree.ParserError):
        try:  # an encoding libxml2 does not know: use the text Scrapy decoded
            utf8 = lxml.etree.HTMLParser(encoding="utf-8", recover=True)
            root = lxml.etree.fromstring(response.text.encode("utf-8"), parser=utf8)
        except (ValueError, lxml.etree.ParserError):
            return []
    if root is None:
        return []
    base = response.url
    for href in root.xpath("//base/@href"):
        base = urljoin(base, str(href).strip())
        break
    out: list[str] = []
    seen: set[str] = set()
    kept: set[str] = set()
    for raw in root.xpath("//a/@href | //area/@href"):
        # A fragment names a place in a page, not a page; documentation links are full of them.
        href = str(raw).strip().split("#", 1)[0]
        if not href or href in seen or href.lower().startswith(_NOT_LINKS):
            continue
        seen.add(href)
        url = canonical(resolve(base, href))
        if url is not None and url not in kept and not _skipped(url):
            kept.add(url)
            out.append(url)
    return out


__all__ = ["SKIPPED_EXTENSIONS", "extract_links"]
