"""A real Scrapy crawl of the fixture site through the loopback mirror into WARC."""

from __future__ import annotations

from pathlib import Path

import pytest
from warcio.archiveiterator import ArchiveIterator

from stepdr.core.errors import ConfigError, CrawlError
from stepdr.crawl.config import CrawlConfig
from stepdr.crawl.run import run_crawl

from .conftest import SITE_HOST, write_domains


def _records(warc_files: tuple[str, ...]) -> dict[str, int]:
    """Target URI -> HTTP status of each response record."""
    out = {}
    for f in warc_files:
        with open(f, "rb") as fh:
            for rec in ArchiveIterator(fh):
                if rec.rec_type == "response":
                    uri = rec.rec_headers.get_header("WARC-Target-URI")
                    out[uri] = int(rec.http_headers.get_statuscode())
    return out


def test_crawl_writes_real_urls_to_warc(tmp_path: Path, site_domains: Path) -> None:
    config = CrawlConfig(site_domains, tmp_path / "data", tmp_path / "mirrors", offline=True)
    result = run_crawl(config)
    records = _records(result.warc_files)
    base = f"https://{SITE_HOST}"
    assert records[f"{base}/"] == 200
    assert records[f"{base}/docs/calibration.html"] == 200  # fragment dropped
    assert records[f"{base}/docs/guide"] == 301  # the redirect itself is archived
    assert records[f"{base}/docs/guide/"] == 200
    assert records[f"{base}/docs/missing.html"] == 404
    assert records[f"{base}/robots.txt"] == 200
    assert not any("/private/" in u for u in records), "robots.txt disallows /private/"
    assert not any("elsewhere.example.net" in u for u in records), "out of scope"
    assert result.pages == 4  # the 404 is archived but is no page

    # A finished crawl is not repeated.
    again = run_crawl(config)
    assert again.responses == 0 and again.warc_files == ()


def test_budget_limits_pages_per_domain(tmp_path: Path, site_domains: Path) -> None:
    config = CrawlConfig(
        site_domains, tmp_path / "data", tmp_path / "mirrors", offline=True, budget=2
    )
    records = _records(run_crawl(config).warc_files)
    pages = [u for u in records if not u.endswith("robots.txt")]
    assert len(pages) == 2


def test_bad_domains_file_fails_before_crawling(tmp_path: Path) -> None:
    bad = tmp_path / "domains.yaml"
    bad.write_text("domains: [ {domain: x.org, name: X, category: gov, tier: 9} ]")
    with pytest.raises(ConfigError, match="tier"):
        run_crawl(CrawlConfig(bad, tmp_path / "data", tmp_path / "mirrors"))


def test_offline_without_mirrors_is_an_error(tmp_path: Path) -> None:
    domains = write_domains(
        tmp_path / "d.yaml",
        [{"domain": "x.example.org", "name": "X", "category": "gov", "tier": 1}],
    )
    with pytest.raises(CrawlError, match="no selected entry has a mirror"):
        run_crawl(CrawlConfig(domains, tmp_path / "data", tmp_path / "m", offline=True))
