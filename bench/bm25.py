"""BM25 query throughput: our tantivy index against bm25s over the same passages.

Both index the same text (passage, title and headings) of the live index and
answer the same section-heading queries, one query at a time, top 10.  Prints
queries/s of each, their ratio, the mean top-10 overlap between the two, and
page-level hit@10 of each.

    .venv/bin/python bench/bm25.py [--data data] [--queries 500]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.common import Bm25sBaseline, heading_queries, load_passages, timed


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=Path("data"))
    ap.add_argument("--queries", type=int, default=500)
    args = ap.parse_args()

    from stepdr.index.bm25 import BM25Index
    from stepdr.index.versions import IndexDir

    passages = load_passages(args.data)
    url_of = {p.id: p.url for p in passages}
    queries = heading_queries(passages, args.queries)
    qtexts = [q for q, _ in queries]

    ours = BM25Index(IndexDir(args.data).current())
    baseline, index_s = timed(lambda: Bm25sBaseline(passages))

    def run_ours() -> list[list[int]]:
        return [[pid for pid, _ in ours.search(q, 10)] for q in qtexts]

    def run_bm25s() -> list[list[int]]:
        return baseline.search_each(qtexts)

    ours_hits, ours_s = timed(run_ours, repeat=3)
    bm25s_hits, bm25s_s = timed(run_bm25s, repeat=3)
    overlap = sum(len(set(a) & set(b)) / 10 for a, b in zip(ours_hits, bm25s_hits, strict=True))

    def hit(rows: list[list[int]]) -> float:
        return sum(
            exp in {url_of[i] for i in row} for row, (_, exp) in zip(rows, queries, strict=True)
        ) / len(rows)

    n = len(qtexts)
    print(
        f"{len(passages)} passages, {n} queries, top 10, one query at a time "
        f"(bm25s indexed in {index_s:.1f}s)"
    )
    print(f"{'system':<28} {'queries/s':>10} {'hit@10':>7}")
    print(f"{'stepdr (tantivy, en_stem)':<28} {n / ours_s:10.1f} {hit(ours_hits):7.3f}")
    print(f"{'baseline: bm25s':<28} {n / bm25s_s:10.1f} {hit(bm25s_hits):7.3f}")
    print(f"ratio stepdr/bm25s: {bm25s_s / ours_s:.2f}x; mean top-10 overlap: {overlap / n:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
