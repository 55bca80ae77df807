"""Ranking over a small built index: authority tie-breaking, diversity, batch search and open.

``corpus`` builds the index once per session (dense vectors included); the
server, MCP and hostile-query tests import it from here.
"""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from stepdr.crawl.domains import parse_domains
from stepdr.crawl.errors import QueryError
from stepdr.index.build import BuildConfig, build_index
from stepdr.rank import Surfer
from stepdr.rank.pipeline import RankConfig, pipeline
from stepdr.rank.results import MATCH_END, MATCH_START

from .warcutil import html_page, write_warc

GOV, BLOG, WIKI, DOCS = (
    "https://gov.example.org", "https://blog.example.com", "https://wiki.example.net",
    "https://tides.example.org",
)  # fmt: skip
DOMAINS = parse_domains(
    {
        "domains": [
            {"domain": "gov.example.org", "name": "G", "category": "gov", "tier": 1},
            {"domain": "tides.example.org", "name": "T", "category": "gov", "tier": 2},
            {"domain": "wiki.example.net", "name": "W", "category": "ref", "tier": 3},
            {"domain": "blog.example.com", "name": "B", "category": "news", "tier": 4},
        ]
    }
)
# Near-identical reports of one finding; the blog's repeats "cod" once more, so it
# is the (slightly) better BM25 match.
COD_GOV = (
    "Cod stocks in the northern sea recovered to their highest level in thirty years after "
    "fishing quotas were cut by half in 2019, the national fisheries agency reported on Monday."
)
COD_BLOG = (
    "Cod stocks in the northern sea have recovered to the highest cod level seen in thirty years "
    "since fishing quotas were cut by half in 2019, the fisheries agency said on Monday."
)
HERRING_BLOG = (
    "Herring quotas in the North Sea rise by ten percent: the herring quota decision follows "
    "a survey that found the herring spawning stock biomass well above its precautionary level."
)
HERRING_GOV = (
    "The agency publishes annual reports on many species, from mackerel and sprat to plaice, "
    "and its advice covers fleets, ports, licences, inspections and, occasionally, herring."
)
TIDE = "Tide tables for the harbour list high and low water times, heights and the tidal range"


def _pages() -> dict[str, tuple[str, bytes]]:
    html = "text/html; charset=utf-8"
    pages = {
        f"{BLOG}/cod.html": (html, html_page("Cod stocks recover", COD_BLOG)),
        f"{GOV}/cod.html": (html, html_page("Cod stocks recover", COD_GOV)),
        f"{BLOG}/herring.html": (html, html_page("Herring quotas", HERRING_BLOG)),
        f"{GOV}/agency.html": (html, html_page("About the agency", HERRING_GOV)),
        f"{GOV}/zh.html": (
            html,
            html_page("货币政策", "中国人民银行负责制定和执行货币政策。", lang="zh"),
        ),
    }
    for i in range(4):  # one domain, many pages and passages about tides
        paras = [
            f"{TIDE} for port {i}, section {j}: entry {i * 10 + j} of the almanac."
            for j in range(3)
        ]
        pages[f"{DOCS}/port{i}.html"] = (html, html_page(f"Port {i} tides", *paras))
    pages[f"{WIKI}/tides.html"] = (html, html_page("Tide", f"{TIDE} explained for sailors."))
    return pages


_BUILT: dict[str, Path] = {}
_LOCK = threading.Lock()


def build_corpus(root: Path) -> Path:
    """Build the corpus index under ``root`` once per session; returns the data dir."""
    with _LOCK:
        if "data" not in _BUILT:
            root.mkdir(parents=True, exist_ok=True)
            warc = write_warc(root / "corpus.warc.gz", _pages())
            data = root / "data"
            config = BuildConfig(data, warcs=(warc,), workers=1, min_words=5, max_words=60)
            build_index(config, DOMAINS)
            _BUILT["data"] = data
        return _BUILT["data"]


@pytest.fixture(scope="session")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_corpus(tmp_path_factory.getbasetemp() / "rank-corpus")


@pytest.fixture(scope="session")
def surfer(corpus: Path) -> Surfer:
    return Surfer.open(corpus)


def test_all_reports_are_indexed(surfer: Surfer) -> None:
    assert surfer.dense is not None
    for url in (f"{GOV}/cod.html", f"{BLOG}/cod.html", f"{BLOG}/herring.html"):
        assert surfer.page(url), url  # not dropped as near duplicates at build time


