"""`stepdr-index domains check|list|stats`, through click's CliRunner."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from stepdr.rank.cli import main

from .conftest import FIXTURES, REPO

DOMAINS = FIXTURES / "domains"
VALID = str(DOMAINS / "valid.yaml")


def run(*args: str, env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(main, list(args), env=env, catch_exceptions=False)


def test_help_lists_the_domains_verbs() -> None:
    assert "domains" in run("--help").output
    out = run("domains", "--help").output
    for verb in ("check", "list", "stats"):
        assert verb in out


def test_check_passes_the_shipped_list() -> None:
    r = run("domains", "check", str(REPO / "domains.yaml"))
    assert r.exit_code == 0, r.output
    assert ": ok, " in r.stdout and " entries over " in r.stdout


def test_check_defaults_to_the_configured_file() -> None:
    r = run("domains", "check", env={"STEPDR_DOMAINS": VALID})
    assert r.exit_code == 0 and "ok, 5 entries over 3 registrable domains" in r.stdout


def test_check_reports_every_problem_one_line_each() -> None:
    path = str(DOMAINS / "many_problems.yaml")
    r = run("domains", "check", path)
    assert r.exit_code == 1
    lines = r.stdout.splitlines()
    assert len(lines) == 4
    assert all(line.startswith(f"{path}: entry ") and "field '" in line for line in lines)
    assert "4 problem(s)" in r.stderr


@pytest.mark.parametrize("fixture", sorted(p.name for p in DOMAINS.glob("*.yaml")))
def test_check_fails_each_malformed_fixture(fixture: str) -> None:
    r = run("domains", "check", str(DOMAINS / fixture))
    assert r.exit_code == (0 if fixture == "valid.yaml" else 1), r.output


def test_check_of_a_missing_file(tmp_path: Path) -> None:
    r = run("domains", "check", str(tmp_path / "nope.yaml"))
    assert r.exit_code == 1 and "not found" in r.stdout


def test_list_is_a_table_with_filters() -> None:
    r = run("domains", "list", "--domains", VALID)
    assert r.exit_code == 0, r.output
    lines = r.stdout.splitlines()
    assert lines[0].split() == ["tier", "auth", "scope", "category", "lang", "region", "name"]
    assert len(lines) == 1 + 5
    assert "docs.example.gov/manual" in r.stdout
    r = run("domains", "list", "--domains", VALID, "--category", "reference", "--tier", "3")
    assert [line.split()[2] for line in r.stdout.splitlines()[1:]] == ["wiki.example.net"]
    assert "0.50" in r.stdout  # the authority override
    r = run("domains", "list", "--domains", VALID, "--lang", "fr")
    assert len(r.stdout.splitlines()) == 2 and "standards.example.org" in r.stdout


def test_list_json_for_scripts() -> None:
    r = run("domains", "list", "--domains", VALID, "--region", "us", "--json")
    rows = json.loads(r.stdout)
    assert [(e["domain"], e["path"], e["tier"]) for e in rows] == [
        ("example.gov", "/", 1),
        ("docs.example.gov", "/manual/", 2),
    ]
    assert rows[1]["authority"] == 0.8 and rows[0]["seeds"] == ["https://www.example.gov/"]


def test_list_of_a_bad_file_is_a_one_line_error() -> None:
    r = run("domains", "list", "--domains", str(DOMAINS / "bad_tier.yaml"))
    assert r.exit_code == 1
    assert r.output.startswith("Error: ") and "field 'tier'" in r.output


def test_stats_counts_by_category_tier_lang_and_region() -> None:
    r = run("domains", "stats", "--domains", VALID)
    assert r.exit_code == 0, r.output
    assert r.stdout.startswith("5 entries over 3 registrable domains")
    for header in ("category", "tier", "lang", "region"):
        assert any(line.split()[:2] == [header, "entries"] for line in r.stdout.splitlines())
    r = run("domains", "stats", "--domains", VALID, "--json")
    stats = json.loads(r.stdout)
    assert stats["entries"] == 5 and stats["registrable_domains"] == 3
    assert stats["by_category"] == {"government": 2, "reference": 2, "standards": 1}
    assert stats["by_tier"] == {"1": 2, "2": 1, "3": 1, "4": 1}
    assert stats["by_lang"]["en"] == 3 and stats["by_region"]["us"] == 2
