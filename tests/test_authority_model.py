"""The authority model's refinements: suffix defaults, the known-bad tier, outdated
releases and budgets by category; each for ranking, none of them widening a crawl."""

from __future__ import annotations

from pathlib import Path

import pytest

from stepdr.core.errors import ConfigError
from stepdr.crawl.authority import (
    ABOUT_ELSEWHERE,
    KNOWN_BAD,
    OUTDATED_FACTOR,
    TIER_AUTHORITY,
    UNLISTED_AUTHORITY,
)
from stepdr.crawl.domains import DomainSet
from stepdr.crawl.domains_check import check_data
from stepdr.crawl.domains_yaml import parse_domains
from stepdr.crawl.run import run_crawl
from stepdr.index.build import BuildConfig, build_index
from stepdr.rank import Surfer
from stepdr.rank.prior import names_any

from .conftest import mock_crawl_config
from .mockserver import MockServer, Site
from .warcutil import html_page, write_warc


def _entry(domain: str, tier: int, **kw: object) -> dict[str, object]:
    return {"domain": domain, "name": domain, "category": "docs", "tier": tier, **kw}


def _built(tmp_path: Path, ds: DomainSet, pages: dict[str, tuple[str, str]]) -> Surfer:
    """A BM25 index of one-paragraph pages (url: (title, text)), opened."""
    warc = write_warc(tmp_path / "w.warc.gz", {
        url: ("text/html", html_page(title, text)) for url, (title, text) in pages.items()
    })  # fmt: skip
    config = BuildConfig(tmp_path / "data", warcs=(warc,), workers=1, dense=False, min_words=5)
    build_index(config, ds)
    return Surfer.open(tmp_path / "data")


def test_suffix_defaults_rank_unlisted_pages_and_never_scope_them() -> None:
    ds = parse_domains(
        {"suffix_defaults": {"gov.cn": 2, "edu": 3}, "domains": [_entry("www.gov.cn", 1)]}
    )
    assert ds.authority("https://www.gov.cn/x") == TIER_AUTHORITY[1]  # an entry wins
    assert ds.authority("https://www.miit.gov.cn/x") == TIER_AUTHORITY[2]
    assert ds.authority("https://cs.mit.edu/") == TIER_AUTHORITY[3]
    assert ds.authority("https://example.com/") == UNLISTED_AUTHORITY
    assert ds.match("https://www.miit.gov.cn/x") is None  # not a crawl scope
    assert ds.select(["www.gov.cn"]).suffixes == ds.suffixes
    for bad, why in (({"gov.cn": 9}, "tier"), ({"not a suffix": 2}, "host suffix"), ([1], "map")):
        with pytest.raises(ConfigError, match=why):
            parse_domains({"suffix_defaults": bad, "domains": [_entry("a.org", 1)]})
    problems = check_data({"suffix_defaults": {"gov.cn": 9}, "domains": [_entry("a.org", 1)]})
    assert any("suffix_defaults" in str(p) for p in problems)


def test_a_suffix_default_never_widens_the_crawl(tmp_path: Path) -> None:
    host, other = "site.test", "agency.gov.test"
    with MockServer() as server:
        server.sites = {host: Site(links=[server.url(other, "/")])}
        config = mock_crawl_config(
            tmp_path, server, host,
            resolve=((host, "127.0.0.1"), (other, "127.0.0.1")), allow_private_hosts=(host, other),
        )  # fmt: skip
        text = config.domains_file.read_text()
        config.domains_file.write_text("suffix_defaults: {gov.test: 1}\n" + text)
        result = run_crawl(config)
        assert server.hits_of(other) == []
    assert result.summary["rejected"].get("scope", 0) >= 1


def test_known_bad_ranks_below_unlisted_and_is_never_crawled(tmp_path: Path) -> None:
    assert TIER_AUTHORITY[KNOWN_BAD] < UNLISTED_AUTHORITY
    host, farm = "good.test", "farm.good.test"
    with MockServer() as server:
        server.sites = {host: Site(links=[server.url(farm, "/"), "/page/a"])}
        config = mock_crawl_config(
            tmp_path, server, host,
            resolve=((host, "127.0.0.1"), (farm, "127.0.0.1")), allow_private_hosts=(host, farm),
        )  # fmt: skip
        config.domains_file.write_text(
            config.domains_file.read_text()
            + f"- domain: {farm}\n  name: farm\n  category: test\n  tier: 5\n"
        )
        result = run_crawl(config)
        assert server.hits_of(farm) == []
    assert result.summary["rejected"]["known_bad"] >= 1
    # In an index of WARCs from elsewhere, the farm's copy comes after an unlisted one.
    farm_text = "Thermometer calibration intervals: checked every twelve months by the lab."
    blog_text = "Thermometer calibration intervals: our lab checks each one every twelve months."
    ds = parse_domains({"domains": [_entry("farm.example", KNOWN_BAD)]})
    surfer = _built(tmp_path, ds, {
        "https://farm.example/copy.html": ("Thermometers", farm_text),
        "https://blog.example/post.html": ("Thermometers", blog_text),
    })  # fmt: skip
    hits = surfer.search("thermometer calibration intervals", 2)
    assert [h.site for h in hits] == ["blog.example", "farm.example"]  # both kept, farm last
    assert [h.authority for h in hits] == [UNLISTED_AUTHORITY, TIER_AUTHORITY[KNOWN_BAD]]


