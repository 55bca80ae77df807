"""Page worker pools for tests: started, and waited for until a process takes pages."""

from __future__ import annotations

import time

from stepdr.crawl.page_pool import PageProcesses


def started(workers: PageProcesses) -> PageProcesses:
    """``workers`` once a process of theirs takes pages (threads do until then)."""
    workers.start()
    deadline = time.monotonic() + 60
    while not workers.warm():
        assert time.monotonic() < deadline, "no page worker process came up in 60 s"
        time.sleep(0.02)
    return workers
