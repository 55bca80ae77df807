"""Directories of links (index/directories.py) keep their opening only."""

from __future__ import annotations

import pytest
from trafilatura.utils import load_html

from stepdr.index.directories import (
    KEEP_WORDS,
    MIN_LINKS,
    SHARE,
    is_directory,
    link_share,
    link_texts,
)
from stepdr.index.extract import extract

INTRO = "This index lists every keyword of the documentation with the page that explains it."
PROSE = (
    "Write-ahead logging keeps changes in a separate file until a checkpoint moves them "
    "into the database, so readers never block writers and writers never block readers. "
)


def page(title: str, body: str) -> str:
    head = f"<head><title>{title}</title></head>"
    return f"<html>{head}<body><main><h1>{title}</h1>{body}</main></body></html>"


def links(n: int) -> str:
    return (
        "<ul>"
        + "".join(f'<li><a href="p{i}.html">keyword {i}</a></li>' for i in range(n))
        + "</ul>"
    )


def test_an_index_page_keeps_its_opening_and_loses_its_entries() -> None:
    html = page("Keyword Index", f"<p>{INTRO}</p>{links(MIN_LINKS + 50)}")
    got = extract(html, "https://x.org/keyword_index.html")
    assert got is not None and got.title == "Keyword Index"
    (kept,) = got.blocks
    assert INTRO in kept.text and len(kept.text.split()) <= KEEP_WORDS
    assert "keyword 99" not in kept.text


def test_a_page_of_prose_beside_many_links_is_kept_whole() -> None:
    prose = "".join(f"<p>{PROSE * 3} Part {i}.</p>" for i in range(40))
    html = page("Write-Ahead Logging", prose + links(MIN_LINKS + 50))
    got = extract(html, "https://x.org/wal.html")
    assert got is not None and len(got.blocks) > 30
    tree = load_html(html)
    assert len(link_texts(tree)) == MIN_LINKS + 50 and not is_directory(tree, got.blocks)


def test_a_short_list_of_links_is_no_directory() -> None:
    html = page("See also", f"<p>{INTRO}</p>{links(20)}")
    got = extract(html, "https://x.org/see.html")
    assert got is not None and any("keyword 7" in b.text for b in got.blocks)
    main = " ".join(b.text for b in got.blocks)
    assert link_share(link_texts(load_html(html)), main) > SHARE  # dense, but only 20 links


def test_a_menu_beside_an_article_is_not_its_main_text() -> None:
    # The whole page is mostly links; what extraction keeps is not.
    menu = "<nav>" + links(MIN_LINKS + 100) + "</nav>"
    article = "".join(f"<p>{PROSE} Part {i}.</p>" for i in range(6))
    html = (
        "<html><head><title>Tides</title></head><body>"
        f"{menu}<article><h1>Tides</h1>{article}</article></body></html>"
    )
    got = extract(html, "https://x.org/tides.html")
    assert got is not None and len(got.blocks) >= 2
    assert any("Part 5." in b.text for b in got.blocks)


def test_link_share_is_estimated_from_a_sample() -> None:
    names = [f"name{i:05d}" for i in range(17000)]
    assert link_share(names, " ".join(names)) == pytest.approx(0.9, abs=0.02)  # spaces
    main = " ".join(names[:1700]) + " x" * 20000  # a tenth of the links, and other text
    assert link_share(names, main) == pytest.approx(1700 * 9 / len(main), abs=0.03)
    assert link_share([], "text") == 0.0 and link_share(names, "") == 0.0
