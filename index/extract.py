"""Main-text extraction: HTML in, structured blocks out.  A pure function.

trafilatura finds the main content and renders it as XML (headings, paragraphs,
lists, tables, code); we walk that tree keeping the heading path, so every
block knows which section it belongs to.  Definition lists (API docs) count as
sections too: a ``<dt>`` is the heading of the ``<dd>`` that follows it.

Code stays code.  trafilatura folds the white space of ``<pre>`` blocks (and drops
private-use characters), so before it runs, their line breaks and spaces become ⏎ and
␣, which no white-space rule touches, and the walk turns them back: a code block keeps
its lines and indentation.
"""

from __future__ import annotations

import contextlib
import re
import time
from typing import Any

import trafilatura
from htmldate import find_date
from lxml import etree
from trafilatura.metadata import examine_meta, extract_meta_json, extract_title, extract_url
from trafilatura.utils import load_html

from .directories import is_directory, opening
from .records import Block, ExtractedPage

_WS = re.compile(r"\s+")
_PILCROW = re.compile(r"\s*¶\s*$")
_NL, _SP = "\u23ce", "\u2423"  # ⏎ and ␣: a line break and a space of a <pre>, hidden


def _clean(text: str) -> str:
    return _PILCROW.sub("", _WS.sub(" ", text)).strip()


def _text(el: etree._Element) -> str:
    text = _clean("".join(el.itertext()))
    return text.replace(_NL, " ").replace(_SP, " ") if _NL in text or _SP in text else text


def _code(text: str) -> str:
    """A hidden ``<pre>`` text as its lines again: trailing spaces and common indent off."""
    lines = [line.rstrip() for line in text.replace(_SP, " ").split(_NL)]
    while lines and not lines[0].strip():
        lines.pop(0)
    while lines and not lines[-1].strip():
        lines.pop()
    indent = min((len(x) - len(x.lstrip(" ")) for x in lines if x.strip()), default=0)
    return "\n".join(x[indent:] for x in lines)


def _hide_pre(tree: Any) -> None:
    """Each ``<pre>`` block's white space hidden, in place (see the module doc)."""
    for pre in list(tree.iter("pre")):  # all first: a <pre> may hold another
        text = pre.text_content().replace("\r\n", "\n").expandtabs(4)
        for child in list(pre):
            pre.remove(child)
        pre.text = text.replace(" ", _SP).replace("\n", _NL)


def _metadata(tree: Any, url: str) -> tuple[str, str | None]:
    """The page's title and date, as trafilatura's ``with_metadata`` finds them, without
    the author, category, tag, site-name and licence searches (a third of its time)."""
    meta = examine_meta(tree)
    with contextlib.suppress(Exception):  # trafilatura guards its JSON-LD reader so too
        meta = extract_meta_json(tree, meta)
    title = meta.title or extract_title(tree)
    # The page's own date, never a guess: htmldate without its extensive search
    # (dateparser over every text node cost a third of the extraction time).
    date = find_date(
        tree,
        url=meta.url or extract_url(tree, url),
        original_date=True,
        extensive_search=False,
        max_date=time.strftime("%Y-%m-%d"),
    )
    return title or "", date or None


def extract(html: str | bytes, url: str) -> ExtractedPage | None:
    """Extract the main text of a page; None when the page has none."""
    # One parse for everything: the tree goes to the metadata search, then (copied by
    # trafilatura) to the extraction, as trafilatura itself would do with metadata on.
    tree = load_html(html)
    if tree is None:
        return None
    _hide_pre(tree)
    found_title, published = _metadata(tree, url)
    xml = trafilatura.extract(
        tree,
        url=url,
        output_format="xml",
        include_tables=True,
        include_comments=False,
        include_images=False,
        include_links=False,
        with_metadata=False,
        favor_recall=True,
        deduplicate=False,
    )
    if not xml:
        return None
    root = etree.fromstring(xml.encode("utf-8"))
    blocks: list[Block] = []
    main = root.find("main")
    if main is not None:
        _walk(main, [], blocks)
    if not blocks:
        return None
    if is_directory(tree, blocks):  # its entries are other pages' names
        blocks = list(opening(blocks))
    title = page_title(_clean(found_title), _html_title(html))
    title = title or (blocks[0].headings[:1] or ("",))[0]
    text = " ".join(b.text for b in blocks[:20])
    return ExtractedPage(
        url=url,
        title=title,
        lang=detect_lang(html, text),
        published=published,
        blocks=tuple(blocks),
    )


