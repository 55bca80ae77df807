"""The shipped domain list, the authority model, the loader and the full check."""

from __future__ import annotations

import socket
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import yaml

from stepdr.core.errors import ConfigError
from stepdr.crawl import authority, domains_check
from stepdr.crawl.authority import TIER_AUTHORITY, UNLISTED_AUTHORITY
from stepdr.crawl.domains import Domain, DomainSet
from stepdr.crawl.domains_check import check_file, count_registrable, registrable_domain
from stepdr.crawl.domains_yaml import load_domains, parse_domains

from .conftest import FIXTURES, REPO

SHIPPED = REPO / "domains.yaml"
BAD = FIXTURES / "domains"


@pytest.fixture(scope="module")
def shipped() -> DomainSet:
    return load_domains(SHIPPED)


# --- the shipped list ---------------------------------------------------------


def test_shipped_list_passes_the_full_check() -> None:
    assert [str(p) for p in check_file(SHIPPED) if p.is_error] == []


def test_shipped_list_keeps_its_size(shipped: DomainSet) -> None:
    assert len(shipped) >= 600
    assert count_registrable(shipped) >= 600


def test_shipped_list_starts_with_the_mirrored_entries(shipped: DomainSet) -> None:
    first = [(d.domain, d.path, d.mirror is not None) for d in shipped.domains[:3]]
    assert first == [
        ("docs.python.org", "/3.11/", True),
        ("www.postgresql.org", "/docs/15/", True),
        ("www.sqlite.org", "/", True),
    ]


def test_shipped_list_covers_the_required_ground(shipped: DomainSet) -> None:
    categories = {d.category for d in shipped}
    for c in ("government", "law", "finance", "statistics", "intergovernmental", "standards"):
        assert c in categories
    hosts = {d.domain for d in shipped}
    for h in ("www.gov.cn", "stats.gov.cn", "pbc.gov.cn", "csrc.gov.cn", "npc.gov.cn", "cas.cn"):
        assert h in hosts
    for h in ("rfc-editor.org", "w3.org", "whatwg.org", "who.int", "imf.org", "oecd.org"):
        assert h in hosts
    assert {"en", "zh"} <= {d.lang for d in shipped}


# --- the authority model ------------------------------------------------------


def test_priors_order_the_tiers() -> None:
    assert all(0.0 <= v <= 1.0 for v in TIER_AUTHORITY.values())
    # Tiers 1-4 start ahead of unlisted pages; tier 5, the known-bad, behind them.
    assert min(TIER_AUTHORITY[t] for t in (1, 2, 3, 4)) > UNLISTED_AUTHORITY > TIER_AUTHORITY[5]
    tiers = sorted(TIER_AUTHORITY)
    assert [TIER_AUTHORITY[t] for t in tiers] == sorted(TIER_AUTHORITY.values(), reverse=True)


def test_prior_of_an_entry() -> None:
    assert authority.prior(1) == 1.0
    assert authority.prior(4) == TIER_AUTHORITY[4]
    assert authority.prior(4, override=0.9) == 0.9
    with pytest.raises(ValueError, match="tier"):
        authority.prior(6)
    with pytest.raises(ValueError, match="authority"):
        authority.prior(1, override=1.2)


def _set(*entries: dict[str, Any]) -> DomainSet:
    base = {"name": "X", "category": "government"}
    return parse_domains({"domains": [{**base, **e} for e in entries]})


def test_pages_inherit_the_most_specific_entry() -> None:
    ds = _set(
        {"domain": "a.org", "tier": 2},
        {"domain": "docs.a.org", "tier": 1},
        {"domain": "docs.a.org", "path": "/old/", "tier": 4},
        {"domain": "blog.a.org", "tier": 1, "authority": 0.3},
        {"domain": "b.org", "tier": 3, "deny": ["/drafts/"]},
    )
    assert ds.authority("https://www.a.org/x") == TIER_AUTHORITY[2]  # subdomain inherits
    assert ds.authority("https://docs.a.org/guide/") == TIER_AUTHORITY[1]  # longer host wins
    assert ds.authority("https://eu.docs.a.org/guide/") == TIER_AUTHORITY[1]
    assert ds.authority("https://docs.a.org/old/v1") == TIER_AUTHORITY[4]  # path scope wins
    assert ds.authority("https://blog.a.org/") == 0.3  # override
    assert ds.authority("https://b.org/drafts/1") == UNLISTED_AUTHORITY  # denied, no parent
    assert ds.authority("https://nota.org/") == UNLISTED_AUTHORITY
    assert ds.authority("https://xa.org/") == UNLISTED_AUTHORITY  # not a subdomain of a.org
    assert ds.authority("ftp://a.org/") == UNLISTED_AUTHORITY


def test_a_denied_page_falls_back_to_the_enclosing_entry() -> None:
    ds = _set({"domain": "a.org", "tier": 3}, {"domain": "docs.a.org", "tier": 1, "deny": ["/x"]})
    assert ds.authority("https://docs.a.org/x") == TIER_AUTHORITY[3]


def _brute_force(domains: tuple[Domain, ...], url: str) -> Domain | None:
    ordered = sorted(domains, key=lambda d: (-len(d.domain), -len(d.path)))
    return next((d for d in ordered if d.in_scope(url)), None)


def test_indexed_match_agrees_with_a_scan(shipped: DomainSet) -> None:
    seeds = [s for d in shipped for s in d.seeds]  # a sample: the scan is slow on purpose
    urls = seeds[::9] + [u + "some/page.html" for u in seeds[4::9]]
    urls += ["https://docs.python.org/3.11/genindex.html", "https://unknown.example/"]
    urls += ["https://pubmed.ncbi.nlm.nih.gov/123/", "https://ec.europa.eu/eurostat/web/main"]
    for url in urls:
        assert shipped.match(url) == _brute_force(shipped.domains, url), url


