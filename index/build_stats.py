"""The figures a build writes at its end (DATA/index/build-stats.json), as a crawl writes
crawl/stats.json."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

STATS_FILE = "build-stats.json"
"""Written beside the versions at the end of every build, as the crawl writes its stats."""


def peak_rss_mb() -> dict[str, float]:
    """Peak resident memory of this process and of its largest finished child, in MB."""
    import resource

    scale = 1024 if sys.platform != "darwin" else 1  # ru_maxrss: KiB on Linux, bytes on macOS
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale / 1e6
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * scale / 1e6
    return {"process": round(own, 1), "largest_child": round(children, 1)}


def release_freed_memory() -> None:
    """Hand memory freed by a finished stage back to the system (glibc keeps it for the
    process otherwise), so the next stage's peak starts from what is still in use.
    The FAISS stage's training sample and codes came on top of what tantivy's writer
    had freed but glibc still held."""
    import contextlib
    import ctypes
    import gc

    gc.collect()
    # Not glibc (musl, macOS): nothing to hand back this way.
    with contextlib.suppress(OSError, AttributeError):
        if sys.platform.startswith("linux"):
            ctypes.CDLL("libc.so.6").malloc_trim(0)


def write_build_stats(path: Path, stats: dict[str, Any]) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(stats, indent=2) + "\n", encoding="utf-8")
    os.replace(tmp, path)
