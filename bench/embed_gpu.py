"""GPU embedding throughput: our embedder against plain SentenceTransformer.encode.

The passages come from a JSON-lines file of texts (``make gpu-pack`` writes one from the
live index: passage texts as the embedder sees them), so the bench needs no index on the
GPU machine.  The baseline is the textbook call on the same GPU and model (batch 32, the
model's configured length, passages in file order); ours sorts by length, batches 256
and keeps MiniLM's trained 128 tokens.  With an fp16 copy of the model both run in fp16.
Each side's vectors are compared by mean cosine, so a speed-up that costs quality shows.

    python bench/embed_gpu.py --passages .gpu/passages.jsonl.gz --model .gpu/minilm-fp16
"""

from __future__ import annotations

import argparse
import gzip
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def read_texts(path: Path, limit: int | None) -> list[str]:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as f:  # type: ignore[operator]
        texts = [json.loads(line)["text"] for line in f]
    return texts[:limit] if limit else texts


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--passages", type=Path, default=Path(".gpu/passages.jsonl.gz"))
    ap.add_argument("--model", default=None, help="model directory [the default model]")
    ap.add_argument("--n", type=int, default=None, help="passages to embed [all]")
    ap.add_argument("--device", default=None)
    args = ap.parse_args()
    import torch
    from sentence_transformers import SentenceTransformer

    from stepdr.index.embed import SentenceEmbedder, pick_device, resolve_model

    texts = read_texts(args.passages, args.n)
    device = pick_device(args.device)
    name, path = resolve_model(args.model)
    base = SentenceTransformer(str(path), device=device)
    ours = SentenceEmbedder(str(path) if args.model else None, device=device)

    def sync() -> None:
        if device == "cuda":
            torch.cuda.synchronize()

    results = {}
    for label, fn in (
        ("baseline: SentenceTransformer.encode", lambda: base.encode(
            texts, batch_size=32, normalize_embeddings=True, convert_to_numpy=True,
            show_progress_bar=False)),
        ("stepdr SentenceEmbedder", lambda: ours.encode(texts)),
    ):  # fmt: skip
        fn()  # warm up: kernels, allocator
        sync()
        start = time.perf_counter()
        vecs = fn()
        sync()
        results[label] = (len(texts) / (time.perf_counter() - start), np.asarray(vecs))
    dtype = next(base.parameters()).dtype
    print(f"{len(texts)} passages, {name} ({dtype}) on {device}")
    (b_rate, b_vecs), (_, o_vecs) = results.values()
    cos = float(np.mean(np.sum(b_vecs * o_vecs, axis=1)))
    for label, (rate, _) in results.items():
        print(f"{label:<40} {rate:>10.0f} passages/s {rate / b_rate:>6.2f}x")
    print(f"mean cosine of ours to the baseline: {cos:.4f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
