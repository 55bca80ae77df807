"""The crawler against a hostile server: one crawl of the mock server, one test per behaviour.

Each test reads what the crawler asked for (the server's log) and what it
stored (the WARC records).
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from stepdr.crawl.config import CrawlConfig
from stepdr.crawl.run import CrawlResult, run_crawl
from stepdr.crawl.traps import TrapRules

from .conftest import write_domains
from .mockserver import MiB, MockServer, Record, Site, warc_records

MAIN_LINKS = [
    "/status/404", "/status/410", "/status/500", "/slow/4", "/drop",
    "/loop/a", "/chain/0",
    "/bomb/gzip", "/bomb/deflate", "/bomb/br", "/gzip/ok", "/big/declared", "/big/streamed",
    "/charset/wrong", "/charset/bogus", "/charset/none",
    "/binary/octet", "/binary/png", "/binary/lying", "/doc.pdf",
    "/calendar?month=2024-06", "/a/", "/deep/0", "/list?page=0",
    "/private/secret.html",
    "/page/same", "/page/same#part", "/page/same?utm_source=feed", "HTTP://MAIN.TEST:{port}/page/same",
    "http://other.test/elsewhere.html",
]  # fmt: skip
CONTACT = "https://example.org/crawler-contact"
TRAPS = TrapRules(max_depth=6, max_query_variants=8, max_calendar_pages=5)


@dataclass(frozen=True)
class Crawl:
    server: MockServer
    result: CrawlResult
    records: list[Record]
    data: Path

    def stored(self, host: str, path: str) -> list[Record]:
        return [r for r in self.records if r.url == self.server.url(host, path)]

    def rejected(self, reason: str) -> int:
        return int(self.result.stats.get(f"stepdr/rejected/{reason}", 0))


@pytest.fixture(scope="module")
def crawl(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Crawl]:
    root = tmp_path_factory.mktemp("faults")
    with MockServer(bomb_size=8 * MiB, big_size=2 * MiB) as server:
        server.sites = {
            "main.test": Site(links=[p.format(port=server.port) for p in MAIN_LINKS]),
            "r5xx.test": Site(links=["/page/one"], robots=(503, "")),
            "r4xx.test": Site(links=["/private/open.html"], robots=(404, "")),
            "delay.test": Site(links=["/page/1", "/page/2", "/page/3"],
                               robots=(200, "User-agent: *\nCrawl-delay: 0.5\n")),
            "rate.test": Site(links=["/ratelimited/x"]),
            "evil.test": Site(links=["/page/inside"]),
        }  # fmt: skip
        hosts = list(server.sites)
        domains = write_domains(
            root / "domains.yaml",
            [
                {"domain": h, "name": h, "category": "test", "tier": 2,
                 "seeds": [server.url(h, "/")], "budget": 60}
                for h in hosts
            ],
        )  # fmt: skip
        config = CrawlConfig(
            domains,
            root / "data",
            root / "mirrors",
            delay=0.0,
            per_host=4,
            timeout=2.0,
            retries=1,
            max_bytes=1 * MiB,
            traps=TRAPS,
            contact_url=CONTACT,
            resolve=tuple((h, "127.0.0.1") for h in [*hosts, "other.test"]),
            allow_private_hosts=tuple(h for h in hosts if h != "evil.test"),
            progress="log",
        )
        result = run_crawl(config)
        yield Crawl(server, result, warc_records(config.warc_dir), root / "data")


def test_status_codes(crawl: Crawl) -> None:
    assert [r.status for r in crawl.stored("main.test", "/status/404")] == [404]
    assert [r.status for r in crawl.stored("main.test", "/status/410")] == [410]
    # A 500 is retried (retries=1), then left for a later crawl: nothing stored.
    assert len(crawl.server.hits_of("main.test", "/status/500")) == 2
    assert crawl.stored("main.test", "/status/500") == []


def test_slow_response_times_out(crawl: Crawl) -> None:
    assert len(crawl.server.hits_of("main.test", "/slow/4")) == 2
    assert crawl.stored("main.test", "/slow/4") == []
    assert crawl.result.stats["stepdr/errors"] >= 2  # /slow/4 and /drop


def test_dropped_response_is_not_stored(crawl: Crawl) -> None:
    assert len(crawl.server.hits_of("main.test", "/drop")) == 2
    assert crawl.stored("main.test", "/drop") == []


def test_redirect_loop_stops(crawl: Crawl) -> None:
    for path in ("/loop/a", "/loop/b"):
        assert len(crawl.server.hits_of("main.test", path)) == 1
        assert [r.status for r in crawl.stored("main.test", path)] == [302]


def test_redirect_chain_is_capped(crawl: Crawl) -> None:
    fetched = {h.path for h in crawl.server.hits_of("main.test", prefix="/chain/")}
    assert fetched == {f"/chain/{i}" for i in range(6)}  # max_redirects=5 after the first
    assert crawl.rejected("redirects") == 1


def test_decompression_bombs_are_dropped(crawl: Crawl) -> None:
    for kind in ("gzip", "deflate", "br"):
        assert len(crawl.server.hits_of("main.test", f"/bomb/{kind}")) == 1
        assert crawl.stored("main.test", f"/bomb/{kind}") == []
    # A sane compressed page is stored decoded, so reading it back inflates nothing.
    [ok] = crawl.stored("main.test", "/gzip/ok")
    assert b"gzipped page" in ok.body and "content-encoding" not in ok.headers


def test_oversized_bodies_are_dropped(crawl: Crawl) -> None:
    for path in ("/big/declared", "/big/streamed"):
        assert len(crawl.server.hits_of("main.test", path)) == 1
        assert crawl.stored("main.test", path) == []
    assert crawl.rejected("too_large") == 5  # three bombs, two big bodies
    assert all(len(r.body) <= MiB for r in crawl.records)


def test_wrong_or_missing_charsets_survive(crawl: Crawl) -> None:
    for kind in ("wrong", "bogus", "none"):
        assert [r.status for r in crawl.stored("main.test", f"/charset/{kind}")] == [200]
        # Links were still extracted from the page.
        assert [r.status for r in crawl.stored("main.test", f"/page/after-{kind}")] == [200]


def test_only_html_and_pdf_are_kept(crawl: Crawl) -> None:
    for kind in ("octet", "png", "lying"):
        assert len(crawl.server.hits_of("main.test", f"/binary/{kind}")) == 1
        assert crawl.stored("main.test", f"/binary/{kind}") == []
    [pdf] = crawl.stored("main.test", "/doc.pdf")
    assert pdf.body.startswith(b"%PDF-")
    assert crawl.rejected("type") == 2 and crawl.rejected("binary") == 1


def test_infinite_calendar_is_cut(crawl: Crawl) -> None:
    hits = crawl.server.hits_of("main.test", prefix="/calendar")
    assert len(hits) == TRAPS.max_calendar_pages
    assert crawl.rejected("calendar") >= 1


def test_repeated_path_segments_are_a_trap(crawl: Crawl) -> None:
    paths = {h.path for h in crawl.server.hits_of("main.test", prefix="/a/")}
    assert paths == {"/a/", "/a/a/"}
    assert crawl.rejected("repeated_segment") == 1


def test_hops_from_seed_are_limited(crawl: Crawl) -> None:
    paths = {h.path for h in crawl.server.hits_of("main.test", prefix="/deep/")}
    # The seed is depth 0, /deep/0 depth 1 ... /deep/5 depth 6 = max_depth.
    assert paths == {f"/deep/{i}" for i in range(6)}
    assert crawl.rejected("depth") == 1


def test_query_parameter_explosion_is_cut(crawl: Crawl) -> None:
    hits = crawl.server.hits_of("main.test", prefix="/list?")
    assert len(hits) == TRAPS.max_query_variants
    assert crawl.rejected("query_variants") >= 1
    assert crawl.rejected("query_params") == 1  # the twenty-parameter link


def test_robots_disallow_rule(crawl: Crawl) -> None:
    assert crawl.server.hits_of("main.test", "/private/secret.html") == []
    assert len(crawl.server.hits_of("main.test", "/robots.txt")) == 1
    assert [r.status for r in crawl.stored("main.test", "/robots.txt")] == [200]
    assert crawl.rejected("robots") == 1


def test_robots_5xx_disallows_everything_for_now(crawl: Crawl) -> None:
    hits = crawl.server.hits_of("r5xx.test")
    assert [h.path for h in hits] == ["/robots.txt"]
    assert not [r for r in crawl.records if "r5xx.test" in r.url]
    assert crawl.rejected("robots_unreachable") == 1
    # Not settled: a later crawl asks again.
    journal = (crawl.data / "crawl" / "journal.jsonl").read_text().splitlines()
    done = [json.loads(line) for line in journal if '"k":"done"' in line]
    assert not [d for d in done if "r5xx.test" in d["u"]]


def test_robots_4xx_allows_everything(crawl: Crawl) -> None:
    assert [r.status for r in crawl.stored("r4xx.test", "/private/open.html")] == [200]
    assert [r.status for r in crawl.stored("r4xx.test", "/robots.txt")] == [404]


def test_crawl_delay_is_honoured(crawl: Crawl) -> None:
    times = [h.at for h in crawl.server.hits_of("delay.test") if h.path != "/robots.txt"]
    assert len(times) == 4
    gaps = [b - a for a, b in itertools.pairwise(times)]
    assert min(gaps) >= 0.45, gaps


def test_429_waits_for_retry_after(crawl: Crawl) -> None:
    hits = crawl.server.hits_of("rate.test", "/ratelimited/x")
    assert len(hits) == 2
    assert hits[1].at - hits[0].at >= 0.95
    assert [r.status for r in crawl.stored("rate.test", "/ratelimited/x")] == [200]


def test_ssrf_guard_refuses_private_address(crawl: Crawl) -> None:
    assert crawl.server.hits_of("evil.test") == []
    assert not [r for r in crawl.records if "evil.test" in r.url]
    assert crawl.rejected("ssrf") >= 1


def test_canonical_urls_are_fetched_once(crawl: Crawl) -> None:
    assert len(crawl.server.hits_of("main.test", "/page/same")) == 1
    assert len(crawl.stored("main.test", "/page/same")) == 1


def test_out_of_scope_links_are_not_fetched(crawl: Crawl) -> None:
    assert crawl.server.hits_of("other.test") == []
    assert crawl.rejected("scope") >= 1


def test_user_agent_names_a_contact(crawl: Crawl) -> None:
    agents = {h.headers.get("User-Agent", "") for h in crawl.server.hits}
    assert agents and all(CONTACT in a for a in agents)


def test_warc_files_are_sealed_and_stats_written(crawl: Crawl) -> None:
    warc_dir = crawl.data / "warc"
    assert not list(warc_dir.glob("*.open"))
    assert {Path(f).name for f in crawl.result.warc_files} == {
        p.name for p in warc_dir.glob("*.warc.gz")
    }
    payload = json.loads((crawl.data / "crawl" / "stats.json").read_text())
    summary = payload["summary"]
    assert summary["pages"] == crawl.result.pages > 0
    assert {"robots", "calendar", "depth", "ssrf", "too_large"} <= set(summary["rejected"])
