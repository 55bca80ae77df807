"""The state of one crawl, shared by the spider and the middlewares.

It owns the journal and the WARC files, decides which URLs enter the frontier
(scope, traps, budgets), and on start rebuilds the frontier from the journal:
every URL discovered so far, admitted in discovery order up to each entry's
budget, minus those already settled.  A larger budget on a later run therefore
continues where a smaller one stopped.
"""

from __future__ import annotations

import logging
import time
import weakref
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Any

from stepdr.core.urls import canonical, host_in

from .domains import Domain, DomainSet
from .domains_yaml import load_domains
from .journal import Journal, JournalState, Link, Stored
from .traps import TrapGuard, TrapRules
from .warc_files import WarcFiles
from .warc_repair import repair_open_files

if TYPE_CHECKING:
    from scrapy import Request
    from scrapy.crawler import Crawler
    from scrapy.http import Response
    from scrapy.settings import BaseSettings
    from scrapy.statscollectors import StatsCollector

log = logging.getLogger(__name__)

_SESSIONS: weakref.WeakKeyDictionary[Any, CrawlSession] = weakref.WeakKeyDictionary()


def session_of(crawler: Crawler) -> CrawlSession:
    """The crawler's session, made on first use."""
    session = _SESSIONS.get(crawler)
    if session is None:
        assert crawler.stats is not None
        session = _SESSIONS[crawler] = CrawlSession(crawler.settings, crawler.stats)
    return session


class CrawlSession:
    def __init__(self, settings: BaseSettings, stats: StatsCollector) -> None:
        self.stats = stats
        domains = load_domains(settings.get("STEPDR_DOMAINS_FILE"))
        only = settings.getlist("STEPDR_ONLY")
        if only:
            domains = domains.select(only)
        if settings.getbool("STEPDR_OFFLINE"):
            domains = DomainSet(domains.mirrored(), domains.source)
        self.domains = domains
        self.budget_override: int | None = settings.get("STEPDR_BUDGET")
        self.default_budget = settings.getint("STEPDR_DEFAULT_BUDGET", 1000)
        self.max_redirects = settings.getint("STEPDR_MAX_REDIRECTS", 5)
        self.recrawl = settings.getbool("STEPDR_RECRAWL")
        self.rules = TrapRules(**settings.getdict("STEPDR_TRAPS"))
        self.traps = TrapGuard(self.rules)
        self.warc_dir = Path(settings.get("STEPDR_WARC_DIR", "warc"))
        self.warcs = WarcFiles(
            self.warc_dir,
            prefix=settings.get("STEPDR_WARC_PREFIX", "stepdr"),
            max_bytes=settings.getint("STEPDR_WARC_MAX_BYTES", 1 << 30),
        )
        self.journal = Journal(Path(settings.get("STEPDR_JOURNAL", "journal.jsonl")))
        self.mirrored_hosts = tuple(settings.getlist("STEPDR_MIRROR_HOSTS"))
        self.admitted: Counter[str] = Counter()
        self.pending: Counter[str] = Counter()
        """Requests scheduled and not yet answered, per entry key (for progress)."""
        self._rejected: set[str] = set()
        self._opened = False

    @property
    def state(self) -> JournalState:
        return self.journal.state

    def budget_of(self, d: Domain) -> int:
        if self.budget_override is not None:
            return int(self.budget_override)
        return d.budget or self.default_budget

    def is_mirrored(self, host: str) -> bool:
        return host_in(host, self.mirrored_hosts)

    def open(self) -> list[Link]:
        """Repair, replay the journal, and return the links due in this run."""
        if self._opened:
            raise RuntimeError("session already open")
        self._opened = True
        state = self.journal.open()
        repaired = repair_open_files(self.warc_dir, dict(state.file_ends), self.journal.stored)
        if repaired:
            self.stats.set_value("stepdr/repaired_records", repaired)
        if self.recrawl:
            self.journal.new_epoch()
        due: list[Link] = []
        for link in state.links.values():
            d = self.domains.match(link.url)
            if d is None:
                continue
            self.traps.observe(link.url)
            if self.admitted[d.key] >= self.budget_of(d):
                continue
            self.admitted[d.key] += 1
            if link.url not in state.settled:
                due.append(link)
        self.stats.set_value("stepdr/resumed_due", len(due))
        return due

    def unparsed(self) -> list[Stored]:
        """Stored pages whose links never made it into the journal (a kill came first).

        In the order they were admitted, as the crawl before the kill would have
        released them (see order.py), not the order they happened to be fetched in.
        """
        state = self.state
        return [state.stored[u] for u in state.links if u in state.unparsed and u in state.stored]

    def reject(self, reason: str, url: str) -> None:
        if url not in self._rejected:
            self._rejected.add(url)
            self.stats.inc_value(f"stepdr/rejected/{reason}")

    def admit(self, raw_url: str, depth: int, hops: int = 0) -> Link | None:
        """Put a discovered URL in the frontier; the Link when it is to be fetched now."""
        url = canonical(raw_url)
        if url is not None:  # one spelling per listed page: its seeds' scheme and host
            url = self.domains.canonical(url)
        if url is None or url in self.state.links:
            return None
        d = self.domains.match(url)
        if d is None:
            self.reject("scope", url)
            return None
        if not d.crawled:  # a known-bad corner of a listed site: ranked last, never fetched
            self.reject("known_bad", url)
            return None
        if hops > self.max_redirects:
            self.reject("redirects", url)
            return None
        trap = self.traps.check(url, depth, self.rules.max_depth)
        if trap is not None:
            self.reject(trap, url)
            return None
        link = Link(url, depth, hops)
        self.journal.link(link)
        if self.admitted[d.key] >= self.budget_of(d):
            self.stats.inc_value("stepdr/rejected/budget")
            return None
        self.admitted[d.key] += 1
        return link

    def key_of(self, url: str) -> str:
        d = self.domains.match(url)
        return d.key if d else "-"

    def store(self, request: Request, response: Response, page: bool = True) -> Stored:
        """Write the pair to WARC, then journal it (in that order: see repair.py)."""
        w = self.warcs.write(request, response)
        s = Stored(
            url=response.url,
            status=response.status,
            warc=w.warc,
            offset=w.offset,
            length=w.length,
            ctype=_header(response, b"Content-Type").split(";")[0].strip().lower(),
            etag=_header(response, b"ETag"),
            last_modified=_header(response, b"Last-Modified"),
            digest=w.digest,
            fetched=time.time(),
        )
        self.journal.stored(s)
        self.stats.inc_value("stepdr/stored_records")
        self.stats.inc_value("stepdr/stored_bytes", len(response.body))
        if page and 200 <= response.status < 300:
            self.stats.inc_value("stepdr/pages")
            self.stats.inc_value(f"stepdr/pages_by_entry/{self.key_of(response.url)}")
        return s

    def close(self) -> None:
        self.warcs.close()
        self.journal.close()


def _header(response: Response, name: bytes) -> str:
    value = response.headers.get(name)
    return value.decode("latin-1").strip() if value else ""


class SessionExtension:
    """Seals the WARC file and syncs the journal when the spider closes."""

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> SessionExtension:
        from scrapy import signals

        ext = cls(crawler)
        crawler.signals.connect(ext.closed, signal=signals.spider_closed)
        return ext

    def closed(self, **_: Any) -> None:
        session_of(self.crawler).close()


__all__ = ["CrawlSession", "SessionExtension", "session_of"]
