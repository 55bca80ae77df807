"""Crawl progress while it runs.

On a terminal, one status line redrawn in place (pages, bytes, errors, rate,
the longest per-entry queues); otherwise a plain log line now and then, so logs
of unattended runs stay readable.
"""

from __future__ import annotations

import logging
import sys
import time
from typing import TYPE_CHECKING, Any

from scrapy import signals
from scrapy.exceptions import NotConfigured
from twisted.internet.task import LoopingCall

from .session import session_of
from .summary import human_bytes

if TYPE_CHECKING:
    from scrapy.crawler import Crawler

log = logging.getLogger(__name__)


class Progress:
    def __init__(self, crawler: Crawler) -> None:
        mode = crawler.settings.get("STEPDR_PROGRESS", "auto")
        if mode == "off":
            raise NotConfigured
        self.tty = sys.stderr.isatty() if mode == "auto" else mode == "tty"
        default = 0.5 if self.tty else 10.0
        self.interval = crawler.settings.getfloat("STEPDR_PROGRESS_INTERVAL", default)
        self.crawler = crawler
        self._loop: LoopingCall | None = None
        self._start = time.monotonic()

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Progress:
        ext = cls(crawler)
        crawler.signals.connect(ext.opened, signal=signals.spider_opened)
        crawler.signals.connect(ext.closed, signal=signals.spider_closed)
        return ext

    def opened(self, **_: Any) -> None:
        self._start = time.monotonic()
        self._loop = LoopingCall(self.tick)
        self._loop.start(self.interval, now=False)

    def line(self) -> str:
        stats = self.crawler.stats
        assert stats is not None
        pages = int(stats.get_value("stepdr/pages", 0))
        size = int(stats.get_value("stepdr/stored_bytes", 0))
        errors = int(stats.get_value("stepdr/errors", 0))
        rate = pages / max(time.monotonic() - self._start, 1e-6)
        queues = session_of(self.crawler).pending.most_common(3)
        queue = ", ".join(f"{k} {n}" for k, n in queues if n) or "empty"
        return (
            f"{pages} pages  {human_bytes(size)}  {errors} errors  "
            f"{rate:.1f} pages/s  queue: {queue}"
        )

    def tick(self) -> None:
        text = self.line()
        if self.tty:
            sys.stderr.write("\r\x1b[K" + text[:200])
            sys.stderr.flush()
        else:
            log.info("progress: %s", text)

    def closed(self, **_: Any) -> None:
        if self._loop is not None and self._loop.running:
            self._loop.stop()
        if self.tty:
            sys.stderr.write("\r\x1b[K")
            sys.stderr.flush()


__all__ = ["Progress"]
