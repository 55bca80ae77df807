"""Rotating gzip WARC files that a ``kill -9`` cannot make unreadable.

Each record is its own gzip member; a request/response pair is built in memory
and written with one ``write`` and flushed, so a kill tears at most the pair
being written.  A file being written is named ``*.warc.gz.open`` and renamed to
``*.warc.gz`` once closed (sealed): the index reads only sealed files, and the
next crawl repairs and seals what a killed one left open (see repair.py).

Bodies are stored as the crawler decoded them (gzip/deflate/br/zstd undone,
bounded by DOWNLOAD_MAXSIZE), with Content-Encoding removed and Content-Length
set to match, so reading a record can never inflate a decompression bomb.
"""

from __future__ import annotations

import hashlib
import os
import time
import zlib
from dataclasses import dataclass
from io import BytesIO
from pathlib import Path
from typing import IO, TYPE_CHECKING
from urllib.parse import urlsplit

from warcio.archiveiterator import ArchiveIterator
from warcio.recordloader import ArcWarcRecord
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

if TYPE_CHECKING:
    from scrapy import Request
    from scrapy.http import Response

OPEN_SUFFIX = ".open"
# On documentation pages level 3 compresses 2.4x faster than 6 for 15% more bytes;
# warcio's own 9 is twice as slow again for nothing.
GZIP_LEVEL = 3
_DROP_HEADERS = {b"transfer-encoding", b"connection", b"keep-alive", b"content-encoding"}


@dataclass(frozen=True)
class Written:
    warc: str
    """Sealed file name."""
    offset: int
    length: int
    digest: str
    """sha1 of the body, hex."""


@dataclass(frozen=True)
class StoredResponse:
    url: str
    status: int
    headers: tuple[tuple[str, str], ...]
    body: bytes


class WarcFiles:
    """Rotating WARC files under one directory; opened lazily on the first record."""

    def __init__(self, directory: Path, prefix: str = "stepdr", max_bytes: int = 1 << 30) -> None:
        self.directory = directory
        self.prefix = prefix
        self.max_bytes = max_bytes
        self.records = 0
        self.paths: list[Path] = []
        """Sealed paths of the files this instance wrote (sealed at close)."""
        self._fh: IO[bytes] | None = None
        self._size = 0  # of the open file: tell() is a system call, per record
        self._open_path: Path | None = None
        self._stamp = time.strftime("%Y%m%d%H%M%S", time.gmtime())

    def _file(self) -> IO[bytes]:
        if self._fh is not None and self._size < self.max_bytes:
            return self._fh
        self.close()
        self.directory.mkdir(parents=True, exist_ok=True)
        name = f"{self.prefix}-{self._stamp}-{os.getpid()}-{len(self.paths):05d}.warc.gz"
        self._open_path = self.directory / (name + OPEN_SUFFIX)
        self._fh = self._open_path.open("xb")
        writer = WARCWriter(BytesIO(), gzip=False)
        self._size = self._fh.write(
            _member(writer.create_warcinfo_record(name, {"software": "stepdr"}))
        )
        self._fh.flush()
        self.paths.append(self.directory / name)
        return self._fh

    def write(self, request: Request, response: Response) -> Written:
        """Append the request/response pair; return where the pair lies."""
        return self.append(encode_pair(request, response))

    def append(self, pair: Encoded) -> Written:
        """Append a pair ``encode_pair`` made (possibly on another thread)."""
        fh = self._file()
        offset = self._size
        fh.write(pair.data)
        fh.flush()
        self._size += len(pair.data)
        self.records += 1
        return Written(self.paths[-1].name, offset, len(pair.data), pair.digest)

    def close(self) -> None:
        """Flush, fsync and seal the current file."""
        if self._fh is None or self._open_path is None:
            return
        self._fh.flush()
        os.fsync(self._fh.fileno())
        self._fh.close()
        self._open_path.rename(self._open_path.with_name(self._open_path.name[: -len(OPEN_SUFFIX)]))
        self._fh = None
        self._open_path = None


@dataclass(frozen=True)
class Encoded:
    """A request/response pair as the bytes of two gzip members, and the body's sha1."""

    data: bytes
    digest: str


def encode_pair(request: Request, response: Response) -> Encoded:
    """The WARC records of a pair, compressed: pure, so a worker thread can do it
    (zlib and sha1 let go of the GIL while they work)."""
    body = response.body
    status = f"{response.status} {_reason(response.status)}"
    headers = [
        (k.decode("latin-1"), v.decode("latin-1"))
        for k, vs in response.headers.items()
        if k.lower() not in _DROP_HEADERS
        for v in vs
    ]
    http = StatusAndHeaders(status, headers, protocol="HTTP/1.1")
    http.replace_header("Content-Length", str(len(body)))
    writer = WARCWriter(BytesIO(), gzip=False)
    rec = writer.create_warc_record(
        response.url, "response", payload=BytesIO(body), http_headers=http
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
    # What WARCWriter.write_request_response_pair does, to compress each record here.
    req.rec_headers.replace_header("WARC-Target-URI", response.url)
    req.rec_headers.replace_header("WARC-Date", rec.rec_headers.get_header("WARC-Date"))
    req.rec_headers.add_header("WARC-Concurrent-To", rec.rec_headers.get_header("WARC-Record-ID"))
    return Encoded(_member(rec) + _member(req), hashlib.sha1(body).hexdigest())


def _member(record: ArcWarcRecord) -> bytes:
    """One record as one gzip member."""
    buf = BytesIO()
    WARCWriter(buf, gzip=False).write_record(record)
    return zlib.compress(buf.getvalue(), GZIP_LEVEL, wbits=31)


def read_response(directory: Path, name: str, offset: int) -> StoredResponse | None:
    """The response record at ``offset`` of a WARC file (sealed or still open)."""
    for path in (directory / name, directory / (name + OPEN_SUFFIX)):
        if not path.is_file():
            continue
        with path.open("rb") as fh:
            fh.seek(offset)
            for record in ArchiveIterator(fh):
                if record.rec_type != "response" or record.http_headers is None:
                    return None
                http = record.http_headers
                return StoredResponse(
                    url=str(record.rec_headers.get_header("WARC-Target-URI") or ""),
                    status=int(http.get_statuscode() or 0),
                    headers=tuple((str(k), str(v)) for k, v in http.headers),
                    body=bytes(record.content_stream().read()),
                )
    return None


def _target(url: str) -> str:
    p = urlsplit(url)
    return (p.path or "/") + (f"?{p.query}" if p.query else "")


def _reason(status: int) -> str:
    from http import HTTPStatus

    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Unknown"


__all__ = [
    "OPEN_SUFFIX",
    "Encoded",
    "StoredResponse",
    "WarcFiles",
    "Written",
    "encode_pair",
    "read_response",
]
