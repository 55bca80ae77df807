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

import os
import time
from dataclasses import dataclass
from io import BytesIO
from pathlib import Path
from typing import IO, TYPE_CHECKING

from warcio.archiveiterator import ArchiveIterator
from warcio.recordloader import ArcWarcRecord
from warcio.warcwriter import WARCWriter

from .warc_records import GZIP_LEVEL, Encoded, deflate, encode_pair

if TYPE_CHECKING:
    from scrapy import Request
    from scrapy.http import Response

OPEN_SUFFIX = ".open"


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


def _member(record: ArcWarcRecord) -> bytes:
    """One record warcio built, as one gzip member."""
    buf = BytesIO()
    WARCWriter(buf, gzip=False).write_record(record)
    return bytes(deflate.compress(buf.getvalue(), GZIP_LEVEL, wbits=31))


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


__all__ = [
    "OPEN_SUFFIX",
    "Encoded",
    "StoredResponse",
    "WarcFiles",
    "Written",
    "encode_pair",
    "read_response",
]
