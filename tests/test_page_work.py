"""A page's links and WARC records made in a worker process: the same as in place,
a dead worker falls back to threads, and no worker outlives its crawl."""

from __future__ import annotations

import asyncio
import os
import signal
import time
import zlib
from pathlib import Path

from scrapy import Request
from scrapy.http import HtmlResponse

from stepdr.crawl.config import CrawlConfig
from stepdr.crawl.journal import Journal
from stepdr.crawl.links import extract_links
from stepdr.crawl.offload import default_processes
from stepdr.crawl.page_pool import PageProcesses
from stepdr.crawl.page_work import PageJob, do_page
from stepdr.crawl.run import run_crawl
from stepdr.crawl.warc_records import exchange_of

from .poolutil import started

URL = "https://docs.example.org/guide/"
# Declared only in a meta tag, so the worker must find the encoding as the spider does.
PAGE = (
    '<html><head><meta charset="windows-1252"><title>x</title></head><body>'
    '<a href="caf\xe9.html">caf\xe9</a> <a href="/b?q=1#frag">b</a>'
    '<!-- <a href="commented.html"> --><a href="https://other.example.net/x">x</a>'
    "</body></html>"
).encode("cp1252")


def _job() -> tuple[PageJob, HtmlResponse]:
    request = Request(URL)
    response = HtmlResponse(URL, body=PAGE, headers={"Content-Type": "text/html"}, request=request)
    return PageJob(exchange_of(request, response), links=True), response


def _http_block(data: bytes) -> bytes:
    """The response record's HTTP head and body (record id and date differ per call)."""
    record = zlib.decompressobj(wbits=31).decompress(data)
    return record.split(b"\r\n\r\n", 1)[1]


def test_pages_go_to_threads_until_a_worker_process_is_up() -> None:
    workers = PageProcesses(1)
    workers.start()
    try:
        # A spawned interpreter takes far longer than this to import the page code.
        assert not workers.warm()
        assert asyncio.run(workers.run(os.getpid)) == os.getpid()
        started(workers)
        assert asyncio.run(workers.run(os.getpid)) != os.getpid()
    finally:
        workers.close()


def test_page_work_in_a_process_is_the_same_as_in_place() -> None:
    job, response = _job()
    here = do_page(job)
    assert here.links == tuple(extract_links(response))
    assert here.links is not None and "https://docs.example.org/guide/caf%C3%A9.html" in here.links
    workers = started(PageProcesses(1))
    try:
        there = asyncio.run(workers.run(do_page, job))
    finally:
        workers.close()
    assert there.links == here.links
    assert there.encoded.digest == here.encoded.digest
    assert _http_block(there.encoded.data) == _http_block(here.encoded.data)


def test_a_killed_worker_sends_the_work_to_threads() -> None:
    job, _ = _job()
    workers = started(PageProcesses(1))
    try:
        pid = asyncio.run(workers.run(os.getpid))
        assert pid != os.getpid()
        os.kill(pid, signal.SIGKILL)
        time.sleep(0.2)
        done = asyncio.run(workers.run(do_page, job))  # the pool is broken: a thread does it
        assert done.links == do_page(job).links
        assert asyncio.run(workers.run(os.getpid)) == os.getpid()
    finally:
        workers.close()


def test_redis_workers_default_to_threads() -> None:
    # Several workers share a machine's cores; a single crawl gets the spare ones.
    assert default_processes(worker=True) == 0
    assert default_processes() == max(0, min(4, (os.cpu_count() or 1) - 1))


def _spawned_children() -> set[int]:
    """Pids of multiprocessing children alive on this machine."""
    out = set()
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                cmd = (d / "cmdline").read_bytes()
            except OSError:
                continue
            if b"multiprocessing" in cmd and b"spawn_main" in cmd:
                out.add(int(d.name))
    return out


def test_a_crawl_with_page_processes_keeps_the_same_pages(
    tmp_path: Path, site_domains: Path
) -> None:
    before = _spawned_children()
    found = {}
    for n in (0, 2):
        config = CrawlConfig(
            site_domains,
            tmp_path / f"data{n}",
            tmp_path / "mirrors",
            offline=True,
            page_processes=n,
        )
        result = run_crawl(config)
        state = Journal(config.journal_file).open()
        found[n] = (result.pages, sorted(state.links), sorted(state.stored), sorted(state.unparsed))
    assert found[0] == found[2]
    assert found[2][0] == 4
    deadline = time.monotonic() + 5
    while _spawned_children() - before and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not _spawned_children() - before, "a page worker outlived its crawl"
