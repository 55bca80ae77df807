"""Build an index from WARCs (ours and foreign ones) and search it."""

from __future__ import annotations

import shutil
import subprocess
import threading
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.request import urlopen

import pytest

from stepdr.core.errors import IndexNotFoundError, QueryError, WarcError
from stepdr.crawl.authority import UNLISTED_AUTHORITY
from stepdr.crawl.domains_yaml import load_domains
from stepdr.index.build import BuildConfig, build_index
from stepdr.index.versions import IndexDir
from stepdr.rank.surfer import Surfer

from .conftest import FIXTURES, SITE_HOST


@pytest.fixture(scope="module")
def built(crawled_site: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    data = tmp_path_factory.mktemp("built") / "data"
    shutil.copytree(crawled_site / "data" / "warc", data / "warc")
    build_index(BuildConfig(data, workers=1), load_domains(crawled_site / "domains.yaml"))
    return data


def test_search_finds_the_expected_page(built: Path) -> None:
    results = Surfer.open(built).search("platinum resistance thermometer recalibrated", 3)
    top = results[0]
    assert top.url == f"https://{SITE_HOST}/docs/calibration.html"
    assert top.title == "Calibration guide"
    assert top.site == SITE_HOST
    assert top.headings[-1] == "Thermometer calibration intervals"
    assert top.cite_id.startswith("web_") and len(top.cite_id) == 12
    assert top.authority == 1.0
    assert "Platinum" in top.snippet


def test_search_follows_redirected_pages_and_skips_robots_disallowed(built: Path) -> None:
    s = Surfer.open(built)
    hit = s.search("nonconformities assessors on-site visit", 1)[0]
    assert hit.url == f"https://{SITE_HOST}/docs/guide/"
    assert s.search("zebra password rotation", 5) == []


def test_open_returns_page_text_or_a_per_url_error(built: Path) -> None:
    ok, missing = Surfer.open(built).batch_open(
        [f"https://{SITE_HOST}/docs/calibration.html", "https://nowhere.example/"]
    )
    assert ok.error is None and ok.content and "dead-weight tester" in ok.content
    assert missing.content is None and missing.error and "not in the index" in missing.error


def test_rebuild_of_unchanged_sources_is_skipped(built: Path, crawled_site: Path) -> None:
    domains = load_domains(crawled_site / "domains.yaml")
    result = build_index(BuildConfig(built, workers=1), domains)
    assert result.skipped


def test_query_limits(built: Path) -> None:
    s = Surfer.open(built)
    with pytest.raises(QueryError, match="empty query"):
        s.search("   ")
    with pytest.raises(QueryError, match="topk"):
        s.search("calibration", 0)
    assert s.search('"":-(AND OR) title:[ *', 5) is not None


def test_no_index_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(IndexNotFoundError, match="stepdr-index build"):
        Surfer.open(tmp_path)


def test_unreadable_warc_is_a_clear_error(tmp_path: Path, site_domains: Path) -> None:
    bad = tmp_path / "bad.warc.gz"
    bad.write_bytes(b"this is not a warc file\n" * 10)
    with pytest.raises(WarcError, match=r"bad\.warc\.gz"):
        build_index(BuildConfig(tmp_path / "data", warcs=(bad,)), load_domains(site_domains))
    assert IndexDir(tmp_path / "data").current_or_none() is None


def _serve_fixture_site() -> tuple[ThreadingHTTPServer, str]:
    handler = partial(SimpleHTTPRequestHandler, directory=str(FIXTURES / "site"))
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    return httpd, f"http://127.0.0.1:{httpd.server_address[1]}"


def _check_foreign_build(data: Path, warc: Path, base: str, site_domains: Path) -> None:
    result = build_index(BuildConfig(data, warcs=(warc,), workers=1), load_domains(site_domains))
    assert result.pages >= 2
    hits = Surfer.open(data).search("dead-weight tester pressure gauges", 3)
    assert hits[0].url == f"{base}/docs/calibration.html"
    assert hits[0].authority == UNLISTED_AUTHORITY  # not in the domain list


def test_build_reads_a_warc_written_by_warcio_capture(tmp_path: Path, site_domains: Path) -> None:
    from warcio.capture_http import capture_http

    httpd, base = _serve_fixture_site()
    warc = tmp_path / "captured.warc.gz"
    try:
        with capture_http(str(warc)):
            for page in ("/", "/docs/", "/docs/calibration.html"):
                urlopen(base + page).read()
    finally:
        httpd.shutdown()
    _check_foreign_build(tmp_path / "data", warc, base, site_domains)


@pytest.mark.skipif(shutil.which("wget") is None, reason="wget not installed")
def test_build_reads_a_warc_written_by_wget(tmp_path: Path, site_domains: Path) -> None:
    httpd, base = _serve_fixture_site()
    try:
        subprocess.run(
            ["wget", "-q", "-r", "-l", "3", "--no-verbose", "-e", "robots=off",
             "--warc-file", str(tmp_path / "wget"), "-P", str(tmp_path / "dl"), base + "/"],
            check=False, timeout=60,
        )  # fmt: skip
    finally:
        httpd.shutdown()
    _check_foreign_build(tmp_path / "data", tmp_path / "wget.warc.gz", base, site_domains)
