"""Serve local copies of sites under their real URLs over loopback HTTP.

A mirror is a directory holding a copy of a site (a Debian doc package, a
``wget --mirror`` or HTTrack copy).  The server answers requests for the real
URL, given either in absolute form (``GET https://docs.python.org/3.11/ HTTP/1.1``,
as an HTTP proxy is asked) or as a path with a ``Host`` header.  It behaves like
a plain static web server: robots.txt, 404 for missing pages, 301 from a
directory URL to its slash form, ``index.html`` for directories.
"""

from __future__ import annotations

import email.utils
import logging
import mimetypes
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from stepdr.core.errors import MirrorError

from .domains import Domain, DomainSet

log = logging.getLogger(__name__)

ROBOTS_ALLOW_ALL = b"User-agent: *\nDisallow:\n"


@dataclass(frozen=True)
class MirrorSite:
    domain: Domain
    root: Path


class MirrorMap:
    """Which local directory answers which real URL."""

    def __init__(self, sites: list[MirrorSite]) -> None:
        # Most specific scope first, as DomainSet.match does.
        self.sites = sorted(sites, key=lambda s: (-len(s.domain.domain), -len(s.domain.path)))

    @classmethod
    def from_domains(cls, domains: DomainSet, mirrors_dir: Path, strict: bool = True) -> MirrorMap:
        sites = []
        for d in domains.mirrored():
            assert d.mirror is not None
            root = d.mirror_root(mirrors_dir)
            if root is None:
                hint = (
                    f"run 'stepdr-index mirror fetch' to unpack {d.mirror.package}"
                    if d.mirror.package
                    else "create it or remove the mirror declaration"
                )
                holding = ", ".join(d.seed_files()) or "any file"
                msg = (
                    f"mirror for {d.base_url} not found: no {d.mirror.path} holding "
                    f"{holding}: {hint}"
                )
                if strict:
                    raise MirrorError(msg)
                log.warning(msg)
                continue
            sites.append(MirrorSite(d, root.resolve()))
        return cls(sites)

    def __bool__(self) -> bool:
        return bool(self.sites)

    def site_for(self, host: str, path: str) -> MirrorSite | None:
        for s in self.sites:
            if s.domain.host_matches(host) and path.startswith(s.domain.path):
                return s
        return None

    def serves_host(self, host: str) -> bool:
        return any(s.domain.host_matches(host) for s in self.sites)


class _Handler(BaseHTTPRequestHandler):
    server_version = "stepdr-mirror/0.1"
    protocol_version = "HTTP/1.1"
    mirror: MirrorMap  # set on the subclass made per server

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("mirror: " + format, *args)

    def do_HEAD(self) -> None:
        self._answer(send_body=False)

    def do_GET(self) -> None:
        self._answer(send_body=True)

    def _answer(self, send_body: bool) -> None:
        target = urlsplit(self.path)
        if target.scheme in ("http", "https") and target.hostname:
            host, scheme = target.hostname.lower(), target.scheme
        else:
            host = (self.headers.get("Host") or "").split(":")[0].lower()
            scheme = self.headers.get("X-Forwarded-Proto", "https")
        path = target.path or "/"
        if not self.mirror.serves_host(host):
            return self._send(404, b"host not mirrored\n", "text/plain", send_body)
        if path == "/robots.txt":
            return self._robots(host, send_body)
        site = self.mirror.site_for(host, path)
        if site is None:
            return self._send(404, b"not found\n", "text/plain", send_body)
        rel = unquote(path[len(site.domain.path) :])
        file = (site.root / rel).resolve()
        if file != site.root and site.root not in file.parents:
            return self._send(404, b"not found\n", "text/plain", send_body)
        if file.is_dir():
            if not path.endswith("/"):
                return self._send(301, b"", "text/plain", send_body, location=path + "/")
            file = file / "index.html"
        if not file.is_file():
            return self._send(404, b"not found\n", "text/plain", send_body)
        body = file.read_bytes()
        ctype = mimetypes.guess_type(file.name)[0] or "application/octet-stream"
        if ctype == "text/html":
            real_base = f"{scheme}://{host}{site.domain.path}"
            assert site.domain.mirror is not None
            body = body.replace(site.domain.mirror.local_url_prefix.encode(), real_base.encode())
        mtime = email.utils.formatdate(file.stat().st_mtime, usegmt=True)
        self._send(200, body, ctype, send_body, last_modified=mtime)

    def _robots(self, host: str, send_body: bool) -> None:
        site = self.mirror.site_for(host, "/robots.txt")
        own = site.root / "robots.txt" if site is not None else None
        body = own.read_bytes() if own is not None and own.is_file() else ROBOTS_ALLOW_ALL
        self._send(200, body, "text/plain", send_body)

    def _send(
        self,
        status: int,
        body: bytes,
        ctype: str,
        send_body: bool,
        location: str | None = None,
        last_modified: str | None = None,
    ) -> None:
        self.send_response(status)
        self.send_header(
            "Content-Type", ctype if ctype != "text/html" else "text/html; charset=utf-8"
        )
        self.send_header("Content-Length", str(len(body)))
        if location:
            self.send_header("Location", location)
        if last_modified:
            self.send_header("Last-Modified", last_modified)
        self.end_headers()
        if send_body:
            self.wfile.write(body)


class MirrorServer:
    """A threaded loopback server for a MirrorMap; use as a context manager."""

    def __init__(self, mirror: MirrorMap, host: str = "127.0.0.1", port: int = 0) -> None:
        handler = type("MirrorHandler", (_Handler,), {"mirror": mirror})
        self._httpd = ThreadingHTTPServer((host, port), handler)
        self._httpd.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def address(self) -> tuple[str, int]:
        host, port = self._httpd.server_address[:2]
        return str(host), int(port)

    @property
    def proxy_url(self) -> str:
        host, port = self.address
        return f"http://{host}:{port}"

    def start(self) -> MirrorServer:
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        self._httpd.serve_forever()

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def __enter__(self) -> MirrorServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
