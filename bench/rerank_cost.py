"""What a cross-encoder second stage costs per query, against the shipped pipeline.

No cross-encoder ships and none can be downloaded, so this times one of the size users
bring (ms-marco-MiniLM-L-6-v2's shape: the bundled MiniLM-L6 with a one-logit head; its
scores mean nothing, its cost is the real one) through ``--cross-encoder`` on the live
index, rescoring the fused head of 10, 20 and 50 passages, in batches of 16 questions.
The baseline is the shipped pipeline without it, measured in the same run.

    .venv/bin/python bench/rerank_cost.py [--data data] [--queries 64] [--batch 16]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.common import heading_queries, load_passages


def minilm_cross_encoder(out: Path) -> Path:
    """The bundled MiniLM as a CrossEncoder directory (a fresh one-logit head)."""
    from sentence_transformers import CrossEncoder

    from stepdr.index.embed import resolve_model

    model = CrossEncoder(str(resolve_model(None)[1]), num_labels=1, device="cpu")
    model.save(str(out))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", type=Path, default=Path("data"))
    ap.add_argument("--queries", type=int, default=64)
    ap.add_argument("--batch", type=int, default=16)
    args = ap.parse_args()

    from stepdr.rank import Surfer
    from stepdr.rank.pipeline import RankConfig

    passages = load_passages(args.data)
    # Headings as questions: "How do I ..." keeps them on the question path.
    queries = [f"How do I use {q}?" for q, _ in heading_queries(passages, args.queries)]
    surfer = Surfer.open(args.data)
    with tempfile.TemporaryDirectory() as tmp:
        model = str(minilm_cross_encoder(Path(tmp) / "cross"))
        configs = {"shipped": RankConfig()}
        for depth in (10, 20, 50):
            configs[f"+cross@{depth}"] = replace(
                RankConfig(), cross_encoder=model, cross_depth=depth
            )
        surfer.batch_search(queries[: args.batch], 10, configs["+cross@10"])  # load, warm up
        print(f"{len(passages)} passages, {len(queries)} questions in batches of {args.batch}")
        print(f"{'pipeline':<14} {'p50 ms':>9} {'per query ms':>13} {'x shipped':>10}")
        base = 0.0
        for name, config in configs.items():
            latencies = []
            for i in range(0, len(queries), args.batch):
                start = time.perf_counter()
                surfer.batch_search(queries[i : i + args.batch], 10, config)
                latencies.append((time.perf_counter() - start) * 1000)
            p50 = statistics.median(latencies)
            base = base or p50
            print(f"{name:<14} {p50:9.1f} {p50 / args.batch:13.1f} {p50 / base:10.2f}")


if __name__ == "__main__":
    main()
