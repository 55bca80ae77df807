"""Write every downloaded response (and its request) to rotating gzip WARC files.

A Scrapy extension on ``response_downloaded``: it sees responses exactly as the
server sent them (still content-encoded), before any middleware touches them.
Each record is its own gzip member and is flushed at once, so a kill loses at
most the record being written.
"""

from __future__ import annotations

import os
import time
from io import BytesIO
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from scrapy import signals
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

if TYPE_CHECKING:
    from scrapy import Request
    from scrapy.crawler import Crawler
    from scrapy.http import Response

_HOP_BY_HOP = {b"transfer-encoding", b"connection", b"keep-alive"}


class WarcFiles:
    """Rotating WARC files under one directory; opened lazily on the first record."""

    def __init__(self, directory: Path, prefix: str = "stepdr", max_bytes: int = 1 << 30) -> None:
        self.directory = directory
        self.prefix = prefix
        self.max_bytes = max_bytes
        self.records = 0
        self.paths: list[Path] = []
        self._fh: IO[bytes] | None = None
        self._writer: WARCWriter | None = None
        self._stamp = time.strftime("%Y%m%d%H%M%S", time.gmtime())

    def _open(self) -> WARCWriter:
        if self._writer is not None and self._fh is not None and self._fh.tell() < self.max_bytes:
            return self._writer
        self.close()
        self.directory.mkdir(parents=True, exist_ok=True)
        path = (
            self.directory
            / f"{self.prefix}-{self._stamp}-{os.getpid()}-{len(self.paths):05d}.warc.gz"
        )
        self._fh = path.open("xb")
        self._writer = WARCWriter(self._fh, gzip=True)
        self._writer.write_record(
            self._writer.create_warcinfo_record(path.name, {"software": "stepdr"})
        )
        self.paths.append(path)
        return self._writer

    def write(self, request: Request, response: Response) -> None:
        writer = self._open()
        status = f"{response.status} {_reason(response.status)}"
        headers = [
            (k.decode("latin-1"), v.decode("latin-1"))
            for k, vs in response.headers.items()
            if k.lower() not in _HOP_BY_HOP
            for v in vs
        ]
        http = StatusAndHeaders(status, headers, protocol="HTTP/1.1")
        http.replace_header("Content-Length", str(len(response.body)))
        rec = writer.create_warc_record(
            response.url, "response", payload=BytesIO(response.body), http_headers=http
        )
        req_headers = StatusAndHeaders(
            f"{request.method} {_target(response.url)} HTTP/1.1",
            [
                (k.decode("latin-1"), v.decode("latin-1"))
                for k, vs in request.headers.items()
                for v in vs
            ],
            is_http_request=True,
        )
        req = writer.create_warc_record(
            response.url, "request", payload=BytesIO(request.body), http_headers=req_headers
        )
        writer.write_request_response_pair(req, rec)
        assert self._fh is not None
        self._fh.flush()
        self.records += 1

    def close(self) -> None:
        if self._fh is not None:
            self._fh.flush()
            os.fsync(self._fh.fileno())
            self._fh.close()
        self._fh = self._writer = None


class WarcWriterExtension:
    def __init__(self, files: WarcFiles) -> None:
        self.files = files

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> WarcWriterExtension:
        s = crawler.settings
        files = WarcFiles(
            Path(s.get("STEPDR_WARC_DIR", "warc")),
            prefix=s.get("STEPDR_WARC_PREFIX", "stepdr"),
            max_bytes=s.getint("STEPDR_WARC_MAX_BYTES", 1 << 30),
        )
        ext = cls(files)
        crawler.signals.connect(ext.response_downloaded, signal=signals.response_downloaded)
        crawler.signals.connect(ext.spider_closed, signal=signals.spider_closed)
        return ext

    def response_downloaded(self, response: Response, request: Request, **_: Any) -> None:
        self.files.write(request, response)

    def spider_closed(self, **_: Any) -> None:
        self.files.close()


def _target(url: str) -> str:
    from urllib.parse import urlsplit

    p = urlsplit(url)
    return (p.path or "/") + (f"?{p.query}" if p.query else "")


def _reason(status: int) -> str:
    from http import HTTPStatus

    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Unknown"
