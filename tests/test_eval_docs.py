"""The checked-in known-item sample against the real documentation mirrors.

The judged pages are read straight from the unpacked Debian packages into a WARC
under their real URLs, indexed (BM25 only, to stay quick), and evaluated with
the same code as `stepdr-index eval`.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from stepdr.crawl.domains_yaml import parse_domains
from stepdr.index.build import BuildConfig, build_index
from stepdr.rank import Surfer
from stepdr.rank.evaluate import answerable, evaluate, read_beir

from .conftest import docs_mirrors
from .warcutil import write_warc

pytestmark = pytest.mark.integration

SAMPLE = Path(__file__).parent / "fixtures" / "eval" / "known-items"
SITES = {  # URL prefix -> (package, where its HTML sits)
    "https://docs.python.org/3.11/": ("python3.11-doc", "usr/share/doc/python3.11/html"),
    "https://docs.djangoproject.com/en/3.2/": (
        "python-django-doc", "usr/share/doc/python-django-doc/html",
    ),
    "https://docs.scrapy.org/en/2.8/": (
        "python-scrapy-doc", "usr/share/doc/python-scrapy-doc/html",
    ),
}  # fmt: skip


def test_known_item_sample_on_the_docs_mirrors(tmp_path: Path) -> None:
    data = read_beir(SAMPLE)
    pages: dict[str, tuple[str, bytes]] = {}
    entries = []
    for prefix, (package, path) in SITES.items():
        root = docs_mirrors() / package / path
        if not root.is_dir():
            continue
        host, scope = prefix.split("/", 3)[2], "/" + prefix.split("/", 3)[3]
        entries.append({"domain": host, "path": scope, "name": package, "category": "docs",
                        "tier": 1})  # fmt: skip
        for judged in data.qrels.values():
            for url in judged:
                if url.startswith(prefix) and (root / url[len(prefix) :]).is_file():
                    body = (root / url[len(prefix) :]).read_bytes()
                    pages[url] = ("text/html; charset=utf-8", body)
    if not entries:
        pytest.skip("no documentation mirror unpacked (run 'make mirrors')")
    warc = write_warc(tmp_path / "judged.warc.gz", pages)
    build_index(
        BuildConfig(tmp_path / "data", warcs=(warc,), workers=1, dense=False),
        parse_domains({"domains": entries}),
    )
    surfer = Surfer.open(tmp_path / "data")
    usable = answerable(surfer, data)
    judged_here = sum(any(u in pages for u in judged) for judged in data.qrels.values())
    assert len(usable.queries) >= 0.9 * judged_here > 0
    (bm25,) = evaluate(surfer, usable, ["bm25"])
    assert bm25.mrr10 >= 0.6 and bm25.recall100 >= 0.9, bm25
