"""Links of an HTML page, fast: one regular-expression scan of the page's bytes.

Scrapy's LinkExtractor spent most of a crawl's time on documentation pages (hundreds
of links each, mostly the same navigation on every page), and even lexbor's HTML5
parser (selectolax) built a whole tree only for its ``<a>`` tags. Links need no
tree: as large crawlers' extractors do, this scans for ``<a>``, ``<area>`` and
``<base>`` start tags, stepping over what an HTML parser reads as text (comments,
scripts, styles, titles, text areas), and decodes the ``href`` as an HTML parser
does (first one wins, character references, surrounding whitespace). The same links
as lexbor on every page of the docs mirrors (``tests/test_links.py``), in about two
thirds of its time.
"""

from __future__ import annotations

import html
import re
from functools import lru_cache
from typing import TYPE_CHECKING, TypeGuard
from urllib.parse import urljoin

from scrapy.http import HtmlResponse
from scrapy.linkextractors import IGNORED_EXTENSIONS

from stepdr.core.urls import canonical

if TYPE_CHECKING:
    from scrapy.http import Response, TextResponse

# PDFs are kept for the index; the other binary extensions are not worth a request.
SKIPPED_EXTENSIONS = frozenset("." + e for e in IGNORED_EXTENSIONS if e != "pdf")
_NOT_LINKS = ("mailto:", "javascript:", "tel:", "data:", "#", "about:", "ftp:", "file:")

# What an HTML parser reads as text, not tags, then the start tags we want.  An
# unclosed comment or raw-text element runs to the end of the page, as in HTML5.
_RAW = rb"script|style|title|textarea|xmp|iframe|noembed|noframes"
_TEXT = rb"<!--.*?(?:-->|\Z)|<(" + _RAW + rb")\b.*?(?:</\1\s*>|\Z)"
# Attributes as HTML5 tokenises them: a name (quotes and all) up to space, "/", ">" or
# "=", then maybe "=" and a quoted or bare value; a stray quote is part of a name.  The
# first attribute named href is captured (its name, then its value in one of 3 forms).
_VALUE = rb"""(?:\s*=\s*(?:"[^"]*(?:"|\Z)|'[^']*(?:'|\Z)|[^\s>]*))?"""
_ATTRS = rb"(?:[\s/]+|[^\s/>][^\s/>=]*" + _VALUE + rb")*"
_NOT_HREF = rb"(?:[\s/]+|(?!href(?:[\s/>=]|\Z))[^\s/>][^\s/>=]*" + _VALUE + rb")*"
_HREF = rb"""(?<=[\s/])(href)(?:\s*=\s*(?:"([^"]*)(?:"|\Z)|'([^']*)(?:'|\Z)|([^\s>]*)))?"""
_TAG = rb"<(a|area|base)(?=[\s/>])" + _NOT_HREF + rb"(?:" + _HREF + _ATTRS + rb")?"
_SCAN_B = re.compile(_TEXT + rb"|" + _TAG, re.I | re.S)
_SCAN_S = re.compile(_SCAN_B.pattern.decode(), re.I | re.S)
# Named references need their semicolon here: in an attribute, "&copy=2" stays as it is.
_CHARREF = re.compile(r"&(?:#[0-9]+;?|#[xX][0-9a-fA-F]+;?|[A-Za-z][A-Za-z0-9]*;)")
_STRIP = " \t\n\f\r"


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


def _decoded(value: str) -> str:
    if "&" in value:
        value = _CHARREF.sub(lambda m: html.unescape(m.group()), value)
    return value.strip(_STRIP)


def hrefs(page: bytes | str) -> tuple[str | None, list[str]]:
    """(the first ``<base href>``, the ``href`` of every ``<a>`` and ``<area>``), in
    document order, decoded but not resolved; bytes are read as UTF-8."""
    scan = _SCAN_B if isinstance(page, bytes) else _SCAN_S
    base: str | None = None
    out: list[str] = []
    for _, tag, named, quoted, single, bare in scan.findall(page):  # type: ignore[arg-type]
        if not named:  # not a tag we want, or one without href
            continue
        value = quoted or single or bare
        text = _decoded(value.decode("utf-8", "replace") if isinstance(value, bytes) else value)
        if tag.lower() in (b"base", "base"):
            if base is None:
                base = text
        else:
            out.append(text)
    return base, out


def has_links(response: Response) -> TypeGuard[HtmlResponse]:
    """Whether the crawl follows the links of ``response``: a 2xx HTML page."""
    return 200 <= response.status < 300 and isinstance(response, HtmlResponse)


def extract_links(response: TextResponse) -> list[str]:
    """Canonical in-page link targets, in document order, each once."""
    body = response.body
    if not body.strip():
        return []
    # UTF-8 bytes are scanned as they are; any other encoding as the text Scrapy
    # decoded (once, and cached on the response).
    utf8 = (response.encoding or "").lower().replace("_", "-") in ("utf-8", "utf8", "ascii")
    base_href, found = hrefs(body if utf8 else response.text)
    base = response.url if base_href is None else urljoin(response.url, base_href)
    out: list[str] = []
    seen: set[str] = set()
    kept: set[str] = set()
    for href in found:
        # A fragment names a place in a page, not a page; documentation links are full of them.
        href = href.split("#", 1)[0]
        if not href or href in seen or href.lower().startswith(_NOT_LINKS):
            continue
        seen.add(href)
        url = canonical(resolve(base, href))
        if url is not None and url not in kept and not _skipped(url):
            kept.add(url)
            out.append(url)
    return out


__all__ = ["SKIPPED_EXTENSIONS", "extract_links", "hrefs"]
