"""The batch_web_surfer backend: search and open pages of the live index version."""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from stepdr.core.errors import ConfigError, IndexCorruptError, QueryError
from stepdr.index.dense import DenseIndex
from stepdr.index.records import Passage
from stepdr.index.shards import ShardedIndex, open_index
from stepdr.index.version import Version
from stepdr.index.versions import IndexDir

from .cross import CrossEncoderReranker, Reranker
from .pages import page_text, url_variants
from .pipeline import RankConfig, Ranked, rank_batch
from .prior import query_authority
from .results import OpenResult, SearchResult
from .snippet import snippet

log = logging.getLogger(__name__)

MAX_QUERIES = 64  # per batch
MAX_QUERY_CHARS = 16_384  # room for a pasted paragraph; 10 KB of anything still answers
MAX_TOPK = 100
MAX_URLS = 64  # per batch_open
_REMEMBERED_PAGES = 4096  # pages whose last matching passages batch_open can mark


class Surfer:
    """Opened on one index version; its methods are safe to call from many threads."""

    def __init__(
        self, version: Path | Version | ShardedIndex, config: RankConfig | None = None
    ) -> None:
        self.index = version if isinstance(version, Version | ShardedIndex) else open_index(version)
        self.version = self.index.path
        self.config = config or RankConfig()
        self._rerankers: dict[str, Reranker] = {}
        self._lock = threading.Lock()  # lazy loads
        self._matched: OrderedDict[str, tuple[int, ...]] = OrderedDict()
        self._matched_lock = threading.Lock()

    def current(self) -> Surfer:
        """This surfer; a ``LiveSurfer`` answers with the one for the live version."""
        return self

    @property
    def manifest(self) -> dict[str, Any]:
        return self.index.manifest

    @property
    def dense(self) -> DenseIndex | None:
        return self.index.dense

    @classmethod
    def open(cls, data_dir: str | Path, config: RankConfig | None = None) -> Surfer:
        """The live version, or the newest older one that opens if the live one is broken."""
        first_error: IndexCorruptError | None = None
        for version in IndexDir(Path(data_dir)).candidates():
            try:
                surfer = cls(version, config)
            except IndexCorruptError as e:
                log.warning("not serving %s: %s", version.name, e)
                first_error = first_error or e
                continue
            if first_error is not None:
                log.warning("serving older version %s instead", version.name)
            return surfer
        assert first_error is not None
        raise first_error

    def reranker(self, model_dir: str) -> Reranker:
        with self._lock:
            if model_dir not in self._rerankers:
                self._rerankers[model_dir] = CrossEncoderReranker(model_dir)
            return self._rerankers[model_dir]

    # -- the batch_web_surfer face ---------------------------------------------------

    def search(
        self, query: str, topk: int = 10, config: RankConfig | None = None
    ) -> list[SearchResult]:
        return self.batch_search([query], topk, config)[0]

    def batch_search(
        self, queries: Sequence[str], topk: int = 10, config: RankConfig | None = None
    ) -> list[list[SearchResult]]:
        """Ranked results per query, in query order (see ``stepdr.rank.fuse``)."""
        if isinstance(queries, str):
            raise QueryError("batch_search takes a list of queries, not one string")
        if len(queries) > MAX_QUERIES:
            raise QueryError(f"too many queries in one batch: {len(queries)} > {MAX_QUERIES}")
        for q in queries:
            check_query(q)
        check_topk(topk)
        ranked = self.rank(queries, topk, config)
        out = [[_result(r, q) for r in rows] for q, rows in zip(queries, ranked, strict=True)]
        self._remember(r for rows in out for r in rows)
        return out

    def rank(
        self, queries: Sequence[str], depth: int, config: RankConfig | None = None
    ) -> list[list[Ranked]]:
        """The pipeline itself, without the topk limit (evaluation asks for hundreds)."""
        config = config or self.config
        if config.dense and not config.bm25 and not self.index.has_dense:
            raise ConfigError(f"{self.version.name}: no dense vectors (built with --no-dense)")
        reranker = self.reranker(config.cross_encoder) if config.cross_encoder else None
        return rank_batch(self.index, queries, config, depth, reranker)

    def batch_open(self, urls: Sequence[str], mark: Iterable[int] = ()) -> list[OpenResult]:
        """The stored text of each page, or a per-URL error; never raises for a bad URL.

        Passages that the latest searches returned for a page, and those whose ids
        are in ``mark``, are marked in its text.
        """
        if isinstance(urls, str):
            raise QueryError("batch_open takes a list of URLs, not one string")
        if len(urls) > MAX_URLS:
            raise QueryError(f"too many URLs in one batch: {len(urls)} > {MAX_URLS}")
        marked = set(mark)
        out = []
        for url in urls:
            if not isinstance(url, str) or not url.strip():
                out.append(OpenResult(str(url), None, None, None, error="empty URL"))
                continue
            found = self.page(url)
            if not found:
                out.append(OpenResult(url, None, None, None, error=f"not in the index: {url}"))
                continue
            first = found[0]
            with self._matched_lock:
                recent = set(self._matched.get(first.url, ()))
            hits = {p.ordinal for p in found if p.id in marked or p.ordinal in recent}
            text, matched = page_text(found, hits)
            out.append(
                OpenResult(
                    first.url,
                    first.cite_id,
                    first.title,
                    text,
                    site=first.domain,
                    published=first.published,
                    matched=matched,
                )
            )
        return out

    def stats(self) -> dict[str, object]:
        return self.index.stats()

    def page(self, url: str) -> list[Passage]:
        """A page's passages in order, under any spelling of its URL; [] when absent."""
        return self.index.page(url_variants(url))

    def _remember(self, results: Iterable[SearchResult]) -> None:
        per_url: dict[str, list[int]] = {}
        for r in results:
            per_url.setdefault(r.url, []).append(r.ordinal)
        with self._matched_lock:
            for url, ordinals in per_url.items():
                self._matched[url] = tuple(ordinals)
                self._matched.move_to_end(url)
            while len(self._matched) > _REMEMBERED_PAGES:
                self._matched.popitem(last=False)


def _result(r: Ranked, query: str) -> SearchResult:
    p = r.passage
    return SearchResult(
        cite_id=p.cite_id,
        url=p.url,
        title=p.title,
        site=p.domain,
        published=p.published,
        snippet=snippet(p.text, query),
        content=p.text,
        score=r.scores.final,
        passage_id=p.id,
        headings=p.headings,
        authority=query_authority(p, query),
        scores=r.scores,
        tier=p.tier,
        ordinal=p.ordinal,
    )


def check_query(query: str) -> None:
    if not isinstance(query, str) or not query.strip():
        raise QueryError("empty query")
    if len(query) > MAX_QUERY_CHARS:
        raise QueryError(f"query too long: {len(query)} characters > {MAX_QUERY_CHARS}")


def check_topk(topk: int) -> None:
    if isinstance(topk, bool) or not isinstance(topk, int) or not 1 <= topk <= MAX_TOPK:
        raise QueryError(f"topk must be an integer between 1 and {MAX_TOPK}, got {topk!r}")
