"""What a cross-encoder tuned from the bundled MiniLM on the corpus itself buys.

The offline route to a second stage when no trained cross-encoder can be had: each
section heading is a query for the passage under it, against hard negatives, the
shipped pipeline's best passages of other pages for the same heading.  The model reads
the page title and the passage, not the section headings, which would hand it the
answer.  One epoch of a listwise loss (the positive among ``--negatives`` + 1), from
MiniLM-L6's weights with a fresh one-logit head, saved as a CrossEncoder directory that
``--cross-encoder DIR`` takes as it is.

It then ranks docs-nl questions and the Sphinx known items with the shipped pipeline
(the baseline, in the same run), with the tuned model reranking its head
(``+cross``, as ``stepdr-index search --cross-encoder DIR`` does), and with both
orders fused by reciprocal rank, and prints page-level MRR@10 for each.

    .venv/bin/python bench/tune_cross.py --data data [--queries 4000] [--out DIR]

What the stage costs per query: ``python bench/rerank_cost.py``.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from collections import Counter
from dataclasses import replace
from pathlib import Path
from typing import Any, NamedTuple

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.common import load_passages
from bench.tune_dense import _NUMBER, judged_sets
from stepdr.index.records import Passage

GROUPS = 8  # queries a training step, each with its positive and negatives
MAX_TOKENS = 192


class Group(NamedTuple):
    query: str
    positive: str
    negatives: list[str]


def reads(p: Passage) -> str:
    return f"{p.title}. {p.text}"


def mine(passages: list[Passage], surfer: Any, limit: int, negatives: int) -> list[Group]:
    """Heading queries with the shipped pipeline's passages of other pages as negatives;
    headings shared by more than three passages ("Examples") name no one passage."""
    from stepdr.rank.pipeline import RankConfig

    found = []
    for p in passages:
        anchor = _NUMBER.sub("", p.headings[-1]).strip() if p.headings else ""
        named = bool(anchor) and anchor.lower() != p.title.lower()
        if named and len(anchor.split()) <= 12 and len(p.text.split()) >= 20:
            found.append((anchor, p))
    shared = Counter(a.lower() for a, _ in found)
    rng = random.Random(0)
    rng.shuffle(found)
    seen: set[tuple[str, str]] = set()
    pairs = []
    for anchor, p in found:
        key = (anchor.lower(), p.url)
        if shared[anchor.lower()] <= 3 and key not in seen:
            seen.add(key)
            pairs.append((anchor, p))
        if len(pairs) == limit:
            break
    config = replace(RankConfig(), title_match=0.0)  # a heading query would find itself
    groups = []
    for i in range(0, len(pairs), 64):
        chunk = pairs[i : i + 64]
        for (anchor, p), ranked in zip(
            chunk, surfer.rank([a for a, _ in chunk], 30, config), strict=True
        ):
            others = [r.passage for r in ranked if r.passage.url != p.url][:10]
            rng.shuffle(others)
            if len(others) >= negatives:
                groups.append(Group(anchor, reads(p), [reads(o) for o in others[:negatives]]))
    return groups


def tune(groups: list[Group], out: Path, lr: float = 5e-5) -> float:
    """One epoch over ``groups``; the model is saved in ``out``; seconds taken."""
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    from stepdr.index.embed import resolve_model

    base = str(resolve_model(None)[1])
    tok = AutoTokenizer.from_pretrained(base)
    model = AutoModelForSequenceClassification.from_pretrained(base, num_labels=1)
    steps = -(-len(groups) // GROUPS)
    warm = max(1, steps // 10)
    opt = torch.optim.AdamW(model.parameters(), lr=lr)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: (s + 1) / warm if s < warm else max(0.0, (steps - s) / steps)
    )
    width = 1 + len(groups[0].negatives)
    model.train()
    start = time.perf_counter()
    for step in range(steps):
        batch = groups[step * GROUPS : (step + 1) * GROUPS]
        queries = [g.query for g in batch for _ in range(width)]
        texts = [t for g in batch for t in [g.positive, *g.negatives]]
        enc = tok(queries, texts, truncation="only_second", max_length=MAX_TOKENS,
                  padding=True, return_tensors="pt")  # fmt: skip
        logits = model(**enc).logits.view(len(batch), width)
        loss = torch.nn.functional.cross_entropy(logits, torch.zeros(len(batch), dtype=torch.long))
        loss.backward()
        opt.step()
        sched.step()
        opt.zero_grad()
        if step % 50 == 0:
            print(f"  step {step}/{steps}: loss {loss.item():.3f}", flush=True)
    seconds = time.perf_counter() - start
    model.save_pretrained(str(out))
    tok.save_pretrained(str(out))
    return seconds


def page_order(ranked: list[Any]) -> list[str]:
    return list(dict.fromkeys(r.passage.url for r in ranked))


def _rrf(order: list[str], url: str) -> float:
    return 1 / (10 + (order.index(url) if url in order else len(order)))


def compare(surfer: Any, model: Path, items: list[tuple[str, str]], head: int) -> dict[str, float]:
    """Page-level MRR@10 of the shipped order, the cross-encoder's, and the two fused."""
    from stepdr.rank.evaluate import mrr
    from stepdr.rank.pipeline import RankConfig

    shipped = RankConfig()
    crossed = replace(shipped, cross_encoder=str(model), cross_depth=head)
    totals = dict.fromkeys(("shipped", "+cross", "shipped+cross fused"), 0.0)
    for i in range(0, len(items), 16):
        chunk = items[i : i + 16]
        queries = [q for q, _ in chunk]
        plain = surfer.rank(queries, head, shipped)
        reranked = surfer.rank(queries, head, crossed)
        for (_, url), a, b in zip(chunk, plain, reranked, strict=True):
            ra, rb = page_order(a), page_order(b)
            both = {u: _rrf(ra, u) + _rrf(rb, u) for u in dict.fromkeys(ra + rb)}
            fused = sorted(both, key=lambda u: -both[u])
            for name, order in (("shipped", ra), ("+cross", rb), ("shipped+cross fused", fused)):
                totals[name] += mrr(order, {url: 1})
    return {name: total / len(items) for name, total in totals.items()}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=Path("data"))
    ap.add_argument("--queries", type=int, default=4000, help="heading queries to train on")
    ap.add_argument("--negatives", type=int, default=3)
    ap.add_argument("--head", type=int, default=20, help="passages the cross-encoder rescores")
    ap.add_argument("--out", type=Path, default=Path("data/models/minilm-cross"))
    args = ap.parse_args()

    from stepdr.rank import Surfer

    passages = load_passages(args.data)
    surfer = Surfer.open(args.data)
    start = time.perf_counter()
    groups = mine(passages, surfer, args.queries, args.negatives)
    mined = time.perf_counter() - start
    print(f"{len(groups)} heading queries with {args.negatives} hard negatives each, "
          f"from {len(passages)} passages, mined in {mined:.0f} s")  # fmt: skip
    seconds = tune(groups, args.out)
    examples = len(groups) * (1 + args.negatives)
    print(f"tuned in {seconds:.0f} s ({examples / seconds:.1f} pairs/s): {args.out}")
    sets = judged_sets(args.data, {p.url for p in passages})
    print(f"page-level MRR@10, the cross-encoder over the shipped head of {args.head}")
    for name, items in sets.items():
        scores = compare(surfer, args.out, items, args.head)
        base = scores["shipped"]
        line = "  ".join(
            f"{k} {v:.3f} ({v / base:.2f}x)" if base else f"{k} {v:.3f}" for k, v in scores.items()
        )
        print(f"  {name:12s} {len(items):4d} queries  {line}")


if __name__ == "__main__":
    main()
