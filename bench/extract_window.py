"""What the extraction stage holds to drive its workers: every job submitted at once
(``ProcessPoolExecutor.map``, the baseline) against ``index.windowed`` (a few chunks in
flight), each in a fresh process, over N pages of PageRefs whose work is trivial.

    .venv/bin/python bench/extract_window.py [--pages 500000] [--workers 2]

Reports seconds and the driver's peak RSS above what the refs themselves take.  Not a test.
"""

from __future__ import annotations

import argparse
import multiprocessing
import resource
import sys
import time
from concurrent.futures import Future, ProcessPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def _work(job: tuple[object, int, int]) -> tuple[bool, str]:
    return True, ""


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _run(how: str, pages: int, workers: int, out: multiprocessing.Queue[object]) -> None:
    from stepdr.index.records import PageRef
    from stepdr.index.windowed import each, windowed

    refs = [
        PageRef(f"https://example.org/p/{i}.html", "w.warc.gz", i, "2026", "") for i in range(pages)
    ]
    base = _peak_mb()
    start = time.perf_counter()
    jobs = ((r, 40, 200) for r in refs)
    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork")) as pool:
        if how == "map":
            n = sum(1 for _ in pool.map(_work, jobs, chunksize=8))
        else:

            def submit(part: list[tuple[object, int, int]]) -> Future[list[tuple[bool, str]]]:
                return pool.submit(each, _work, part)

            n = sum(1 for _ in windowed(submit, Future.result, jobs, 8, 4 * workers))
    assert n == pages
    out.put((time.perf_counter() - start, _peak_mb() - base))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--pages", type=int, default=500_000)
    ap.add_argument("--workers", type=int, default=2)
    args = ap.parse_args()
    ctx = multiprocessing.get_context("spawn")
    got = {}
    for how in ("map", "windowed"):
        q: multiprocessing.Queue[object] = ctx.Queue()
        p = ctx.Process(target=_run, args=(how, args.pages, args.workers, q))
        p.start()
        got[how] = q.get()
        p.join()
    (ms, mm), (ws, wm) = got["map"], got["windowed"]
    print(f"{args.pages} pages, {args.workers} workers")
    print(f"pool.map (baseline): {ms:6.1f} s, +{mm:7.1f} MB peak over the refs")
    print(f"windowed:            {ws:6.1f} s, +{wm:7.1f} MB peak over the refs")
    print(f"ratio windowed/map: time {ws / ms:.2f}, extra memory {wm / mm:.3f}")


if __name__ == "__main__":
    main()
