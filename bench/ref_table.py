"""What a build holds to know the latest copy of each page: a dict of page references
made into a sorted list (the baseline, as builds did before) against ``RefTable`` (an
SQLite file read back a block at a time), each in a fresh process, over WARC files of N
tiny pages written here (a tenth of them recrawled in a later file, so the later copy
must win).  Both walk the references block by block afterwards, as extraction does.

    .venv/bin/python bench/ref_table.py [--pages 500000] [--files 20]

Reports seconds and the peak RSS above the process's start.  Not a test.
"""

from __future__ import annotations

import argparse
import multiprocessing
import resource
import sys
import tempfile
import time
from io import BytesIO
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _write(folder: Path, pages: int, files: int) -> list[Path]:
    from warcio.statusandheaders import StatusAndHeaders
    from warcio.warcwriter import WARCWriter

    body = b"<html><body><p>x</p></body></html>"
    paths = []
    per = -(-pages // files)
    for f in range(files + 1):  # the last file recrawls every tenth page
        path = folder / f"crawl-{f:03d}.warc"
        urls = range(0, pages, 10) if f == files else range(f * per, min(pages, (f + 1) * per))
        with path.open("wb") as fh:
            writer = WARCWriter(fh, gzip=False)
            for i in urls:
                headers = StatusAndHeaders(
                    "200 OK", [("Content-Type", "text/html")], protocol="HTTP/1.1"
                )
                writer.write_record(
                    writer.create_warc_record(
                        f"https://site{i % 1254}.example.org/docs/page/{i}.html",
                        "response",
                        payload=BytesIO(body),
                        http_headers=headers,
                    )
                )
        paths.append(path)
    return paths


def _run(how: str, warcs: list[Path], scratch: Path, out: multiprocessing.Queue[object]) -> None:
    from dataclasses import replace

    from stepdr.index.records import PageRef
    from stepdr.index.warc_read import read_latest, scan

    base = _peak_mb()
    start = time.perf_counter()
    n = 0
    if how == "dict":
        latest: dict[str, PageRef] = {}
        for w in warcs:
            for ref in scan(w):
                ref = replace(ref, url=ref.url)  # as the canonical spelling did
                prev = latest.get(ref.url)
                if prev is None or ref.fetched >= prev.fetched:
                    latest[ref.url] = ref
        refs = sorted(latest.values(), key=lambda r: r.url)
        for i in range(0, len(refs), 1024):
            n += len(refs[i : i + 1024])
    else:
        with read_latest(warcs, scratch / "bench.refs", lambda u: u) as table:
            for block in table.blocks():
                n += len(block)
    out.put((n, time.perf_counter() - start, _peak_mb() - base))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--pages", type=int, default=500_000)
    ap.add_argument("--files", type=int, default=20)
    args = ap.parse_args()
    ctx = multiprocessing.get_context("spawn")
    with tempfile.TemporaryDirectory() as tmp:
        warcs = _write(Path(tmp), args.pages, args.files)
        got = {}
        for how in ("dict", "table"):
            q: multiprocessing.Queue[object] = ctx.Queue()
            p = ctx.Process(target=_run, args=(how, warcs, Path(tmp), q))
            p.start()
            got[how] = q.get()
            p.join()
    (dn, ds, dm), (tn, ts, tm) = got["dict"], got["table"]
    assert dn == tn == args.pages, (dn, tn)
    print(f"{args.pages} pages in {args.files + 1} WARC files")
    print(f"dict + sorted list (baseline): {ds:6.1f} s, +{dm:7.1f} MB peak")
    print(f"RefTable:                      {ts:6.1f} s, +{tm:7.1f} MB peak")
    print(f"ratio table/dict: time {ts / ds:.2f}, memory {tm / dm:.3f}")


if __name__ == "__main__":
    main()
