"""A page's CPU work (parsing its links, compressing its WARC records) on worker threads.

zlib and sha1 let go of the GIL while they work, so on a machine with more than one
core they run beside the reactor, which goes on downloading (the link scanner's
regular expressions hold it).
What must stay in order (the WARC file's appends, the journal, admitting links)
stays on the reactor thread: only pure functions of a response come here.
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


async def off_thread(fn: Callable[..., T], *args: object) -> T:
    """``fn(*args)`` on a worker thread; in place when no asyncio loop runs Scrapy."""
    from scrapy.utils.reactor import is_asyncio_reactor_installed

    if not is_asyncio_reactor_installed():
        return fn(*args)
    return await asyncio.wrap_future(_pool().submit(fn, *args))


__all__ = ["off_thread"]
