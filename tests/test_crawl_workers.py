"""A crawl spread over worker processes coordinated by a real Redis (crawl/coordinator.py).

One mock server serves five hosts of four registered domains; every page of a host
says which worker fetched it (each worker has its own contact URL in its User-Agent).
"""

from __future__ import annotations

import itertools
import json
import os
import signal
import subprocess
import sys
import time
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from stepdr.crawl.config import CrawlConfig
from stepdr.crawl.run import run_crawl

from .conftest import REPO, write_domains
from .mockserver import MockServer, Site

pytestmark = pytest.mark.integration

HOSTS = ("site-a.org", "www.site-b.org", "docs.site-b.org", "site-c.net", "site-d.com")
DELAY = 0.2  # each host's Crawl-delay: a strict floor between two of its requests
PAGES = 12  # per host, a binary tree of /gen/N pages


@pytest.fixture
def server() -> Iterator[MockServer]:
    with MockServer() as s:
        robots = (200, f"User-agent: *\nCrawl-delay: {DELAY}\n")
        s.gen_pages = PAGES
        s.gen_delay = 0.01
        s.sites = {h: Site(links=["/gen/0"], robots=robots) for h in HOSTS}
        # Two pages only a link from another registered domain leads to.
        s.sites["site-a.org"].links.append(s.url("site-c.net", "/page/from-a"))
        s.sites["site-d.com"].links.append(s.url("docs.site-b.org", "/page/from-d"))
        yield s


def domains_of(root: Path, server: MockServer) -> Path:
    return write_domains(root / "domains.yaml", [
        {"domain": h, "name": h, "category": "test", "tier": 2, "seeds": [server.url(h, "/")]}
        for h in HOSTS
    ])  # fmt: skip


def spec(root: Path, server: MockServer, redis_url: str, name: str, **kw: Any) -> Path:
    path = root / f"{name}.json"
    path.write_text(json.dumps({
        "domains_file": str(domains_of(root, server)), "data_dir": str(root / "data"),
        "mirrors_dir": str(root / "mirrors"), "hosts": list(HOSTS), "delay": DELAY,
        "redis": redis_url, "worker": name, "contact_url": f"https://example.org/{name}",
        **kw,
    }))  # fmt: skip
    return path


def start(path: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "tests.crawl_worker", str(path)],
        cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        start_new_session=True,
    )  # fmt: skip


def finish(proc: subprocess.Popen[str], timeout: float = 120) -> dict[str, Any]:
    out, err = proc.communicate(timeout=timeout)
    assert proc.returncode == 0, err[-3000:]
    return dict(json.loads(out.strip().splitlines()[-1]))


def pages_of(server: MockServer) -> dict[str, list[tuple[float, str]]]:
    """Host -> (time, worker) of each request for a page (robots.txt aside)."""
    out: dict[str, list[tuple[float, str]]] = defaultdict(list)
    for h in server.hits:
        if h.path != "/robots.txt":
            out[h.host].append((h.at, h.headers.get("User-Agent", "").split("/")[-1][:2]))
    return out


def journals(data: Path) -> tuple[set[str], set[str]]:
    """Every URL the journals link, and every URL they hold a stored copy of."""
    links: set[str] = set()
    stored: set[str] = set()
    for f in [*data.glob("crawl/parts/*/journal.jsonl"), *data.glob("crawl/journal.jsonl")]:
        for line in f.read_text().splitlines():
            rec = json.loads(line)
            (links if rec["k"] == "link" else stored if rec["k"] == "stored" else set()).add(
                rec["u"]
            )
    return links, stored


def kill_once_stored(proc: subprocess.Popen[str], data: Path, pages: int) -> None:
    """``kill -9`` the worker (its whole process group) once it has stored ``pages``."""
    deadline = time.monotonic() + 60
    while len(journals(data)[1]) < pages:
        assert proc.poll() is None and time.monotonic() < deadline, "stored too little"
        time.sleep(0.1)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    time.sleep(0.5)  # the Scrapy child dies with its parent


