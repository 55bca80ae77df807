"""The batch_web_surfer backend: search and open pages of the live index version."""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from pathlib import Path

from stepdr.crawl.errors import IndexCorruptError, QueryError
from stepdr.index.bm25 import BM25Index
from stepdr.index.dense import DenseIndex
from stepdr.index.embed import Embedder
from stepdr.index.store import PassageStore
from stepdr.index.verify import check_counts
from stepdr.index.versions import IndexDir, read_manifest

from .results import OpenResult, SearchResult
from .snippet import snippet

log = logging.getLogger(__name__)

MAX_QUERIES = 64
MAX_QUERY_CHARS = 4096
MAX_TOPK = 100
PER_PAGE = 2  # passages of one page in one result list


class Surfer:
    """Opened on one index version; its methods are safe to call from many threads."""

    def __init__(self, version: Path) -> None:
        self.version = version
        self.manifest = read_manifest(version)
        try:
            self.store = PassageStore(version)
            self.bm25 = BM25Index(version)
            counts: dict[str, int | None] = {"store": self.store.count(), "bm25": self.bm25.count()}
            self.dense: DenseIndex | None = None
            if self.manifest.get("embedding"):
                self.dense = DenseIndex(version)
                counts["dense"] = self.dense.count()
        except Exception as e:
            raise IndexCorruptError(f"{version}: cannot open index ({e})") from None
        check_counts(version, self.manifest, counts)
        self._embedder: Embedder | None = None
        self._lock = threading.Lock()

    @classmethod
    def open(cls, data_dir: str | Path) -> Surfer:
        """The live version, or the newest older one that opens if the live one is broken."""
        first_error: IndexCorruptError | None = None
        for version in IndexDir(Path(data_dir)).candidates():
            try:
                surfer = cls(version)
            except IndexCorruptError as e:
                log.warning("not serving %s: %s", version.name, e)
                first_error = first_error or e
                continue
            if first_error is not None:
                log.warning("serving older version %s instead", version.name)
            return surfer
        assert first_error is not None
        raise first_error

    @property
    def embedder(self) -> Embedder:
        """The version's embedding model, loaded on first use."""
        with self._lock:
            if self._embedder is None:
                from stepdr.index.embed import SentenceEmbedder

                self._embedder = SentenceEmbedder(self.manifest["config"].get("model"))
            return self._embedder

    def dense_search(self, queries: Sequence[str], k: int) -> list[list[tuple[int, float]]]:
        """(passage id, cosine) candidates per query; [] per query without a dense index."""
        if self.dense is None:
            return [[] for _ in queries]
        return self.dense.search(self.embedder.encode(list(queries)), k)

    def search(self, query: str, topk: int = 10) -> list[SearchResult]:
        _check_query(query)
        _check_topk(topk)
        candidates = self.bm25.search(query, topk * 4 + 10)
        passages = self.store.get_many([pid for pid, _ in candidates])
        out: list[SearchResult] = []
        per_page: dict[str, int] = {}
        for pid, score in candidates:
            p = passages.get(pid)
            if p is None or per_page.get(p.url, 0) >= PER_PAGE:
                continue
            per_page[p.url] = per_page.get(p.url, 0) + 1
            out.append(
                SearchResult(
                    cite_id=p.cite_id,
                    url=p.url,
                    title=p.title,
                    site=p.domain,
                    published=p.published,
                    snippet=snippet(p.text, query),
                    content=p.text,
                    score=score,
                    passage_id=p.id,
                    headings=p.headings,
                    authority=p.authority,
                )
            )
            if len(out) == topk:
                break
        return out

    def batch_search(self, queries: Sequence[str], topk: int = 10) -> list[list[SearchResult]]:
        if isinstance(queries, str):
            raise QueryError("batch_search takes a list of queries, not one string")
        if len(queries) > MAX_QUERIES:
            raise QueryError(f"too many queries in one batch: {len(queries)} > {MAX_QUERIES}")
        for q in queries:
            _check_query(q)
        return [self.search(q, topk) for q in queries]

    def batch_open(self, urls: Sequence[str]) -> list[OpenResult]:
        out = []
        for url in urls:
            passages = self.store.page(url)
            if not passages:
                out.append(OpenResult(url, None, None, None, error=f"not in the index: {url}"))
                continue
            first = passages[0]
            text = "\n\n".join(p.text for p in passages)
            out.append(OpenResult(url, first.cite_id, first.title, text))
        return out


def _check_query(query: str) -> None:
    if not isinstance(query, str) or not query.strip():
        raise QueryError("empty query")
    if len(query) > MAX_QUERY_CHARS:
        raise QueryError(f"query too long: {len(query)} characters > {MAX_QUERY_CHARS}")


def _check_topk(topk: int) -> None:
    if not 1 <= topk <= MAX_TOPK:
        raise QueryError(f"topk must be between 1 and {MAX_TOPK}, got {topk}")
