"""Repair the WARC files a killed crawl left open, before the next crawl starts.

A file still named ``*.warc.gz.open`` holds whole gzip members (one WARC record
each) and maybe a torn last one.  Members past the last journaled record are
checked one by one (zlib verifies each member's CRC and length); the file is cut
after the last whole member, so nothing before the tear is lost, and the
responses found there are returned so the journal can record them as stored —
they are not fetched again.  Then the file is sealed.
"""

from __future__ import annotations

import hashlib
import logging
import zlib
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import datetime
from io import BytesIO
from pathlib import Path

from warcio.archiveiterator import ArchiveIterator

from .journal import Stored
from .warc_files import OPEN_SUFFIX

log = logging.getLogger(__name__)

_CHUNK = 1 << 16


def gzip_members(path: Path, start: int = 0) -> Iterator[tuple[int, int]]:
    """(offset, length) of each whole gzip member from ``start``; stops at a torn one."""
    with path.open("rb") as fh:
        fh.seek(start)
        offset = start
        pending = b""
        while True:
            d = zlib.decompressobj(wbits=31)
            used = 0
            data = pending
            pending = b""
            try:
                while not d.eof:
                    if not data:
                        data = fh.read(_CHUNK)
                        if not data:
                            return  # end of file inside (or before) a member
                    before = len(data)
                    d.decompress(data)
                    while d.unconsumed_tail:  # never set without max_length, but be safe
                        d.decompress(d.unconsumed_tail)
                    used += before - len(d.unused_data)
                    data = b""
            except zlib.error:
                return
            pending = d.unused_data
            yield offset, used
            offset += used


def _member_record(path: Path, offset: int, length: int, name: str) -> Stored | None:
    with path.open("rb") as fh:
        fh.seek(offset)
        raw = fh.read(length)
    for record in ArchiveIterator(BytesIO(raw)):
        if record.rec_type != "response" or record.http_headers is None:
            return None
        http = record.http_headers
        body = bytes(record.content_stream().read())
        return Stored(
            url=str(record.rec_headers.get_header("WARC-Target-URI") or ""),
            status=int(http.get_statuscode() or 0),
            warc=name,
            offset=offset,
            length=length,
            ctype=(http.get_header("Content-Type") or "").split(";")[0].strip().lower(),
            etag=http.get_header("ETag") or "",
            last_modified=http.get_header("Last-Modified") or "",
            digest=hashlib.sha1(body).hexdigest(),
            fetched=_timestamp(record.rec_headers.get_header("WARC-Date") or ""),
        )
    return None


def _timestamp(warc_date: str) -> float:
    try:
        return datetime.fromisoformat(warc_date).timestamp()
    except ValueError:
        return 0.0  # unknown: robots.txt read back from it counts as stale


def repair_open_files(
    directory: Path, file_ends: dict[str, int], record: Callable[[Stored], None]
) -> int:
    """Cut torn tails and seal every ``*.open`` file; return how many responses it found.

    ``file_ends`` maps a sealed file name to the end of its last journaled
    record; ``record`` journals each response found past it, before the file is
    sealed (a kill in between finds them again next time).
    """
    count = 0
    if not directory.is_dir():
        return count
    for path in sorted(directory.glob("*" + OPEN_SUFFIX)):
        name = path.name[: -len(OPEN_SUFFIX)]
        journaled = file_ends.get(name, 0)
        good = journaled
        found: list[Stored] = []
        after_response = False
        for offset, length in list(gzip_members(path, journaled)):
            good = offset + length
            rec = _member_record(path, offset, length, name)
            if rec is not None:
                found.append(rec)
            elif after_response:
                # The request record written after a response belongs to its pair.
                found[-1] = replace(found[-1], length=good - found[-1].offset)
            after_response = rec is not None
        if good < path.stat().st_size:
            log.warning("%s: dropped a torn record at byte %d", path.name, good)
            with path.open("r+b") as fh:
                fh.truncate(good)
        for stored in found:
            record(stored)
        count += len(found)
        if not journaled and not found:
            path.unlink()  # nothing but the warcinfo record (or less)
            continue
        path.rename(path.with_name(name))
    return count


__all__ = ["gzip_members", "repair_open_files"]
