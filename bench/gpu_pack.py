"""What the GPU checks take to a GPU machine, made here: an fp16 copy of the default
embedding model (half the bytes of fp32: 64 MiB travel at most) and passages to embed.

    python bench/gpu_pack.py --data data --out .gpu [--n 40000]

Writes OUT/minilm-fp16/ (a sentence-transformers directory) and OUT/passages.jsonl.gz
(passage texts as the embedder sees them, from the live index, repeated up to N).
"""

from __future__ import annotations

import argparse
import gzip
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.common import load_passages


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=Path("data"))
    ap.add_argument("--out", type=Path, default=Path(".gpu"))
    ap.add_argument("--n", type=int, default=40_000)
    args = ap.parse_args()
    from sentence_transformers import SentenceTransformer

    from stepdr.index.embed import DEFAULT_MAX_TOKENS, resolve_model
    from stepdr.index.records import passage_context

    args.out.mkdir(parents=True, exist_ok=True)
    _, path = resolve_model(None)
    model = SentenceTransformer(str(path), device="cpu").half()
    model.max_seq_length = DEFAULT_MAX_TOKENS
    model.save(str(args.out / "minilm-fp16"))
    texts = [passage_context(p) for p in load_passages(args.data)]
    with gzip.open(args.out / "passages.jsonl.gz", "wt", encoding="utf-8") as f:
        for i in range(args.n):
            f.write(json.dumps({"text": texts[i % len(texts)]}, ensure_ascii=False) + "\n")
    size = sum(p.stat().st_size for p in args.out.rglob("*") if p.is_file())
    print(f"{args.out}: {size / 2**20:.1f} MiB ({len(texts)} distinct passages, {args.n} in all)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
