"""Known items from the back-of-book indexes of documentation without a Sphinx inventory.

PostgreSQL's manual (DocBook) ends in ``bookindex.html``: every indexed term, its
sub-terms, and the pages that treat them.  SQLite's documentation has
``keyword_index.html``: every C API name, compile option, pragma, release and
keyword with its page.  An entry that names one page is a known item, asked in
the index's own words ("ROLLBACK PREPARED", "SQLITE_ENABLE_FTS5", "Version 3.35.0");
entries that name several pages say nothing about which one a searcher wants and are
left out.  Each reader returns ``(kind, query, page)`` with ``page`` relative to the
documentation root, the shape ``known_items.inventory_entries`` returns for Sphinx inventories.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

from selectolax.lexbor import LexborHTMLParser, LexborNode

BOOK_INDEX = "bookindex.html"
KEYWORD_INDEX = "keyword_index.html"
CHANGES = "changes.html"

# What share of a site's sample each kind of entry gets.
BOOK_MIX = {"command": 0.2, "setting": 0.2, "name": 0.2, "term": 0.2, "subterm": 0.2}
KEYWORD_MIX = {"api": 0.3, "option": 0.15, "pragma": 0.15, "version": 0.1, "term": 0.3}

_IDENT = re.compile(r"[A-Za-z_][\w.]*")  # one name: a function, a view, a libpq call
Entry = tuple[str, str, str]


def _page(href: str) -> str | None:
    page = href.split("#", 1)[0]
    if not page or ":" in page or page.startswith(("/", "..")):
        return None
    return page


def _term(dt: LexborNode) -> str:
    """The words of an index entry before its first link: "search_path configuration
    parameter, <a>…</a>" gives "search_path configuration parameter"."""
    parts = []
    node = dt.child
    while node is not None and node.tag != "a":
        parts.append(node.text(deep=True))
        node = node.next
    return " ".join("".join(parts).split()).rstrip(", ").strip()


def _pages(dt: LexborNode) -> set[str]:
    hrefs = (a.attributes.get("href") or "" for a in dt.css("a.indexterm"))
    return {p for p in (_page(h) for h in hrefs) if p}


def _book_kind(term: str, page: str) -> str:
    if term.endswith(" configuration parameter"):
        return "setting"
    if page.startswith(("sql-", "app-")):
        return "command"
    if _IDENT.fullmatch(term):
        return "name"
    return "term"


def book_index_entries(root: Path) -> list[Entry]:
    """Entries of a DocBook ``bookindex.html`` that point at exactly one page."""
    path = root / BOOK_INDEX
    if not path.is_file():
        return []
    tree = LexborHTMLParser(path.read_bytes())
    out: list[Entry] = []
    for dl in tree.css("div.indexdiv > dl"):
        parent = ""
        for node in _children(dl):
            if node.tag == "dt":
                parent = _term(node)
                pages = _pages(node)
                if parent and len(pages) == 1:
                    page = next(iter(pages))
                    out.append((_book_kind(parent, page), parent, page))
            elif node.tag == "dd" and parent:
                for sub in node.css("dl > dt"):
                    child, pages = _term(sub), _pages(sub)
                    if child and len(pages) == 1:
                        out.append(("subterm", f"{parent} {child}", next(iter(pages))))
    return out


def _keyword_kind(page: str, text: str) -> str | None:
    if page.startswith("syntax/"):
        return None  # a railroad diagram: an image, no text to find
    if page.startswith("c3ref/"):
        return "api"
    if page.startswith("releaselog/") or text.startswith("Version 3"):
        return "version"
    if page == "pragma.html":
        return "pragma"
    if page == "compile.html":
        return "option"
    return "term"


def keyword_index_entries(root: Path) -> list[Entry]:
    """Entries of SQLite's ``keyword_index.html`` whose keyword names one page."""
    path = root / KEYWORD_INDEX
    if not path.is_file():
        return []
    pages: dict[str, set[str]] = {}
    spelling: dict[str, str] = {}
    for a in LexborHTMLParser(path.read_bytes()).css("li > a[href]"):
        text = " ".join(a.text(deep=True).split())
        page = _page(a.attributes.get("href") or "")
        if text and page:
            pages.setdefault(text.casefold(), set()).add(page)
            spelling.setdefault(text.casefold(), text)
    # Release notes live twice: one page per release (which a crawl may leave out, as the
    # shipped list does) and all of them in changes.html, where a release is found anyway.
    history = (root / CHANGES).is_file()
    out: list[Entry] = []
    for key, found in pages.items():
        if len(found) != 1:
            continue
        page = next(iter(found))
        kind = _keyword_kind(page, spelling[key])
        if kind == "version" and history:
            page = CHANGES
        if kind is not None:
            out.append((kind, spelling[key], page))
    return out


def _children(node: LexborNode) -> list[LexborNode]:
    out, child = [], node.child
    while child is not None:
        if child.tag in ("dt", "dd"):
            out.append(child)
        child = child.next
    return out


READERS: dict[str, tuple[Callable[[Path], list[Entry]], dict[str, float]]] = {
    "book-index": (book_index_entries, BOOK_MIX),
    "keyword-index": (keyword_index_entries, KEYWORD_MIX),
}
