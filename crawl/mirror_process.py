"""The loopback mirror served from a process of its own.

In the crawl's own process the mirror's request threads share one interpreter lock
with Scrapy's reactor, so on a machine with cores to spare each waits for the other.
``MirrorProcess`` runs the same ``MirrorServer`` in a child that dies with its parent
(see ``stepdr.core.processes``); the crawl talks to it over loopback, as to any site.
"""

from __future__ import annotations

import multiprocessing
import os
from typing import Any

from stepdr.core.errors import MirrorError
from stepdr.core.processes import die_with_parent

from .mirror import MirrorMap, MirrorServer

START_TIMEOUT_S = 60.0


def _serve(mirror: MirrorMap, host: str, port: int, conn: Any, parent: int) -> None:
    die_with_parent(parent)
    try:
        server = MirrorServer(mirror, host, port)
    except OSError as e:
        conn.send(("error", f"mirror server cannot listen on {host}:{port}: {e}"))
        return
    conn.send(("ok", server.address))
    conn.close()
    server.serve_forever()


class MirrorProcess:
    """A MirrorServer in a child process; the same face (``address``, ``proxy_url``)."""

    def __init__(self, mirror: MirrorMap, host: str = "127.0.0.1", port: int = 0) -> None:
        self._args = (mirror, host, port)
        self._proc: Any = None
        self._address: tuple[str, int] | None = None

    @property
    def address(self) -> tuple[str, int]:
        if self._address is None:
            raise MirrorError("mirror process not started")
        return self._address

    @property
    def proxy_url(self) -> str:
        host, port = self.address
        return f"http://{host}:{port}"

    def start(self) -> MirrorProcess:
        ctx = multiprocessing.get_context("spawn")
        receiver, sender = ctx.Pipe(duplex=False)
        self._proc = ctx.Process(
            target=_serve, args=(*self._args, sender, os.getpid()), name="stepdr-mirror"
        )
        self._proc.daemon = True
        self._proc.start()
        sender.close()
        try:
            if not receiver.poll(START_TIMEOUT_S):
                raise MirrorError(f"mirror process gave no address in {START_TIMEOUT_S:.0f} s")
            status, value = receiver.recv()
        except EOFError:
            status, value = "error", f"mirror process exited with code {self._proc.exitcode}"
        finally:
            receiver.close()
        if status != "ok":
            self.stop()
            raise MirrorError(str(value))
        self._address = (str(value[0]), int(value[1]))
        return self

    def stop(self) -> None:
        if self._proc is None:
            return
        self._proc.terminate()
        self._proc.join(5)
        if self._proc.is_alive():
            self._proc.kill()
            self._proc.join()
        self._proc = None

    def __enter__(self) -> MirrorProcess:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