def test_an_outdated_release_loses_to_the_current_one(tmp_path: Path) -> None:
    ds = parse_domains({"domains": [
        _entry("docs.example.org", 1, path="/v1/", version="outdated"),
        _entry("docs.example.org", 1, path="/v2/"),
    ]})  # fmt: skip
    old, new = ds.match("https://docs.example.org/v1/a"), ds.match("https://docs.example.org/v2/a")
    assert old is not None and new is not None
    assert old.authority == pytest.approx(TIER_AUTHORITY[1] * OUTDATED_FACTOR)
    assert new.authority == TIER_AUTHORITY[1]
    v1 = "The cache decorator stores results by argument and evicts the least recent ones."
    v2 = "The cache decorator keeps results by argument and evicts the least recent entries."
    surfer = _built(tmp_path, ds, {
        "https://docs.example.org/v1/cache.html": ("cache", v1),
        "https://docs.example.org/v2/cache.html": ("cache", v2),
    })  # fmt: skip
    hits = surfer.search("cache decorator evicts", 2)
    assert [h.url.split("/")[3] for h in hits] == ["v2", "v1"]  # both kept, current first
    with pytest.raises(ConfigError, match="version"):
        parse_domains({"domains": [_entry("a.org", 1, version="old")]})


def test_budgets_follow_the_category() -> None:
    ds = parse_domains({
        "defaults": {"budget": 2000},
        "budgets": {"news": 300, "software-docs": 5000},
        "domains": [
            {"domain": "a.org", "name": "a", "category": "news", "tier": 3},
            {"domain": "b.org", "name": "b", "category": "news", "tier": 3, "budget": 50},
            {"domain": "c.org", "name": "c", "category": "software-docs", "tier": 1},
            {"domain": "d.org", "name": "d", "category": "law", "tier": 1},
        ],
    })  # fmt: skip
    assert [d.budget for d in ds] == [300, 50, 5000, 2000]
    with pytest.raises(ConfigError, match="budgets"):
        parse_domains({"budgets": {"news": 0}, "domains": [_entry("a.org", 1)]})


def test_check_flags_user_content_at_tier_1_and_entries_below_their_suffix() -> None:
    data = {
        "suffix_defaults": {"gov.cn": 2},
        "domains": [
            _entry("discuss.python.org", 1),
            _entry("developer.apple.com", 1, path="/forums/"),
            _entry("docs.python.org", 1),
            _entry("stats.example.gov.cn", 3),
            _entry("www.gov.cn", 1),
        ],
    }
    problems = [str(p) for p in check_data(data)]
    assert any("discuss.python.org" in p and "user-written" in p for p in problems)
    assert any("developer.apple.com/forums/" in p for p in problems)
    assert any("stats.example.gov.cn" in p and "suffix default" in p for p in problems)
    assert not any("docs.python.org" in p or "www.gov.cn" in p for p in problems)
    data["domains"] = [_entry("discuss.python.org", 4), _entry("stats.example.gov.cn", 2)]
    assert check_data(data) == []


def test_check_warns_of_a_large_site_seeded_only_at_its_homepage() -> None:
    home = _entry("stats.example.org", 1, category="statistics", budget=2000,
                  seeds=["https://stats.example.org/"])  # fmt: skip
    seeds = ["https://laws.example.org/", "https://laws.example.org/acts/"]
    deep = _entry("laws.example.org", 1, category="law", budget=2000, seeds=seeds)
    small = _entry("small.example.org", 1, category="statistics", budget=200)
    docs = _entry("docs.example.org", 1, budget=5000)  # software docs start well at home
    problems = check_data({"domains": [home, deep, small, docs]})
    assert [(p.domain, p.severity) for p in problems] == [("stats.example.org", "warning")]
    assert "homepage" in str(problems[0]) and str(problems[0]).startswith("warning: ")


def test_a_source_primary_only_about_itself_wins_only_when_named(tmp_path: Path) -> None:
    ds = parse_domains({"domains": [
        _entry("docs.acme.example", 1, about=["Acme", "Widgetron", "艾克米"]),
        _entry("handbook.example.org", 2),
    ]})  # fmt: skip
    vendor = ds.match("https://docs.acme.example/cache.html")
    assert vendor is not None and vendor.about == ("Acme", "Widgetron", "艾克米")
    assert vendor.authority == TIER_AUTHORITY[1]
    assert vendor.authority_elsewhere == ABOUT_ELSEWHERE
    vendor_text = "The cache keeps results by argument and evicts the least recently used entries."
    other_text = "The cache stores results by argument and evicts the least recently used ones."
    surfer = _built(tmp_path, ds, {
        "https://docs.acme.example/cache.html": ("Caching", vendor_text),
        "https://handbook.example.org/cache.html": ("Caching", other_text),
    })  # fmt: skip
    elsewhere = surfer.search("cache evicts least recently used", 2)
    assert [h.url.split("/")[2] for h in elsewhere] == ["handbook.example.org", "docs.acme.example"]
    assert elsewhere[1].authority == ABOUT_ELSEWHERE
    named = surfer.search("Acme cache evicts least recently used", 2)
    assert [h.url.split("/")[2] for h in named] == ["docs.acme.example", "handbook.example.org"]
    assert named[0].authority == TIER_AUTHORITY[1]
    assert names_any("艾克米的缓存", ("艾克米",)) and names_any("widgetron?", ("Widgetron",))
    assert not names_any("Acmeish cache", ("Acme",))
    with pytest.raises(ConfigError, match="about"):
        parse_domains({"domains": [_entry("a.org", 1, about=[1])]})
