"""A page's CPU work (parsing its links, compressing its WARC records) off the reactor.

Worker processes (``page_pool.PageProcesses``) take it where the machine has cores for them:
the link scanner's regular expressions hold the GIL, and on a thread they stall the
reactor, which goes on downloading only when it holds the GIL.  Worker threads
(``off_thread``) are the fallback, and what robots.txt and a broken pool use: zlib
and sha1 let go of the GIL there.
What must stay in order (the WARC file's appends, the journal, admitting links)
stays on the reactor thread: only pure functions of a response go out.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

T = TypeVar("T")

_POOL: ThreadPoolExecutor | None = None


def _pool() -> ThreadPoolExecutor:
    global _POOL
    if _POOL is None:
        _POOL = ThreadPoolExecutor(
            max_workers=max(2, min(4, os.cpu_count() or 2)), thread_name_prefix="stepdr-page"
        )
    return _POOL


def asyncio_running() -> bool:
    """Whether an asyncio loop runs this code: Scrapy's asyncio reactor, or a test's."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


async def off_thread(fn: Callable[..., T], *args: object) -> T:
    """``fn(*args)`` on a worker thread; in place when no asyncio loop runs (Scrapy on
    another Twisted reactor)."""
    if not asyncio_running():
        return fn(*args)
    return await asyncio.wrap_future(_pool().submit(fn, *args))


def default_processes(worker: bool = False) -> int:
    """One worker process per core beyond the reactor's, at most 4; none on one core,
    and none for a worker of a Redis crawl (``worker``), which shares its machine's
    cores with the other workers there.  On 2 cores one process measured 0.79-0.91 of
    bare Scrapy in ``bench/crawl.py`` (7 runs) against threads' 0.60-0.72, while with a
    process each, 2 and 3 workers fell to 0.77x and 0.65x one worker
    (``bench/crawl_workers.py``)."""
    if worker:
        return 0
    return max(0, min(4, (os.cpu_count() or 1) - 1))


__all__ = ["asyncio_running", "default_processes", "off_thread"]
