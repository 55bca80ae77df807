"""A crawl tells the curator which seeds answered and which sites moved out of the list."""

from __future__ import annotations

import json
from pathlib import Path

from stepdr.crawl.run import run_crawl
from stepdr.crawl.summary import format_summary

from .conftest import mock_crawl_config
from .mockserver import MockServer, Site

HOST = "old.test"


def test_moved_sites_and_dead_seeds_are_reported(tmp_path: Path) -> None:
    with MockServer() as server:
        server.sites = {HOST: Site(links=["/moved/new.test", "/page/a"])}
        config = mock_crawl_config(tmp_path, server, HOST)
        domains = config.domains_file.read_text().replace(
            f"- {server.url(HOST, '/')}",
            f"- {server.url(HOST, '/')}\n  - {server.url(HOST, '/status/404')}",
        )
        config.domains_file.write_text(domains)
        result = run_crawl(config)
        assert server.hits_of("new.test") == []  # the new home is not in the list: not fetched
    summary = result.summary
    moved = summary["moved"][HOST]
    assert moved == [{
        "from": server.url(HOST, "/moved/new.test"),
        "to": server.url("new.test", "/"),
        "status": 301,
    }]  # fmt: skip
    assert summary["seeds"] == {server.url(HOST, "/"): 200, server.url(HOST, "/status/404"): 404}
    kept = json.loads(config.stats_file.read_text())["summary"]
    assert kept["moved"] == summary["moved"] and kept["seeds"] == summary["seeds"]
    lines = format_summary(summary)
    assert f"warning: seed {server.url(HOST, '/status/404')} answered 404" in lines
    assert any(
        "redirects (301) out of the list to " + server.url("new.test", "/") in line
        for line in lines
    )
