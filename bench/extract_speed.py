"""A build without embeddings against trafilatura alone on the same pages (the baseline),
in the same number of processes: what everything around extraction costs.

The baseline reads each page's body from the WARCs beforehand and times only
``trafilatura.extract`` over them in a process pool.  The build is ``stepdr-index build
--no-dense`` from nothing (no page cache): WARC reading, our extraction walk, chunking,
dedup, the store and BM25.  Both rates are pages per second of wall time.

    .venv/bin/python bench/extract_speed.py [--data data] [--workers 2]
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


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=Path("data"))
    ap.add_argument("--workers", type=int, default=2)
    args = ap.parse_args()

    from stepdr.index.warc_read import find_warcs, latest_pages, read_html

    refs = latest_pages(find_warcs([args.data / "warc"]))
    bodies = [read_html(r) for r in refs]
    with ProcessPoolExecutor(args.workers) as pool:
        list(pool.map(_extract, bodies[: args.workers * 2]))  # start the workers, import
        start = time.perf_counter()
        list(pool.map(_extract, bodies, chunksize=8))
        alone = time.perf_counter() - start

    with tempfile.TemporaryDirectory(prefix="stepdr-extract-") as tmp:
        data = Path(tmp) / "data"
        shutil.copytree(args.data / "warc", data / "warc")
        cmd = [sys.executable, "-m", "stepdr.rank.cli", "build", "--data", str(data),
               "--no-dense", "--workers", str(args.workers), "--progress", "off"]  # fmt: skip
        start = time.perf_counter()
        subprocess.run(cmd, check=True, capture_output=True)
        whole = time.perf_counter() - start
        stats = json.loads((data / "index" / "build-stats.json").read_text())
    n = len(bodies)
    print(f"{n} pages, {args.workers} processes")
    print(f"trafilatura.extract alone: {alone:.1f} s = {n / alone:.1f} pages/s")
    print(f"build --no-dense:          {whole:.1f} s = {n / whole:.1f} pages/s "
          f"(stages: {stats['stages_s']})")  # fmt: skip
    inside = float(stats["seconds"])  # the build's own clock: without interpreter start-up
    print(f"ratio (build / trafilatura alone): {alone / whole:.2f} of wall time, "
          f"{alone / inside:.2f} of the build's own time ({inside:.1f} s)")  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
