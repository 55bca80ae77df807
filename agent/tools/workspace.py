"""The run's workspace: the only place the agent's file tool may read or write.

Paths are relative, with no ``..``, NUL byte, drive or home prefix.  A path is resolved
to its real location first (so a symlink inside the workspace that points inside it
works) and refused when that lies outside; the resolved path is then walked one
component at a time with ``O_NOFOLLOW`` from a descriptor of the workspace root, so a
symlink swapped in after the check (by a background shell command, say) is refused too
instead of followed.  Hard-linked files are refused: a link to a file outside would
otherwise share its contents.
"""

from __future__ import annotations

import os
import re
import stat as st
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

MAX_PATH = 1024
_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC


class PathError(ValueError):
    """A path the workspace refuses, with the reason in words."""


@dataclass(frozen=True)
class Entry:
    name: str
    kind: str  # file | dir | link | other
    size: int
    mtime: float


class Workspace:
    def __init__(self, root: Path) -> None:
        root.mkdir(parents=True, exist_ok=True)
        self.root = Path(os.path.realpath(root))

    def parts(self, path: object) -> list[str]:
        """The components of a relative workspace path, or PathError saying what is wrong."""
        if not isinstance(path, str):
            raise PathError(f"path must be a string, got {type(path).__name__}")
        if "\x00" in path:
            raise PathError("path contains a NUL byte")
        if len(path) > MAX_PATH:
            raise PathError(f"path longer than {MAX_PATH} characters")
        if any(ord(c) < 32 for c in path):
            raise PathError("path contains control characters")
        if path.startswith(("/", "\\", "~")) or re.match(r"^[A-Za-z]:", path):
            raise PathError(f"{path!r}: only paths relative to the workspace are allowed")
        parts = [p for p in re.split(r"[/\\]+", path) if p not in ("", ".")]
        if ".." in parts:
            raise PathError(f"{path!r}: '..' is not allowed in workspace paths")
        return parts

    def _resolved(self, path: object) -> list[str]:
        parts = self.parts(path)
        real = Path(os.path.realpath(self.root.joinpath(*parts)))
        if real != self.root and not real.is_relative_to(self.root):
            raise PathError(f"{path!r} resolves outside the workspace")
        return list(real.relative_to(self.root).parts)

    @contextmanager
    def _dir(self, parts: list[str], create: bool = False) -> Iterator[int]:
        """A descriptor of the directory ``parts``, walked without following symlinks."""
        fd = os.open(self.root, _DIR_FLAGS)
        try:
            for name in parts:
                try:
                    nfd = os.open(name, _DIR_FLAGS, dir_fd=fd)
                except FileNotFoundError:
                    if not create:
                        raise PathError(f"no such directory: {'/'.join(parts)}") from None
                    os.mkdir(name, 0o755, dir_fd=fd)
                    nfd = os.open(name, _DIR_FLAGS, dir_fd=fd)
                except OSError:
                    raise PathError(f"{'/'.join(parts)}: not a plain directory") from None
                os.close(fd)
                fd = nfd
            yield fd
        finally:
            os.close(fd)

    def _split(self, path: object) -> tuple[list[str], str]:
        parts = self._resolved(path)
        if not parts:
            raise PathError("the path names the workspace itself, not a file")
        return parts[:-1], parts[-1]

    def read_bytes(self, path: object, max_bytes: int) -> bytes:
        parent, name = self._split(path)
        with self._dir(parent) as dfd:
            fd = _open_file(name, os.O_RDONLY, dfd, path)
            with os.fdopen(fd, "rb") as f:
                _check_regular(os.fstat(f.fileno()), path)
                data = f.read(max_bytes + 1)
        if len(data) > max_bytes:
            raise PathError(f"{path}: larger than {max_bytes} bytes")
        return data

    def write_bytes(self, path: object, data: bytes, append: bool = False) -> int:
        parent, name = self._split(path)
        flags = os.O_WRONLY | os.O_CREAT | (os.O_APPEND if append else os.O_TRUNC)
        with self._dir(parent, create=True) as dfd:
            if not append:
                # Replace atomically, so a failed write never leaves half a file behind.
                tmp = f".{name}.{os.getpid()}.tmp"
                fd = _open_file(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, dfd, path)
                try:
                    with os.fdopen(fd, "wb") as f:
                        f.write(data)
                    _refuse_link(name, dfd, path)
                    os.rename(tmp, name, src_dir_fd=dfd, dst_dir_fd=dfd)
                except BaseException:
                    _unlink_quiet(tmp, dfd)
                    raise
                return len(data)
            fd = _open_file(name, flags, dfd, path)
            with os.fdopen(fd, "ab") as f:
                _check_regular(os.fstat(f.fileno()), path)
                f.write(data)
        return len(data)

    def write_text(self, path: str, text: str) -> int:
        return self.write_bytes(path, text.encode("utf-8"))

    def read_text(self, path: str, max_bytes: int = 50_000_000) -> str:
        return self.read_bytes(path, max_bytes).decode("utf-8", errors="replace")

    def stat(self, path: object) -> Entry:
        parts = self._resolved(path)
        if not parts:
            s = os.stat(self.root)
            return Entry(".", "dir", s.st_size, s.st_mtime)
        with self._dir(parts[:-1]) as dfd:
            try:
                s = os.stat(parts[-1], dir_fd=dfd, follow_symlinks=False)
            except FileNotFoundError:
                raise PathError(f"no such file: {path}") from None
        return Entry(parts[-1], _kind(s.st_mode), s.st_size, s.st_mtime)

    def listdir(self, path: object, limit: int = 500) -> tuple[list[Entry], int]:
        with self._dir(self._resolved(path)) as dfd:
            entries = []
            with os.scandir(dfd) as it:
                for e in it:
                    s = e.stat(follow_symlinks=False)
                    entries.append(Entry(e.name, _kind(s.st_mode), s.st_size, s.st_mtime))
        entries.sort(key=lambda e: (e.kind != "dir", e.name))
        return entries[:limit], len(entries)


def _open_file(name: str, flags: int, dfd: int, shown: object) -> int:
    try:
        return os.open(name, flags | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644, dir_fd=dfd)
    except FileNotFoundError:
        raise PathError(f"no such file: {shown}") from None
    except IsADirectoryError:
        raise PathError(f"{shown} is a directory") from None
    except OSError as e:
        raise PathError(f"{shown}: cannot open ({e.strerror})") from None


def _check_regular(s: os.stat_result, shown: object) -> None:
    if not st.S_ISREG(s.st_mode):
        raise PathError(f"{shown} is not a regular file")
    if s.st_nlink > 1:
        raise PathError(f"{shown} is hard-linked elsewhere; refused")


def _refuse_link(name: str, dfd: int, shown: object) -> None:
    try:
        s = os.stat(name, dir_fd=dfd, follow_symlinks=False)
    except FileNotFoundError:
        return
    if st.S_ISDIR(s.st_mode):
        raise PathError(f"{shown} is a directory")
    if not st.S_ISREG(s.st_mode) and not st.S_ISLNK(s.st_mode):
        raise PathError(f"{shown} is not a regular file")


def _unlink_quiet(name: str, dfd: int) -> None:
    with suppress(OSError):
        os.unlink(name, dir_fd=dfd)


def _kind(mode: int) -> str:
    if st.S_ISDIR(mode):
        return "dir"
    if st.S_ISREG(mode):
        return "file"
    if st.S_ISLNK(mode):
        return "link"
    return "other"
