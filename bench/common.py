"""Helpers shared by the benchmarks: load passages of the live index, time things."""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from stepdr.index.records import Passage
from stepdr.index.store import PassageStore
from stepdr.index.versions import IndexDir

T = TypeVar("T")


def load_passages(data: Path, limit: int | None = None, seed: int = 7) -> list[Passage]:
    version = IndexDir(data).current()
    store = PassageStore(version)
    try:
        passages = list(store.get_many(store.all_ids()).values())
    finally:
        store.close()
    passages.sort(key=lambda p: p.id)
    if limit is not None and limit < len(passages):
        passages = random.Random(seed).sample(passages, limit)
    return passages


def heading_queries(passages: list[Passage], n: int, seed: int = 11) -> list[tuple[str, str]]:
    """(query, expected page URL): a section heading asks for its own page."""
    pairs = {(p.headings[-1], p.url) for p in passages if p.headings and len(p.headings[-1]) > 8}
    ordered = sorted(pairs)
    random.Random(seed).shuffle(ordered)
    return ordered[:n]


def timed(fn: Callable[[], T], repeat: int = 1) -> tuple[T, float]:
    """The result of the last run and the best wall time of ``repeat`` runs."""
    best = float("inf")
    result: T
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - start)
    return result, best


class Bm25sBaseline:
    """bm25s over the same text our BM25 indexes (passage, title, headings; CJK bigrams)."""

    def __init__(self, passages: list[Passage]) -> None:
        import bm25s

        from stepdr.index.bm25 import analyze

        self._bm25s, self._analyze = bm25s, analyze
        self.ids = [p.id for p in passages]
        corpus = [analyze(f"{p.title} {' '.join(p.headings)} {p.text}") for p in passages]
        self.retriever = bm25s.BM25()
        tokens = bm25s.tokenize(corpus, stopwords="en", show_progress=False)
        self.retriever.index(tokens, show_progress=False)

    def search_each(self, queries: list[str], k: int = 10) -> list[list[int]]:
        """Passage ids per query, one query at a time (as an agent's tool would ask)."""
        out = []
        for q in queries:
            tokens = self._bm25s.tokenize([self._analyze(q)], stopwords="en", show_progress=False)
            docs, _ = self.retriever.retrieve(tokens, k=k, show_progress=False)
            out.append([self.ids[int(i)] for i in docs[0]])
        return out
