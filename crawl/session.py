"""The state of one crawl, shared by the spider, the middlewares and the coordinator.

It owns the open partitions (see partition.py: each a journal and a WARC folder),
decides which URLs enter the frontier (scope, traps, budgets), and when a partition
opens rebuilds its frontier from its journal: every URL discovered so far, admitted
in discovery order up to each entry's budget, minus those already settled.  A
larger budget on a later run therefore continues where a smaller one stopped.

A single-process crawl has one partition holding every entry.  A worker of a crawl
coordinated through Redis holds the partitions it leased; a link into a partition it
does not hold goes to ``handover`` (the coordinator's outbox) instead of its journal.
"""

from __future__ import annotations

import logging
import time
import weakref
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from stepdr.core.urls import canonical, host_in

from .domains import Domain, DomainSet
from .domains_yaml import load_domains
from .journal import Link, Stored
from .partition import WHOLE, Partition, partition_key
from .traps import TrapGuard, TrapRules
from .warc_files import Encoded, StoredResponse, encode_pair, read_response

if TYPE_CHECKING:
    from scrapy import Request
    from scrapy.crawler import Crawler
    from scrapy.http import Response
    from scrapy.settings import BaseSettings
    from scrapy.statscollectors import StatsCollector

log = logging.getLogger(__name__)

