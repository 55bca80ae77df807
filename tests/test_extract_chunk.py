from __future__ import annotations

from stepdr.index.chunk import chunk_blocks
from stepdr.index.extract import extract
from stepdr.index.records import Block, cite_id, passage_id

from .conftest import FIXTURES

API_PAGE = """<html><head><title>mod — things</title></head><body><main>
<h1>mod — things¶</h1>
<p>The mod module offers things for doing other things, and this paragraph explains in some
detail why someone would want to use it in a program of theirs.</p>
<dl><dt>mod.thing(size=10)¶</dt><dd><p>Make a thing of the given size; the size must be positive
and is measured in widgets, as defined by the widget standard of the office.</p></dd></dl>
<h2>Tables</h2><table><tr><th>name</th><th>value</th></tr><tr><td>alpha</td><td>1</td></tr></table>
</main></body></html>"""


def test_extract_keeps_headings_and_definition_terms() -> None:
    page = extract(API_PAGE, "https://docs.example.org/mod.html")
    assert page is not None
    assert page.title == "mod — things"
    by_text = {b.text.split()[0]: b for b in page.blocks}
    assert by_text["The"].headings == ("mod — things",)
    assert by_text["Make"].headings == ("mod — things", "mod.thing(size=10)")
    table = next(b for b in page.blocks if b.kind == "table")
    assert "alpha | 1" in table.text and table.headings == ("mod — things", "Tables")


def test_extract_of_a_page_without_text_is_none() -> None:
    assert extract("<html><body></body></html>", "https://x.example/") is None


def test_fixture_page_extracts_sections() -> None:
    html = (FIXTURES / "site" / "docs" / "calibration.html").read_text()
    page = extract(html, "https://standards.example.org/docs/calibration.html")
    assert page is not None
    heads = {b.headings[-1] for b in page.blocks}
    assert {"Thermometer calibration intervals", "Pressure gauge calibration"} <= heads


def _words(n: int, tag: str) -> str:
    return " ".join(f"{tag}{i}." if i % 10 == 9 else f"{tag}{i}" for i in range(n))


def test_chunk_merges_small_splits_long_and_loses_nothing() -> None:
    blocks = [
        Block("paragraph", "Short intro.", ("A",)),
        Block("paragraph", _words(30, "m"), ("A",)),
        Block("paragraph", _words(450, "l"), ("A", "B")),
        Block("paragraph", "Tail.", ("C",)),
    ]
    chunks = chunk_blocks(blocks, min_words=10, max_words=200)
    assert chunks[0].text.startswith("Short intro.\nm0") and chunks[0].headings == ("A",)
    assert all(len(c.text.split()) <= 200 for c in chunks)
    long_parts = [c for c in chunks if c.headings == ("A", "B")]
    assert len(long_parts) == 3
    assert all(c.text.split()[-1].endswith(".") for c in long_parts)  # cut at sentences
    words_in = [w for b in blocks for w in b.text.split()]
    words_out = [w for c in chunks for w in c.text.split()]
    assert words_in == words_out
    assert chunk_blocks(blocks, 10, 200) == chunks


def test_ids_are_stable() -> None:
    assert cite_id("https://docs.python.org/3/") == cite_id("https://docs.python.org/3/")
    assert cite_id("https://a.example/") != cite_id("https://b.example/")
    pid = passage_id("https://a.example/", 3)
    assert 0 < pid < 2**63 and pid == passage_id("https://a.example/", 3)
    assert pid != passage_id("https://a.example/", 4)


def test_page_titles_name_the_page_not_the_site_or_a_note_box() -> None:
    from stepdr.index.extract import page_title

    django = "Multiple databases \u2014 Django 3.2.25 documentation"
    assert page_title("Django 3.2.25 documentation", django) == "Multiple databases"
    assert page_title("Note", "DECLARE") == "DECLARE"  # a note box's heading
    python = "functools \u2014 Higher-order functions \u2014 Python 3.11.2 documentation"
    assert page_title("functools \u2014 Higher-order functions", python) == (
        "functools \u2014 Higher-order functions"
    )
    assert page_title("Apply for a passport", "Apply for a passport - GOV.UK") == (
        "Apply for a passport"
    )
    assert page_title("", "Statistics | Office") == "Statistics"
    assert page_title("Found", "") == "Found"
    html = (
        "<html><head><title>Routine Vacuuming &#8212; Manual</title></head><body>"
        "<h1>Manual</h1><main><h2>Routine Vacuuming</h2><p>" + "Vacuum often. " * 20 + "</p>"
        "</main></body></html>"
    )
    page = extract(html, "https://docs.example.org/vacuum.html")
    assert page is not None and page.title == "Routine Vacuuming"
