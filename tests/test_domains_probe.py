"""`stepdr-index domains probe`: dead, moved and disallowed seeds found without a crawl,
and the crawl's own report of robots.txt verdicts."""

from __future__ import annotations

import json
from itertools import pairwise
from pathlib import Path
from urllib.parse import urlsplit

from click.testing import CliRunner

from stepdr.crawl.domains_yaml import load_domains
from stepdr.crawl.probe import http_fetcher, probe, probe_lines
from stepdr.crawl.run import run_crawl
from stepdr.crawl.summary import format_summary
from stepdr.rank.cli import main

from .conftest import mock_crawl_config, write_domains
from .mockserver import MockServer, Site

HOSTS = ("ok.test", "old.test", "gone.test", "shut.test", "down.test", "hop.test", "new.test")


def _entries(server: MockServer) -> list[dict[str, object]]:
    def entry(host: str, *paths: str) -> dict[str, object]:
        seeds = [server.url(host, p) for p in paths]
        return {"domain": host, "name": host, "category": "test", "tier": 2, "seeds": seeds}

    return [
        entry("ok.test", "/", "/page/a"),
        entry("old.test", "/moved/elsewhere.test"),  # moved to a host outside the list
        entry("gone.test", "/status/404"),
        entry("shut.test", "/"),
        entry("down.test", "/"),
        entry("hop.test", "/moved/new.test"),  # moved inside the list: fine
        entry("new.test", "/"),
    ]


def _serve(server: MockServer) -> None:
    server.sites = {
        "shut.test": Site(robots=(200, "User-agent: *\nDisallow: /\n")),
        "down.test": Site(robots=(503, "")),
    }


def test_probe_finds_dead_moved_and_disallowed_seeds(tmp_path: Path) -> None:
    with MockServer() as server:
        _serve(server)
        domains = load_domains(write_domains(tmp_path / "d.yaml", _entries(server)))
        fetch = http_fetcher("stepdr-test", timeout=5.0, resolve=dict.fromkeys(HOSTS, "127.0.0.1"))
        results = probe(domains, fetch, delay=0.2, workers=4)
        ok_hits = server.hits_of("ok.test")
        assert server.hits_of("elsewhere.test") == []  # a hop out of the list is never taken
    by_seed = {f"{urlsplit(r.seed).hostname}{urlsplit(r.seed).path}": r for r in results}
    assert [r.entry for r in results] == [
        "ok.test", "ok.test", "old.test", "gone.test", "shut.test", "down.test", "hop.test",
        "new.test",
    ]  # fmt: skip
    assert by_seed["ok.test/"].ok and by_seed["ok.test/page/a"].robots == "rules"
    old = by_seed["old.test/moved/elsewhere.test"]
    assert not old.ok and old.status == 301 and old.left_scope is not None
    assert old.left_scope.startswith("http://elsewhere.test:")
    assert by_seed["gone.test/status/404"].status == 404
    shut = by_seed["shut.test/"]
    assert not shut.allowed and shut.status is None  # never asked: robots.txt says no
    assert by_seed["down.test/"].robots == "unreachable (503)"
    hop = by_seed["hop.test/moved/new.test"]
    assert hop.ok and hop.final.startswith("http://new.test:")
    # One host, one request at a time, `delay` apart: robots.txt, then two seeds.
    times = sorted(h.at for h in ok_hits)
    assert len(times) == 3 and all(b - a >= 0.19 for a, b in pairwise(times))
    lines = probe_lines(results)
    assert lines[-1] == "8 seed(s) probed: 4 ok, 4 to look at"
    assert any("old.test" in line and "out of the list to http://elsewhere.test" in line
               for line in lines)  # fmt: skip
    assert any("shut.test" in line and "disallowed by robots.txt" in line for line in lines)


def test_probe_command_prints_and_writes_json(tmp_path: Path) -> None:
    with MockServer() as server:
        _serve(server)
        path = write_domains(tmp_path / "d.yaml", _entries(server))
        out = tmp_path / "probe.json"
        args = ["domains", "probe", "--domains", str(path), "--delay", "0", "--out", str(out)]
        args += ["--only", "gone.test", "--only", "ok.test"]
        for host in HOSTS:
            args += ["--resolve", f"{host}:127.0.0.1"]
        r = CliRunner().invoke(main, args, catch_exceptions=False)
    assert r.exit_code == 0, r.output
    assert "warning: gone.test: seed " in r.stdout and "answered 404" in r.stdout
    assert r.stdout.strip().endswith("3 seed(s) probed: 2 ok, 1 to look at")
    kept = json.loads(out.read_text())
    assert [row["ok"] for row in kept] == [True, True, False]
    bad = CliRunner().invoke(main, ["domains", "probe", "--domains", str(path), "--resolve", "x"])
    assert bad.exit_code == 2 and "HOST:ADDRESS" in bad.output


def test_crawl_reports_robots_verdicts(tmp_path: Path) -> None:
    with MockServer() as server:
        server.sites = {"main.test": Site(links=["/page/a"])}
        config = mock_crawl_config(tmp_path, server, "main.test")
        result = run_crawl(config)
    robots_url = server.url("main.test", "/robots.txt")
    assert result.summary["robots"] == {robots_url: "rules"}
    assert result.summary["pages_by_entry"] == {"main.test": 2}
    assert not any("robots.txt" in line for line in format_summary(result.summary))
