"""What one crawl is asked to do: files, selection, politeness, limits, as one record.

``crawl/run.py`` runs it and ``crawl/settings.py`` maps it to Scrapy settings; both read
it from here, so neither depends on the other.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .traps import TrapRules

DEFAULT_CONTACT = "https://github.com/stepdr/stepdr"


@dataclass(frozen=True)
class CrawlConfig:
    domains_file: Path
    data_dir: Path
    mirrors_dir: Path
    offline: bool = False
    only: tuple[str, ...] = ()
    budget: int | None = None
    default_budget: int = 1000
    concurrency: int = 16
    log_level: str = "INFO"
    user_agent: str = ""
    """Empty: ``stepdr/0.1 (+CONTACT_URL; offline research index)``."""
    contact_url: str = DEFAULT_CONTACT
    recrawl: bool = False
    """Start a new pass over every known page, with conditional requests."""
    per_host: int = 2
    delay: float = 1.0
    """Least seconds between requests to one (non-mirrored) host; AutoThrottle adds."""
    max_delay: float = 60.0
    crawl_delay_max: float = 30.0
    retry_after_max: float = 300.0
    max_bytes: int = 32 * 1024 * 1024
    """DOWNLOAD_MAXSIZE, before and after decompression."""
    timeout: float = 30.0
    retries: int = 2
    max_redirects: int = 5
    traps: TrapRules = field(default_factory=TrapRules)
    robots_ttl: float = 86400.0
    robots_retry: float = 600.0
    resolve: tuple[tuple[str, str], ...] = ()
    """Host names pinned to addresses, like ``curl --resolve``."""
    allow_private_hosts: tuple[str, ...] = ()
    """Hosts (and subdomains) allowed to resolve to loopback/private addresses."""
    progress: str = "auto"
    """``auto`` (a live line on a terminal, log lines otherwise), ``tty``, ``log``, ``off``."""
    warc_max_bytes: int = 1 << 30
    page_processes: int | None = None
    """Worker processes for a page's links and WARC records; 0: threads; None: one
    per core beyond the first, at most 4, and threads for a Redis worker
    (``offload.default_processes``)."""
    settings: tuple[tuple[str, Any], ...] = ()
    """Extra Scrapy settings, applied last."""
    redis: str = ""
    """A Redis URL: join the partitioned crawl it coordinates (coordinator.py)."""
    worker: str = ""
    """This worker's name in that crawl."""
    crawl_name: str = "crawl"
    """Which crawl on that Redis (its keys are ``stepdr:NAME:*``)."""
    leases: int = 16
    """Partitions one worker crawls at a time."""
    lease_ttl: float = 10.0
    """Seconds without a heartbeat after which a worker's leases go back to the pool."""

    @property
    def page_process_count(self) -> int:
        """``page_processes``, its default resolved (``offload.default_processes``)."""
        if self.page_processes is not None:
            return self.page_processes
        from .offload import default_processes

        return default_processes(worker=bool(self.redis))

    @property
    def agent(self) -> str:
        return self.user_agent or f"stepdr/0.1 (+{self.contact_url}; offline research index)"

    @property
    def warc_dir(self) -> Path:
        return self.data_dir / "warc"

    @property
    def crawl_dir(self) -> Path:
        return self.data_dir / "crawl"

    @property
    def journal_file(self) -> Path:
        return self.crawl_dir / "journal.jsonl"

    @property
    def parts_dir(self) -> Path:
        """The journals of a partitioned crawl, one folder per partition."""
        return self.crawl_dir / "parts"

    @property
    def stats_file(self) -> Path:
        if self.worker:
            return self.crawl_dir / "workers" / f"{self.worker}.stats.json"
        return self.crawl_dir / "stats.json"

    @property
    def lock_file(self) -> Path:
        if self.worker:
            return self.crawl_dir / "workers" / f"{self.worker}.lock"
        return self.crawl_dir / "lock"
