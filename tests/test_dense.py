"""FAISS index choice by size, ids equal to passage ids, and the GPU path when present."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from stepdr.index.dense import (
    FLAT_MAX,
    DenseIndex,
    build_faiss,
    build_faiss_blocks,
    choose_kind,
    ivf_lists,
    write_dense,
)


def _unit(n: int, dim: int = 32, seed: int = 0) -> np.ndarray:
    v = np.random.default_rng(seed).standard_normal((n, dim)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


@pytest.mark.parametrize("kind", ["flat", "hnsw", "ivf-sq8", "ivf-pq"])
def test_every_kind_returns_passage_ids(kind: str, tmp_path: Path) -> None:
    vecs = _unit(3000)
    ids = np.arange(3000, dtype=np.int64) * 7919 + 2**40  # large, sparse ids, as passage ids are
    write_dense(tmp_path, ids, vecs, kind)
    dense = DenseIndex(tmp_path, use_gpu=False)
    assert dense.kind == kind and dense.count() == 3000
    assert sorted(dense.ids()) == sorted(int(i) for i in ids)
    found = dense.search(vecs[:50], 10)
    exact = [int(i) for i in ids[:50]]
    hits = sum(row[0][0] == want for row, want in zip(found, exact, strict=True))
    assert hits >= (50 if kind in ("flat", "hnsw") else 40), kind  # a vector finds itself


@pytest.mark.parametrize("kind", ["flat", "ivf-sq8"])
def test_an_index_added_in_blocks_is_the_one_added_at_once(kind: str) -> None:
    vecs, ids = _unit(5000), np.arange(5000, dtype=np.int64) * 3 + 1
    reads = []

    def blocks() -> Iterator[tuple[np.ndarray, np.ndarray]]:
        reads.append(1)
        for i in range(0, 5000, 700):
            yield ids[i : i + 700], vecs[i : i + 700]

    streamed = build_faiss_blocks(5000, 32, blocks, kind)
    whole = build_faiss(ids, vecs, kind)
    assert len(reads) == (1 if kind == "flat" else 2)  # IVF: the training sample, then adding
    for index in (streamed, whole):
        if kind != "flat":
            index.nprobe = 8
    got, want = streamed.search(vecs[:200], 10), whole.search(vecs[:200], 10)
    assert np.array_equal(got[1], want[1]) and np.allclose(got[0], want[0])
    with pytest.raises(ValueError, match="4000 vectors read, 5000 expected"):
        build_faiss_blocks(5000, 32, lambda: iter([(ids[:4000], vecs[:4000])]), kind)


def test_the_kind_follows_the_size() -> None:
    assert choose_kind(1_000) == "flat" and choose_kind(FLAT_MAX) == "ivf-sq8"
    assert choose_kind(39_000_000) == "ivf-pq"
    assert ivf_lists(1_000_000) == 4096 and ivf_lists(39_000_000) == 32768
    with pytest.raises(ValueError, match="kind"):
        build_faiss(np.arange(3), _unit(3), "ivf-flat")


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
    pytest.importorskip("faiss")  # a GPU machine may have only torch
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


def test_torch_exact_path_matches_faiss(tmp_path: Path) -> None:
    # The GPU path where faiss has no GPU build, run on the CPU here.
    vecs = _unit(3000, 384)
    ids = np.arange(3000, dtype=np.int64) * 7 + 10**12
    write_dense(tmp_path, ids, vecs)
    noisy = vecs[:40] + 0.05 * _unit(40, 384, seed=3)
    queries = noisy / np.linalg.norm(noisy, axis=1, keepdims=True)
    faiss_hits = DenseIndex(tmp_path, use_gpu=False).search(queries, 10)
    torch_index = DenseIndex(tmp_path, use_gpu=False, torch_device="cpu")
    torch_hits = torch_index.search(queries, 10)
    overlap = []
    for i, (a, b) in enumerate(zip(faiss_hits, torch_hits, strict=True)):
        assert a[0][0] == b[0][0] == int(ids[i])  # the near copy comes first on both
        assert abs(a[0][1] - b[0][1]) < 2e-3  # fp16 scores, close to fp32
        overlap.append(len({x for x, _ in a} & {x for x, _ in b}) / 10)
    assert np.mean(overlap) >= 0.9  # past the first, random vectors tie closely
    assert torch_index.count() == 3000 and len(torch_index.search(queries[:0], 10)) == 0
    assert len(torch_index.search(queries[:1], 5000)[0]) == 3000  # k above the count


@pytest.mark.gpu
def test_torch_exact_path_on_the_gpu_finds_the_exact_top_k() -> None:
    from stepdr.index.dense import TorchExact

    vecs = _unit(20000, 384)
    noisy = vecs[:64] + 0.05 * _unit(64, 384, seed=5)
    queries = noisy / np.linalg.norm(noisy, axis=1, keepdims=True)
    ids = np.arange(20000, dtype=np.int64) + 10**12
    scores, found = TorchExact(ids, vecs, "cuda").search(queries, 5)
    exact = np.argsort(-(queries @ vecs.T), axis=1)[:, :5]
    assert (found[:, 0] == ids[:64]).all() and (found[:, 0] == ids[exact[:, 0]]).all()
    assert np.allclose(scores[:, 0], np.sum(queries * vecs[:64], axis=1), atol=2e-3)
