"""The embedding cache: vectors by text, committed batch by batch, only the new computed."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

from stepdr.index.embed_cache import EmbeddingCache


def _vectors(texts: Sequence[str]) -> np.ndarray:
    return np.array([[len(t), t.count("a"), 1.0] for t in texts], dtype=np.float32)


def test_only_new_texts_are_computed_and_counted(tmp_path: Path) -> None:
    calls: list[int] = []

    def compute(texts: Sequence[str]) -> np.ndarray:
        calls.append(len(texts))
        return _vectors(texts)

    cache = EmbeddingCache(tmp_path, "m/odel", 3)
    vecs, n = cache.get_or_compute(["a", "bb", "a"], compute, batch=1)
    assert n == 2 and calls == [1, 1]  # "a" twice: computed once
    assert np.array_equal(vecs, _vectors(["a", "bb", "a"]))
    cache.close()

    calls.clear()
    done: list[int] = []
    again = EmbeddingCache(tmp_path, "m/odel", 3)
    vecs, n = again.get_or_compute(["bb", "ccc", "a"], compute, progress=done.append)
    assert n == 1 and calls == [1] and done == [1]
    assert np.array_equal(vecs, _vectors(["bb", "ccc", "a"]))
    again.close()


def test_a_batch_that_fails_keeps_the_batches_before_it(tmp_path: Path) -> None:
    def failing(texts: Sequence[str]) -> np.ndarray:
        if "boom" in texts:
            raise RuntimeError("killed")
        return _vectors(texts)

    cache = EmbeddingCache(tmp_path, "m", 3)
    with pytest.raises(RuntimeError):
        cache.get_or_compute(["a", "b", "boom"], failing, batch=2)  # sorted keys: two batches
    cache.close()
    calls: list[int] = []

    def counting(texts: Sequence[str]) -> np.ndarray:
        calls.append(len(texts))
        return _vectors(texts)

    cache = EmbeddingCache(tmp_path, "m", 3)
    _, n = cache.get_or_compute(["a", "b", "boom"], counting, batch=2)
    assert n == sum(calls) and 1 <= n < 3  # a committed batch was not computed again
    cache.close()


def test_the_positions_of_computed_texts_are_reported(tmp_path: Path) -> None:
    cache = EmbeddingCache(tmp_path, "m", 3)
    cache.get_or_compute(["a"], _vectors)
    fresh: set[int] = set()
    _, n = cache.get_or_compute(["a", "b", "c", "b"], _vectors, fresh=fresh)
    assert n == 2 and fresh == {1, 2, 3}  # "b" twice: both positions are new text
    cache.close()
