"""Resume: a crawl stopped any way at all — Ctrl-C, ``kill -9`` — continues where it was,
fetches nothing it already stored, and leaves every WARC file readable."""

from __future__ import annotations

import os
import pickle
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from stepdr.crawl.config import CrawlConfig
from stepdr.crawl.journal import Journal
from stepdr.crawl.run import run_crawl
from stepdr.crawl.warc_repair import repair_open_files

from .conftest import mock_crawl_config
from .mockserver import MockServer, Site, warc_records

PAGES = 120
MANY_PAGES = 300  # the ten-kill test: long enough that kills land mid-crawl
HOST = "bulk.test"


@pytest.fixture
def server() -> Iterator[MockServer]:
    with MockServer() as s:
        s.sites = {HOST: Site(links=["/gen/0"], robots=(200, "User-agent: *\nDisallow:\n"))}
        s.gen_pages = PAGES
        s.gen_delay = 0.01
        yield s


def _config(tmp_path: Path, server: MockServer) -> CrawlConfig:
    # Small WARC files rotate often: kills land in every part of a file's life.  A page
    # worker process, whatever the machine's cores, so kills land on one too.
    return mock_crawl_config(
        tmp_path, server, HOST, per_host=4, warc_max_bytes=40_000, page_processes=1
    )


def _children(pid: int) -> set[int]:
    out = set()
    for d in Path("/proc").iterdir():
        try:
            if (
                d.name.isdigit()
                and int((d / "stat").read_text().rsplit(")", 1)[1].split()[1]) == pid
            ):
                out.add(int(d.name))
        except (OSError, ValueError, IndexError):
            continue
    return out


def _running(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"  # a zombie has exited; only its parent's reaping is left


def _gone(pids: set[int], timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not any(_running(p) for p in pids):
            return True
        time.sleep(0.05)
    return False


def _start(config: CrawlConfig, tmp_path: Path) -> subprocess.Popen[bytes]:
    """The crawl in a process of its own, as `stepdr-index crawl` runs it."""
    blob = tmp_path / "config.pickle"
    blob.write_bytes(pickle.dumps(config))
    code = (
        "import pickle, sys; from stepdr.crawl.run import crawl_here; "
        "crawl_here(pickle.loads(open(sys.argv[1], 'rb').read()))"
    )
    return subprocess.Popen([sys.executable, "-c", code, str(blob)], stderr=subprocess.DEVNULL)


def _assert_whole(config: CrawlConfig, server: MockServer) -> None:
    """Every page stored exactly once, in sealed, readable WARC files."""
    assert not list(config.warc_dir.glob("*.open"))
    records = warc_records(config.warc_dir)  # reads every record to its end
    counts = Counter(r.url for r in records)
    pages = {server.url(HOST, f"/gen/{i}") for i in range(server.gen_pages)}
    assert pages <= set(counts)
    assert [u for u, n in counts.items() if n > 1] == []


def _wait_for_pages(config: CrawlConfig, n: int) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        journal = config.journal_file
        if journal.exists() and journal.read_bytes().count(b'"k":"stored"') >= n:
            return
        time.sleep(0.02)


def test_sigkill_then_resume(tmp_path: Path, server: MockServer) -> None:
    config = _config(tmp_path, server)
    proc = _start(config, tmp_path)
    _wait_for_pages(config, 10)
    children = _children(proc.pid)  # the page worker, the mirror when there is one
    assert children
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert _gone(children), "a child of the killed crawl is still running"
    result = run_crawl(config)
    assert 0 < result.pages < PAGES  # the resumed run fetched only what was missing
    _assert_whole(config, server)
    again = run_crawl(config)
    assert again.responses == 0


def test_ctrl_c_then_resume(tmp_path: Path, server: MockServer) -> None:
    config = _config(tmp_path, server)
    proc = _start(config, tmp_path)
    _wait_for_pages(config, 10)
    proc.send_signal(signal.SIGINT)  # Scrapy stops gracefully: files sealed
    assert proc.wait(timeout=30) == 0
    assert not list(config.warc_dir.glob("*.open"))
    run_crawl(config)
    _assert_whole(config, server)


@pytest.mark.integration
def test_ten_random_kills(tmp_path: Path, server: MockServer) -> None:
    server.gen_pages = MANY_PAGES
    config = _config(tmp_path, server)
    rng = random.Random(int.from_bytes(os.urandom(4), "big"))
    for _ in range(10):
        proc = _start(config, tmp_path)
        time.sleep(rng.uniform(0.3, 2.8))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    run_crawl(config)
    _assert_whole(config, server)
    fetched = Counter(h.path for h in server.hits_of(HOST, prefix="/gen/"))
    # Refetched only when a kill came between request and record.
    assert sum(fetched.values()) < 2 * MANY_PAGES


def _warc_with_pairs(tmp_path: Path, n: int) -> tuple[Path, list[int]]:
    from scrapy import Request
    from scrapy.http import HtmlResponse

    from stepdr.crawl.warc_files import WarcFiles

    files = WarcFiles(tmp_path / "warc")
    ends = []
    for i in range(n):
        url = f"https://x.example.org/{i}"
        body = f"<html><body>page {i}</body></html>".encode()
        w = files.write(
            Request(url), HtmlResponse(url, body=body, headers={"Content-Type": "text/html"})
        )
        ends.append(w.offset + w.length)
    assert files._fh is not None
    files._fh.flush()
    return files.directory / (files.paths[-1].name + ".open"), ends


def test_torn_record_is_dropped_and_the_rest_kept(tmp_path: Path) -> None:
    path, ends = _warc_with_pairs(tmp_path, 4)
    data = path.read_bytes()
    path.write_bytes(data[: ends[2] + 20])  # killed early in the 4th pair
    found: list[str] = []
    # The journal knew the first record only; the next two were stored before the kill.
    first = path.name.removesuffix(".open")
    n = repair_open_files(path.parent, {first: ends[0]}, lambda s: found.append(s.url))
    assert n == 2 and found == ["https://x.example.org/1", "https://x.example.org/2"]
    sealed = path.with_name(first)
    assert sealed.is_file() and not path.exists()
    assert [r.url for r in warc_records(path.parent)] == [
        f"https://x.example.org/{i}" for i in range(3)
    ]


def test_torn_journal_line_is_cut(tmp_path: Path) -> None:
    path = tmp_path / "journal.jsonl"
    path.write_bytes(b'{"k":"link","u":"https://a.org/","d":0}\n{"k":"link","u":"https://a.org/x",')
    journal = Journal(path)
    state = journal.open()
    assert list(state.links) == ["https://a.org/"]
    journal.mark("done", "https://a.org/")
    journal.close()
    lines = path.read_text().splitlines()
    assert len(lines) == 2 and lines[1] == '{"k":"done","u":"https://a.org/"}'
