"""A page's CPU work (parsing its links, compressing its WARC records) off the reactor.

Worker processes (``PageProcesses``) take it where the machine has cores for them:
the link scanner's regular expressions hold the GIL, and on a thread they stall the
reactor, which goes on downloading only when it holds the GIL.  Worker threads
(``off_thread``) are the fallback, and what robots.txt and a broken pool use: zlib
and sha1 let go of the GIL there.
What must stay in order (the WARC file's appends, the journal, admitting links)
stays on the reactor thread: only pure functions of a response go out.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import os
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import TypeVar

from stepdr.core.processes import die_with_parent

T = TypeVar("T")
log = logging.getLogger(__name__)

_POOL: ThreadPoolExecutor | None = None


def _pool() -> ThreadPoolExecutor:
    global _POOL
    if _POOL is None:
        _POOL = ThreadPoolExecutor(
            max_workers=max(2, min(4, os.cpu_count() or 2)), thread_name_prefix="stepdr-page"
        )
    return _POOL


def _asyncio() -> bool:
    """Whether an asyncio loop runs this code: Scrapy's asyncio reactor, or a test's."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


async def off_thread(fn: Callable[..., T], *args: object) -> T:
    """``fn(*args)`` on a worker thread; in place when no asyncio loop runs (Scrapy on
    another Twisted reactor)."""
    if not _asyncio():
        return fn(*args)
    return await asyncio.wrap_future(_pool().submit(fn, *args))


def default_processes(worker: bool = False) -> int:
    """One worker process per core beyond the reactor's, at most 4; none on one core,
    and none for a worker of a Redis crawl (``worker``), which shares its machine's
    cores with the other workers there.  On 2 cores one process measured 0.78 of bare
    Scrapy against threads' 0.72 in ``bench/crawl.py`` (mean of 4 runs each; single
    runs of either range over 0.64-0.84), while with a process each, 2 and 3 workers
    fell to 0.77x and 0.65x one worker (``bench/crawl_workers.py``)."""
    if worker:
        return 0
    return max(0, min(4, (os.cpu_count() or 1) - 1))


def _worker_start(parent_pid: int) -> None:
    die_with_parent(parent_pid)
    # What the page work needs, imported while the crawl is still starting, not when
    # its first page arrives.
    import stepdr.crawl.page_work  # noqa: F401


class PageProcesses:
    """Worker processes for pure functions of a page, dying with the crawl however it
    ends (``die_with_parent``).  With 0 processes, or once the pool breaks (a worker
    killed), the work goes to threads instead."""

    def __init__(self, processes: int) -> None:
        self.processes = processes
        self._pool: ProcessPoolExecutor | None = None

    def start(self) -> None:
        """Spawn the workers now, so their start overlaps Scrapy's own."""
        if self.processes <= 0 or self._pool is not None:
            return
        self._pool = ProcessPoolExecutor(
            max_workers=self.processes,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_worker_start,
            initargs=(os.getpid(),),
        )
        for _ in range(self.processes):
            self._pool.submit(os.getpid)

    async def run(self, fn: Callable[..., T], *args: object) -> T:
        pool = self._pool
        if pool is None or not _asyncio():
            return await off_thread(fn, *args)
        try:
            return await asyncio.wrap_future(pool.submit(fn, *args))
        except BrokenProcessPool:
            if self._pool is pool:
                log.warning("page worker process died; page work goes to threads from now on")
                self._pool = None
                pool.shutdown(wait=False, cancel_futures=True)
            return await off_thread(fn, *args)

    def close(self) -> None:
        pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)


__all__ = ["PageProcesses", "default_processes", "off_thread"]
