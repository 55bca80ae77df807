"""robots.txt as RFC 9309 says, in place of Scrapy's RobotsTxtMiddleware.

- 2xx: the rules apply (the first STEPDR_ROBOTS_MAX_BYTES, at least 500 KiB, are parsed);
- 4xx (but 429): "unavailable", everything is allowed;
- 5xx, 429 or unreachable: "unreachable", everything is disallowed for now; the
  URLs are left for a later crawl and robots.txt is asked again after
  STEPDR_ROBOTS_RETRY seconds;
- up to five redirects are followed;
- an answer is cached for at most STEPDR_ROBOTS_TTL seconds (24 h), across runs
  too: it is stored in the WARC files and read back from there on resume;
- Crawl-delay (capped at STEPDR_CRAWL_DELAY_MAX) becomes the host's delay floor.
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING

from protego import Protego
from scrapy import Request
from scrapy.http.request import NO_CALLBACK
from scrapy.utils.defer import maybe_deferred_to_future
from scrapy.utils.httpobj import urlparse_cached
from twisted.internet.defer import Deferred

from .curator import note_robots
from .politeness import set_floor
from .refusals import Refused, RetryLater
from .robots_rules import UA_TOKEN, Rules, rules_from, verdict
from .session import session_of

if TYPE_CHECKING:
    from scrapy.crawler import Crawler
    from scrapy.http import Response

log = logging.getLogger(__name__)

MIN_PARSE_BYTES = 500 * 1024


class RobotsMiddleware:
    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        s = crawler.settings
        self.max_bytes = max(MIN_PARSE_BYTES, s.getint("STEPDR_ROBOTS_MAX_BYTES", 512 * 1024))
        self.ttl = min(s.getfloat("STEPDR_ROBOTS_TTL", 86400.0), 86400.0)
        self.retry = s.getfloat("STEPDR_ROBOTS_RETRY", 600.0)
        self.delay_cap = s.getfloat("STEPDR_CRAWL_DELAY_MAX", 30.0)
        self._rules: dict[str, Rules] = {}
        self._waiting: dict[str, list[Deferred[Rules]]] = {}

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> RobotsMiddleware:
        return cls(crawler)

    async def process_request(self, request: Request) -> None:
        if request.meta.get("stepdr_robots") or "stepdr_link" not in request.meta:
            return
        rules = await self._rules_for(request)
        if not rules.reachable:
            raise RetryLater("robots_unreachable", request.url)
        if not rules.allows(request.url):
            raise Refused("robots", request.url)

    async def _rules_for(self, request: Request) -> Rules:
        parts = urlparse_cached(request)
        netloc = parts.netloc.lower()
        cached = self._rules.get(netloc)
        if cached is not None and cached.expires > time.time():
            return cached
        if netloc in self._waiting:
            d: Deferred[Rules] = Deferred()
            self._waiting[netloc].append(d)
            return await maybe_deferred_to_future(d)
        self._waiting[netloc] = []
        robots_url = f"{parts.scheme}://{netloc}/robots.txt"
        try:
            rules = self._from_journal(robots_url) or await self._fetch(robots_url)
        except Exception as e:  # any failure to get an answer is "unreachable"
            log.info("%s: unreachable (%s)", robots_url, type(e).__name__)
            rules = Rules(None, False, time.time() + self.retry)
        self._rules[netloc] = rules
        note_robots(self.crawler.stats, robots_url, verdict(None, rules))
        if rules.parser is not None:
            self._apply_delay(parts.hostname or "", rules.parser)
        for waiter in self._waiting.pop(netloc):
            waiter.callback(rules)
        return rules

    def _from_journal(self, robots_url: str) -> Rules | None:
        session = session_of(self.crawler)
        stored = session.stored_copy(robots_url)
        if stored is None or time.time() - stored.fetched > self.ttl:
            return None
        if 300 <= stored.status < 400:
            return None  # the redirect's target was the answer: ask again
        rec = session.read(stored)
        if rec is None:
            return None
        assert self.crawler.stats is not None
        self.crawler.stats.inc_value("stepdr/robots/cached")
        return self._rules_from(rec.status, rec.body, stored.fetched)

    async def _fetch(self, robots_url: str) -> Rules:
        assert self.crawler.engine is not None and self.crawler.stats is not None
        url = robots_url
        for _ in range(6):  # the first answer and up to five redirects
            req = Request(
                url,
                priority=1000,
                callback=NO_CALLBACK,
                dont_filter=True,
                meta={"stepdr_robots": True, "handle_httpstatus_all": True, "dont_retry": True},
            )
            response: Response = await self.crawler.engine.download_async(req)
            self.crawler.stats.inc_value(f"stepdr/robots/status/{response.status}")
            location = response.headers.get(b"Location")
            if 300 <= response.status < 400 and location:
                url = response.urljoin(location.decode("latin-1"))
                continue
            return self._rules_from(response.status, response.body, time.time())
        return Rules(None, True, time.time() + self.ttl)  # too many redirects: unavailable

    def _rules_from(self, status: int, body: bytes, fetched: float) -> Rules:
        return rules_from(
            status, body, fetched, ttl=self.ttl, retry=self.retry, max_bytes=self.max_bytes
        )

    def _apply_delay(self, host: str, parser: Protego) -> None:
        delay = parser.crawl_delay(UA_TOKEN)
        session = session_of(self.crawler)
        if not delay or session.is_mirrored(host):
            return
        set_floor(self.crawler, host, min(float(delay), self.delay_cap))


__all__ = ["RobotsMiddleware", "Rules", "rules_from"]
