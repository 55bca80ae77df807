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
