"""The stepdr-index CLI, through click's CliRunner."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from stepdr.rank.cli import main

from .conftest import SITE_HOST


def run(*args: str) -> Result:
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def one_line_error(result: Result, *needles: str) -> None:
    assert result.exit_code != 0
    text = result.output.strip()
    assert text.startswith("Error: ") and "\n" not in text, text
    for n in needles:
        assert n in text, text


def test_help_lists_the_verbs() -> None:
    out = run("--help").output
    for verb in ("crawl", "build", "search", "open", "stats", "mirror"):
        assert verb in out


def test_crawl_build_search_stats(tmp_path: Path, site_domains: Path) -> None:
    data = str(tmp_path / "data")
    common = ["--data", data, "--domains", str(site_domains)]
    r = run("crawl", *common, "--mirrors", str(tmp_path / "mirrors"), "--offline", "-q")
    assert r.exit_code == 0, r.output
    assert "crawled 4 pages" in r.output
    r = run("build", *common, "--workers", "1")
    assert r.exit_code == 0 and "built " in r.output, r.output
    assert "with torch (fewer than 1000 texts to embed)" in r.output
    r = run("build", *common)
    assert "up to date" in r.output
    r = run("search", "--data", data, "accreditation board quality manual", "-k", "2", "--json")
    payload = json.loads(r.output)
    assert payload["results"][0]["url"] == f"https://{SITE_HOST}/docs/guide/"
    r = run("search", "--data", data, "accreditation board quality manual")
    assert r.exit_code == 0 and f"https://{SITE_HOST}/docs/guide/" in r.output
    r = run("stats", "--data", data)
    assert r.exit_code == 0 and "passages" in r.output
    assert "(384 dims, new text on torch)" in r.output
    r = run("open", "--data", data, f"https://{SITE_HOST}/docs/calibration.html")
    assert r.exit_code == 0 and "dead-weight tester" in r.output


def test_missing_domains_file(tmp_path: Path) -> None:
    r = run("crawl", "--data", str(tmp_path), "--domains", str(tmp_path / "nope.yaml"))
    one_line_error(r, "nope.yaml", "not found")


@pytest.mark.parametrize(
    ("content", "needle"),
    [
        ("domains: [ {domain: a.org\n", "not valid YAML"),
        ("- just a list\n", "'domains' list"),
        ("domains:\n  - {name: A, category: gov, tier: 1}\n", "field 'domain': missing"),
        ("domains:\n  - {domain: a.org, name: A, category: gov, tier: 7}\n", "field 'tier'"),
        ("domains:\n  - {domain: a.org, name: A, category: gov, tier: 1, deny: ['(']}\n", "deny"),
        (
            "domains:\n  - {domain: a.org, name: A, category: gov, tier: 1,"
            " seeds: ['https://b.org/']}\n",
            "outside the entry's scope",
        ),
    ],
)
def test_malformed_domains_file(tmp_path: Path, content: str, needle: str) -> None:
    f = tmp_path / "domains.yaml"
    f.write_text(content)
    one_line_error(run("crawl", "--data", str(tmp_path), "--domains", str(f)), needle)


def test_unreadable_warc(tmp_path: Path, site_domains: Path) -> None:
    bad = tmp_path / "broken.warc.gz"
    bad.write_bytes(b"\x1f\x8b\x08\x00garbage")
    r = run("build", "--data", str(tmp_path / "data"), "--domains", str(site_domains),
            "--warc", str(bad))  # fmt: skip
    one_line_error(r, "broken.warc.gz")


def test_no_warcs_at_all(tmp_path: Path, site_domains: Path) -> None:
    r = run("build", "--data", str(tmp_path / "data"), "--domains", str(site_domains))
    one_line_error(r, "no WARC files")


def test_search_without_index(tmp_path: Path) -> None:
    one_line_error(run("search", "--data", str(tmp_path), "anything"), "no index", "build")


def test_empty_query(tmp_path: Path, crawled_site: Path) -> None:
    data = tmp_path / "data"
    shutil.copytree(crawled_site / "data" / "warc", data / "warc")
    assert run("build", "--data", str(data), "--workers", "1").exit_code == 0
    one_line_error(run("search", "--data", str(data), "  "), "empty query")
    r = run("search", "--data", str(data), "?!*")
    assert r.exit_code == 0 and "no results" in r.output