def test_comparable_matches_go_to_the_authoritative_source(surfer: Surfer) -> None:
    query = "cod stocks recovered highest level thirty years quotas"
    for name in ("bm25", "dense", "hybrid"):  # no prior: the blog's copy is a hair better
        without = surfer.search(query, 2, pipeline(name))
        assert [h.url for h in without] == [f"{BLOG}/cod.html", f"{GOV}/cod.html"], name
    for config in (RankConfig(), RankConfig(fusion="weighted"), RankConfig(dense=False)):
        hits = surfer.search(query, 2, config)
        assert [h.url for h in hits] == [f"{GOV}/cod.html", f"{BLOG}/cod.html"], config
        assert hits[0].scores.prior == 1.0 and hits[1].scores.prior == pytest.approx(0.82)


def test_a_clearly_better_weak_source_still_wins(surfer: Surfer) -> None:
    query = "herring quota North Sea spawning stock"
    for config in (RankConfig(), RankConfig(fusion="weighted"), RankConfig(authority_weight=0.5)):
        hits = surfer.search(query, 3, config)
        assert hits[0].url == f"{BLOG}/herring.html", config
        assert hits[1].site == "gov.example.org" and hits[1].scores.prior == 1.0, config


def test_per_page_and_per_domain_caps(surfer: Surfer) -> None:
    query = "tide tables harbour high low water"
    hits = surfer.search(query, 20, RankConfig(per_page=1, per_domain=2))
    sites = [h.site for h in hits]
    assert sites.count("tides.example.org") == 2 and "wiki.example.net" in sites
    assert len({h.url for h in hits}) == len(hits)
    hits = surfer.search(query, 20, RankConfig(per_page=2, per_domain=0))
    urls = [h.url for h in hits]
    assert [urls.count(f"{DOCS}/port{i}.html") for i in range(4)] == [2, 2, 2, 2]
    assert len({h.passage_id for h in hits}) == len(hits)


def test_batch_search_results_carry_everything(surfer: Surfer) -> None:
    out = surfer.batch_search(["cod quotas", "货币政策", "?!*"], topk=3)
    assert out[1][0].url == f"{GOV}/zh.html" and out[2] == []
    hit = out[0][0]
    assert hit.cite_id.startswith("web_") and len(hit.cite_id) == 12
    assert hit.title and hit.site and hit.snippet and hit.content and hit.url.startswith("https://")
    assert hit.scores.final == hit.score and hit.scores.bm25 is not None
    assert set(hit.to_dict()) >= {"cite_id", "url", "title", "site", "published", "snippet",
                                  "content", "scores"}  # fmt: skip


def test_limits_raise_clear_errors(surfer: Surfer) -> None:
    with pytest.raises(QueryError, match="too many queries"):
        surfer.batch_search(["q"] * 65)
    with pytest.raises(QueryError, match="query too long"):
        surfer.search("x" * 20_000)
    with pytest.raises(QueryError, match="topk"):
        surfer.search("cod", 0)
    with pytest.raises(QueryError, match="topk"):
        surfer.search("cod", 101)
    with pytest.raises(QueryError, match="not one string"):
        surfer.batch_search("cod")  # type: ignore[arg-type]
    with pytest.raises(QueryError, match="empty query"):
        surfer.search("   ")


def test_batch_open_marks_the_passage_that_matched(surfer: Surfer) -> None:
    hits = surfer.search("tide tables port 2 section 1 entry 21", 1, RankConfig(dense=False))
    assert hits[0].url == f"{DOCS}/port2.html"
    page, missing = surfer.batch_open([f"{DOCS}/port2.html#top", "https://nowhere.example/x"])
    assert page.error is None and page.cite_id == hits[0].cite_id
    assert page.matched == (hits[0].ordinal,)
    assert page.content is not None and page.content.count(MATCH_START) == 1
    inside = page.content.split(MATCH_START)[1].split(MATCH_END)[0]
    assert "entry 21" in inside
    assert missing.error == "not in the index: https://nowhere.example/x"
    (explicit,) = surfer.batch_open(
        [f"{GOV}/cod.html"], mark=[surfer.page(f"{GOV}/cod.html")[0].id]
    )
    assert explicit.matched == (0,)


def test_url_spellings_open_the_same_page(surfer: Surfer) -> None:
    for url in ("http://gov.example.org/cod.html", f"{GOV.upper()}/cod.html#x", f"{GOV}/cod.html"):
        (r,) = surfer.batch_open([url])
        assert r.error is None and r.url == f"{GOV}/cod.html", url


def test_concurrent_searches_agree(surfer: Surfer) -> None:
    queries = ["cod stocks", "herring quota", "tide tables", "货币政策"]
    expected = [[h.passage_id for h in r] for r in surfer.batch_search(queries, 5)]
    errors: list[BaseException] = []
    results: list[list[list[int]]] = []

    def work() -> None:
        try:
            for _ in range(5):
                results.append([[h.passage_id for h in r] for r in surfer.batch_search(queries, 5)])
        except BaseException as e:  # pragma: no cover - reported below
            errors.append(e)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors and len(results) == 20
    assert all(r == expected for r in results)
