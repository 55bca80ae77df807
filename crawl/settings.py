"""The Scrapy settings of a crawl: which components run, in which order, with what limits.

Downloader middlewares, on the way down (request) in increasing order and on the
way up (response) in decreasing order:

    60  SsrfMiddleware        refuse hosts that resolve to non-public addresses
    50  LeaseGuard            (a partitioned crawl) drop what this worker no longer holds
   100  RobotsMiddleware      RFC 9309 robots.txt (replaces Scrapy's)
   550  RetryMiddleware       5xx and network errors, a few times
   570  BackoffMiddleware     429/503: wait for Retry-After, then again
   585  StoreMiddleware       WARC + journal, for bodies already decoded by
   590  HttpCompressionMiddleware   (bounded by DOWNLOAD_MAXSIZE: bombs stop here)

Redirects are not followed by Scrapy: the spider treats Location as a link.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .config import CrawlConfig
    from .mirror import MirrorMap


def scrapy_settings(config: CrawlConfig, mirror: MirrorMap, proxy: str | None) -> dict[str, Any]:
    handler = "stepdr.crawl.handler.MirrorDownloadHandler"
    mirrored_hosts = sorted({s.domain.domain for s in mirror.sites})
    settings: dict[str, Any] = {
        "BOT_NAME": "stepdr",
        "USER_AGENT": config.agent,
        "ROBOTSTXT_OBEY": False,  # stepdr.crawl.robots does it, as RFC 9309 says
        "COOKIES_ENABLED": False,
        "TELNETCONSOLE_ENABLED": False,
        "LOG_LEVEL": config.log_level,
        "STATS_DUMP": False,  # the summary and DATA/crawl/stats.json say it better
        "CONCURRENT_REQUESTS": config.concurrency,
        "CONCURRENT_REQUESTS_PER_DOMAIN": config.per_host,
        # Scrapy starts this many tasks for every callback's output; ours are a few
        # requests and never items, and 100 tasks a page were a tenth of the crawl's time.
        "CONCURRENT_ITEMS": 4,
        "DOWNLOAD_DELAY": config.delay,
        "AUTOTHROTTLE_ENABLED": True,
        "AUTOTHROTTLE_START_DELAY": config.delay,
        "AUTOTHROTTLE_MAX_DELAY": max(config.max_delay, config.delay),
        "AUTOTHROTTLE_TARGET_CONCURRENCY": 1.0,
        # A local mirror needs no politeness: no delay, more parallel fetches.
        "DOWNLOAD_SLOTS": {h: {"concurrency": 8, "delay": 0, "jitter": 0} for h in mirrored_hosts},
        "DOWNLOAD_MAXSIZE": config.max_bytes,
        "DOWNLOAD_WARNSIZE": min(config.max_bytes, 32 * 1024 * 1024),
        "DOWNLOAD_TIMEOUT": config.timeout,
        "REDIRECT_ENABLED": False,  # the spider follows Location as a link
        "METAREFRESH_ENABLED": False,
        "RETRY_TIMES": config.retries,
        "RETRY_HTTP_CODES": [500, 502, 504, 522, 524, 408],  # 429/503: BackoffMiddleware
        "RETRY_GIVE_UP_LOG_LEVEL": "WARNING",
        "SCHEDULER_PRIORITY_QUEUE": "scrapy.pqueues.DownloaderAwarePriorityQueue",
        "SCHEDULER_MEMORY_QUEUE": "scrapy.squeues.FifoMemoryQueue",
        "DUPEFILTER_CLASS": "scrapy.dupefilters.BaseDupeFilter",  # the session dedupes
        "TWISTED_DNS_RESOLVER": "stepdr.crawl.ssrf.GuardedResolver",
        "DOWNLOAD_HANDLERS": {"http": handler, "https": handler},
        "DOWNLOADER_MIDDLEWARES": {
            "scrapy.downloadermiddlewares.robotstxt.RobotsTxtMiddleware": None,
            "stepdr.crawl.ssrf.SsrfMiddleware": 60,
            "stepdr.crawl.robots.RobotsMiddleware": 100,
            "stepdr.crawl.politeness.BackoffMiddleware": 570,
            "stepdr.crawl.warc_store.StoreMiddleware": 585,
        },
        # Depth and URL length are trap rules, checked before a URL is admitted: a request
        # dropped after admission would hold back its entry's later links (see order.py).
        "SPIDER_MIDDLEWARES": {
            "scrapy.spidermiddlewares.depth.DepthMiddleware": None,
            "scrapy.spidermiddlewares.urllength.UrlLengthMiddleware": None,
        },
        "EXTENSIONS": {
            "scrapy.extensions.throttle.AutoThrottle": None,
            "stepdr.crawl.politeness.Throttle": 0,
            "stepdr.crawl.session.SessionExtension": 0,
            "stepdr.crawl.progress.Progress": 0,
            "scrapy.extensions.logstats.LogStats": None,
            # No listening ports of our own beyond the loopback mirror.
            "scrapy.extensions.remote_control.RemoteControl": None,
        },
        "STEPDR_DOMAINS_FILE": str(config.domains_file),
        "STEPDR_ONLY": list(config.only),
        "STEPDR_BUDGET": config.budget,
        "STEPDR_DEFAULT_BUDGET": config.default_budget,
        "STEPDR_MAX_REDIRECTS": config.max_redirects,
        "STEPDR_RECRAWL": config.recrawl,
        "STEPDR_TRAPS": dict(config.traps.__dict__),
        "STEPDR_WARC_DIR": str(config.warc_dir),
        "STEPDR_WARC_MAX_BYTES": config.warc_max_bytes,
        "STEPDR_PAGE_PROCESSES": config.page_process_count,
        "STEPDR_JOURNAL": str(config.journal_file),
        "STEPDR_MIRROR_PROXY": proxy,
        "STEPDR_MIRROR_HOSTS": mirrored_hosts,
        "STEPDR_OFFLINE": config.offline,
        "STEPDR_RESOLVE": dict(config.resolve),
        "STEPDR_ALLOW_PRIVATE_HOSTS": list(config.allow_private_hosts),
        "STEPDR_ROBOTS_TTL": config.robots_ttl,
        "STEPDR_ROBOTS_RETRY": config.robots_retry,
        "STEPDR_CRAWL_DELAY_MAX": config.crawl_delay_max,
        "STEPDR_RETRY_AFTER_MAX": config.retry_after_max,
        "STEPDR_PROGRESS": config.progress,
        "STEPDR_REDIS": config.redis,
        "STEPDR_WORKER": config.worker,
        "STEPDR_CRAWL_NAME": config.crawl_name,
        "STEPDR_LEASES": config.leases,
        "STEPDR_LEASE_TTL": config.lease_ttl,
        "STEPDR_PARTS_DIR": str(config.parts_dir),
    }
    if config.redis:
        settings["EXTENSIONS"]["stepdr.crawl.coordinator.Coordinator"] = 0
        settings["DOWNLOADER_MIDDLEWARES"]["stepdr.crawl.coordinator.LeaseGuard"] = 50
    settings.update(dict(config.settings))
    return settings


__all__ = ["scrapy_settings"]
