"""Extraction quality against gold pages: token precision, recall and F1 per page.

Gold: the news pages with expected text in the newspaper4k sdist (MIT), fetched
by `make gold` into data/gold.  Our text is what the index would hold: the
extracted blocks, chunked into passages.  Tokens are words, or single
characters for Chinese, Japanese and Thai script, compared as multisets.

    .venv/bin/python bench/extract_quality.py [--gold data/gold]
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

_TOKEN = re.compile(r"[\u0e00-\u0e7f\u3040-\u30ff\u3400-\u9fff\uac00-\ud7af]|\w+")


@dataclass(frozen=True)
class Score:
    name: str
    precision: float
    recall: float
    f1: float


def tokens(text: str) -> Counter[str]:
    return Counter(t.lower() for t in _TOKEN.findall(text))


def score(ours: str, gold: str, name: str = "") -> Score:
    a, b = tokens(ours), tokens(gold)
    overlap = sum((a & b).values())
    p = overlap / max(1, sum(a.values()))
    r = overlap / max(1, sum(b.values()))
    return Score(name, p, r, 2 * p * r / (p + r) if p + r else 0.0)


def our_text(html: bytes, url: str) -> str:
    from stepdr.index.chunk import chunk_blocks
    from stepdr.index.extract import extract

    page = extract(html, url)
    return "\n".join(c.text for c in chunk_blocks(page.blocks)) if page else ""


def gold_pages(gold: Path) -> list[tuple[str, Path, str, str]]:
    """(name, html path, url, gold text) for each page that has expected text."""
    out = []
    for html in sorted((gold / "html").glob("*.html")):
        txt = gold / "txt" / f"{html.stem}.txt"
        meta = gold / "metadata" / f"{html.stem}.json"
        if txt.is_file():
            url = json.loads(meta.read_text()).get("url", "") if meta.is_file() else ""
            out.append(
                (html.stem, html, url or f"https://example.org/{html.stem}", txt.read_text())
            )
    return out


def evaluate(gold: Path) -> list[Score]:
    return [
        score(our_text(h.read_bytes(), url), text, name) for name, h, url, text in gold_pages(gold)
    ]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--gold", type=Path, default=Path("data/gold"))
    args = ap.parse_args()
    scores = evaluate(args.gold)
    if not scores:
        print(f"no gold pages under {args.gold}: run 'make gold'", file=sys.stderr)
        return 1
    print(f"{'page':<24} {'P':>6} {'R':>6} {'F1':>6}")
    for s in scores:
        print(f"{s.name:<24} {s.precision:6.3f} {s.recall:6.3f} {s.f1:6.3f}")
    n = len(scores)
    mean = [sum(getattr(s, k) for s in scores) / n for k in ("precision", "recall", "f1")]
    print(f"{'mean of ' + str(n) + ' pages':<24} {mean[0]:6.3f} {mean[1]:6.3f} {mean[2]:6.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
