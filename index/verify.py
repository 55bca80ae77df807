"""The full consistency check of an index version: checksums, counts and ids agree.

Opening a version (``Version.open``) checks the counts, cheaply, every time;
``verify_version`` also re-hashes every file and compares the id sets, for
`stepdr-index verify` and before a build publishes.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from stepdr.core.errors import IndexCorruptError

from .version import Version
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


def verify_version(version: Path) -> dict[str, Any]:
    """Full check; returns the manifest, or raises IndexCorruptError naming the fault."""
    manifest = read_manifest(version)
    recorded = manifest.get("checksums")
    if recorded is not None:
        actual = file_checksums(version)
        bad = sorted(k for k in recorded.keys() | actual.keys() if recorded.get(k) != actual.get(k))
        if bad:
            raise IndexCorruptError(f"{version.name}: checksum mismatch in {', '.join(bad[:5])}")
    if "shards" in manifest:
        from .shards import check_shards, shard_paths

        counts = [int(verify_version(p)["passages"]) for p in shard_paths(version, manifest)]
        check_shards(version, manifest, counts)
        return manifest
    opened = Version.open(version, use_gpu=False)
    try:
        if opened.dense is not None and set(opened.dense.ids()) != set(opened.store.all_ids()):
            raise IndexCorruptError(f"{version.name}: dense ids differ from passage ids")
    finally:
        opened.close()
    return manifest
