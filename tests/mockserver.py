"""A fault-injecting HTTP server on 127.0.0.1 for crawler tests (cf. Scrapy's mockserver).

Virtual hosts by ``Host`` header: tests pin names like ``main.test`` to
127.0.0.1 and let the crawler reach them.  Every request is logged (``hits``),
so a test can assert what the crawler asked for as well as what it stored.
Every endpoint answers in bounded time and size.
"""

from __future__ import annotations

import contextlib
import gzip
import threading
import time
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import brotli
from warcio.archiveiterator import ArchiveIterator

MiB = 1024 * 1024


@dataclass(frozen=True)
class SeenRequest:
    at: float
    host: str
    path: str
    headers: dict[str, str]


@dataclass
class Site:
    """What one virtual host serves at ``/`` and ``/robots.txt``."""

    links: list[str] = field(default_factory=list)
    robots: tuple[int, str] = (200, "User-agent: *\nDisallow: /private/\n")


def page(title: str, links: Sequence[str] = (), body: str = "") -> bytes:
    anchors = "".join(f'<a href="{h}">{h}</a>\n' for h in links)
    return (
        f"<!doctype html><html><head><title>{title}</title></head>"
        f"<body><h1>{title}</h1><p>{body or title}</p>{anchors}</body></html>"
    ).encode()


