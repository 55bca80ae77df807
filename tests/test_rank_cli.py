"""The ranking side of the command line: search --explain, serve, mcp, eval."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner, Result

from stepdr.rank.cli import main

from .rankutil import GOV


def run(*args: str) -> Result:
    return CliRunner().invoke(main, list(args))


def test_help_lists_the_server_verbs() -> None:
    out = run("--help").output
    for verb in ("serve", "mcp", "eval", "search"):
        assert verb in out
    assert "--explain" in run("search", "--help").output


def test_search_explain(corpus: Path) -> None:
    r = run("search", "--data", str(corpus), "cod stocks recovered", "-k", "2", "--explain")
    assert r.exit_code == 0, r.output
    lines = [line.strip() for line in r.output.splitlines() if "final" in line]
    assert (
        len(lines) == 2 and lines[0].startswith("bm25 ") and "authority 1.00 → π 1.000" in lines[0]
    )
    r = run("search", "--data", str(corpus), "cod stocks", "--json", "--explain", "-k", "1")
    hit = json.loads(r.output)["results"][0]
    assert hit["url"] == f"{GOV}/cod.html" and set(hit["scores"]) >= {"bm25", "dense", "fused"}
    plain = json.loads(run("search", "--data", str(corpus), "cod", "--json").output)
    assert "scores" not in plain["results"][0]


def test_search_knobs(corpus: Path) -> None:
    query = "cod stocks recovered highest level thirty years quotas"
    r = run("search", "--data", str(corpus), query, "-k", "1", "--json", "--authority-weight", "0")
    assert json.loads(r.output)["results"][0]["url"].startswith("https://blog.")
    r = run("search", "--data", str(corpus), query, "-k", "1", "--json", "--fusion", "weighted")
    assert json.loads(r.output)["results"][0]["url"] == f"{GOV}/cod.html"
    r = run("search", "--data", str(corpus), query, "--authority-weight", "3")
    assert r.exit_code != 0 and "authority-weight" in r.output


def test_servers_listen_on_loopback_only(corpus: Path) -> None:
    r = run("serve", "--data", str(corpus), "--host", "0.0.0.0")
    assert r.exit_code != 0 and "loopback only" in r.output
    r = run("mcp", "--data", str(corpus), "--transport", "http", "--host", "192.168.1.5")
    assert r.exit_code != 0 and "loopback only" in r.output


def test_search_says_where_the_expected_page_ranks(corpus: Path) -> None:
    first = run(
        "search", "--data", str(corpus), "cod stocks recovered", "--expect", f"{GOV}/cod.html"
    )
    assert first.exit_code == 0 and f"expected page first: {GOV}/cod.html" in first.output
    # Any spelling of the URL names the page.
    http = run(
        "search",
        "--data",
        str(corpus),
        "cod stocks",
        "--expect",
        "http://gov.example.org/cod.html#x",
    )
    assert "expected page first" in http.output
    later = run(
        "search", "--data", str(corpus), "tide tables", "-k", "3", "--expect", f"{GOV}/cod.html"
    )
    assert "expected page NOT first (not among the" in later.output
    out = run(
        "search", "--data", str(corpus), "cod stocks", "--json", "--expect", f"{GOV}/cod.html"
    )
    assert json.loads(out.output)["expected"] == {"url": f"{GOV}/cod.html", "page_rank": 1}
