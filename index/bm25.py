"""BM25 over passages with tantivy: text, title and heading path, English stemming.

Queries come from models and users, so they are hostile text: they are reduced
to plain word tokens before tantivy's query parser sees them, and no query
syntax of theirs is ever interpreted.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from urllib.parse import urlsplit

import tantivy

from .records import Passage

DIRNAME = "bm25"
_TOKEN = re.compile(r"\w+", re.UNICODE)
_CJK_RUN = re.compile(r"[\u3400-\u9fff]+")
BOOSTS = {"title": 1.5, "headings": 2.0, "text": 1.0, "url": 1.0}
_URL_PARTS = re.compile(r"[./_~-]+")
_URL_TAIL = re.compile(r"(index)?\.(s?html?|php|aspx?)$", re.IGNORECASE)


def _schema() -> tantivy.Schema:
    sb = tantivy.SchemaBuilder()
    sb.add_integer_field("id", stored=True, indexed=True, fast=True)
    for name in ("text", "title", "headings", "url"):
        sb.add_text_field(name, stored=False, tokenizer_name="en_stem")
    return sb.build()


def write_bm25(directory: Path, passages: Iterable[Passage], heap_mb: int = 256) -> int:
    path = directory / DIRNAME
    path.mkdir()
    index = tantivy.Index(_schema(), path=str(path))
    writer = index.writer(heap_size=heap_mb * 1024 * 1024, num_threads=1)
    n = 0
    for p in passages:
        writer.add_document(
            tantivy.Document(
                id=p.id,
                text=analyze(p.text),
                title=analyze(p.title),
                headings=analyze(" ".join(p.headings)),
                url=url_words(p.url),
            )
        )
        n += 1
    writer.commit()
    writer.wait_merging_threads()
    return n


def _bigrams(run: str) -> str:
    if len(run) == 1:
        return run
    return " ".join(run[i : i + 2] for i in range(len(run) - 1))


def analyze(text: str) -> str:
    """Chinese has no spaces: index overlapping character bigrams, as Lucene's CJK
    analyzer does, so the English tokenizer sees words in both languages."""
    return _CJK_RUN.sub(lambda m: f" {_bigrams(m.group())} ", text)


def url_words(url: str) -> str:
    """A URL's host and path as words: known-item searches name what the path says
    ("create_function" for c3ref/create_function.html).  Host words count too: a query
    naming the site ("sqlite") leans to its pages."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    host = host[4:] if host.startswith("www.") else host
    return " ".join(_URL_PARTS.sub(" ", f"{host} {_URL_TAIL.sub('', parts.path)}").split())


def query_terms(query: str) -> list[str]:
    """Plain lower-case word tokens: nothing tantivy could read as syntax."""
    return [t.lower() for t in _TOKEN.findall(analyze(query))]


class BM25Index:
    def __init__(self, directory: Path) -> None:
        self._index = tantivy.Index.open(str(directory / DIRNAME))
        self._index.reload()
        self._fields = [f for f in BOOSTS if self._has_field(f)]  # older builds: no url

    def _has_field(self, name: str) -> bool:
        try:
            self._index.parse_query("x", [name])
        except ValueError:
            return False
        return True

    def count(self) -> int:
        return int(self._index.searcher().num_docs)

    def search(
        self, query: str, k: int, boosts: Mapping[str, float] | None = None
    ) -> list[tuple[int, float]]:
        """(passage id, score) pairs, best first; [] when the query has no words.
        ``boosts`` weighs the fields (default ``BOOSTS``)."""
        terms = query_terms(query)
        if not terms:
            return []
        weights = {f: w for f, w in (boosts or BOOSTS).items() if f in self._fields and w > 0}
        q, _errors = self._index.parse_query_lenient(
            " ".join(terms), list(weights), field_boosts=weights
        )
        searcher = self._index.searcher()
        out = []
        for score, address in searcher.search(q, k).hits:
            doc = searcher.doc(address)
            out.append((int(doc["id"][0]), float(score)))
        return out
