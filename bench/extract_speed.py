"""A build without embeddings against trafilatura alone on the same pages (the baseline),
in the same number of processes: what everything around extraction costs.

The baseline reads each page's body from the WARCs beforehand and times only
``trafilatura.extract`` over them in a process pool.  The build is ``stepdr-index build
--no-dense`` from nothing (no page cache): WARC reading, our extraction walk, chunking,
dedup, the store and BM25.  Both rates are pages per second of wall time.

    .venv/bin/python bench/extract_speed.py [--data data] [--workers 2] [--rounds 3]
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def _extract(body: bytes) -> int:
    import trafilatura

    text = trafilatura.extract(body, include_tables=True, favor_precision=False)
    return len(text or "")


def _alone(bodies: list[bytes], workers: int) -> float:
    with ProcessPoolExecutor(workers) as pool:
        list(pool.map(_extract, bodies[: workers * 2]))  # start the workers, import
        start = time.perf_counter()
        list(pool.map(_extract, bodies, chunksize=8))
        return time.perf_counter() - start


def _build(warcs: Path, workers: int) -> tuple[float, dict[str, object]]:
    with tempfile.TemporaryDirectory(prefix="stepdr-extract-") as tmp:
        data = Path(tmp) / "data"
        shutil.copytree(warcs, data / "warc")
        cmd = [sys.executable, "-m", "stepdr.rank.cli", "build", "--data", str(data),
               "--no-dense", "--workers", str(workers), "--progress", "off"]  # fmt: skip
        start = time.perf_counter()
        subprocess.run(cmd, check=True, capture_output=True)
        whole = time.perf_counter() - start
        return whole, json.loads((data / "index" / "build-stats.json").read_text())


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=Path("data"))
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--rounds", type=int, default=3, help="baseline and build, alternated")
    args = ap.parse_args()

    from stepdr.index.warc_read import find_warcs, latest_pages, read_html

    refs = latest_pages(find_warcs([args.data / "warc"]))
    bodies = [read_html(r) for r in refs]
    n = len(bodies)
    print(f"{n} pages, {args.workers} processes, {args.rounds} rounds (this machine is noisy:")
    print("each round times the baseline and the build back to back)")
    ratios = []
    for i in range(args.rounds):
        alone = _alone(bodies, args.workers)
        whole, stats = _build(args.data / "warc", args.workers)
        inside = float(stats["seconds"])  # type: ignore[arg-type]  # without start-up
        ratios.append(alone / whole)
        print(f"round {i + 1}: trafilatura.extract alone {alone:.1f} s = {n / alone:.1f} pages/s;"
              f" build --no-dense {whole:.1f} s = {n / whole:.1f} pages/s (own clock "
              f"{inside:.1f} s, {stats['stages_s']}); ratio {alone / whole:.2f}")  # fmt: skip
    ratios.sort()
    print(f"ratio (build / trafilatura alone, wall time): median {ratios[len(ratios) // 2]:.2f},"
          f" best {ratios[-1]:.2f}, worst {ratios[0]:.2f}")  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
