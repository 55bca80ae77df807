"""Recrawl: conditional requests, and only what changed is stored."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from stepdr.crawl.run import run_crawl

from .conftest import mock_crawl_config
from .mockserver import MockServer, Site, warc_records

HOST = "etag.test"


def test_recrawl_stores_only_what_changed(tmp_path: Path) -> None:
    with MockServer() as server:
        server.sites = {HOST: Site(links=["/etag/a", "/etag/b", "/page/static"])}
        config = mock_crawl_config(tmp_path, server, HOST)
        first = run_crawl(config)
        assert first.pages == 4
        server.versions["b"] = 2
        server.hits.clear()

        second = run_crawl(replace(config, recrawl=True))
        hits = {h.path: h.headers for h in server.hits}
        assert "/robots.txt" not in hits  # still fresh: read back from the WARC
        assert hits["/etag/a"]["If-None-Match"] == '"a-v1"'
        assert "If-Modified-Since" not in hits["/page/static"]  # the server sent no date
        new = warc_records(tmp_path / "data" / "warc")
        new = [r for r in new if r.warc in {Path(f).name for f in second.warc_files}]
        assert [(r.url, r.status) for r in new] == [(server.url(HOST, "/etag/b"), 200)]
        assert b"b version 2" in new[0].body
        assert second.summary["unchanged"] == 3  # "/" and /page/static (same bytes), /etag/a (304)

        server.hits.clear()
        third = run_crawl(config)  # the recrawl is finished: nothing left to do
        assert third.responses == 0 and server.hits == []
