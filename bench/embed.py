"""Embedding throughput: our embedder against plain SentenceTransformer.encode.

Both run in this process on the same passages of the live index.  The baseline
is the textbook call: the model as configured (256 tokens), passages in index
order, batch 32.  Ours sorts by length and uses the 128 tokens MiniLM was trained
on.  Quality: page-level hit@10 of section-heading queries over the sample, with
either set of vectors, so a speed-up that costs retrieval quality shows.

    .venv/bin/python bench/embed.py [--data data] [--n 1000]
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.common import heading_queries, load_passages, timed


def hit_at_10(vecs: np.ndarray, urls: list[str], qvecs: np.ndarray, expected: list[str]) -> float:
    scores = qvecs @ vecs.T
    top = np.argsort(-scores, axis=1)[:, :10]
    return float(
        np.mean([exp in {urls[j] for j in row} for row, exp in zip(top, expected, strict=True)])
    )


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=Path("data"))
    ap.add_argument("--n", type=int, default=1000, help="passages to embed")
    ap.add_argument("--queries", type=int, default=200)
    args = ap.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")

    from sentence_transformers import SentenceTransformer

    from stepdr.index.build import embed_text
    from stepdr.index.embed import SentenceEmbedder, resolve_model

    passages = load_passages(args.data, args.n)
    texts = [embed_text(p) for p in passages]
    urls = [p.url for p in passages]
    queries = heading_queries(passages, args.queries)
    qtexts, expected = [q for q, _ in queries], [u for _, u in queries]

    ours = SentenceEmbedder()
    _, path = resolve_model(None)
    plain = SentenceTransformer(str(path), device=ours.device)
    plain.encode(texts[:32])  # warm both up
    ours.encode(texts[:32])

    base_vecs, base_s = timed(
        lambda: plain.encode(
            texts, batch_size=32, normalize_embeddings=True, show_progress_bar=False
        )
    )
    our_vecs, our_s = timed(lambda: ours.encode(texts))
    base_q = plain.encode(qtexts, normalize_embeddings=True, show_progress_bar=False)
    our_q = ours.encode(qtexts)

    n = len(texts)
    words = sum(len(t.split()) for t in texts) / n
    print(f"{n} passages (mean {words:.0f} words) on {ours.device}, {len(queries)} heading queries")
    print(f"{'embedder':<44} {'passages/s':>10} {'hit@10':>7}")
    rows = [
        ("baseline: SentenceTransformer.encode (256 tok)", n / base_s, base_vecs, base_q),
        (f"stepdr: length-sorted, {ours.max_tokens} tokens", n / our_s, our_vecs, our_q),
    ]
    for name, rate, vecs, qv in rows:
        print(f"{name:<44} {rate:10.1f} {hit_at_10(vecs, urls, qv, expected):7.3f}")
    cos = float(np.mean(np.sum(base_vecs * our_vecs, axis=1)))
    print(
        f"speed ratio stepdr/baseline: {base_s / our_s:.2f}x; "
        f"mean cosine between the two: {cos:.3f}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
