"""A worker of a crawl coordinated through Redis: the Scrapy side of leases.py.

Once a tick (``STEPDR_TICK`` seconds, on the reactor: each tick is a few
pipelined round trips to Redis) the coordinator

1. renews the worker's heartbeat and learns which partitions it still holds: one
   it lost (its heartbeat expired, another worker reaped it) is closed at once, and
   its requests still queued are dropped by ``LeaseGuard`` instead of fetched;
2. returns the leases of workers whose heartbeat expired;
3. admits, in stream order, the links other partitions handed over to its own;
4. finishes the partitions with nothing in flight and nothing unread in their stream;
5. opens the partitions Redis says it holds and it has not opened (a worker
   restarted under its name after a kill takes its leases back), then leases
   partitions up to ``STEPDR_LEASES`` and opens each from its journal, the way a
   single-process crawl resumes (a partition still locked by a worker on its way
   out is handed back and tried again later);
6. publishes its figures for ``stepdr-index crawl-status``.

The spider stays open while the crawl is not over, and ends when every partition
is finished.  On the way out, the worker hands its leases back, so the others take
over without waiting for the heartbeat to expire.
"""

from __future__ import annotations

import contextlib
import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

from scrapy import signals
from scrapy.exceptions import DontCloseSpider, NotConfigured

from .journal import Link
from .leases import LeaseClash, Leases, connect
from .refusals import RetryLater
from .session import CrawlSession, session_of
from .spider import AuthoritySpider

if TYPE_CHECKING:
    from scrapy import Request, Spider
    from scrapy.crawler import Crawler
    from scrapy.statscollectors import StatsCollector

log = logging.getLogger(__name__)


