"""Decode throughput of transformers' generate for a 32B-class model, against the bandwidth limit.

The agent's production model is of the Qwen2.5-32B class.  Decoding one token reads every
weight once, so a single stream cannot beat  bandwidth / weight bytes  tokens per second;
batching amortises those reads across streams.  This bench builds the Qwen2.5-32B shape
with random bf16 weights (no download: only the configuration is written here), then
times greedy decoding for a single stream and for batches, and prints each result beside
that limit.

    python bench/agent_gpu.py                       # the full 32B shape (needs ~66 GB)
    python bench/agent_gpu.py --layers 16           # fewer layers, same widths
    python bench/agent_gpu.py --bandwidth 3.35e12   # the GPU's memory bandwidth (H100 SXM)

Exits with status 2 and a message when no CUDA device is present.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import Any

# Qwen2.5-32B-Instruct's published configuration (the fields that set the compute shape).
QWEN25_32B: dict[str, Any] = {
    "hidden_size": 5120,
    "intermediate_size": 27648,
    "num_hidden_layers": 64,
    "num_attention_heads": 40,
    "num_key_value_heads": 8,
    "vocab_size": 152064,
    "max_position_embeddings": 32768,
    "rms_norm_eps": 1e-6,
    "tie_word_embeddings": False,
}
# Peak memory bandwidth by device name fragment, bytes/s (vendor figures).
BANDWIDTH = {"H200": 4.8e12, "H100 SXM": 3.35e12, "H100 PCIe": 2.0e12, "H100": 3.35e12,
             "A100-SXM4-80GB": 2.04e12, "A100": 1.56e12, "L40S": 0.864e12}  # fmt: skip


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--layers", type=int, default=QWEN25_32B["num_hidden_layers"])
    p.add_argument("--prompt", type=int, default=512, help="prompt tokens per stream")
    p.add_argument("--new", type=int, default=128, help="tokens decoded per stream")
    p.add_argument("--batches", default="1,4,16", help="batch sizes to time")
    p.add_argument("--bandwidth", type=float, default=None, help="bytes/s [from device name]")
    p.add_argument("--long", type=int, default=32768, help="prompt for prefill and reuse (0: off)")
    p.add_argument("--tail", type=int, default=1024, help="new tokens after a reused prefix")
    p.add_argument("--json", action="store_true", help="one JSON object instead of a table")
    return p.parse_args()


def build(layers: int) -> Any:
    import torch
    from transformers import Qwen2Config, Qwen2ForCausalLM

    config = Qwen2Config(**{**QWEN25_32B, "num_hidden_layers": layers})
    torch.manual_seed(0)
    with torch.device("cuda"):
        model: Any = Qwen2ForCausalLM(config)
    return model.to(torch.bfloat16).eval()


def time_decode(model: Any, batch: int, prompt: int, new: int) -> dict[str, float]:
    """Seconds for prefill plus ``new`` greedy steps; prefill is timed apart and taken out."""
    import torch

    ids = torch.randint(0, model.config.vocab_size, (batch, prompt), device="cuda")
    common = {"do_sample": False, "pad_token_id": 0}

    def timed(n: int) -> float:
        torch.cuda.synchronize()
        start = time.perf_counter()
        model.generate(ids, min_new_tokens=n, max_new_tokens=n, **common)
        torch.cuda.synchronize()
        return time.perf_counter() - start

    with torch.inference_mode():
        timed(2)  # warm up kernels and the allocator
        prefill = timed(1)
        total = timed(new)
    decode = max(total - prefill, 1e-9)
    return {"batch": batch, "prefill_s": prefill, "decode_s": decode,
            "tokens_per_s": batch * (new - 1) / decode}  # fmt: skip


def time_long(model: Any, prompt: int, tail: int) -> dict[str, float]:
    """Prefill of a ``prompt``-token conversation, against encoding only its last ``tail``
    tokens over the cached rest (what prefix reuse does at every agent step)."""
    import inspect

    import torch

    ids = torch.randint(0, model.config.vocab_size, (1, prompt), device="cuda")
    name = "cache" if "cache" in inspect.signature(model.forward).parameters else "past_key_values"

    def run(x: Any, **kw: Any) -> tuple[float, Any]:
        torch.cuda.synchronize()
        start = time.perf_counter()
        out = model(x, use_cache=True, logits_to_keep=1, **kw)
        torch.cuda.synchronize()
        return time.perf_counter() - start, getattr(out, name, None) or out.past_key_values

    with torch.inference_mode():
        run(ids[:, :1024])  # warm up
        full, cache = run(ids)
        cache.crop(-tail)
        reuse, _ = run(ids[:, -tail:], **{name: cache})
    return {"prompt": prompt, "tail": tail, "prefill_s": full, "prefill_tok_s": prompt / full,
            "reuse_s": reuse, "reuse_ratio": full / reuse}  # fmt: skip


def main() -> int:
    args = parse_args()
    try:
        import torch
    except ImportError:
        print("agent_gpu: torch is not installed", file=sys.stderr)
        return 2
    if not torch.cuda.is_available():
        print("agent_gpu: no CUDA device here; this bench needs a GPU (nothing was run)",
              file=sys.stderr)  # fmt: skip
        return 2
    name = torch.cuda.get_device_name(0)
    bandwidth: float | None = args.bandwidth or next(
        (v for k, v in BANDWIDTH.items() if k in name), None
    )
    model = build(args.layers)
    weight_bytes = sum(p.numel() * p.element_size() for p in model.parameters())
    limit = bandwidth / weight_bytes if bandwidth else None
    rows = [time_decode(model, int(b), args.prompt, args.new) for b in args.batches.split(",")]
    long = time_long(model, args.long, args.tail) if args.long else None
    report = {
        "device": name,
        "layers": args.layers,
        "weight_gb": weight_bytes / 1e9,
        "bandwidth_gb_s": bandwidth / 1e9 if bandwidth else None,
        "single_stream_limit_tok_s": limit,
        "runs": rows,
        "long_prompt": long,
    }
    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    print(f"{name}: Qwen2.5-32B shape, {args.layers} layers, {weight_bytes / 1e9:.1f} GB bf16")
    if limit and bandwidth:
        print(f"bandwidth limit for one stream: {bandwidth / 1e9:.0f} GB/s / "
              f"{weight_bytes / 1e9:.1f} GB = {limit:.1f} tokens/s")  # fmt: skip
    for r in rows:
        per_stream = r["tokens_per_s"] / r["batch"]
        share = f"{per_stream / limit:.0%} of the limit per stream" if limit else ""
        print(f"batch {r['batch']:>3}: {r['tokens_per_s']:8.1f} tokens/s "
              f"({per_stream:.1f} per stream) {share}")  # fmt: skip
    if long:
        print(f"prefill of {long['prompt']} tokens: {long['prefill_s']:.2f} s "
              f"({long['prefill_tok_s']:.0f} tokens/s); the last {long['tail']} over the cached "
              f"rest: {long['reuse_s']:.3f} s, {long['reuse_ratio']:.1f}x faster")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
