"""One page, one URL, one cite id: listed sites keep the spelling their seeds use."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

from stepdr.crawl.domains_yaml import parse_domains
from stepdr.crawl.run import run_crawl
from stepdr.index.build import BuildConfig, build_index
from stepdr.index.records import cite_id
from stepdr.rank import Surfer

from .conftest import mock_crawl_config
from .mockserver import MockServer, Site, warc_records
from .warcutil import html_page, write_warc

DOMAINS = parse_domains(
    {
        "domains": [
            {"domain": "www.sqlite.example", "name": "S", "category": "docs", "tier": 1,
             "seeds": ["https://www.sqlite.example/index.html"]},
            {"domain": "python.example", "path": "/3/", "name": "P", "category": "docs",
             "tier": 1, "seeds": ["https://docs.python.example/3/"]},
            {"domain": "plain.example", "name": "H", "category": "docs", "tier": 2,
             "seeds": ["http://plain.example/"]},
        ]
    }
)  # fmt: skip


def test_listed_sites_keep_their_seeds_scheme_and_host() -> None:
    c = DOMAINS.canonical
    page = "https://www.sqlite.example/wal.html"
    for spelling in (
        "http://www.sqlite.example/wal.html",
        "https://sqlite.example/wal.html",  # the site links to itself without www.
        "http://sqlite.example/wal.html",
        page,
    ):
        assert c(spelling) == page, spelling
    assert c("http://sqlite.example/index.html") == "https://www.sqlite.example/"
    assert c("https://www.sqlite.example/c3ref/index.htm") == "https://www.sqlite.example/c3ref/"
    assert c("http://docs.python.example/3/library/index.html") == (
        "https://docs.python.example/3/library/"
    )
    assert c("http://plain.example/a.html") == "http://plain.example/a.html"  # seeds say http
    assert c("https://www.plain.example/a.html") == "http://plain.example/a.html"
    assert c("http://www.sqlite.example:8080/x") == "https://www.sqlite.example:8080/x"
    assert c("http://elsewhere.example/index.html") == "http://elsewhere.example/index.html"
    assert c("ftp://www.sqlite.example/x") == "ftp://www.sqlite.example/x"
    assert (
        len({cite_id(c(u)) for u in ("http://sqlite.example/", page.replace("wal", "index"))}) == 1
    )


def test_the_sliced_spelling_agrees_with_the_parsed_one() -> None:
    """The crawl's fast path (string slicing) against urlsplit, on the shapes it meets."""
    hosts = ("www.sqlite.example", "sqlite.example", "docs.python.example", "plain.example")
    tails = (
        "", "/", "/index.html", "/a/index.htm", "/a/index.html/b", "/a?", "/a?q=1",
        "?q=1", "/a?b?c", "/x#frag", ":8080/x", "/%7Euser/", "/3/library/os.path.html",
    )  # fmt: skip
    checked = 0
    for scheme in ("http", "https", "HTTP"):
        for host in (*hosts, "WWW.sqlite.example", "u@www.sqlite.example", "elsewhere.example"):
            for tail in tails:
                url = f"{scheme}://{host}{tail}"
                fast = DOMAINS._canonical_listed(url)
                if fast is not None:
                    checked += 1
                    assert fast == DOMAINS._canonical_split(url), url
    assert checked >= 40


def test_a_build_keeps_one_copy_of_a_page_under_its_canonical_url(tmp_path: Path) -> None:
    text = "Write-ahead logging keeps readers and a writer apart without locking the database."
    body = html_page("Write-Ahead Logging", text * 3)
    old = write_warc(
        tmp_path / "a.warc.gz", {"http://www.sqlite.example/wal.html": ("text/html", body)}
    )
    new = write_warc(
        tmp_path / "b.warc.gz", {"https://sqlite.example/wal.html": ("text/html", body)}
    )
    data = tmp_path / "data"
    build_index(BuildConfig(data, warcs=(old, new), workers=1, dense=False, min_words=5), DOMAINS)
    surfer = Surfer.open(data)
    hits = surfer.search("write-ahead logging readers writer", 10)
    assert {h.url for h in hits} == {"https://www.sqlite.example/wal.html"}
    assert {h.cite_id for h in hits} == {cite_id("https://www.sqlite.example/wal.html")}
    assert surfer.stats()["pages"] == 1
    (opened,) = surfer.batch_open(["http://www.sqlite.example/wal.html"])
    assert opened.url == "https://www.sqlite.example/wal.html" and opened.error is None


def test_a_crawl_fetches_each_spelling_once(tmp_path: Path) -> None:
    host, twin = "www.canon.test", "canon.test"
    with MockServer() as server:
        links = [
            server.url(twin, "/hub/a"),  # the bare host, as sqlite.org links to itself
            "/hub/a",
            server.url(host, "/hub/a#section"),
            "/index.html",  # the home page again
            server.url(twin, "/hub/b"),  # linked only through the bare host: still in scope
        ]
        server.sites = {host: Site(links=links), twin: Site(links=links)}
        config = mock_crawl_config(
            tmp_path, server, host,
            resolve=((host, "127.0.0.1"), (twin, "127.0.0.1")), allow_private_hosts=(host, twin),
        )  # fmt: skip
        run_crawl(config)
        assert server.hits_of(twin) == []
        assert len(server.hits_of(host, "/hub/a")) == 1
        assert server.hits_of(host, "/index.html") == []
        assert len(server.hits_of(host, "/hub/b")) == 1
    urls = [r.url for r in warc_records(tmp_path / "data" / "warc")]
    assert len(urls) == len(set(urls))
    assert server.url(host, "/hub/a") in urls
    assert {urlsplit(u).hostname for u in urls} == {host}
