"""Pages that are directories of links: indexes, tables of contents, sitemaps.

SQLite's ``keyword_index.html`` names 2,987 pages in 61,604 characters, all of them
links; Python's ``genindex-*.html`` and ``contents.html`` are the same.  Their text is
the names of other pages, so they match every known-item lookup (often first, ahead of
the page the name belongs to) and answer none: a researcher cites the page a link leads
to, not the index.  Such a page keeps its opening (so "keyword index" or "permuted
index" still finds it by its title) and loses the rest; its links are crawled as ever.

A directory is a page with at least ``MIN_LINKS`` links whose *main text* (what
extraction kept) is at least ``SHARE`` link text.  The main text, not the whole page:
a news article or a government page beside a menu of 300 links is mostly links as a
whole and hardly at all in its main text (the gold news pages: 0.17 at most for an
article, 0.48 for CNN's front page, a page of headlines).  Link text is estimated from
an even sample of ``SAMPLE`` links, each looked up in the main text, so the cost stays
small on an index of 17,000 links.  Over the documentation mirrors 37 pages of 3,408 are
directories: general indexes, tables of contents, chapter pages that list modules,
SQLite's keyword index, sitemap and lists of constants.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .records import Block

MIN_LINKS = 200
SHARE = 0.6
SAMPLE = 200
KEEP_WORDS = 80  # of the page's first block

_LINKS = "//body//a[@href]"


def link_texts(tree: Any, anchors: Sequence[Any] | None = None) -> list[str]:
    """The text of each link of a page's body (``anchors``, if already found), spaces
    collapsed; empty ones left out."""
    out = []
    for a in tree.xpath(_LINKS) if anchors is None else anchors:
        text = " ".join(a.text_content().split())
        if text:
            out.append(text)
    return out


def link_share(links: Sequence[str], main_text: str) -> float:
    """About how much of ``main_text`` (spaces collapsed) is the text of ``links``."""
    if not links or not main_text:
        return 0.0
    sample = links[:: max(1, len(links) // SAMPLE)]
    sampled = sum(len(t) for t in sample)
    found = sum(len(t) for t in sample if t in main_text)
    estimate = sum(len(t) for t in links) * found / sampled
    return min(1.0, estimate / len(main_text))


def is_directory(tree: Any, blocks: Sequence[Block]) -> bool:
    anchors = tree.xpath(_LINKS)
    if len(anchors) < MIN_LINKS:  # most pages: no link's text is read
        return False
    links = link_texts(tree, anchors)
    if len(links) < MIN_LINKS:
        return False
    return link_share(links, " ".join(" ".join(b.text for b in blocks).split())) >= SHARE


def opening(blocks: Sequence[Block]) -> tuple[Block, ...]:
    """A directory's first block, at most ``KEEP_WORDS`` words of it."""
    if not blocks:
        return ()
    first = blocks[0]
    words = first.text.split()
    if len(words) <= KEEP_WORDS:
        return (first,)
    return (Block(first.kind, " ".join(words[:KEEP_WORDS]), first.headings),)