# --- the loader: first problem, one line --------------------------------------


@pytest.mark.parametrize(
    ("fixture", "needles"),
    [
        ("not_yaml.yaml", ["not valid YAML"]),
        ("not_a_mapping.yaml", ["'domains' list"]),
        ("empty_list.yaml", ["is empty"]),
        ("missing_field.yaml", ["entry 1 (a.org)", "field 'name'", "missing"]),
        ("bad_domain.yaml", ["entry 1", "field 'domain'", "not a host name"]),
        ("bad_tier.yaml", ["entry 1 (a.org)", "field 'tier'", "1-5"]),
        ("bad_path.yaml", ["field 'path'"]),
        ("bad_authority.yaml", ["field 'authority'"]),
        ("bad_budget.yaml", ["field 'budget'"]),
        ("bad_pattern.yaml", ["field 'deny'", "does not compile"]),
        ("bad_mirror.yaml", ["field 'mirror'"]),
        ("seed_out_of_scope.yaml", ["field 'seeds'", "outside the entry's scope"]),
        ("duplicate_scope.yaml", ["entry 2 (a.org)", "field 'domain'", "duplicate of entry 1"]),
        ("many_problems.yaml", ["entry 1 (a.org)", "field 'tier'"]),
    ],
)
def test_loader_raises_on_the_first_problem(fixture: str, needles: list[str]) -> None:
    with pytest.raises(ConfigError) as info:
        load_domains(BAD / fixture)
    message = str(info.value)
    assert message.startswith(str(BAD / fixture)) and "\n" not in message
    for needle in needles:
        assert needle in message


def test_loader_accepts_what_only_the_full_check_refuses() -> None:
    # A crawl can run over these; `domains check` is what keeps the shipped list tidy.
    for fixture in ("unknown_field.yaml", "bad_category.yaml", "duplicate_registrable.yaml"):
        assert len(load_domains(BAD / fixture)) >= 1


# --- the full check: every problem ---------------------------------------------


@pytest.mark.parametrize(
    ("fixture", "expected"),
    [
        ("unknown_field.yaml", [(1, "seed", "did you mean 'seeds'")]),
        ("bad_codes.yaml", [(1, "lang", "language code"), (1, "region", "region code")]),
        ("bad_category.yaml", [(1, "category", "did you mean 'government'")]),
        ("duplicate_registrable.yaml", [(2, "domain", "as entry 1")]),
        ("public_suffix.yaml", [(1, "domain", "public suffix"), (2, "domain", "public suffix")]),
        ("unknown_suffix.yaml", [(1, "domain", "known public suffix")]),
        ("bad_tier.yaml", [(1, "tier", "1-5")]),
        ("seed_out_of_scope.yaml", [(1, "seeds", "outside")]),
        (
            "bad_top_level.yaml",
            [
                (None, None, "top-level key 'domain'"),
                (None, None, "'version'"),
                (None, None, "'defaults'"),
            ],
        ),
        (
            "many_problems.yaml",
            [
                (1, "tier", "1-5"),
                (3, "deny", "compile"),
                (3, "seeds", "outside"),
                (4, "domain", "as entry 2"),
            ],
        ),
    ],
)
def test_check_reports_every_problem(
    fixture: str, expected: list[tuple[int | None, str | None, str]]
) -> None:
    problems = check_file(BAD / fixture)
    assert len(problems) == len(expected), [str(p) for p in problems]
    for p, (entry, field, needle) in zip(problems, expected, strict=True):
        assert (p.entry, p.field) == (entry, field)
        assert needle in p.message
        assert str(p).startswith(f"{BAD / fixture}: ") and "\n" not in str(p)


def test_every_malformed_fixture_fails_the_check() -> None:
    for f in sorted(BAD.glob("*.yaml")):
        assert bool(check_file(f)) == (f.name != "valid.yaml"), f.name


def test_check_of_a_missing_file(tmp_path: Path) -> None:
    [problem] = check_file(tmp_path / "nope.yaml")
    assert "not found" in str(problem)


def test_check_takes_yaml_already_read() -> None:
    data = yaml.safe_load((BAD / "valid.yaml").read_text())
    assert domains_check.check_data(data, "x") == []


def test_registrable_domains_come_from_the_bundled_list(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_network(*args: object, **kwargs: object) -> None:
        raise AssertionError("tldextract tried the network")

    monkeypatch.setattr(socket, "socket", no_network)
    monkeypatch.setattr(socket, "create_connection", no_network)
    domains_check._extractor.cache_clear()
    try:
        assert registrable_domain("www.stats.gov.cn") == "stats.gov.cn"
        assert registrable_domain("www.gov.cn") == "www.gov.cn"
        assert registrable_domain("numpy.readthedocs.io") == "numpy.readthedocs.io"
        assert registrable_domain("github.io") == ""
    finally:
        domains_check._extractor.cache_clear()


def test_shipped_chinese_side_spans_the_areas_of_a_research_task(shipped: DomainSet) -> None:
    from stepdr.crawl.domains_cli import area_of

    chinese = [d for d in shipped if d.lang.startswith("zh")]
    assert len(chinese) >= 250
    areas = Counter(area_of(d.category) for d in chinese)
    for area in ("policy", "commercial", "standards", "software", "science"):
        assert areas[area] >= 10, area
    about = [d for d in shipped if d.about]
    assert about and all(d.tier <= 2 for d in about)  # `about:` only narrows a high tier