def test_workers_share_the_list_one_host_one_worker(
    tmp_path: Path, server: MockServer, redis_url: str
) -> None:
    procs = [start(spec(tmp_path, server, redis_url, f"w{i}", leases=1)) for i in (1, 2, 3)]
    results = [finish(p) for p in procs]
    fetched = pages_of(server)
    for host, hits in fetched.items():
        # One worker at a time: a partition finished by one worker may be reopened
        # by a link found later and crawled on by another, never by two at once.
        runs = [w for w, _ in itertools.groupby(w for _, w in sorted(hits))]
        assert len(runs) == len(set(runs)), (host, hits)
        gaps = [b - a for (a, _), (b, _) in itertools.pairwise(sorted(hits))]
        assert min(gaps) >= DELAY - 0.03, (host, gaps)  # arrival jitter aside
    firsts = {hits[0][1] for h, hits in fetched.items() if h.endswith("site-b.org")}
    assert len(firsts) == 1  # both hosts of one registered domain: one partition
    assert sum(r["pages"] for r in results) == len(HOSTS) * (PAGES + 1) + 2
    assert sum(int(r["stats"].get("stepdr/handed_out", 0)) for r in results) >= 2
    links, stored = journals(tmp_path / "data")
    assert server.url("site-c.net", "/page/from-a") in stored  # crossed partitions
    assert server.url("docs.site-b.org", "/page/from-d") in stored

    # The union of the workers' journals is what one process crawls of the same list.
    alone = tmp_path / "alone"
    alone.mkdir()
    cfg = CrawlConfig(domains_of(alone, server), alone / "data", alone / "m", delay=0.0,
                      resolve=tuple((h, "127.0.0.1") for h in HOSTS),
                      allow_private_hosts=HOSTS, progress="off", log_level="WARNING")  # fmt: skip
    run_crawl(cfg)
    assert journals(alone / "data") == (links, stored)
    # And build reads every worker's WARC folder.
    warcs = list((tmp_path / "data" / "warc").rglob("*.warc.gz"))
    assert {w.parent.name for w in warcs} == {
        "site-a.org",
        "site-b.org",
        "site-c.net",
        "site-d.com",
    }


def test_a_killed_workers_partitions_are_finished_by_another(
    tmp_path: Path, server: MockServer, redis_url: str
) -> None:
    server.gen_pages = 60
    data = tmp_path / "data"
    kill_once_stored(
        start(spec(tmp_path, server, redis_url, "w1", leases=4, lease_ttl=2.0)), data, 30
    )
    before = journals(data)[1]
    at_kill = len(server.hits)
    second = finish(start(spec(tmp_path, server, redis_url, "w2", leases=4)))
    assert second["stats"].get("stepdr/partitions/opened", 0) == 4
    again = {server.url(h.host, h.path) for h in server.hits[at_kill:] if h.path != "/robots.txt"}
    assert not again & before  # nothing stored before the kill is fetched again
    _, stored = journals(data)
    pages = {server.url(h, f"/gen/{i}") for h in HOSTS for i in range(60)}
    assert pages <= stored


def test_a_worker_restarted_under_its_name_takes_its_partitions_back_at_once(
    tmp_path: Path, server: MockServer, redis_url: str
) -> None:
    server.gen_pages = 40
    path = spec(tmp_path, server, redis_url, "w1", leases=4, lease_ttl=60.0)
    data = tmp_path / "data"
    kill_once_stored(start(path), data, 20)
    t0 = time.monotonic()
    again = finish(start(path))  # its heartbeat has 60 s to live: no waiting for it
    assert time.monotonic() - t0 < 50
    assert again["stats"].get("stepdr/partitions/done", 0) == 4
    pages = {server.url(h, f"/gen/{i}") for h in HOSTS for i in range(40)}
    assert pages <= journals(data)[1]
