"""The spider: start at each domain's seeds, follow in-scope links within budget.

It extracts links and nothing else; every response reaches the WARC writer
through the downloader, and text extraction happens later, at build time.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any
from urllib.parse import urldefrag

import scrapy
from scrapy.http import HtmlResponse, Response
from scrapy.linkextractors import LinkExtractor
from w3lib.url import canonicalize_url

from .domains import Domain, DomainSet, load_domains


class AuthoritySpider(scrapy.Spider):
    name = "stepdr"

    def __init__(
        self,
        domains_file: str,
        only: list[str] | None = None,
        offline: bool = False,
        budget: int | None = None,
        default_budget: int = 1000,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        domains = load_domains(domains_file)
        if only:
            domains = domains.select(only)
        if offline:
            domains = DomainSet(domains.mirrored(), domains.source)
        self.domains = domains
        self.budget_override = budget
        self.default_budget = default_budget
        self.links = LinkExtractor(unique=True)
        self._seen: set[str] = set()
        self._scheduled: dict[str, int] = {}

    def budget_of(self, d: Domain) -> int:
        if self.budget_override is not None:
            return self.budget_override
        return d.budget or self.default_budget

    def _restore(self) -> None:
        # spider.state is persisted in JOBDIR between runs, so budgets hold on resume.
        state = getattr(self, "state", None)
        if state is not None:
            self._seen = state.setdefault("seen", self._seen)
            self._scheduled = state.setdefault("scheduled", self._scheduled)

    def _admit(self, url: str) -> tuple[str, Domain] | None:
        url = urldefrag(url)[0]  # a fragment names a place in a page, not a page
        d = self.domains.match(url)
        if d is None:
            return None
        canon = canonicalize_url(url)
        if canon in self._seen:
            return None
        if self._scheduled.get(d.key, 0) >= self.budget_of(d):
            self.crawler.stats.inc_value("stepdr/budget_exhausted")
            return None
        self._seen.add(canon)
        self._scheduled[d.key] = self._scheduled.get(d.key, 0) + 1
        return url, d

    async def start(self) -> AsyncIterator[Any]:
        self._restore()
        for d in self.domains:
            for seed in d.seeds or (d.base_url,):
                if self._admit(seed) is not None:
                    yield scrapy.Request(seed, callback=self.parse)

    def parse(self, response: Response) -> Iterator[scrapy.Request]:
        self.crawler.stats.inc_value("stepdr/pages")
        if not isinstance(response, HtmlResponse) or self.domains.match(response.url) is None:
            return
        for link in self.links.extract_links(response):
            admitted = self._admit(link.url)
            if admitted is not None:
                yield scrapy.Request(admitted[0], callback=self.parse)
