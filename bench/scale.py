"""A build at growing sizes: pages/s, passages/s, peak RSS of the whole process tree,
on-disk size and hybrid search latency, with the smallest size as the baseline.

Generates a synthetic corpus as WARC from the demo index's passages: each page is a
title, headings and about 15 paragraphs, each an indexed passage with its sentences
shuffled and a third of its words swapped for others of the corpus, so neither the
exact nor the near-duplicate pass collapses it.  Each size is built from nothing
(BM25 and the static embedder by default; ``--model default`` for MiniLM) by
``stepdr-index build`` in a process of its own, its RSS sampled with its children.

    .venv/bin/python bench/scale.py [--data data] [--passages 50000,200000] [--model static]
"""

from __future__ import annotations

import argparse
import html
import json
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from io import BytesIO
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

PARAGRAPHS = 15
PAGES_PER_WARC = 5000
PASSAGES_PER_PAGE = 11  # what the build makes of a page of 15 paragraphs


def source_texts(data: Path) -> list[str]:
    from stepdr.index.store import PassageStore
    from stepdr.index.versions import IndexDir

    store = PassageStore(IndexDir(data).current())
    try:
        return [p.text for p in store.get_many(store.all_ids()).values()]
    finally:
        store.close()


def write_corpus(texts: list[str], pages: int, out: Path, seed: int = 0) -> None:
    from warcio.statusandheaders import StatusAndHeaders
    from warcio.warcwriter import WARCWriter

    rng = random.Random(seed)
    vocab = sorted({w for t in texts for w in t.split() if w.isalpha() and len(w) > 3})
    out.mkdir(parents=True, exist_ok=True)
    fh = None
    for i in range(pages):
        if i % PAGES_PER_WARC == 0:
            if fh is not None:
                fh.close()
            fh = (out / f"scale-{i // PAGES_PER_WARC:05d}.warc.gz").open("wb")
            writer = WARCWriter(fh, gzip=True)
        body = [
            "<!DOCTYPE html><html lang=en><head><meta charset=utf-8>",
            f"<title>Synthetic page {i}</title></head><body><main><h1>Page {i}</h1>",
        ]
        for j in range(PARAGRAPHS):
            if j % 5 == 0:
                body.append(f"<h2>Section {i}.{j // 5}</h2>")
            sentences = rng.choice(texts).split(". ")
            rng.shuffle(sentences)
            words = ". ".join(sentences).split()
            for k in range(len(words)):
                if rng.random() < 0.33:
                    words[k] = rng.choice(vocab)
            body.append(f"<p>{html.escape(' '.join(words))}</p>")
        payload = ("".join(body) + "</main></body></html>").encode()
        headers = StatusAndHeaders("200 OK", [("Content-Type", "text/html; charset=utf-8")],
                                   protocol="HTTP/1.1")  # fmt: skip
        url = f"https://site{i % 97}.scale.example.org/p{i}.html"
        writer.write_record(writer.create_warc_record(
            url, "response", payload=BytesIO(payload), http_headers=headers))  # fmt: skip
    if fh is not None:
        fh.close()


def tree_rss(pid: int) -> int:
    """Resident bytes of ``pid`` and all its descendants, from /proc."""
    parents: dict[int, int] = {}
    rss: dict[int, int] = {}
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            fields = dict(
                line.split(":", 1) for line in status.read_text().splitlines() if ":" in line
            )
        except OSError:
            continue
        p = int(status.parent.name)
        parents[p] = int(fields.get("PPid", "0").strip())
        rss[p] = int(fields.get("VmRSS", "0 kB").split()[0]) * 1024
    tree, frontier = {pid}, {pid}
    while frontier:
        frontier = {c for c, par in parents.items() if par in frontier} - tree
        tree |= frontier
    return sum(rss.get(p, 0) for p in tree)


def build(data: Path, model: str) -> tuple[float, int, dict[str, object]]:
    cmd = [sys.executable, "-m", "stepdr.rank.cli", "build", "--data", str(data),
           "--progress", "off", *([] if model == "default" else ["--model", model])]  # fmt: skip
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    peak = 0
    while proc.poll() is None:
        peak = max(peak, tree_rss(proc.pid))
        time.sleep(0.2)
    if proc.returncode:
        raise SystemExit(proc.stderr.read().decode() if proc.stderr else "build failed")
    took = time.perf_counter() - start
    return took, peak, json.loads((data / "index" / "build-stats.json").read_text())


def search_latency(data: Path, queries: list[str]) -> tuple[float, float]:
    from stepdr.rank import Surfer

    surfer = Surfer.open(data)
    surfer.search(queries[0], 10)
    times = []
    for q in queries:
        t = time.perf_counter()
        surfer.search(q, 10)
        times.append((time.perf_counter() - t) * 1000)
    times.sort()
    return statistics.median(times), times[int(0.95 * (len(times) - 1))]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=Path("data"))
    ap.add_argument("--passages", default="50000,200000", help="sizes, comma-separated")
    ap.add_argument("--model", default="static", help="static, or default for MiniLM")
    args = ap.parse_args()
    texts = source_texts(args.data)
    rng = random.Random(1)
    queries = [" ".join(rng.sample(t.split(), min(6, len(t.split())))) for t in texts[:200]]
    columns = ("passages", "pages", "build s", "pages/s", "passages/s", "extract p/s",
               "peak RSS MB", "disk MB", "p50 ms", "p95 ms")  # fmt: skip
    print(" ".join(f"{c:>11}" for c in columns))
    base: tuple[float, float, float] | None = None
    for target in (int(x) for x in args.passages.split(",")):
        with tempfile.TemporaryDirectory(prefix="stepdr-scale-") as tmp:
            data = Path(tmp) / "data"
            write_corpus(texts, max(1, round(target / PASSAGES_PER_PAGE)), data / "warc")
            took, peak, stats = build(data, args.model)
            version = data / "index"
            disk = sum(f.stat().st_size for f in version.rglob("*") if f.is_file()) / 1e6
            p50, p95 = search_latency(data, queries)
            pages, passages = int(stats["pages"]), int(stats["passages"])  # type: ignore[call-overload]
            extract_rate = float(stats["pages_per_s"] or 0)  # type: ignore[arg-type]
            row = (passages, pages, f"{took:.1f}", f"{pages / took:.1f}",
                   f"{passages / took:.1f}", f"{extract_rate:.1f}", f"{peak / 1e6:.0f}",
                   f"{disk:.1f}", f"{p50:.1f}", f"{p95:.1f}")  # fmt: skip
            print(" ".join(f"{c:>11}" for c in row))
            by_stage = stats.get("peak_rss_mb_by_stage") or {}
            print(f"{'':>9} build process peak RSS MB by the end of each stage: "
                  + ", ".join(f"{k} {v:.0f}" for k, v in by_stage.items()))  # fmt: skip
            if base is None:
                base = (passages / took, peak, extract_rate)
            else:
                print(f"{'':>9} vs the first size: passages/s {passages / took / base[0]:.2f}x, "
                      f"peak RSS {peak / base[1]:.2f}x, extraction rate "
                      f"{extract_rate / base[2]:.2f}x")  # fmt: skip
            shutil.rmtree(data, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
