"""Unpack the Debian packages that hold declared mirrors (e.g. python3.11-doc).

Packages are downloaded with ``apt-get download`` (no root needed once the
package lists exist) and unpacked under the mirrors dir, so nothing is installed
system-wide.  Only the folders the mirrors declare are unpacked: the Debian
handbook's package holds every translation, and a mirror of its Chinese pages
needs one of them.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tarfile
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from stepdr.core.errors import MirrorError

from .domains import DomainSet


def packages_needed(domains: DomainSet, mirrors_dir: Path) -> dict[str, list[str]]:
    """Declared packages whose mirror directory is not there yet, with every folder of
    each that a mirror declares."""
    needed: dict[str, list[str]] = {}
    for d in domains.mirrored():
        m = d.mirror
        assert m is not None
        if m.package and d.mirror_root(mirrors_dir) is None:
            needed.setdefault(m.package, [])
    for d in domains.mirrored():
        m = d.mirror
        assert m is not None
        if m.package in needed and m.path.strip("/") not in needed[m.package]:
            needed[m.package].append(m.path.strip("/"))
    return needed


def fetch_packages(
    packages: Mapping[str, Sequence[str]], mirrors_dir: Path, say: Callable[[str], None] = print
) -> None:
    for tool in ("apt-get", "dpkg-deb"):
        if shutil.which(tool) is None:
            raise MirrorError(
                f"'{tool}' not found: fetching Debian mirrors needs Debian's apt tools"
            )
    debs = mirrors_dir / ".debs"
    debs.mkdir(parents=True, exist_ok=True)
    for pkg, folders in packages.items():
        say(f"fetching {pkg}")
        deb = _download(pkg, debs)
        target = mirrors_dir / pkg
        partial = mirrors_dir / f".{pkg}.partial"
        shutil.rmtree(partial, ignore_errors=True)
        unpacked = unpack(deb, partial, folders)
        if not unpacked:
            raise MirrorError(f"{deb.name} holds nothing under {', '.join(folders)}")
        shutil.rmtree(target, ignore_errors=True)
        partial.rename(target)  # a half-unpacked package never looks finished
        deb.unlink()


def unpack(deb: Path, into: Path, folders: Sequence[str]) -> int:
    """Unpack the files of ``deb`` under ``folders`` (all with none); how many there were.

    Links pointing outside what is unpacked (a translation's CSS linked to another's,
    JavaScript linked to a library package) are left out: the pages never need them.
    """
    into.mkdir(parents=True)
    proc = subprocess.Popen(["dpkg-deb", "--fsys-tarfile", str(deb)], stdout=subprocess.PIPE)
    assert proc.stdout is not None
    count = 0
    try:
        with tarfile.open(fileobj=proc.stdout, mode="r|") as tar:
            for member in tar:
                name = member.name.removeprefix("./").rstrip("/")
                if folders and not any(name == f or name.startswith(f + "/") for f in folders):
                    continue
                if member.islnk():  # a hard link: to a file unpacked before, or skipped
                    source = into / member.linkname.removeprefix("./")
                    if source.is_file():
                        dest = into / name
                        dest.parent.mkdir(parents=True, exist_ok=True)
                        shutil.copyfile(source, dest)
                        count += 1
                    continue
                try:
                    tar.extract(member, into, filter="data")
                except (tarfile.FilterError, OSError):
                    continue  # a symbolic link out of what is unpacked
                count += member.isfile()
    except tarfile.TarError as e:
        raise MirrorError(f"unpacking {deb.name} failed: {e}") from None
    finally:
        proc.stdout.close()
        if proc.wait() != 0 and count == 0:
            raise MirrorError(f"dpkg-deb could not read {deb.name}")
    return count


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
