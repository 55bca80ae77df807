"""Per-step cost of the agent's model with and without prefix reuse (the KV cache kept).

A scripted 10-step conversation of the shape an agent run has (system prompt, question,
then per step: the model's reply and an observation of search results) is replayed
against the same transformers model twice: once encoding the whole conversation at every
step (the baseline, as before prefix reuse), once keeping the key/value cache between
steps.  Both decode greedily, so the replies must be the same; the bench checks that and
prints per-step latency and prompt tokens encoded, and their ratio.

    python bench/agent_step.py --data data            # the bundled Qwen2.5-Coder-0.5B
    python bench/agent_step.py --model DIR --steps 10 --new-tokens 32
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from stepdr.agent.models.hf import TransformersModel
from stepdr.agent.prompt import system_prompt
from stepdr.agent.records import Message

OBSERVATION = (
    "<tool_response>\n[batch_web_surfer s{step}c1: ok]\n<batch_search_results>\n"
    + "".join(
        f'<item index="{i}">\n<cite_index>web_{i:08x}</cite_index>\n<title>Page {i}</title>\n'
        f"<url>https://docs.example.org/page{i}.html</url>\n<content>\n"
        + "The passage explains how the function caches results by their arguments, "
        "how the size limit evicts the least recently used entries, and which arguments "
        "count as the same call. " * 3 + "\n</content>\n</item>\n"
        for i in range(1, 6)
    )
    + "</batch_search_results>\n</tool_response>"
)


def conversation(step: int, replies: list[str]) -> list[Message]:
    messages = [
        Message("system", system_prompt("batch_web_surfer: search the index.")),
        Message("user", "What does the maxsize argument of functools.lru_cache control?"),
    ]
    for i, reply in enumerate(replies[:step]):
        messages += [Message("assistant", reply), Message("user", OBSERVATION.format(step=i))]
    return messages


def run(model: TransformersModel, steps: int, new_tokens: int) -> list[tuple[float, int, str]]:
    """(seconds, prompt tokens encoded, reply) per step."""
    replies: list[str] = []
    out = []
    for step in range(steps):
        start = time.perf_counter()
        c = model.complete(conversation(step, replies), new_tokens)
        out.append((time.perf_counter() - start, c.prompt_tokens - c.reused_tokens, c.text))
        replies.append(c.text)
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", type=Path, default=Path("data"), help="where the default model is")
    ap.add_argument("--model", type=Path, help="a transformers model directory")
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--new-tokens", type=int, default=32)
    args = ap.parse_args()
    if args.model is None:
        from stepdr.agent.assets import ensure_default_model

        args.model = ensure_default_model(args.data, lambda m: print(m, file=sys.stderr))
    base = run(TransformersModel(args.model, reuse_prefix=False), args.steps, args.new_tokens)
    reuse = run(TransformersModel(args.model, reuse_prefix=True), args.steps, args.new_tokens)
    print(f"model {args.model.name}, {args.steps} steps, {args.new_tokens} new tokens a step")
    print(f"{'step':>4} {'baseline s':>10} {'reuse s':>8} {'ratio':>6} {'encoded':>14} {'same':>5}")
    for i, ((bs, bn, bt), (rs, rn, rt)) in enumerate(zip(base, reuse, strict=True), 1):
        print(f"{i:>4} {bs:>10.2f} {rs:>8.2f} {bs / rs:>5.2f}x {bn:>6} -> {rn:<6} {bt == rt!s:>5}")
    total_b, total_r = sum(s for s, _, _ in base), sum(s for s, _, _ in reuse)
    enc_b, enc_r = sum(n for _, n, _ in base), sum(n for _, n, _ in reuse)
    same = all(b[2] == r[2] for b, r in zip(base, reuse, strict=True))
    print(
        f"all  {total_b:>10.2f} {total_r:>8.2f} {total_b / total_r:>5.2f}x "
        f"{enc_b:>6} -> {enc_r:<6} {same!s:>5}   (baseline: the whole prompt at every step)"
    )
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
