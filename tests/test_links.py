"""The link scanner against an HTML5 parser (lexbor), on edge cases and real pages."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from scrapy.http import HtmlResponse, Request
from selectolax.lexbor import LexborHTMLParser

from stepdr.crawl.links import extract_links, hrefs


def _lexbor(body: bytes) -> tuple[str | None, list[str]]:
    tree = LexborHTMLParser(body)
    node = tree.css_first("base[href]")
    base = None if node is None else str(node.attributes.get("href") or "").strip()
    return base, [
        str(a.attributes.get("href") or "").strip() for a in tree.css("a[href], area[href]")
    ]


CASES = [
    b"<a href=\"a.html\">x</a><A HREF='b.html'>y</A><a href=c.html>z</a>",
    b'<a href="#top"">stray quote</a><a href="d.html">d</a>',
    b'<a title="x > y" href="e.html">e</a><a data-href="no.html" href="f.html">f</a>',
    b'<!-- <a href="comment.html"> --><a href="g.html">g</a>',
    b'<script>var s = "<a href=\\"script.html\\">";</script><a href="h.html">h</a>',
    b'<style>a[href="style.html"]{}</style><title><a href="t.html"></title><a href=i.html>',
    b'<a href="?x=1&amp;y=2&copy=3">q</a><a href="  spaced.html  ">s</a><a href>empty</a>',
    b'<base href="/docs/"><base href="/other/"><a href="j.html">j</a>',
    b'<map><area href="k.html" shape="rect"></map><abbr href="no.html">n</abbr>',
    b'<a id=x href="l.html" href="second.html">first wins</a><a\nhref\n=\n"m.html">m</a>',
]


@pytest.mark.parametrize("body", CASES)
def test_same_hrefs_as_lexbor(body: bytes) -> None:
    assert hrefs(body) == _lexbor(body)


def test_extract_links_resolves_dedupes_and_skips() -> None:
    body = b'<base href="https://ex.org/d/"><a href="a.html#s">a</a><a href="a.html">a</a>'
    body += b'<a href="mailto:x@y">m</a><a href="img.png">i</a><a href="../b.pdf">b</a>'
    r = HtmlResponse("https://ex.org/x/y.html", body=body, encoding="utf-8")
    assert extract_links(r) == ["https://ex.org/d/a.html", "https://ex.org/b.pdf"]


def test_same_links_as_lexbor_on_mirrored_pages() -> None:
    root = Path(os.environ.get("STEPDR_TEST_MIRRORS", "data/mirrors"))
    pages = sorted(root.rglob("*.html"))[:1500] if root.is_dir() else []
    if not pages:
        pytest.skip("no unpacked mirrors")
    for page in pages:
        body = page.read_bytes()
        url = "https://example.org/" + page.name
        base, found = _lexbor(body)
        assert hrefs(body) == (base, found), page
        r = HtmlResponse(url, body=body, encoding="utf-8", request=Request(url))
        assert all(u.startswith(("http://", "https://")) for u in extract_links(r))