_TITLE = re.compile(rb"<title[^>]*>(.*?)</title>", re.IGNORECASE | re.DOTALL)
_SITE_SEP = re.compile(r"\s+(?:\u2014|\u2013|\||-|::|\u00b7|\u00bb)\s+")


def _html_title(html: str | bytes) -> str:
    raw = html.encode("utf-8", "replace") if isinstance(html, str) else html
    m = _TITLE.search(raw[:65536])
    if not m:
        return ""
    import html as html_module

    return _clean(html_module.unescape(m.group(1).decode("utf-8", "replace")))


def page_title(found: str, declared: str) -> str:
    """The page's own title, from trafilatura's guess (``found``) and the ``<title>``.

    trafilatura takes a site-wide ``<h1>`` ("Django 3.2.25 documentation", on every page
    of that site) or the heading of a note box ("Note", on PostgreSQL's reference pages)
    for the title; the ``<title>`` names the page, usually followed by the site's name
    ("Multiple databases — Django 3.2.25 documentation").  So: the guess when the
    ``<title>`` holds it and it is not that site part, else the ``<title>`` without it.
    """
    if not declared:
        return found
    cuts = list(_SITE_SEP.finditer(declared))
    head, site = declared, ""
    if cuts:
        head, site = declared[: cuts[-1].start()], declared[cuts[-1].end() :]
    if found and found in declared and found != site:
        return found
    return head or declared


_LANG_ATTR = re.compile(rb"<html[^>]*\blang=[\"']?([A-Za-z]{2,3})", re.IGNORECASE)
_CJK = re.compile(r"[\u3400-\u9fff]")


def detect_lang(html: str | bytes, text: str) -> str | None:
    """Chinese by script, else the page's own ``<html lang>``; None when unknown."""
    if text and len(_CJK.findall(text)) > 0.2 * len(text.replace(" ", "")):
        return "zh"
    head = html[:4096].encode("utf-8", "replace") if isinstance(html, str) else html[:4096]
    m = _LANG_ATTR.search(head)
    return m.group(1).decode().lower() if m else None


def _walk(el: etree._Element, heads: list[tuple[int, str]], out: list[Block]) -> None:
    """Append el's children as blocks; ``heads`` is the heading stack, changed in place."""
    term: str | None = None
    for child in el:
        tag = child.tag
        if tag == "head":
            level = _level(child.get("rend"))
            while heads and heads[-1][0] >= level:
                heads.pop()
            text = _text(child)
            if text:
                heads.append((level, text))
        elif tag == "list" and child.get("rend") == "dl":
            _walk_dl(child, heads, out)
        elif tag == "item" and (child.get("rend") or "").startswith("dt"):
            term = _text(child)
        elif tag == "item" and (child.get("rend") or "").startswith("dd"):
            sub = [*heads, (99, term)] if term else list(heads)
            _walk(child, sub, out)
            term = None
        elif tag == "list":
            items = [_text(i) for i in child.iter("item")]
            text = "\n".join(f"- {t}" for t in items if t)
            _emit(out, "list", text, heads)
        elif tag == "table":
            rows = [" | ".join(_text(c) for c in row) for row in child.iter("row")]
            _emit(out, "table", "\n".join(r for r in rows if r.strip(" |")), heads)
        elif tag in ("code", "quote", "p"):
            raw = "".join(child.itertext())
            if _NL in raw:  # a <pre> block, wherever trafilatura put it
                _emit(out, "code", _code(raw), heads)
            else:
                _emit(out, "paragraph" if tag == "p" else "code", _text(child), heads)
        elif len(child):
            _walk(child, heads, out)
        else:
            _emit(out, "paragraph", _text(child), heads)


def _walk_dl(dl: etree._Element, heads: list[tuple[int, str]], out: list[Block]) -> None:
    terms: list[str] = []
    for item in dl:
        rend = item.get("rend") or ""
        if rend.startswith("dt"):
            terms.append(_text(item))
        else:
            # Several <dt> for one <dd> are alternative signatures: keep the fullest.
            term = max(terms, key=len) if terms else None
            _walk(item, [*heads, (99, term)] if term else list(heads), out)
            if not len(item):
                _emit(out, "paragraph", _text(item), [*heads, (99, term)] if term else heads)
            terms = []


def _emit(out: list[Block], kind: str, text: str, heads: list[tuple[int, str]]) -> None:
    if text:
        out.append(Block(kind, text, tuple(h for _, h in heads)))


def _level(rend: str | None) -> int:
    if rend and len(rend) == 2 and rend[0] == "h" and rend[1].isdigit():
        return int(rend[1])
    return 6
