"""Exact dense search throughput (torch, fp16) against the memory-bandwidth ceiling.

Builds N random unit vectors of D dimensions on the device (no index file), then times
top-10 search at batch 1 and batch 1024.  Exact search reads the whole matrix once per
batch, so a batch cannot finish faster than  N·D·2 bytes / bandwidth:  the ceiling in
queries/s is  batch · bandwidth / (N·D·2).  The baseline is faiss's exact CPU index
(IndexFlatIP) over the same vectors, where faiss is installed and N is small enough.

    python bench/dense_search.py --n 1000000            # on the GPU when there is one
    python bench/dense_search.py --n 20000 --device cpu  # a dry run
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from stepdr.index.dense import TorchExact

BANDWIDTH = {"H200": 4.8e12, "H100": 3.35e12, "A100": 2.0e12, "L40S": 0.864e12}


def timed(fn: object, repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        fn()  # type: ignore[operator]
        best = min(best, time.perf_counter() - start)
    return best


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=1_000_000)
    ap.add_argument("--dim", type=int, default=384)
    ap.add_argument("--device", default="auto")
    ap.add_argument("--bandwidth", type=float, help="bytes/s [by GPU name]")
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    import torch

    device = (
        ("cuda" if torch.cuda.is_available() else "cpu") if args.device == "auto" else args.device
    )
    rng = np.random.default_rng(0)
    vecs = rng.standard_normal((args.n, args.dim), dtype=np.float32)
    vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
    index = TorchExact(np.arange(args.n), vecs, device)
    name = torch.cuda.get_device_name() if device == "cuda" else "cpu"
    bw = args.bandwidth or next((b for k, b in BANDWIDTH.items() if k in name), None)
    matrix = args.n * args.dim * 2
    print(f"{args.n} x {args.dim} fp16 ({matrix / 1e9:.2f} GB) on {name}")
    print(f"{'search':<22} {'batch':>6} {'q/s':>12} {'ceiling q/s':>12} {'of ceiling':>10}")
    for batch in (1, 1024):
        queries = vecs[:batch] + 0.01
        index.search(queries, 10)  # warm up
        if device == "cuda":
            torch.cuda.synchronize()
        seconds = timed(lambda q=queries: index.search(q, 10), args.repeat)
        qps = batch / seconds
        ceiling = batch * bw / matrix if bw else None
        share = f"{qps / ceiling:>9.0%}" if ceiling else "-"
        ceil_s = f"{ceiling:>12.0f}" if ceiling else f"{'-':>12}"
        print(f"{'torch exact':<22} {batch:>6} {qps:>12.0f} {ceil_s} {share:>10}")
        try:
            import faiss
        except ImportError:
            continue
        if args.n <= 200_000:
            flat = faiss.IndexFlatIP(args.dim)
            flat.add(vecs)
            seconds = timed(lambda q=queries, f=flat: f.search(q, 10), args.repeat)
            print(f"{'faiss flat (cpu), base':<22} {batch:>6} {batch / seconds:>12.0f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
