"""BM25's fields: URL words for known items, field weights per query, older indexes."""

from __future__ import annotations

from pathlib import Path

import tantivy

from stepdr.index.bm25 import DIRNAME, BM25Index, url_words, write_bm25
from stepdr.index.records import Passage

TEXT = "Registers a function that the engine calls for each row of a query, with its arguments."


def _p(pid: int, url: str, title: str, headings: tuple[str, ...], text: str) -> Passage:
    return Passage(pid, f"web_{pid:08x}", url, "www.sqlite.org", title, headings, 0, text, 1.0, 1,
                   "2024")  # fmt: skip


def test_url_words() -> None:
    assert url_words("https://www.sqlite.org/c3ref/create_function.html#x?y") == (
        "sqlite org c3ref create function"
    )
    assert url_words("https://docs.python.org/3.11/library/index.html") == (
        "docs python org 3 11 library"
    )
    assert url_words("http://gov.example.org/") == "gov example org"


def test_a_known_item_is_found_by_its_url_and_boosts_apply(tmp_path: Path) -> None:
    write_bm25(tmp_path, [
        _p(1, "https://www.sqlite.org/c3ref/create_function.html", "Callbacks", (), TEXT),
        _p(2, "https://www.sqlite.org/appfunc.html", "Application functions", (), TEXT),
        _p(3, "https://www.sqlite.org/lang.html", "Language", ("How to use it",), "Words. " * 9),
    ])  # fmt: skip
    index = BM25Index(tmp_path)
    assert index.search("create_function", 3)[0][0] == 1  # only its URL says so
    assert index.search("create_function", 3, {"text": 1.0, "title": 1.0}) == []
    # The heading boost lifts a short heading; weighed alike, the text decides.
    assert index.search("how to use", 3)[0][0] == 3
    assert [pid for pid, _ in index.search("use", 3, {"text": 1.0, "headings": 0.0})] == []


def test_an_index_without_the_url_field_still_answers(tmp_path: Path) -> None:
    sb = tantivy.SchemaBuilder()
    sb.add_integer_field("id", stored=True, indexed=True, fast=True)
    for name in ("text", "title", "headings"):
        sb.add_text_field(name, stored=False, tokenizer_name="en_stem")
    (tmp_path / DIRNAME).mkdir()
    old = tantivy.Index(sb.build(), path=str(tmp_path / DIRNAME))
    writer = old.writer(heap_size=15_000_000, num_threads=1)
    writer.add_document(tantivy.Document(id=7, text="vacuum the database", title="", headings=""))
    writer.commit()
    writer.wait_merging_threads()
    assert BM25Index(tmp_path).search("vacuum", 3)[0][0] == 7
