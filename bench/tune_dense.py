"""What fine-tuning the bundled MiniLM on the corpus itself buys the dense retriever.

The cheapest offline adaptation there is: each section heading (or a page's title) is a
query for the passage under it, with the other passages of its site in the same batch as
negatives (in-batch contrastive loss, both directions).  The query side costs nothing
more, unlike a cross-encoder.  This mines the pairs from the live index, tunes a copy of
the model, and compares it with the bundled model (the baseline, in the same run) as a
dense retriever over a sample of the index that holds every judged page of docs-nl and of
the Sphinx known items, so no full re-embedding is needed.

    .venv/bin/python bench/tune_dense.py --data data [--pairs 12000] [--out DIR]

For the full pipeline's figures, build with ``stepdr-index build --model DIR`` into a
copy of the data directory and run ``stepdr-index eval`` there.
"""

from __future__ import annotations

import argparse
import random
import re
import sys
import time
from collections import Counter
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.common import load_passages
from stepdr.index.records import Passage, passage_context

_NUMBER = re.compile(r"^\s*([0-9A-Z]{1,4}\.)+\s*")  # "9.17. " and "F.25. " name no topic
BATCH = 64


def mine_pairs(passages: list[Passage], limit: int, seed: int = 0) -> list[tuple[str, str]]:
    """(heading, passage text) pairs in batches of one site, headings shared by at most
    three passages ("Examples" names no one passage), one pair per heading and page."""
    found = []
    for p in passages:
        anchor = _NUMBER.sub("", p.headings[-1] if p.headings else p.title).strip()
        if anchor and len(anchor.split()) <= 12 and len(p.text.split()) >= 20:
            found.append((anchor, p))
    shared = Counter(a.lower() for a, _ in found)
    rng = random.Random(seed)
    rng.shuffle(found)
    seen: set[tuple[str, str]] = set()
    by_site: dict[str, list[tuple[str, str]]] = {}
    taken = 0
    for anchor, p in found:
        key = (anchor.lower(), p.url)
        if shared[anchor.lower()] > 3 or key in seen or taken == limit:
            continue
        seen.add(key)
        by_site.setdefault(p.domain, []).append((anchor, p.text))
        taken += 1
    batches = [v[i : i + BATCH] for v in by_site.values() for i in range(0, len(v), BATCH)]
    rng.shuffle(batches)
    return [pair for batch in batches for pair in batch]


def tune(pairs: list[tuple[str, str]], out: Path, lr: float = 2e-5) -> float:
    """One epoch over ``pairs``; the tuned model is saved in ``out``; seconds taken."""
    import torch
    from sentence_transformers import SentenceTransformer

    from stepdr.index.embed import resolve_model

    model = SentenceTransformer(str(resolve_model(None)[1]), device="cpu")
    model.max_seq_length = 128
    steps = -(-len(pairs) // BATCH)
    warm = max(1, steps // 10)
    opt = torch.optim.AdamW(model.parameters(), lr=lr)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: (s + 1) / warm if s < warm else max(0.0, (steps - s) / steps)
    )

    def embed(texts: list[str]) -> torch.Tensor:
        features = model.preprocess(texts)
        return torch.nn.functional.normalize(model(features)["sentence_embedding"], dim=-1)

    model.train()
    start = time.perf_counter()
    for step in range(steps):
        batch = pairs[step * BATCH : (step + 1) * BATCH]
        sim = embed([a for a, _ in batch]) @ embed([t for _, t in batch]).T * 20.0
        labels = torch.arange(len(batch))
        loss = (
            torch.nn.functional.cross_entropy(sim, labels)
            + torch.nn.functional.cross_entropy(sim.T, labels)
        ) / 2
        loss.backward()
        opt.step()
        sched.step()
        opt.zero_grad()
        if step % 20 == 0:
            print(f"  step {step}/{steps}: loss {loss.item():.3f}", flush=True)
    seconds = time.perf_counter() - start
    model.save(str(out))
    return seconds


def dense_mrr(
    model: str | None, passages: list[Passage], sets: dict[str, list[tuple[str, str]]]
) -> dict[str, float]:
    """Page-level MRR@10 of exact cosine search over ``passages``, per set."""
    from stepdr.index.embed import SentenceEmbedder
    from stepdr.rank.evaluate import mrr

    embedder = SentenceEmbedder(model)
    vecs = embedder.encode([passage_context(p) for p in passages])
    out = {}
    for name, items in sets.items():
        queries = embedder.encode([q for q, _ in items])
        total = 0.0
        for row, (_, url) in zip(queries @ vecs.T, items, strict=True):
            pages: list[str] = []
            for i in np.argsort(-row):
                if passages[i].url not in pages:
                    pages.append(passages[i].url)
                if len(pages) == 10:
                    break
            total += mrr(pages, {url: 1})
        out[name] = total / len(items)
    return out


def judged_sets(data: Path, urls: set[str]) -> dict[str, list[tuple[str, str]]]:
    from stepdr.crawl.domains_yaml import load_domains
    from stepdr.rank.dev_sets import read_dev_set
    from stepdr.rank.known_items import generate

    nl = [(r.question, r.url) for r in read_dev_set("docs-nl") if r.url in urls]
    items = generate(load_domains(None), data / "mirrors", 100, source="known-items")
    known = [(i.query, i.url) for i in items if i.url in urls]
    return {"docs-nl": nl, "known-items": known}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=Path("data"))
    ap.add_argument("--pairs", type=int, default=12000)
    ap.add_argument("--sample", type=int, default=8000, help="passages of the dense test")
    ap.add_argument("--out", type=Path, default=Path("data/models/minilm-tuned"))
    args = ap.parse_args()
    passages = load_passages(args.data)
    pairs = mine_pairs(passages, args.pairs)
    print(f"{len(pairs)} heading-passage pairs from {len(passages)} passages", flush=True)
    seconds = tune(pairs, args.out)
    print(f"tuned in {seconds:.0f} s ({len(pairs) / seconds:.1f} pairs/s): {args.out}")
    sets = judged_sets(args.data, {p.url for p in passages})
    gold = {url for items in sets.values() for _, url in items}
    rest = [p for p in passages if p.url not in gold]
    sample = [p for p in passages if p.url in gold]
    sample += random.Random(5).sample(rest, max(0, min(len(rest), args.sample - len(sample))))
    print(f"dense test: {len(sample)} passages; MRR@10, page level")
    base = dense_mrr(None, sample, sets)
    tuned = dense_mrr(str(args.out), sample, sets)
    for name, items in sets.items():
        ratio = tuned[name] / base[name] if base[name] else float("nan")
        print(
            f"  {name:12s} {len(items):4d} queries  bundled {base[name]:.3f}  "
            f"tuned {tuned[name]:.3f}  ({ratio:.2f}x the bundled model)"
        )


if __name__ == "__main__":
    main()
