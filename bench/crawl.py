"""Crawl throughput: the full stepdr crawl against a bare Scrapy spider, over the loopback mirror.

The full crawl does everything a real crawl does (robots.txt, scope, traps,
canonical URLs, journal, WARC writing, link extraction).  The bare spider then
fetches the very URLs the full crawl stored, through the same mirror server,
and does nothing with them.  Both rates are Scrapy's own pages / elapsed time;
the ratio says what the crawler's processing costs.

    python bench/crawl.py [--mirrors data/mirrors] [--budget 500] [--rounds 5]

It uses the python3.11-doc mirror when unpacked there (``make mirrors``), else a
generated site of --budget pages.  Not a test.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import shutil
import statistics
import tempfile
from pathlib import Path
from typing import Any

import yaml

from stepdr.crawl.config import CrawlConfig
from stepdr.crawl.domains_yaml import load_domains
from stepdr.crawl.mirror import MirrorMap
from stepdr.crawl.mirror_process import MirrorProcess
from stepdr.crawl.run import run_crawl

PYDOC = {
    "domain": "docs.python.org",
    "path": "/3.11/",
    "name": "Python 3.11 documentation",
    "category": "software-docs",
    "tier": 1,
    "seeds": ["https://docs.python.org/3.11/"],
    "mirror": {"package": "python3.11-doc", "path": "usr/share/doc/python3.11/html"},
}


def generated_site(root: Path, pages: int) -> dict[str, Any]:
    """A site of ``pages`` pages, each linking to a few others, about 10 KiB each."""
    root.mkdir(parents=True, exist_ok=True)
    text = "<p>" + "A paragraph of plain documentation text. " * 25 + "</p>\n"
    for i in range(pages):
        kids = [k for k in (3 * i + 1, 3 * i + 2, 3 * i + 3, i // 2) if k < pages]
        links = "".join(f'<a href="p{k}.html">page {k}</a>\n' for k in kids)
        html = f"<!doctype html><html><head><title>Page {i}</title></head><body>"
        html += f"<h1>Page {i}</h1>{text * 10}{links}</body></html>"
        (root / f"p{i}.html").write_text(html)
    (root / "index.html").write_text('<html><body><a href="p0.html">start</a></body></html>')
    return {
        "domain": "bench.example.org",
        "name": "generated",
        "category": "test",
        "tier": 2,
        "seeds": ["https://bench.example.org/"],
        "mirror": {"path": str(root)},
    }


def _bare(domains_file: str, mirrors: str, urls: list[str], out: str) -> None:
    """A plain Scrapy spider fetching ``urls`` through the mirror; no processing at all."""
    import scrapy
    from scrapy.crawler import CrawlerProcess

    mm = MirrorMap.from_domains(load_domains(domains_file), Path(mirrors))
    with MirrorProcess(mm) as server:
        proxy = server.proxy_url

        class Bare(scrapy.Spider):
            name = "bare"

            async def start(self) -> Any:
                for url in urls:
                    scheme, rest = url.split("://", 1)
                    yield scrapy.Request(
                        "http://" + rest,
                        headers={"X-Forwarded-Proto": scheme},
                        meta={"proxy": proxy},
                        dont_filter=True,
                    )

            def parse(self, response: Any) -> None:
                return None

        process = CrawlerProcess(
            {
                "LOG_LEVEL": "WARNING",
                "TELNETCONSOLE_ENABLED": False,
                "CONCURRENT_REQUESTS": 16,
                "CONCURRENT_REQUESTS_PER_DOMAIN": 8,  # what the full crawl gives a mirror
                "DOWNLOAD_DELAY": 0,
                "COOKIES_ENABLED": False,
            }
        )
        crawler = process.create_crawler(Bare)
        process.crawl(crawler)
        process.start()
        stats = crawler.stats.get_stats() if crawler.stats else {}
    Path(out).write_text(
        json.dumps(
            {
                "responses": stats.get("downloader/response_count", 0),
                "elapsed": stats.get("elapsed_time_seconds", 0.0),
            }
        )
    )


def stored_urls(warc_dir: Path) -> list[str]:
    from warcio.archiveiterator import ArchiveIterator

    urls = []
    for f in sorted(warc_dir.glob("*.warc.gz")):
        with f.open("rb") as fh:
            for rec in ArchiveIterator(fh):
                if rec.rec_type == "response" and rec.http_headers is not None:
                    url = rec.rec_headers.get_header("WARC-Target-URI")
                    if rec.http_headers.get_statuscode() == "200" and not url.endswith(
                        "/robots.txt"
                    ):
                        urls.append(url)
    return urls


def full_crawl(config: CrawlConfig) -> tuple[int, int, float]:
    """(pages, responses, seconds) of a fresh full crawl."""
    shutil.rmtree(config.data_dir, ignore_errors=True)
    result = run_crawl(config)
    return result.pages, result.responses, float(result.stats["elapsed_time_seconds"])


def bare_crawl(domains: Path, mirrors: Path, urls: list[str], out: Path) -> tuple[int, float]:
    """(responses, seconds) of the bare spider, in a process of its own."""
    ctx = multiprocessing.get_context("spawn")
    proc = ctx.Process(target=_bare, args=(str(domains), str(mirrors), urls, str(out)))
    proc.start()
    proc.join()
    bare = json.loads(out.read_text())
    return int(bare["responses"]), float(bare["elapsed"])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--mirrors", type=Path, default=Path("data/mirrors"))
    ap.add_argument("--budget", type=int, default=1000, help="pages to crawl")
    ap.add_argument(
        "--rounds", type=int, default=5, help="alternate full and bare runs; best of each"
    )
    ap.add_argument(
        "--page-processes",
        type=int,
        help="the full crawl's page worker processes (0: threads) [default: the crawl's]",
    )
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="stepdr-bench-") as tmp:
        work = Path(tmp)
        mirrors = args.mirrors.resolve()
        if (mirrors / "python3.11-doc").is_dir():
            entry, source = PYDOC, f"python3.11-doc under {args.mirrors}"
        else:
            mirrors = work / "mirrors"
            entry = generated_site(mirrors / "site", args.budget)
            source = f"a generated site ({args.budget} pages; no python3.11-doc mirror)"
        domains = work / "domains.yaml"
        domains.write_text(yaml.safe_dump({"domains": [entry]}, sort_keys=False))
        config = CrawlConfig(
            domains,
            work / "data",
            mirrors,
            offline=True,
            budget=args.budget,
            log_level="WARNING",
            progress="off",
            page_processes=args.page_processes,
        )
        fulls, bares = [], []
        urls: list[str] = []
        for _ in range(max(1, args.rounds)):
            fulls.append(full_crawl(config))
            urls = urls or stored_urls(config.warc_dir)
            bares.append(bare_crawl(domains, mirrors, urls, work / "bare.json"))
    pages, responses, secs = min(fulls, key=lambda r: r[2])
    bare_n, bare_secs = min(bares, key=lambda r: r[1])
    full_rate, bare_rate = pages / secs, bare_n / bare_secs
    # Each round's own ratio, full against the bare run right after it: the median
    # of those moves less with this machine's noise than the best of each side.
    paired = sorted((f[0] / f[2]) / (b[0] / b[1]) for f, b in zip(fulls, bares, strict=True))
    print(f"source: {source}; best of {len(fulls)} rounds")
    print(
        f"full crawl:  {pages} pages ({responses} responses) in {secs:.2f} s"
        f" = {full_rate:.1f} pages/s"
    )
    print(f"bare scrapy: {bare_n} pages in {bare_secs:.2f} s = {bare_rate:.1f} pages/s")
    print(f"ratio full/bare: {full_rate / bare_rate:.2f} (best of each)")
    print(
        f"ratio per round: median {statistics.median(paired):.2f}"
        f" (from {paired[0]:.2f} to {paired[-1]:.2f})"
    )


if __name__ == "__main__":
    main()