class Coordinator:
    def __init__(self, crawler: Crawler) -> None:
        s = crawler.settings
        if not s.get("STEPDR_REDIS"):
            raise NotConfigured
        self.crawler = crawler
        self.url = str(s.get("STEPDR_REDIS"))
        self.leases = Leases(
            connect(self.url),
            str(s.get("STEPDR_CRAWL_NAME", "crawl")),
            str(s.get("STEPDR_WORKER")),
            str(s.get("STEPDR_WORKER_TOKEN")),
            s.getfloat("STEPDR_LEASE_TTL", 10.0),
        )
        self.max_leases = s.getint("STEPDR_LEASES", 16)
        self.tick_s = s.getfloat("STEPDR_TICK", 1.0)
        self.recrawl = s.getbool("STEPDR_RECRAWL")
        self.warc_root = Path(s.get("STEPDR_WARC_DIR", "warc"))
        self.read_to: dict[str, str] = {}
        """Per open partition, the last stream id admitted."""
        self.entry_keys: dict[str, set[str]] = {}
        self.outbox: list[tuple[str, str, int, int]] = []
        self.sent: set[str] = set()
        self.finished = False
        self._loop: Any = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Coordinator:
        ext = cls(crawler)
        crawler.signals.connect(ext.opened, signal=signals.spider_opened)
        crawler.signals.connect(ext.idle, signal=signals.spider_idle)
        crawler.signals.connect(ext.closed, signal=signals.spider_closed)
        return ext

    @property
    def stats(self) -> StatsCollector:
        assert self.crawler.stats is not None
        return self.crawler.stats

    @property
    def session(self) -> CrawlSession:
        return session_of(self.crawler)

    def opened(self, spider: Spider) -> None:
        from twisted.internet.task import LoopingCall

        assert isinstance(spider, AuthoritySpider)
        self.spider = spider
        session = self.session
        session.handover = self.hand_over
        session.flush = self.flush
        self._loop = LoopingCall(self.tick)
        self._loop.start(self.tick_s, now=True)

    # -- the tick -----------------------------------------------------------------------

    def tick(self) -> None:
        import redis

        if self.finished:
            return
        try:
            self._tick()
        except LeaseClash as e:
            self.fail(str(e))
        except redis.RedisError as e:
            self.fail(f"Redis at {self.url}: {type(e).__name__}: {e}")

    def _tick(self) -> None:
        session = self.session
        held = set(self.leases.beat())
        for key in [k for k in session.parts if k not in held]:
            self.lose(key)
        if self.leases.reap():
            log.info("returned the leases of a worker whose heartbeat expired")
        self.flush()
        requests = self.read_streams()
        for key in list(session.parts):
            if self.quiet(key):
                outcome = self.leases.finish(key, self.read_to.get(key, ""))
                if outcome == "done":
                    self.close(key, "done")
                elif outcome == "lost":
                    self.lose(key)
                if outcome != "more":
                    held.discard(key)
        for key in sorted(held - set(session.parts)):
            # Held in Redis, not open here: this worker was restarted under its name.
            adopted = self.open(key)
            if adopted is None:
                self.leases.release(key)
            else:
                requests += adopted
        while len(session.parts) < self.max_leases:
            leased = self.leases.lease()
            if leased is None:
                break
            opened = self.open(leased)
            if opened is None:
                self.leases.release(leased)  # locked by a worker on its way out: later
                break
            requests += opened
        assert self.crawler.engine is not None
        for request in requests:
            self.crawler.engine.crawl(request)
        self.publish()
        if not session.parts and self.leases.over():
            self.finished = True
            self.stop("finished")

    def quiet(self, key: str) -> bool:
        """Nothing of the partition is in flight or waits to be admitted."""
        pending = self.session.pending
        return not any(pending[k] for k in self.entry_keys.get(key, ()))

    def open(self, key: str) -> list[Request] | None:
        session = self.session
        part = session.new_partition(key, self.warc_root)
        if not part.try_lock():
            return None
        try:
            epoch = self.recrawl and self.leases.begin_recrawl(key)
            due = session.open_partition(part, new_epoch=epoch)
        except Exception:
            part.close()
            raise
        self.entry_keys[key] = {d.key for d in session.partition_domains(key)}
        self.read_to[key] = ""
        requests = self.spider.first_requests(part, due)
        self.stats.inc_value("stepdr/partitions/opened")
        log.info("partition %s: opened, %d due", key, len(due))
        return requests

    def close(self, key: str, state: str) -> None:
        session = self.session
        part = session.parts.get(key)
        pages = part.stored_pages() if part else 0
        self._drop(key)
        self.leases.publish({key: {"state": state, "pages": pages, "owner": ""}})
        self.stats.inc_value(f"stepdr/partitions/{state}")
        log.info("partition %s: %s", key, state)

    def lose(self, key: str) -> None:
        log.warning("partition %s: lease lost; another worker continues it", key)
        self._drop(key)
        self.stats.inc_value("stepdr/partitions/lost")

    def _drop(self, key: str) -> None:
        self.session.close_partition(key)
        self.read_to.pop(key, None)
        self.entry_keys.pop(key, None)

    def read_streams(self) -> list[Request]:
        session = self.session
        if not session.parts:
            return []
        requests: list[Request] = []
        got = self.leases.read([(k, self.read_to.get(k, "")) for k in session.parts])
        for key, links in got.items():
            for h in links:
                link = session.admit(h.url, h.depth, h.hops)
                if link is not None:
                    requests.append(self.spider.request(link))
                self.read_to[key] = h.id
            if links:
                self.stats.inc_value("stepdr/handed_in", len(links))
        return requests

    # -- links for other partitions -----------------------------------------------------

    def hand_over(self, key: str, link: Link) -> None:
        if link.url not in self.sent:
            self.sent.add(link.url)
            self.outbox.append((key, link.url, link.depth, link.hops))

    def flush(self) -> None:
        if self.outbox:
            batch, self.outbox = self.outbox, []
            self.leases.send(batch)
            self.stats.inc_value("stepdr/handed_out", len(batch))

    # -- figures and the end ------------------------------------------------------------

    def publish(self, error: str = "") -> None:
        session, stats = self.session, self.crawler.stats
        assert stats is not None
        parts = {
            key: {"state": "open", "owner": self.leases.worker, "pages": part.stored_pages()}
            for key, part in session.parts.items()
        }
        figures: dict[str, Any] = {
            "pages": int(stats.get_value("stepdr/pages", 0)),
            "errors": int(stats.get_value("stepdr/errors", 0)),
            "held": len(session.parts),
        }
        if error:
            figures["last_error"] = error[:300]
        self.leases.publish(parts, figures)

    def fail(self, message: str) -> None:
        log.error("%s", message)
        assert self.crawler.stats is not None and self.crawler.engine is not None
        self.crawler.stats.set_value("stepdr/fatal", message)
        self.finished = True
        with contextlib.suppress(Exception):  # Redis may be the very thing that failed
            self.publish(message)
        self.stop("failed")

    def stop(self, reason: str) -> None:
        from scrapy.utils.defer import deferred_from_coro

        assert self.crawler.engine is not None
        deferred_from_coro(self.crawler.engine.close_spider_async(reason=reason))

    def idle(self) -> None:
        if not self.finished:
            raise DontCloseSpider

    def closed(self, **_: Any) -> None:
        import redis

        if self._loop is not None and self._loop.running:
            self._loop.stop()
        self.session.close()  # journals synced and partitions unlocked before others open them
        try:
            self.flush()
            self.publish()
            self.leases.leave()
        except redis.RedisError as e:
            log.warning("Redis at %s: leases not handed back (%s); they expire", self.url, e)


class LeaseGuard:
    """Drops a queued request whose partition this worker no longer holds."""

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> LeaseGuard:
        if not crawler.settings.get("STEPDR_REDIS"):
            raise NotConfigured
        return cls(crawler)

    def process_request(self, request: Request) -> None:
        if "stepdr_link" in request.meta and session_of(self.crawler).part_of(request.url) is None:
            raise RetryLater("lease_lost", request.url)


__all__ = ["Coordinator", "LeaseGuard"]
