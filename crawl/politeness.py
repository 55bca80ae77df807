"""Politeness beyond Scrapy's defaults: delay floors, Retry-After, fast mirrors.

A host's delay has a floor — its robots.txt Crawl-delay (capped) — that
AutoThrottle may not go below, and a 429 or 503 raises the delay to the
server's Retry-After (capped; doubling per attempt without one) before the
request is tried again.  Mirrored hosts are local files: never throttled.

Floors are strict minimums: Scrapy varies each delay by ±jitter, so the slot
delay is raised enough that its low end still honours the floor.
"""

from __future__ import annotations

import email.utils
import logging
import time
from typing import TYPE_CHECKING

from scrapy.extensions.throttle import AutoThrottle

from stepdr.core.urls import host_in

if TYPE_CHECKING:
    from scrapy import Request, Spider
    from scrapy.core.downloader import Slot
    from scrapy.crawler import Crawler
    from scrapy.http import Response

log = logging.getLogger(__name__)

_FLOOR = "stepdr_floor"


def _strict(slot_jitter: float, seconds: float) -> float:
    return seconds / (1.0 - min(max(slot_jitter, 0.0), 0.9))


def set_floor(crawler: Crawler, host: str, seconds: float) -> None:
    """Make ``seconds`` the least delay between two requests to ``host``."""
    assert crawler.engine is not None
    downloader = crawler.engine.downloader
    conf = downloader.per_slot_settings.setdefault(host, {})
    conf[_FLOOR] = max(float(conf.get(_FLOOR, 0.0)), seconds)
    slot = downloader.slots.get(host)
    jitter = slot.jitter if slot is not None else downloader._jitter
    conf["delay"] = max(float(conf.get("delay", downloader._delay)), _strict(jitter, seconds))
    if slot is not None:
        slot.delay = max(slot.delay, _strict(slot.jitter, seconds))


def retry_after(value: bytes | None, now: float | None = None) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or HTTP-date)."""
    if not value:
        return None
    text = value.decode("latin-1").strip()
    if text.isdigit():
        return float(text)
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


class Throttle(AutoThrottle):
    """AutoThrottle that keeps each host's floor and leaves mirrored hosts alone."""

    def __init__(self, crawler: Crawler) -> None:
        super().__init__(crawler)
        self._mirrored = tuple(crawler.settings.getlist("STEPDR_MIRROR_HOSTS"))

    def _response_downloaded(self, response: Response, request: Request, spider: Spider) -> None:
        key = request.meta.get("download_slot")
        if key is None or host_in(key, self._mirrored):
            return
        super()._response_downloaded(response, request, spider)
        assert self.crawler.engine is not None
        downloader = self.crawler.engine.downloader
        slot: Slot | None = downloader.slots.get(key)
        floor = float(downloader.per_slot_settings.get(key, {}).get(_FLOOR, 0.0))
        if slot is not None and floor:
            slot.delay = max(slot.delay, _strict(slot.jitter, floor))


class BackoffMiddleware:
    """429/503: wait as the server asks, then try again (a few times)."""

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        s = crawler.settings
        self.max_wait = s.getfloat("STEPDR_RETRY_AFTER_MAX", 300.0)
        self.tries = s.getint("STEPDR_BACKOFF_TIMES", 3)
        self.base = s.getfloat("STEPDR_BACKOFF_BASE", 2.0)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> BackoffMiddleware:
        return cls(crawler)

    def process_response(self, request: Request, response: Response) -> Request | Response:
        if response.status not in (429, 503) or request.meta.get("stepdr_robots"):
            return response
        stats = self.crawler.stats
        assert stats is not None and self.crawler.engine is not None
        stats.inc_value(f"stepdr/backoff/{response.status}")
        tries = int(request.meta.get("stepdr_backoff", 0))
        asked = retry_after(response.headers.get(b"Retry-After"))
        wait = asked if asked is not None else self.base * 2**tries
        slot = self.crawler.engine.downloader.slots.get(request.meta.get("download_slot", ""))
        if slot is not None:
            slot.delay = max(slot.delay, _strict(slot.jitter, min(wait, self.max_wait)))
            slot.lastseen = time.monotonic()  # the wait runs from this answer, not the request
        if tries >= self.tries or wait > self.max_wait:
            log.info("%s: %d, giving up until a later crawl", request.url, response.status)
            return response
        return request.replace(
            dont_filter=True,
            priority=request.priority - 1,
            meta={**request.meta, "stepdr_backoff": tries + 1},
        )


__all__ = ["BackoffMiddleware", "Throttle", "retry_after", "set_floor"]
