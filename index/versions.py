"""Index versions: each build writes a new directory, published by an atomic swap.

    <data>/index/CURRENT                     name of the live version
    <data>/index/versions/<id>/manifest.json
    <data>/index/versions/<id>/passages.sqlite
    <data>/index/versions/<id>/bm25/

A build writes ``versions/<id>.partial`` and renames it when complete; only then
is CURRENT replaced (write, fsync, rename, fsync the directory).  A crash at any
point leaves the previous version live and at worst a ``.partial`` to sweep.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path
from typing import Any

from stepdr.core.errors import IndexCorruptError, IndexNotFoundError

MANIFEST = "manifest.json"
FORMAT = 1


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class IndexDir:
    def __init__(self, data_dir: Path) -> None:
        self.root = data_dir / "index"
        self.versions = self.root / "versions"
        self.pointer = self.root / "CURRENT"

    def current(self) -> Path:
        """The live version directory; IndexNotFoundError when there is none."""
        if not self.pointer.is_file():
            raise IndexNotFoundError(
                f"no index in {self.root.parent}: run 'stepdr-index build' first"
            )
        name = self.pointer.read_text().strip()
        path = self.versions / name
        if not name or not (path / MANIFEST).is_file():
            raise IndexCorruptError(f"{self.pointer} names version {name!r}, which is missing")
        return path

    def current_or_none(self) -> Path | None:
        try:
            return self.current()
        except (IndexNotFoundError, IndexCorruptError):
            return None

    def _complete(self) -> list[Path]:
        return sorted(
            p for p in self.versions.iterdir() if p.is_dir() and not p.name.endswith(".partial")
        )

    def candidates(self) -> list[Path]:
        """Versions to try serving: the live one first, then older complete ones."""
        live = self.current()
        older = reversed(self._complete())
        return [live, *(p for p in older if p != live and (p / MANIFEST).is_file())]

    def new_version(self) -> Path:
        self.versions.mkdir(parents=True, exist_ok=True)
        for stale in self.versions.glob("*.partial"):
            shutil.rmtree(stale, ignore_errors=True)
        while True:  # ids sort by age: a timestamp to the nanosecond
            ns = time.time_ns()
            stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime(ns // 10**9))
            vid = f"{stamp}.{ns % 10**9:09d}-{os.getpid()}"
            if not (self.versions / vid).exists():
                break
        path = self.versions / f"{vid}.partial"
        path.mkdir()
        return path

    def publish(self, partial: Path) -> Path:
        final = partial.with_name(partial.name.removesuffix(".partial"))
        for f in partial.rglob("*"):
            if f.is_file():
                with f.open("rb") as fh:
                    os.fsync(fh.fileno())
        partial.rename(final)
        _fsync_dir(self.versions)
        tmp = self.root / "CURRENT.tmp"
        with tmp.open("w") as fh:
            fh.write(final.name + "\n")
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, self.pointer)
        _fsync_dir(self.root)
        return final

    def prune(self, keep: int) -> list[Path]:
        """Remove all but the newest ``keep`` versions; never the live one."""
        live = self.current_or_none()
        done = self._complete()
        removed = []
        for old in done[: max(0, len(done) - keep)]:
            if old != live:
                shutil.rmtree(old)
                removed.append(old)
        return removed


def write_manifest(version: Path, manifest: dict[str, Any]) -> None:
    data = {"format": FORMAT, **manifest}
    (version / MANIFEST).write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")


def read_manifest(version: Path) -> dict[str, Any]:
    try:
        data = json.loads((version / MANIFEST).read_text())
    except (OSError, ValueError) as e:
        raise IndexCorruptError(f"{version}: unreadable manifest ({e})") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise IndexCorruptError(f"{version}: manifest of an unknown format")
    return data
