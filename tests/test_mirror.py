from __future__ import annotations

import http.client
from pathlib import Path

import pytest

from stepdr.core.errors import MirrorError
from stepdr.crawl.domains_yaml import load_domains
from stepdr.crawl.mirror import MirrorMap, MirrorServer

from .conftest import SITE_HOST, write_domains


def _get(server: MirrorServer, target: str, host: str | None = None) -> http.client.HTTPResponse:
    conn = http.client.HTTPConnection(*server.address, timeout=5)
    headers = {"Host": host} if host else {}
    conn.request("GET", target, headers=headers)
    return conn.getresponse()


@pytest.fixture
def server(site_domains: Path, tmp_path: Path):  # type: ignore[no-untyped-def]
    mm = MirrorMap.from_domains(load_domains(site_domains), tmp_path / "mirrors")
    with MirrorServer(mm) as s:
        yield s


def test_serves_page_for_real_url_absolute_form(server: MirrorServer) -> None:
    r = _get(server, f"https://{SITE_HOST}/docs/calibration.html")
    assert r.status == 200
    assert r.getheader("Content-Type", "").startswith("text/html")
    assert b"Thermometer calibration intervals" in r.read()


def test_serves_page_by_host_header(server: MirrorServer) -> None:
    r = _get(server, "/docs/guide/index.html", host=SITE_HOST)
    assert r.status == 200
    assert b"Accreditation handbook" in r.read()


def test_robots_txt_is_the_sites_own(server: MirrorServer) -> None:
    r = _get(server, f"https://{SITE_HOST}/robots.txt")
    assert r.status == 200
    assert b"Disallow: /private/" in r.read()


def test_missing_page_is_404(server: MirrorServer) -> None:
    assert _get(server, f"https://{SITE_HOST}/docs/missing.html").status == 404


def test_unmirrored_host_is_404(server: MirrorServer) -> None:
    assert _get(server, "https://elsewhere.example.net/").status == 404


def test_directory_without_slash_redirects(server: MirrorServer) -> None:
    r = _get(server, f"https://{SITE_HOST}/docs/guide")
    assert r.status == 301
    assert r.getheader("Location") == "/docs/guide/"
    r2 = _get(server, f"https://{SITE_HOST}/docs/guide/")
    assert r2.status == 200 and b"Accreditation" in r2.read()


def test_path_traversal_is_refused(server: MirrorServer, tmp_path: Path) -> None:
    (tmp_path / "mirrors" / "outside.html").write_text("<p>outside</p>")
    assert _get(server, f"https://{SITE_HOST}/../outside.html").status == 404
    assert _get(server, f"https://{SITE_HOST}/%2e%2e/outside.html").status == 404


def test_local_links_are_rewritten_to_the_real_site(tmp_path: Path) -> None:
    copy = tmp_path / "copy"
    copy.mkdir()
    local = f"file://{copy}/page.html"
    (copy / "page.html").write_text(f'<link rel="canonical" href="{local}"><p>x</p>')
    domains = write_domains(
        tmp_path / "d.yaml",
        [{"domain": "docs.example.org", "path": "/v1/", "name": "x", "category": "docs",
          "tier": 2, "mirror": {"path": str(copy)}}],
    )  # fmt: skip
    mm = MirrorMap.from_domains(load_domains(domains), tmp_path)
    with MirrorServer(mm) as s:
        body = _get(s, "https://docs.example.org/v1/page.html").read()
    assert b'href="https://docs.example.org/v1/page.html"' in body
    assert b"file://" not in body


def test_missing_mirror_is_a_clear_error(tmp_path: Path) -> None:
    domains = write_domains(
        tmp_path / "d.yaml",
        [{"domain": "docs.example.org", "name": "x", "category": "docs", "tier": 2,
          "mirror": {"package": "example-doc", "path": "usr/share/doc/example/html"}}],
    )  # fmt: skip
    with pytest.raises(MirrorError, match="example-doc"):
        MirrorMap.from_domains(load_domains(domains), tmp_path / "nowhere")


def test_a_mirror_is_found_only_where_it_holds_the_seed_page(tmp_path: Path) -> None:
    # What a machine with the sqlite3 package (a changelog) but not sqlite3-doc has.
    entry = {"domain": "www.example.org", "name": "x", "category": "docs", "tier": 1,
             "seeds": ["https://www.example.org/index.html"],
             "mirror": {"package": "example-doc", "path": "usr/share/doc/example"}}  # fmt: skip
    domains = load_domains(write_domains(tmp_path / "d.yaml", [entry]))
    mirrors = tmp_path / "mirrors"
    changelog = mirrors / "example-doc" / "usr/share/doc/example"
    changelog.mkdir(parents=True)
    (changelog / "changelog.Debian.gz").write_bytes(b"")
    (d,) = domains
    assert d.seed_files() == ("index.html",)
    assert d.mirror_root(mirrors) is None
    with pytest.raises(MirrorError, match=r"www\.example\.org.*index\.html.*example-doc"):
        MirrorMap.from_domains(domains, mirrors)
    (changelog / "index.html").write_text("<html><title>Example</title></html>")
    assert d.mirror_root(mirrors) == changelog
    assert [s.root for s in MirrorMap.from_domains(domains, mirrors).sites] == [changelog.resolve()]


def test_seed_files_of_a_path_scope() -> None:
    from stepdr.crawl.domains_yaml import parse_domains

    (d,) = parse_domains({"domains": [{
        "domain": "docs.example.org", "path": "/3.11/", "name": "x", "category": "docs",
        "tier": 1, "seeds": ["https://docs.example.org/3.11/", "https://docs.example.org/3.11/a/b.html"],
    }]})  # fmt: skip
    assert d.seed_files() == ("index.html", "a/b.html")
