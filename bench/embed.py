"""Embedding throughput: our embedder against plain SentenceTransformer.encode.

Both run in this process on the same passages of the live index.  The baseline
is the textbook call: the model as configured (256 tokens), passages in index
order, batch 32.  Ours sorts by length and uses the 128 tokens MiniLM was trained
on.  Where onnxruntime is installed, the same embedder also runs on ONNX Runtime,
with float32 and with int8 (dynamically quantised) weights.  Quality: page-level
hit@10 of section-heading queries over the sample with each set of vectors, and
each set's mean cosine to the baseline's, so a speed-up that costs quality shows.

    .venv/bin/python bench/embed.py [--data data] [--n 1000]
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.common import heading_queries, load_passages, timed
from stepdr.core.errors import ConfigError


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

    from stepdr.index.embed import SentenceEmbedder, resolve_model
    from stepdr.index.records import passage_context

    passages = load_passages(args.data, args.n)
    texts = [passage_context(p) for p in passages]
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
    rows = [
        ("baseline: SentenceTransformer.encode (256 tok)", base_s, base_vecs, base_q),
        (f"stepdr torch: length-sorted, {ours.max_tokens} tok", our_s, our_vecs, our_q),
    ]
    rows += onnx_rows(texts, qtexts, args.data / "cache" / "onnx", ours.device)
    print(f"{'embedder':<46} {'passages/s':>10} {'ratio':>6} {'hit@10':>7} {'cos':>6}")
    for name, secs, vecs, qv in rows:
        cos = float(np.mean(np.sum(base_vecs * vecs, axis=1)))
        hit = hit_at_10(vecs, urls, qv, expected)
        print(f"{name:<46} {n / secs:10.1f} {base_s / secs:5.2f}x {hit:7.3f} {cos:6.3f}")
    print("ratio: speed against the baseline; cos: mean cosine to the baseline's vectors")
    return 0


def onnx_rows(texts: list[str], qtexts: list[str], cache: Path, device: str) -> list[Any]:
    try:
        from stepdr.index.onnx_embed import OnnxEmbedder
    except ImportError:
        return []
    rows = []
    for int8 in (False, True):
        try:
            emb = OnnxEmbedder(cache_dir=cache, device=device, int8=int8)
        except ConfigError as e:  # onnxruntime missing: torch rows only
            print(f"(no ONNX rows: {e})")
            return []
        emb.encode(texts[:32])
        vecs, secs = timed(lambda emb=emb: emb.encode(texts))  # type: ignore[misc]
        name = f"stepdr {emb.backend}: length-sorted, {emb.max_tokens} tok"
        rows.append((name, secs, vecs, emb.encode(qtexts)))
    return rows


if __name__ == "__main__":
    sys.exit(main())
