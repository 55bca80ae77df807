"""Aggregate crawl rate of 1, 2 and 3 workers coordinated by Redis, over the loopback mirrors.

The list is every mirrored entry of domains.yaml (the six Debian doc packages of
``make mirrors``: six registered domains, so six partitions), each at --budget
pages.  The baseline is the same crawl in one process without Redis, measured in
the same run.  Each worker count gets a fresh data dir and a fresh redis-server;
a worker holds ceil(partitions / workers) leases, so all start at once.  The rate
is pages stored / wall time from the first worker's start to the last one's exit
(process start included).  On a 2-core machine the aggregate is bounded by the
cores, so read it as a ratio to one worker.

    python bench/crawl_workers.py [--mirrors data/mirrors] [--budget 150] [--workers 1,2,3]

Not a test.
"""

from __future__ import annotations

import argparse
import json
import math
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from stepdr.crawl.domains_yaml import default_domains_file, load_domains
from stepdr.crawl.partitioned import partitions_of
from stepdr.crawl.redis_local import local_redis


def crawl_args(data: Path, mirrors: Path, budget: int) -> list[str]:
    return [sys.executable, "-m", "stepdr.rank.cli", "crawl", "--data", str(data),
            "--mirrors", str(mirrors), "--offline", "--budget", str(budget), "--quiet"]  # fmt: skip


def pages_in(data: Path) -> int:
    n = 0
    for f in [*data.glob("crawl/parts/*/journal.jsonl"), *data.glob("crawl/journal.jsonl")]:
        for line in f.read_text().splitlines():
            rec = json.loads(line)
            if rec["k"] == "stored" and 200 <= rec["s"] < 300:
                n += not rec["u"].endswith("/robots.txt")
    return n


def alone(work: Path, mirrors: Path, budget: int) -> tuple[int, float]:
    data = work / "alone"
    t0 = time.perf_counter()
    subprocess.run(crawl_args(data, mirrors, budget), check=True, stdout=subprocess.DEVNULL)
    secs = time.perf_counter() - t0
    pages = pages_in(data)
    shutil.rmtree(data)
    return pages, secs


def workers(work: Path, mirrors: Path, budget: int, n: int, parts: int) -> tuple[int, float]:
    data = work / f"w{n}"
    leases = math.ceil(parts / n)
    with local_redis() as url:
        t0 = time.perf_counter()
        procs = [
            subprocess.Popen(
                [
                    *crawl_args(data, mirrors, budget),
                    "--redis",
                    url,
                    "--worker",
                    f"w{i}",
                    "--leases",
                    str(leases),
                ],
                stdout=subprocess.DEVNULL,
            )
            for i in range(n)
        ]
        codes = [p.wait() for p in procs]
        secs = time.perf_counter() - t0
    if any(codes):
        raise SystemExit(f"a worker failed: exit codes {codes}")
    pages = pages_in(data)
    shutil.rmtree(data)
    return pages, secs


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--mirrors", type=Path, default=Path("data/mirrors"))
    ap.add_argument("--budget", type=int, default=150, help="pages per entry")
    ap.add_argument("--workers", default="1,2,3")
    args = ap.parse_args()
    mirrors = args.mirrors.resolve()
    domains = load_domains(default_domains_file()).crawlable()
    parts = len(partitions_of(type(domains)(domains.mirrored(), domains.source)))
    counts = [int(x) for x in args.workers.split(",")]
    with tempfile.TemporaryDirectory(prefix="stepdr-bench-") as tmp:
        work = Path(tmp)
        base_pages, base_secs = alone(work, mirrors, args.budget)
        base = base_pages / base_secs
        print(f"{parts} partitions, budget {args.budget} per entry, {mirrors}")
        print(f"{'run':<24} {'pages':>6} {'seconds':>8} {'pages/s':>8} {'ratio':>7}")
        print(f"{'one process, no Redis':<24} {base_pages:>6} {base_secs:>8.1f} {base:>8.1f} "
              f"{1.0:>7.2f}  (baseline)")  # fmt: skip
        one = None
        for n in counts:
            pages, secs = workers(work, mirrors, args.budget, n, parts)
            rate = pages / secs
            one = one or rate
            print(f"{f'{n} worker(s)':<24} {pages:>6} {secs:>8.1f} {rate:>8.1f} "
                  f"{rate / base:>7.2f}  ({rate / one:.2f}x one worker)")  # fmt: skip


if __name__ == "__main__":
    main()
