"""A build after a recrawl extracts only the pages whose content changed."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from stepdr.crawl.domains_yaml import parse_domains
from stepdr.index.build import STATS_FILE, BuildConfig, build_index
from stepdr.index.store import PassageStore
from stepdr.index.versions import IndexDir

from .warcutil import html_page, write_warc

HOST = "https://stats.example.org"
DOMAINS = parse_domains({"domains": [
    {"domain": "stats.example.org", "name": "x", "category": "statistics", "tier": 1},
]})  # fmt: skip


def _page(i: int, version: int = 0) -> tuple[str, bytes]:
    paragraphs = [
        f"Release {i} reports the quarterly series {i * 7 + j} with revision {version} of the "
        f"seasonal adjustment, the methodology note and the table of regional estimates."
        for j in range(3)
    ]
    return "text/html", html_page(f"Release {i}", *paragraphs)


def _passages(data: Path) -> set[tuple[str, int, str]]:
    store = PassageStore(IndexDir(data).current())
    try:
        return {(p.url, p.ordinal, p.text) for p in store.get_many(store.all_ids()).values()}
    finally:
        store.close()


def _stats(data: Path) -> dict[str, object]:
    return dict(json.loads((data / "index" / STATS_FILE).read_text()))


def test_a_rebuild_extracts_only_changed_and_new_pages(tmp_path: Path) -> None:
    first = write_warc(tmp_path / "a.warc.gz", {f"{HOST}/r{i}.html": _page(i) for i in range(60)})
    data = tmp_path / "data"
    config = BuildConfig(data, warcs=(tmp_path,), workers=1, dense=False, min_words=5)
    build_index(config, DOMAINS)
    assert _stats(data)["extracted_pages"] == 60 and _stats(data)["cached_pages"] == 0

    changed = {f"{HOST}/r{i}.html": _page(i, version=1) for i in (3, 40)}
    changed[f"{HOST}/r60.html"] = _page(60)
    write_warc(tmp_path / "b.warc.gz", changed)  # the recrawl: later file, later copies
    build_index(config, DOMAINS)
    stats = _stats(data)
    assert stats["extracted_pages"] == 3 and stats["cached_pages"] == 58
    assert stats["pages"] == 61

    fresh = tmp_path / "fresh"
    build_index(BuildConfig(fresh, warcs=(tmp_path,), workers=1, dense=False, min_words=5), DOMAINS)
    assert _passages(data) == _passages(fresh)  # the same index as a build from nothing
    assert any("revision 1" in text for url, _, text in _passages(data) if url.endswith("/r3.html"))
    con = sqlite3.connect(data / "cache" / "pages.sqlite")
    assert con.execute("SELECT COUNT(*) FROM page").fetchone()[0] == 61  # old copies dropped
    con.close()
    assert first.exists()
