"""A redis-server of one's own, for a partitioned crawl on one machine (and its tests).

Redis is the Debian ``redis-server`` (``make redis``).  It runs on a unix socket in a
folder of its own, keeps nothing on disk, and is stopped by pid when the block ends.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from stepdr.core.errors import CrawlError


@contextmanager
def local_redis(timeout: float = 10.0) -> Iterator[str]:
    """Start redis-server on a fresh unix socket; yield its URL; stop it by pid."""
    exe = shutil.which("redis-server")
    if exe is None:
        raise CrawlError("redis-server is not installed (Debian: apt-get install redis-server)")
    folder = Path(tempfile.mkdtemp(prefix="stepdr-redis-"))  # short: sockets cap paths at 108
    sock = folder / "redis.sock"
    proc = subprocess.Popen(
        [exe, "--port", "0", "--unixsocket", str(sock), "--save", "", "--appendonly", "no",
         "--dir", str(folder), "--daemonize", "no", "--loglevel", "warning"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + timeout
        # The socket file appears at bind(), before listen(): until a PING is answered
        # a client can still be refused.
        while not _answers(sock):
            if proc.poll() is not None or time.monotonic() > deadline:
                raise CrawlError(f"redis-server did not start (exit status {proc.poll()})")
            time.sleep(0.01)
        yield f"unix://{sock}"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        shutil.rmtree(folder, ignore_errors=True)


def _answers(sock: Path) -> bool:
    """Whether a server on ``sock`` answers PING."""
    if not sock.exists():
        return False
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.settimeout(1.0)
            s.connect(str(sock))
            s.sendall(b"PING\r\n")
            return s.recv(16).startswith(b"+PONG")
    except OSError:
        return False


__all__ = ["local_redis"]
