"""Ranking over a small built index: authority tie-breaking, diversity, batch search and open.

The index is ``tests/rankutil.py``'s corpus, built once per session (dense vectors included).
"""

from __future__ import annotations

import threading
from collections import Counter

import pytest

from stepdr.core.errors import QueryError
from stepdr.rank import Surfer
from stepdr.rank.pipeline import RankConfig, pipeline
from stepdr.rank.results import MATCH_END, MATCH_START, SearchResult

from .rankutil import BLOG, DOCS, GOV


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
        assert hits[0].scores.factor == 1.0 and hits[1].scores.factor == pytest.approx(0.82)


def test_a_clearly_better_weak_source_still_wins(surfer: Surfer) -> None:
    query = "herring quota North Sea spawning stock"
    for config in (RankConfig(), RankConfig(fusion="weighted"), RankConfig(authority_weight=0.5)):
        hits = surfer.search(query, 3, config)
        assert hits[0].url == f"{BLOG}/herring.html", config
        assert hits[1].site == "gov.example.org" and hits[1].scores.factor == 1.0, config


def _within_caps(hits: list[SearchResult], per_page: int, per_domain: int) -> list[SearchResult]:
    """The head of a list that keeps the caps; checks that every later hit is demoted."""
    pages: Counter[str] = Counter()
    domains: Counter[str] = Counter()
    head: list[SearchResult] = []
    for h in hits:
        over = (per_page and pages[h.url] >= per_page) or (
            per_domain and domains[h.site] >= per_domain
        )
        if over:
            continue
        assert len(head) == hits.index(h), "a passage within the caps follows a demoted one"
        pages[h.url] += 1
        domains[h.site] += 1
        head.append(h)
    return head


def test_per_page_and_per_domain_caps(surfer: Surfer) -> None:
    query = "tide tables harbour high low water"
    hits = surfer.search(query, 20, RankConfig(per_page=1, per_domain=2))
    uncapped = surfer.search(query, 20, RankConfig(per_page=0, per_domain=0))
    assert len(hits) == len(uncapped)  # demoted, never dropped
    head = _within_caps(hits, per_page=1, per_domain=2)
    sites = [h.site for h in head]
    assert sites.count("tides.example.org") == 2 and "wiki.example.net" in sites
    assert len({h.url for h in head}) == len(head)
    assert len({h.passage_id for h in hits}) == len(hits)
    hits = surfer.search(query, 20, RankConfig(per_page=2, per_domain=0))
    head_urls = [h.url for h in _within_caps(hits, per_page=2, per_domain=0)]
    assert [head_urls.count(f"{DOCS}/port{i}.html") for i in range(4)] == [2, 2, 2, 2]
    assert len(hits) > len(head_urls)  # each port page's third passage follows, demoted
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
