"""FAISS index choice by size, ids equal to passage ids, and the GPU path when present."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from stepdr.index.dense import DenseIndex, build_faiss, write_dense


def _unit(n: int, dim: int = 32, seed: int = 0) -> np.ndarray:
    v = np.random.default_rng(seed).standard_normal((n, dim)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


@pytest.mark.parametrize("threshold", [10_000, 100])
def test_exact_and_hnsw_return_passage_ids(threshold: int) -> None:
    import faiss

    vecs = _unit(500)
    ids = np.arange(500, dtype=np.int64) * 7919 + 2**40  # large, sparse ids, as passage ids are
    index = build_faiss(ids, vecs, threshold=threshold)
    kind = faiss.downcast_index(index.index)
    assert isinstance(kind, faiss.IndexFlat if threshold > 500 else faiss.IndexHNSW)
    _, found = index.search(vecs[:20], 1)
    assert [int(f[0]) for f in found] == [int(i) for i in ids[:20]]


def test_written_index_round_trips(tmp_path: Path) -> None:
    vecs = _unit(50)
    ids = np.arange(50, dtype=np.int64) + 10**12
    assert write_dense(tmp_path, ids, vecs) == 50
    dense = DenseIndex(tmp_path, use_gpu=False)
    assert dense.count() == 50 and sorted(dense.ids()) == sorted(int(i) for i in ids)
    (hits,) = dense.search(vecs[3:4], 3)
    assert hits[0][0] == int(ids[3]) and hits[0][1] == pytest.approx(1.0, abs=1e-5)


@pytest.mark.gpu
def test_gpu_search_matches_cpu(tmp_path: Path) -> None:
    vecs = _unit(2000, 384)
    ids = np.arange(2000, dtype=np.int64)
    write_dense(tmp_path, ids, vecs)
    cpu = DenseIndex(tmp_path, use_gpu=False).search(vecs[:50], 5)
    gpu = DenseIndex(tmp_path, use_gpu=True).search(vecs[:50], 5)
    assert [[i for i, _ in row] for row in cpu] == [[i for i, _ in row] for row in gpu]


@pytest.mark.gpu
def test_gpu_embedder_matches_cpu() -> None:
    from stepdr.index.embed import SentenceEmbedder

    texts = ["The cache is threadsafe.", "VACUUM reclaims storage occupied by dead tuples."]
    a = SentenceEmbedder(device="cpu").encode(texts)
    b = SentenceEmbedder(device="cuda").encode(texts)
    assert np.allclose(a, b, atol=2e-3)
