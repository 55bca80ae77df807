"""A rebuild after a recrawl that changed 1 % of the pages, and a build killed halfway and
run again, each against a full build of the same WARCs measured in the same run.

1. Full build from nothing (no page or embedding cache): the baseline.
2. A recrawl WARC rewrites 1 % of the pages (a new paragraph each); the rebuild
   extracts only those and embeds only their new passages.
3. A fresh build killed with SIGKILL at half the baseline's time, then the same
   command again: the work redone is (killed run + resumed run - baseline) / baseline.

    .venv/bin/python bench/rebuild.py [--data data] [--changed 0.01] [--no-dense]
"""

from __future__ import annotations

import argparse
import json
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from io import BytesIO
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def build(data: Path, dense: bool) -> tuple[float, dict[str, object]]:
    cmd = [sys.executable, "-m", "stepdr.rank.cli", "build", "--data", str(data),
           "--progress", "off", *([] if dense else ["--no-dense"])]  # fmt: skip
    start = time.perf_counter()
    subprocess.run(cmd, check=True, capture_output=True)
    took = time.perf_counter() - start
    return took, json.loads((data / "index" / "build-stats.json").read_text())


def recrawl(warc_dir: Path, share: float) -> int:
    """A later WARC holding changed copies of every 1/share-th page; how many."""
    from warcio.statusandheaders import StatusAndHeaders
    from warcio.warcwriter import WARCWriter

    from stepdr.index.warc_read import find_warcs, latest_pages, read_html

    refs = latest_pages(find_warcs([warc_dir]))
    step = max(1, round(1 / share))
    picked = refs[::step]
    with (warc_dir / "zz-recrawl.warc.gz").open("wb") as fh:
        writer = WARCWriter(fh, gzip=True)
        for ref in picked:
            body = read_html(ref)
            note = b"<p>Revised: this page was updated after the first crawl, with new text.</p>"
            body = (
                body.replace(b"</body>", note + b"</body>", 1)
                if b"</body>" in body
                else body + note
            )
            headers = StatusAndHeaders(
                "200 OK", [("Content-Type", "text/html; charset=utf-8")], protocol="HTTP/1.1"
            )
            record = writer.create_warc_record(
                ref.url, "response", payload=BytesIO(body), http_headers=headers
            )
            writer.write_record(record)
    return len(picked)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=Path("data"))
    ap.add_argument("--changed", type=float, default=0.01)
    ap.add_argument("--no-dense", action="store_true")
    args = ap.parse_args()
    dense = not args.no_dense

    with tempfile.TemporaryDirectory(prefix="stepdr-incremental-") as tmp:
        full = Path(tmp) / "full"
        shutil.copytree(args.data / "warc", full / "warc")
        t_full, s_full = build(full, dense)
        print(
            f"full build: {t_full:.1f} s, {s_full['pages']} pages, {s_full['passages']} "
            f"passages, embedded {s_full['embedded']}, peak RSS {s_full['peak_rss_mb']} MB"
        )
        n = recrawl(full / "warc", args.changed)
        t_inc, s_inc = build(full, dense)
        print(
            f"rebuild after a recrawl changing {n} pages: {t_inc:.1f} s, extracted "
            f"{s_inc['extracted_pages']} ({s_inc['cached_pages']} from the page cache), "
            f"embedded {s_inc['embedded']} ({s_inc['embedded_cached']} cached)"
        )
        print(f"ratio (rebuild / full build): {t_inc / t_full:.3f}")

        killed = Path(tmp) / "killed"
        shutil.copytree(args.data / "warc", killed / "warc")
        cmd = [sys.executable, "-m", "stepdr.rank.cli", "build", "--data", str(killed),
               "--progress", "off", *([] if dense else ["--no-dense"])]  # fmt: skip
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(t_full / 2)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        t_killed = time.perf_counter() - start
        t_resumed, s_res = build(killed, dense)
        redo = (t_killed + t_resumed - t_full) / t_full
        print(f"killed at {t_killed:.1f} s, resumed in {t_resumed:.1f} s (extracted "
              f"{s_res['extracted_pages']}, embedded {s_res['embedded']}): work redone "
              f"{100 * redo:.1f} % of a full build")  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