_SPELLED_MAX = 1 << 20  # remembered spellings, dropped all at once past this

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
        self.warc_prefix = settings.get("STEPDR_WARC_PREFIX", "stepdr")
        self.warc_max_bytes = settings.getint("STEPDR_WARC_MAX_BYTES", 1 << 30)
        self.journal_file = Path(settings.get("STEPDR_JOURNAL", "journal.jsonl"))
        self.parts_dir = Path(settings.get("STEPDR_PARTS_DIR") or self.journal_file.parent)
        self.partitioned = bool(settings.get("STEPDR_REDIS"))
        self.mirrored_hosts = tuple(settings.getlist("STEPDR_MIRROR_HOSTS"))
        self.parts: dict[str, Partition] = {}
        """The open partitions, by key."""
        self.handover: Callable[[str, Link], None] | None = None
        """Where a link into a partition not held here goes (partitioned crawls)."""
        self.flush: Callable[[], None] | None = None
        """Sends what ``handover`` collected; called before a page is journaled as parsed."""
        self.pending: Counter[str] = Counter()
        """Requests scheduled and not yet answered, per entry key (for progress)."""
        self.warc_paths: list[Path] = []
        """Sealed WARC files written by this session's closed partitions."""
        self._rejected: set[str] = set()
        self._never: set[str] = set()
        """Out of scope or known bad: refused whatever the depth."""
        self._spelled: dict[str, str | None] = {}

    def budget_of(self, d: Domain) -> int:
        if self.budget_override is not None:
            return int(self.budget_override)
        return d.budget or self.default_budget

    def is_mirrored(self, host: str) -> bool:
        return host_in(host, self.mirrored_hosts)

    def key_of_part(self, url: str) -> str:
        """The partition a URL belongs to (by its host), open here or not."""
        if not self.partitioned:
            return WHOLE
        return partition_key(urlsplit(url).hostname or "")

    def part_of(self, url: str) -> Partition | None:
        """The open partition holding ``url``; None when this process does not hold it."""
        return self.parts.get(self.key_of_part(url))

    def partition_domains(self, key: str) -> list[Domain]:
        if not self.partitioned:
            return list(self.domains)
        return [d for d in self.domains if partition_key(d.domain) == key]

    # -- opening and closing partitions -------------------------------------------------

    def open(self) -> list[Link]:
        """Open the single-process crawl's one partition; the links due in this run."""
        part = Partition(
            WHOLE,
            self.journal_file,
            self.warc_dir,
            warc_prefix=self.warc_prefix,
            warc_max_bytes=self.warc_max_bytes,
        )
        return self.open_partition(part, new_epoch=self.recrawl)

    def new_partition(self, key: str, warc_root: Path) -> Partition:
        """A partition of a partitioned crawl, laid out under the data directory."""
        folder = self.parts_dir / key
        return Partition(
            key,
            folder / "journal.jsonl",
            warc_root / key,
            warc_prefix=f"{self.warc_prefix}-{key}",
            warc_max_bytes=self.warc_max_bytes,
            lock_file=folder / "lock",
        )

    def open_partition(self, part: Partition, *, new_epoch: bool = False) -> list[Link]:
        """Repair, replay the partition's journal, and return its links due now."""
        if part.key in self.parts:
            raise RuntimeError(f"partition {part.key!r} already open")
        state = part.open()
        self.parts[part.key] = part
        if part.repaired:
            self.stats.inc_value("stepdr/repaired_records", part.repaired)
        if new_epoch:
            part.journal.new_epoch()
        due: list[Link] = []
        for link in state.links.values():
            d = self.domains.match(link.url)
            if d is None:
                continue
            self.traps.observe(link.url)
            if part.admitted[d.key] >= self.budget_of(d):
                continue
            part.admitted[d.key] += 1
            if link.url not in state.settled:
                due.append(link)
        self.stats.inc_value("stepdr/resumed_due", len(due))
        return due

    def close_partition(self, key: str) -> None:
        part = self.parts.pop(key, None)
        if part is not None:
            part.close()
            self.warc_paths.extend(part.warcs.paths)

    def unparsed(self, part: Partition) -> list[Stored]:
        """Stored pages whose links never made it into the journal (a kill came first).

        In the order they were admitted, as the crawl before the kill would have
        released them (see order.py), not the order they happened to be fetched in.
        """
        state = part.state
        return [state.stored[u] for u in state.links if u in state.unparsed and u in state.stored]

    # -- what the journal knows ---------------------------------------------------------

    def stored_copy(self, url: str) -> Stored | None:
        part = self.part_of(url)
        return part.state.stored.get(url) if part else None

    def link_of(self, url: str) -> Link | None:
        part = self.part_of(url)
        return part.state.links.get(url) if part else None

    def read(self, stored: Stored) -> StoredResponse | None:
        part = self.part_of(stored.url)
        return read_response(part.warc_dir, stored.warc, stored.offset) if part else None

    def mark(self, kind: str, url: str, why: str = "") -> None:
        """Journal ``parsed``, ``same`` or ``done``; dropped for a partition no longer held."""
        part = self.part_of(url)
        if part is not None:
            part.journal.mark(kind, url, why)

    # -- the frontier -------------------------------------------------------------------

    def reject(self, reason: str, url: str) -> None:
        if url not in self._rejected:
            self._rejected.add(url)
            self.stats.inc_value(f"stepdr/rejected/{reason}")

    def admit(
        self, raw_url: str, depth: int, hops: int = 0, canonical: bool = False
    ) -> Link | None:
        """Put a discovered URL in the frontier; the Link when it is to be fetched now.

        ``canonical``: ``raw_url`` is ``stepdr.core.urls.canonical``'s output already
        (a page's links are), so only the listed site's spelling is left to apply."""
        url = self._spelling(raw_url, canonical)
        if url is None or url in self._never:
            return None
        part = self.part_of(url)
        if part is not None and url in part.state.links:
            return None
        d = self.domains.match(url)
        if d is None or not d.crawled:  # not: a known-bad corner, ranked last, never fetched
            self._never.add(url)
            self.reject("scope" if d is None else "known_bad", url)
            return None
        if hops > self.max_redirects:
            self.reject("redirects", url)
            return None
        trap = self.traps.check(url, depth, self.rules.max_depth)
        if trap is not None:
            self.reject(trap, url)
            return None
        link = Link(url, depth, hops)
        if part is None:
            if self.handover is not None:
                self.handover(self.key_of_part(url), link)
            return None
        part.journal.link(link)
        if part.admitted[d.key] >= self.budget_of(d):
            self.stats.inc_value("stepdr/rejected/budget")
            return None
        part.admitted[d.key] += 1
        return link

    def _spelling(self, raw_url: str, is_canonical: bool = False) -> str | None:
        """The URL's one spelling, remembered: pages of a site repeat the same links."""
        try:
            return self._spelled[raw_url]
        except KeyError:
            pass
        url = raw_url if is_canonical else canonical(raw_url)
        if url is not None:  # one spelling per listed page: its seeds' scheme and host
            url = self.domains.canonical(url)
        if len(self._spelled) >= _SPELLED_MAX:
            self._spelled.clear()
        self._spelled[raw_url] = url
        return url

    def key_of(self, url: str) -> str:
        d = self.domains.match(url)
        return d.key if d else "-"

    def store(
        self,
        request: Request,
        response: Response,
        page: bool = True,
        encoded: Encoded | None = None,
    ) -> Stored | None:
        """Write the pair to WARC, then journal it (in that order: see repair.py).

        ``encoded``: the pair as ``encode_pair`` made it already.  None, storing
        nothing, when the URL's partition is no longer held here.
        """
        part = self.part_of(response.url)
        if part is None:
            return None
        w = part.warcs.append(encoded or encode_pair(request, response))
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
        part.journal.stored(s)
        self.stats.inc_value("stepdr/stored_records")
        self.stats.inc_value("stepdr/stored_bytes", len(response.body))
        if page and 200 <= response.status < 300:
            part.pages += 1
            self.stats.inc_value("stepdr/pages")
            self.stats.inc_value(f"stepdr/pages_by_entry/{self.key_of(response.url)}")
        return s

    def close(self) -> None:
        for key in list(self.parts):
            self.close_partition(key)


def _header(response: Response, name: bytes) -> str:
    value = response.headers.get(name)
    return value.decode("latin-1").strip() if value else ""


class SessionExtension:
    """Seals the WARC files and syncs the journals when the spider closes."""

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
