"""Consistency checks of an index version: counts, ids and checksums agree.

``check_counts`` is cheap and runs whenever a version is opened; ``verify_version``
also re-hashes every file and compares the id sets, for `stepdr-index verify`
and before a build publishes.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from stepdr.crawl.errors import IndexCorruptError

from .versions import MANIFEST, read_manifest


def file_checksums(version: Path) -> dict[str, str]:
    out = {}
    for f in sorted(version.rglob("*")):
        rel = f.relative_to(version).as_posix()
        # Lock files come and go while the index is read; they are not data.
        if f.is_file() and rel != MANIFEST and not f.name.startswith("."):
            h = hashlib.sha256()
            with f.open("rb") as fh:
                for block in iter(lambda: fh.read(1 << 20), b""):
                    h.update(block)
            out[rel] = h.hexdigest()
    return out


def check_counts(version: Path, manifest: dict[str, Any], counts: dict[str, int | None]) -> None:
    expected = manifest["passages"]
    wrong = {k: v for k, v in counts.items() if v is not None and v != expected}
    if wrong:
        detail = ", ".join(f"{k} {v}" for k, v in wrong.items())
        raise IndexCorruptError(f"{version.name}: counts disagree (manifest {expected}, {detail})")


def verify_version(version: Path) -> dict[str, Any]:
    """Full check; returns the manifest, or raises IndexCorruptError naming the fault."""
    manifest = read_manifest(version)
    recorded = manifest.get("checksums")
    if recorded is not None:
        actual = file_checksums(version)
        bad = sorted(k for k in recorded.keys() | actual.keys() if recorded.get(k) != actual.get(k))
        if bad:
            raise IndexCorruptError(f"{version.name}: checksum mismatch in {', '.join(bad[:5])}")
    from .bm25 import BM25Index
    from .store import PassageStore

    try:
        store = PassageStore(version)
        ids = store.all_ids()
        counts: dict[str, int | None] = {"store": len(ids), "bm25": BM25Index(version).count()}
        store.close()
        if manifest.get("embedding"):
            from .dense import DenseIndex

            dense = DenseIndex(version, use_gpu=False)
            counts["dense"] = dense.count()
            if set(dense.ids()) != set(ids):
                raise IndexCorruptError(f"{version.name}: dense ids differ from passage ids")
    except IndexCorruptError:
        raise
    except Exception as e:
        raise IndexCorruptError(f"{version.name}: cannot open ({type(e).__name__}: {e})") from None
    check_counts(version, manifest, counts)
    return manifest
