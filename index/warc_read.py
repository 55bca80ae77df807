"""Read WARC files (ours or anyone's): find the latest HTML response of each URL."""

from __future__ import annotations

import gzip
import logging
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path

from warcio.archiveiterator import ArchiveIterator
from warcio.exceptions import ArchiveLoadFailed

from stepdr.core.errors import WarcError

from .records import PageRef
from .ref_table import RefTable

log = logging.getLogger(__name__)

HTML_TYPES = ("text/html", "application/xhtml+xml")
INDEXED_TYPES = (*HTML_TYPES, "application/pdf")


def find_warcs(paths: Iterable[Path]) -> list[Path]:
    """Expand directories into the WARC files they hold; check files exist."""
    out: list[Path] = []
    for p in paths:
        if p.is_dir():
            out.extend(sorted(f for f in p.rglob("*") if f.name.endswith((".warc", ".warc.gz"))))
        elif p.is_file():
            out.append(p)
        else:
            raise WarcError(f"{p}: no such WARC file or directory")
    return out


def _check_header(warc: Path) -> None:
    """A WARC file, compressed or not, starts with a ``WARC/1.x`` version line."""
    try:
        with warc.open("rb") as fh:
            head = fh.read(2)
            fh.seek(0)
            start = gzip.GzipFile(fileobj=fh).read(5) if head == b"\x1f\x8b" else fh.read(5)
    except (OSError, EOFError) as e:
        raise WarcError(f"{warc}: not a readable WARC file ({e})") from None
    if start and start != b"WARC/":
        raise WarcError(f"{warc}: not a WARC file (no WARC/1.x header at the start)")


def scan(warc: Path) -> list[PageRef]:
    """HTML and PDF 200 responses in one WARC file, in file order."""
    _check_header(warc)
    refs: list[PageRef] = []
    name = str(warc)  # one string for all the file's pages: millions of refs at scale
    try:
        with warc.open("rb") as fh:
            it = ArchiveIterator(fh)
            for record in it:
                if record.rec_type != "response" or record.http_headers is None:
                    continue
                if record.http_headers.get_statuscode() != "200":
                    continue
                ctype = (record.http_headers.get_header("Content-Type") or "").lower()
                if not ctype.startswith(INDEXED_TYPES):
                    continue
                url = record.rec_headers.get_header("WARC-Target-URI")
                if not url:
                    continue
                date = record.rec_headers.get_header("WARC-Date") or ""
                digest = record.rec_headers.get_header("WARC-Payload-Digest") or ""
                offset = it.get_record_offset()
                refs.append(PageRef(url.strip("<>"), name, offset, date, digest))
    except (ArchiveLoadFailed, OSError, EOFError, ValueError) as e:
        if not refs:
            raise WarcError(f"{warc}: not a readable WARC file ({e})") from None
        log.warning("%s: stopped at a damaged record after %d pages (%s)", warc, len(refs), e)
    return refs


def read_latest(
    warcs: Iterable[Path], table: Path, canon: Callable[[str], str] | None = None
) -> RefTable:
    """The latest copy of each page across all files (ties: the later file wins), in a
    table at ``table`` (replaced if there), so a build's memory holds none of them.

    ``canon`` gives each URL its one spelling (``DomainSet.canonical``), so the http and
    https copies of a page, or its ``www.`` and bare-host copies, are one page.
    """
    out = RefTable(table)
    try:
        for w in warcs:
            out.add(str(w), scan(w), canon)
    except BaseException:
        out.close()
        raise
    return out


def latest_pages(warcs: Iterable[Path], canon: Callable[[str], str] | None = None) -> list[PageRef]:
    """``read_latest`` as a list in URL order, for a corpus that fits in memory."""
    with tempfile.TemporaryDirectory() as tmp, read_latest(warcs, Path(tmp) / "p.refs", canon) as t:
        return list(t)


def read_html(ref: PageRef) -> bytes:
    """The decoded (de-chunked, decompressed) body of the record at ``ref``."""
    with open(ref.warc, "rb") as fh:
        fh.seek(ref.offset)
        for record in ArchiveIterator(fh):
            return bytes(record.content_stream().read())
    raise WarcError(f"{ref.warc}: no record at offset {ref.offset}")


def find_response(warcs: Iterable[Path], url: str, max_bytes: int) -> bytes | None:
    """The body of the first response for ``url`` in ``warcs`` (of any content type),
    or None when there is none or it is over ``max_bytes``."""
    for warc in warcs:
        with warc.open("rb") as f:
            for record in ArchiveIterator(f):
                if record.rec_type != "response":
                    continue
                if record.rec_headers.get_header("WARC-Target-URI") != url:
                    continue
                data = record.content_stream().read(max_bytes + 1)
                if len(data) <= max_bytes:
                    return bytes(data)
    return None
