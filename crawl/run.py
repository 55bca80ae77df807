"""Run a crawl: validate config, start the loopback mirror, run Scrapy.

Scrapy runs in a child process (Twisted's reactor cannot be restarted within
one process), so callers — the CLI, tests, the agent — may crawl repeatedly.
"""

from __future__ import annotations

import json
import multiprocessing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .domains import DomainSet, load_domains
from .errors import CrawlError
from .mirror import MirrorMap, MirrorServer

USER_AGENT = "stepdr/0.1 (+https://github.com/stepdr/stepdr; offline research index)"


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
    user_agent: str = USER_AGENT

    @property
    def warc_dir(self) -> Path:
        return self.data_dir / "warc"

    @property
    def job_dir(self) -> Path:
        return self.data_dir / "crawl" / "job"

    @property
    def stats_file(self) -> Path:
        return self.data_dir / "crawl" / "stats.json"


@dataclass(frozen=True)
class CrawlResult:
    pages: int
    responses: int
    warc_files: tuple[str, ...]
    stats: dict[str, Any] = field(default_factory=dict)


def plan(config: CrawlConfig) -> tuple[DomainSet, MirrorMap]:
    """Load and check everything the crawl needs; raise StepdrError if it cannot run."""
    domains = load_domains(config.domains_file)
    if config.only:
        domains = domains.select(config.only)
    if config.offline:
        domains = DomainSet(domains.mirrored(), domains.source)
        if not len(domains):
            raise CrawlError(
                f"{config.domains_file}: --offline, but no selected entry has a mirror"
            )
    mirror = MirrorMap.from_domains(domains, config.mirrors_dir, strict=True)
    return domains, mirror


def scrapy_settings(config: CrawlConfig, mirror: MirrorMap, proxy: str | None) -> dict[str, Any]:
    handler = "stepdr.crawl.handler.MirrorDownloadHandler"
    mirrored_hosts = sorted({s.domain.domain for s in mirror.sites})
    return {
        "BOT_NAME": "stepdr",
        "USER_AGENT": config.user_agent,
        "ROBOTSTXT_OBEY": True,
        "COOKIES_ENABLED": False,
        "TELNETCONSOLE_ENABLED": False,
        "LOG_LEVEL": config.log_level,
        "JOBDIR": str(config.job_dir),
        "CONCURRENT_REQUESTS": config.concurrency,
        "CONCURRENT_REQUESTS_PER_DOMAIN": 2,
        "DOWNLOAD_DELAY": 1.0,
        # A local mirror needs no politeness: no delay, more parallel fetches.
        "DOWNLOAD_SLOTS": {h: {"concurrency": 8, "delay": 0} for h in mirrored_hosts},
        "DEPTH_PRIORITY": 1,
        "SCHEDULER_DISK_QUEUE": "scrapy.squeues.PickleFifoDiskQueue",
        "SCHEDULER_MEMORY_QUEUE": "scrapy.squeues.FifoMemoryQueue",
        "RETRY_TIMES": 2,
        "DOWNLOAD_HANDLERS": {"http": handler, "https": handler},
        "EXTENSIONS": {
            "stepdr.crawl.warc.WarcWriterExtension": 500,
            # No listening ports of our own beyond the loopback mirror.
            "scrapy.extensions.remote_control.RemoteControl": None,
        },
        "STEPDR_WARC_DIR": str(config.warc_dir),
        "STEPDR_MIRROR_PROXY": proxy,
        "STEPDR_MIRROR_HOSTS": mirrored_hosts,
        "STEPDR_OFFLINE": config.offline,
    }


def _child(config: CrawlConfig) -> None:
    from scrapy.crawler import CrawlerProcess

    from .spider import AuthoritySpider

    _, mirror = plan(config)
    server = MirrorServer(mirror).start() if mirror else None
    try:
        settings = scrapy_settings(config, mirror, server.proxy_url if server else None)
        process = CrawlerProcess(settings)
        crawler = process.create_crawler(AuthoritySpider)
        process.crawl(
            crawler,
            domains_file=str(config.domains_file),
            only=list(config.only),
            offline=config.offline,
            budget=config.budget,
            default_budget=config.default_budget,
        )
        process.start()
        stats = crawler.stats.get_stats() if crawler.stats else {}
        ext = crawler.get_extension(_warc_ext())
        files: list[str] = [str(p) for p in ext.files.paths] if ext else []
        config.stats_file.parent.mkdir(parents=True, exist_ok=True)
        payload = {"stats": {k: _jsonable(v) for k, v in stats.items()}, "warc_files": files}
        config.stats_file.write_text(json.dumps(payload, indent=2, sort_keys=True))
    finally:
        if server:
            server.stop()


def _warc_ext() -> type:
    from .warc import WarcWriterExtension

    return WarcWriterExtension


def _jsonable(v: Any) -> Any:
    return v if isinstance(v, int | float | str | bool | type(None)) else str(v)


def run_crawl(config: CrawlConfig) -> CrawlResult:
    plan(config)  # fail fast, in this process, with a clear error
    config.stats_file.unlink(missing_ok=True)
    ctx = multiprocessing.get_context("spawn")
    proc = ctx.Process(target=_child, args=(config,), name="stepdr-crawl")
    proc.start()
    try:
        proc.join()
    except KeyboardInterrupt:
        proc.join()  # Scrapy in the child shuts down cleanly on the same signal
        raise
    if proc.exitcode != 0 or not config.stats_file.exists():
        raise CrawlError(f"crawl process failed with exit code {proc.exitcode}")
    payload = json.loads(config.stats_file.read_text())
    stats = payload["stats"]
    return CrawlResult(
        pages=int(stats.get("stepdr/pages", 0)),
        responses=int(stats.get("downloader/response_count", 0)),
        warc_files=tuple(payload["warc_files"]),
        stats=stats,
    )


__all__ = ["CrawlConfig", "CrawlResult", "plan", "run_crawl"]
