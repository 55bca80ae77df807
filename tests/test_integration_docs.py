"""Crawl a slice of the real python3.11-doc mirror, build, and search it."""

from __future__ import annotations

from pathlib import Path

import pytest

from stepdr.crawl.config import CrawlConfig
from stepdr.crawl.domains_yaml import load_domains
from stepdr.crawl.run import run_crawl
from stepdr.index.build import BuildConfig, build_index
from stepdr.rank.surfer import Surfer

from .conftest import docs_mirrors, require_mirror, write_domains

pytestmark = pytest.mark.integration

FUNCTOOLS = "https://docs.python.org/3.11/library/functools.html"


def test_lru_cache_query_finds_functools(tmp_path: Path) -> None:
    require_mirror("python3.11-doc")
    domains = write_domains(
        tmp_path / "domains.yaml",
        [
            {
                "domain": "docs.python.org",
                "path": "/3.11/",
                "name": "Python 3.11 documentation",
                "category": "software-docs",
                "tier": 1,
                # The functional-programming chapter links functools, itertools, operator.
                "seeds": ["https://docs.python.org/3.11/library/functional.html"],
                # As in domains.yaml: the Sphinx index pages are lists of links, and
                # reached early they would take most of a 40-page budget.
                "deny": [r"/3\.11/(genindex|py-modindex|search)", "/_sources/", "/_static/"],
                "mirror": {"package": "python3.11-doc", "path": "usr/share/doc/python3.11/html"},
            }
        ],
    )
    data = tmp_path / "data"
    crawl = run_crawl(CrawlConfig(domains, data, docs_mirrors(), offline=True, budget=40))
    assert 20 <= crawl.pages <= 40
    result = build_index(BuildConfig(data), load_domains(domains))
    assert result.passages > 500

    hits = Surfer.open(data).search("lru_cache maxsize", 3)
    assert FUNCTOOLS in [h.url for h in hits]
    # The page's canonical link came as file:// in the package; the index holds the real URL.
    assert all(h.url.startswith("https://docs.python.org/3.11/") for h in hits)
