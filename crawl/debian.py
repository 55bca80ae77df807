"""Unpack the Debian packages that hold declared mirrors (e.g. python3.11-doc).

Packages are downloaded with ``apt-get download`` (no root needed once the
package lists exist) and unpacked with ``dpkg-deb -x`` under the mirrors dir,
so nothing is installed system-wide.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

from stepdr.core.errors import MirrorError

from .domains import DomainSet


def packages_needed(domains: DomainSet, mirrors_dir: Path) -> list[str]:
    """Declared packages whose mirror directory is not there yet."""
    needed = []
    for d in domains.mirrored():
        m = d.mirror
        assert m is not None
        if m.package and d.mirror_root(mirrors_dir) is None and m.package not in needed:
            needed.append(m.package)
    return needed


def fetch_packages(
    packages: list[str], mirrors_dir: Path, say: Callable[[str], None] = print
) -> None:
    for tool in ("apt-get", "dpkg-deb"):
        if shutil.which(tool) is None:
            raise MirrorError(
                f"'{tool}' not found: fetching Debian mirrors needs Debian's apt tools"
            )
    debs = mirrors_dir / ".debs"
    debs.mkdir(parents=True, exist_ok=True)
    for pkg in packages:
        say(f"fetching {pkg}")
        deb = _download(pkg, debs)
        target = mirrors_dir / pkg
        partial = mirrors_dir / f".{pkg}.partial"
        shutil.rmtree(partial, ignore_errors=True)
        _run(["dpkg-deb", "-x", str(deb), str(partial)], f"unpacking {deb.name}")
        shutil.rmtree(target, ignore_errors=True)
        partial.rename(target)  # a half-unpacked package never looks finished
        deb.unlink()


def _download(pkg: str, debs: Path) -> Path:
    for f in debs.glob(f"{pkg}_*.deb"):
        f.unlink()
    cmd = ["apt-get", "download", "-q", pkg]
    result = subprocess.run(cmd, cwd=debs, capture_output=True, text=True)
    if result.returncode != 0 and os.geteuid() == 0:
        # A fresh machine may have no package lists yet.
        _run(["apt-get", "update", "-q"], "apt-get update")
        result = subprocess.run(cmd, cwd=debs, capture_output=True, text=True)
    if result.returncode != 0:
        last = (result.stderr.strip().splitlines() or ["no output"])[-1]
        raise MirrorError(f"apt-get download {pkg} failed: {last}")
    found = sorted(debs.glob(f"{pkg}_*.deb"))
    if not found:
        raise MirrorError(f"apt-get download {pkg} wrote no .deb file")
    return found[-1]


def _run(cmd: list[str], what: str) -> None:
    result = subprocess.run(cmd, capture_output=True, text=True)
    if result.returncode != 0:
        last = (result.stderr.strip().splitlines() or ["no output"])[-1]
        raise MirrorError(f"{what} failed: {last}")
