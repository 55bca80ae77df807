"""FAISS index kinds at one size: bytes per vector, build time, search time and recall@10
against exact search (the baseline), on MiniLM vectors.

The vectors are the demo index's own (from its embedding cache), each repeated with
small noise until there are N, so that the set has the clustering of real text
embeddings; queries are other noisy copies, never indexed.

    .venv/bin/python bench/dense_kinds.py [--data data] [--n 200000] [--queries 500]
"""

from __future__ import annotations

import argparse
import contextlib
import sqlite3
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def base_vectors(data: Path) -> np.ndarray:
    files = sorted((data / "cache" / "embeddings").glob("*.sqlite"))
    if not files:
        raise SystemExit(
            f"no embedding cache under {data}/cache/embeddings: build with dense first"
        )
    con = sqlite3.connect(files[0])
    rows = [np.frombuffer(v, dtype=np.float32) for (v,) in con.execute("SELECT v FROM vec")]
    con.close()
    return np.stack(rows)


def noisy(base: np.ndarray, n: int, rng: np.random.Generator, sigma: float) -> np.ndarray:
    picks = base[rng.integers(0, len(base), n)]
    out = picks + rng.standard_normal(picks.shape).astype(np.float32) * sigma
    return out / np.linalg.norm(out, axis=1, keepdims=True)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=Path("data"))
    ap.add_argument("--n", type=int, default=200_000)
    ap.add_argument("--queries", type=int, default=500)
    ap.add_argument("--sigma", type=float, default=0.03, help="noise per dimension")
    args = ap.parse_args()

    import faiss

    from stepdr.index.dense import KINDS, NPROBE, build_faiss, ivf_lists

    rng = np.random.default_rng(0)
    base = base_vectors(args.data)
    vecs = noisy(base, args.n, rng, args.sigma)
    queries = noisy(base, args.queries, rng, args.sigma)
    ids = np.arange(args.n, dtype=np.int64)
    print(f"{args.n} vectors of {vecs.shape[1]} dims from {len(base)} MiniLM vectors, "
          f"{args.queries} queries; IVF: {ivf_lists(args.n)} lists, nprobe {NPROBE}")  # fmt: skip
    print(f"{'kind':<9} {'bytes/vec':>9} {'build s':>8} {'ms/query':>9} {'recall@10':>10}")
    truth: np.ndarray | None = None
    for kind in KINDS:
        start = time.perf_counter()
        index = build_faiss(ids, vecs, kind)
        built = time.perf_counter() - start
        size = len(faiss.serialize_index(index)) / args.n
        with contextlib.suppress(RuntimeError):  # not an IVF index
            faiss.extract_index_ivf(index).nprobe = NPROBE
        if kind == "hnsw":
            faiss.downcast_index(index.index).hnsw.efSearch = 128
        start = time.perf_counter()
        _, found = index.search(queries, 10)
        per_query = (time.perf_counter() - start) / args.queries * 1000
        if truth is None:
            truth = found  # flat comes first: exact search is the baseline
        recall = np.mean([len(set(a) & set(b)) / 10 for a, b in zip(found, truth, strict=True)])
        print(f"{kind:<9} {size:>9.1f} {built:>8.1f} {per_query:>9.3f} {recall:>10.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