class MockServer:
    def __init__(self, bomb_size: int = 8 * MiB, big_size: int = 2 * MiB) -> None:
        self.sites: dict[str, Site] = {}
        self.hits: list[SeenRequest] = []
        self.bomb_size = bomb_size
        self.big_size = big_size
        self.versions: dict[str, int] = {}
        """/etag/<name>: the page's current version (a recrawl test bumps it)."""
        self.gen_pages = 0
        self.gen_delay = 0.0
        self._lock = threading.Lock()
        self._seen_rate: set[str] = set()
        self._bombs: dict[str, bytes] = {}
        handler = type("Handler", (_Handler,), {"mock": self})
        self._httpd = _Server(("127.0.0.1", 0), handler)
        self._httpd.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return int(self._httpd.server_address[1])

    def url(self, host: str, path: str = "/") -> str:
        return f"http://{host}:{self.port}{path}"

    def record(self, hit: SeenRequest) -> None:
        with self._lock:
            self.hits.append(hit)

    def hits_of(self, host: str, path: str | None = None, prefix: str = "") -> list[SeenRequest]:
        with self._lock:
            return [
                h
                for h in self.hits
                if h.host == host and (path is None or h.path == path) and h.path.startswith(prefix)
            ]

    def first_time(self, key: str) -> bool:
        with self._lock:
            new = key not in self._seen_rate
            self._seen_rate.add(key)
            return new

    def bomb(self, kind: str) -> bytes:
        if kind not in self._bombs:
            zeros = b"\0" * self.bomb_size
            if kind == "gzip":
                self._bombs[kind] = gzip.compress(zeros, compresslevel=9)
            elif kind == "deflate":
                self._bombs[kind] = zlib.compress(zeros, 9)
            else:
                self._bombs[kind] = brotli.compress(zeros)
        return self._bombs[kind]

    def start(self) -> MockServer:
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def __enter__(self) -> MockServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # the crawler hangs up on purpose (size limits, timeouts, kills)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    mock: MockServer

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        host = (self.headers.get("Host") or "").split(":")[0].lower()
        self.mock.record(SeenRequest(time.monotonic(), host, self.path, dict(self.headers.items())))
        # The crawler hangs up on purpose (size limits, timeouts).
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            self._route(host, urlsplit(self.path))

    def send(
        self, status: int, body: bytes = b"", ctype: str = "text/html; charset=utf-8", **hdr: str
    ) -> None:
        self.send_response(status)
        if ctype:
            self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for k, v in hdr.items():
            self.send_header(k.replace("_", "-"), v)
        self.end_headers()
        self.wfile.write(body)

    def _route(self, host: str, url: Any) -> None:
        path: str = url.path
        query = parse_qs(url.query)
        site = self.mock.sites.get(host, Site())
        parts = [p for p in path.split("/") if p]
        head, arg = (parts[0] if parts else ""), (parts[1] if len(parts) > 1 else "")
        if path == "/robots.txt":
            status, text = site.robots
            return self.send(status, text.encode(), "text/plain")
        if path == "/":
            return self.send(200, page(f"home of {host}", site.links))
        if head == "status":
            return self.send(int(arg), page(f"status {arg}"))
        if head == "moved":  # /moved/<host>: the site now lives on another host
            return self.send(301, b"", "text/plain", Location=self.mock.url(arg, "/"))
        if head == "slow":
            time.sleep(min(float(arg), 5.0))
            return self.send(200, page("slow"))
        if head == "hub":  # /hub/<name>?wait=S: after S seconds, links to three pages
            time.sleep(min(float(query.get("wait", ["0"])[0]), 5.0))
            return self.send(200, page(f"hub {arg}", [f"/page/{arg}-{i}" for i in (1, 2, 3)]))
        if head == "drop":  # promise 1000 bytes, send 10, hang up
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", "1000")
            self.end_headers()
            self.wfile.write(b"<html>trun")
            self.close_connection = True
            return None
        if head in ("loop", "chain"):
            if head == "loop":
                target = "/loop/b" if arg == "a" else "/loop/a"
            else:
                target = f"/chain/{int(arg) + 1}"
            return self.send(302, b"", "text/plain", Location=target)
        if head == "bomb":
            encoding = {"gzip": "gzip", "deflate": "deflate", "br": "br"}[arg]
            return self.send(200, self.mock.bomb(arg), Content_Encoding=encoding)
        if head == "gzip":
            return self.send(200, gzip.compress(page("gzipped page")), Content_Encoding="gzip")
        if head == "big":
            return self._big(declared=arg == "declared")
        if head == "charset":
            return self._charset(arg)
        if head == "binary":
            return self._binary(arg)
        if path == "/doc.pdf":
            return self.send(200, b"%PDF-1.4\n% a tiny pdf\n%%EOF\n", "application/pdf")
        if head == "calendar":
            year, month = (int(x) for x in query.get("month", ["2024-01"])[0].split("-"))
            prev = f"{year - (month == 1)}-{(month - 2) % 12 + 1:02d}"
            nxt = f"{year + (month == 12)}-{month % 12 + 1:02d}"
            links = [f"/calendar?month={prev}", f"/calendar?month={nxt}"]
            return self.send(200, page(f"calendar {year}-{month:02d}", links))
        if head == "a":  # /a/ -> /a/a/ -> /a/a/a/ ...
            return self.send(200, page(path, ["a/"]))
        if head == "deep":
            return self.send(200, page(path, [f"/deep/{int(arg) + 1}"]))
        if head == "list":
            n = int(query.get("page", ["0"])[0])
            links = [f"/list?page={n * 3 + i}&sort=asc" for i in (1, 2, 3)]
            wide = "/list?" + "&".join(f"f{i}=x" for i in range(20))
            return self.send(200, page(f"list {n}", [*links, wide]))
        if head == "ratelimited":
            if self.mock.first_time(f"{host}{path}"):
                return self.send(429, page("slow down"), Retry_After="1")
            return self.send(200, page("rate limited page"))
        if head == "etag":
            version = self.mock.versions.get(arg, 1)
            etag = f'"{arg}-v{version}"'
            if self.headers.get("If-None-Match") == etag:
                return self.send(304, b"", "", ETag=etag)
            return self.send(200, page(f"{arg} version {version}"), ETag=etag)
        if head == "gen":
            time.sleep(self.mock.gen_delay)
            n = int(arg)
            kids = [f"/gen/{k}" for k in (2 * n + 1, 2 * n + 2) if k < self.mock.gen_pages]
            return self.send(200, page(f"generated {n}", kids, body=f"page number {n} " * 40))
        return self.send(200, page(f"page {path}"))

    def _big(self, declared: bool) -> None:
        chunk = b"<p>" + b"x" * 65530 + b"</p>"
        total = self.mock.big_size
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        if declared:
            self.send_header("Content-Length", str(total))
        else:
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        sent = 0
        while sent < total:
            self.wfile.write(chunk)
            sent += len(chunk)

    def _charset(self, kind: str) -> None:
        text = "Zürich café naïve"
        links = [f"/page/after-{kind}"]
        if kind == "wrong":  # says UTF-8, is Latin-1
            body = page(text, links).decode().encode("latin-1")
            return self.send(200, body, "text/html; charset=utf-8")
        if kind == "bogus":
            return self.send(200, page(text, links), "text/html; charset=x-no-such-charset")
        # No charset anywhere, bytes in cp1251.
        return self.send(200, page("Привет мир", links).decode().encode("cp1251"), "text/html")

    def _binary(self, kind: str) -> None:
        blob = bytes(range(256)) * 64
        if kind == "octet":
            return self.send(200, blob, "application/octet-stream")
        if kind == "png":
            return self.send(200, b"\x89PNG\r\n\x1a\n" + blob, "image/png")
        return self.send(200, blob, "text/html")  # "lying": binary said to be HTML


@dataclass(frozen=True)
class Record:
    """A response record as stored in a WARC file."""

    url: str
    status: int
    headers: dict[str, str]
    body: bytes
    warc: str


def warc_records(warc_dir: Path) -> list[Record]:
    """Every response record in the sealed WARC files under ``warc_dir``, in order.

    Reading each record to its end also proves every file is whole and readable.
    """
    out: list[Record] = []
    for f in sorted(warc_dir.glob("*.warc.gz")):
        with f.open("rb") as fh:
            for rec in ArchiveIterator(fh):
                body = rec.content_stream().read()
                if rec.rec_type != "response" or rec.http_headers is None:
                    continue
                out.append(
                    Record(
                        url=str(rec.rec_headers.get_header("WARC-Target-URI")),
                        status=int(rec.http_headers.get_statuscode()),
                        headers={k.lower(): v for k, v in rec.http_headers.headers},
                        body=bytes(body),
                        warc=f.name,
                    )
                )
    return out


__all__ = ["MiB", "MockServer", "Record", "SeenRequest", "Site", "page", "warc_records"]
