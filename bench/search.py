"""Batch search latency and throughput per pipeline, and BM25 against bm25s, in one run.

Runs section-heading queries (each asks for its own page) through
``Surfer.batch_search`` in batches, for the bm25, hybrid, hybrid+authority,
hybrid+authority+page and hybrid+authority+page+title (shipped) pipelines; prints
per-batch latency p50/p95, queries/s and page hit@10.  Then times our BM25 retrieval
alone against bm25s over the same passages (top 10, one query at a time) and prints the
ratio.

    .venv/bin/python bench/search.py [--data data] [--queries 512] [--batch 16]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.common import Bm25sBaseline, heading_queries, load_passages, timed

PIPELINES = (
    "bm25",
    "hybrid",
    "hybrid+authority",
    "hybrid+authority+page",
    "hybrid+authority+page+title",
)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=Path("data"))
    ap.add_argument("--queries", type=int, default=512)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--topk", type=int, default=10)
    args = ap.parse_args()

    from stepdr.rank import Surfer
    from stepdr.rank.pipeline import pipeline

    passages = load_passages(args.data)
    pairs = heading_queries(passages, args.queries)
    queries = [q for q, _ in pairs]
    batches = [queries[i : i + args.batch] for i in range(0, len(queries), args.batch)]
    surfer = Surfer.open(args.data)
    names = [n for n in PIPELINES if n == "bm25" or surfer.dense is not None]
    print(
        f"{len(passages)} passages, {len(queries)} queries in batches of {args.batch}, "
        f"top {args.topk}, index {surfer.version.name}"
    )
    print(f"{'pipeline':<28} {'p50 ms':>8} {'p95 ms':>8} {'queries/s':>10} {'hit@10':>7}")
    for name in names:
        config = pipeline(name)
        surfer.batch_search(batches[0], args.topk, config)  # load models, warm caches
        latencies, hits = [], 0
        start = time.perf_counter()
        for batch, offset in zip(batches, range(0, len(queries), args.batch), strict=True):
            t = time.perf_counter()
            results = surfer.batch_search(batch, args.topk, config)
            latencies.append((time.perf_counter() - t) * 1000)
            for rows, (_, url) in zip(results, pairs[offset : offset + len(batch)], strict=True):
                hits += url in {r.url for r in rows}
        total = time.perf_counter() - start
        print(
            f"{name:<28} {statistics.median(latencies):8.1f} {percentile(latencies, 0.95):8.1f} "
            f"{len(queries) / total:10.1f} {hits / len(queries):7.3f}"
        )

    baseline_index = Bm25sBaseline(passages)

    def ours() -> list[list[int]]:
        return [[pid for pid, _ in surfer.index.bm25_search(q, 10)] for q in queries]

    def baseline() -> list[list[int]]:
        return baseline_index.search_each(queries)

    _, ours_s = timed(ours, repeat=3)
    _, base_s = timed(baseline, repeat=3)
    n = len(queries)
    print(
        f"BM25 retrieval alone, one query at a time: stepdr (tantivy) {n / ours_s:.0f} q/s, "
        f"bm25s {n / base_s:.0f} q/s; ratio stepdr/bm25s {base_s / ours_s:.2f}x"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
