"""Run a crawl: validate config, start the loopback mirror, run Scrapy.

Scrapy runs in a child process (Twisted's reactor cannot be restarted within
one process), so callers — the CLI, tests, the agent — may crawl repeatedly.
The child dies with its parent, and holds a lock on the data directory, so a
killed crawl never leaves a second writer behind.  ``crawl_here`` runs the
same crawl in the calling process (once per process).

The crawl state is DATA/crawl/journal.jsonl plus the WARC files (see
journal.py): stop a crawl any way at all, even ``kill -9``, and the next run
continues where it was.  Tests against servers on 127.0.0.1 list their host
names in ``allow_private_hosts`` (and pin them with ``resolve``), or the SSRF
guard refuses them.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import threading
import time
from dataclasses import dataclass, field
from typing import IO, Any

from stepdr.core import errors
from stepdr.core.errors import CrawlError, StepdrError

from .config import CrawlConfig
from .domains import DomainSet
from .domains_yaml import load_domains
from .mirror import MirrorMap
from .mirror_process import MirrorProcess
from .settings import scrapy_settings


@dataclass(frozen=True)
class CrawlResult:
    pages: int
    responses: int
    warc_files: tuple[str, ...]
    stats: dict[str, Any] = field(default_factory=dict)
    summary: dict[str, Any] = field(default_factory=dict)


def plan(config: CrawlConfig) -> tuple[DomainSet, MirrorMap]:
    """Load and check everything the crawl needs; raise StepdrError if it cannot run."""
    if config.redis:
        from .partitioned import check_names

        check_names(config)
    domains = load_domains(config.domains_file).crawlable()
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


def _lock(config: CrawlConfig, wait_s: float = 10.0) -> IO[bytes]:
    import fcntl

    config.lock_file.parent.mkdir(parents=True, exist_ok=True)
    fh = config.lock_file.open("ab")
    deadline = time.monotonic() + wait_s
    while True:
        try:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            return fh
        except BlockingIOError:
            # A crawl whose parent was just killed is still on its way out.
            if time.monotonic() > deadline:
                fh.close()
                who = f"worker {config.worker!r}" if config.worker else "crawl"
                raise CrawlError(f"{config.data_dir}: another {who} is running on it") from None
            time.sleep(0.2)


def crawl_here(config: CrawlConfig) -> dict[str, Any]:
    """Run the crawl in this process; write and return the stats payload."""
    from scrapy.crawler import CrawlerProcess

    from .page_pool import close_early, start_early
    from .session import session_of
    from .spider import AuthoritySpider
    from .summary import summarize

    lock = _lock(config)
    try:
        _, mirror = plan(config)
        token = ""
        if config.redis:
            from .partitioned import join

            token = join(config)
        start_early(config.page_process_count)
        server = MirrorProcess(mirror).start() if mirror else None
        try:
            settings = scrapy_settings(config, mirror, server.proxy_url if server else None)
            settings["STEPDR_WORKER_TOKEN"] = token
            process = CrawlerProcess(settings)
            crawler = process.create_crawler(AuthoritySpider)
            process.crawl(crawler)
            process.start()
            stats = crawler.stats.get_stats() if crawler.stats else {}
            files = [str(p) for p in session_of(crawler).warc_paths]
        finally:
            close_early()  # spawned for a crawl that never took them (it failed first)
            if server:
                server.stop()
        if "stepdr/fatal" in stats:
            raise CrawlError(f"{config.crawl_dir}: {stats['stepdr/fatal']}")
        payload = {
            "stats": {k: _jsonable(v) for k, v in stats.items()},
            "summary": summarize(stats),
            "warc_files": files,
        }
        tmp = config.stats_file.with_suffix(".json.tmp")
        tmp.write_text(json.dumps(payload, indent=2, sort_keys=True))
        tmp.replace(config.stats_file)
        return payload
    finally:
        lock.close()


def _die_with_parent(parent: int) -> None:
    try:  # Linux: the kernel kills us the moment the parent dies
        import ctypes
        import signal

        ctypes.CDLL(None).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(0.5)
        os._exit(70)

    threading.Thread(target=watch, name="stepdr-parent-watch", daemon=True).start()


def _child(config: CrawlConfig, conn: Any, parent: int) -> None:
    _die_with_parent(parent)
    try:
        crawl_here(config)
    except StepdrError as e:
        conn.send((type(e).__name__, str(e)))
        raise SystemExit(2) from None


def _received(receiver: Any) -> StepdrError | None:
    """The error the child sent, as the same StepdrError class, if it sent one."""
    try:
        if not receiver.poll():
            return None
        name, message = receiver.recv()
    except EOFError:  # the child closed the pipe without a word: no error
        return None
    cls = getattr(errors, str(name), CrawlError)
    if not (isinstance(cls, type) and issubclass(cls, StepdrError)):
        cls = CrawlError
    return cls(message)


def _jsonable(v: Any) -> Any:
    return v if isinstance(v, int | float | str | bool | type(None)) else str(v)


def run_crawl(config: CrawlConfig) -> CrawlResult:
    domains, _ = plan(config)  # fail fast, in this process, with a clear error
    if config.redis:
        from .partitioned import start_or_join

        start_or_join(config, domains)
    config.stats_file.unlink(missing_ok=True)
    ctx = multiprocessing.get_context("spawn")
    receiver, sender = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=_child, args=(config, sender, os.getpid()), name="stepdr-crawl")
    proc.start()
    sender.close()
    try:
        proc.join()
    except KeyboardInterrupt:
        proc.join()  # Scrapy in the child shuts down cleanly on the same signal
        raise
    failure = _received(receiver)
    if failure is not None:
        raise failure
    if proc.exitcode != 0 or not config.stats_file.exists():
        raise CrawlError(f"crawl process failed with exit code {proc.exitcode}")
    payload = json.loads(config.stats_file.read_text())
    stats = payload["stats"]
    return CrawlResult(
        pages=int(stats.get("stepdr/pages", 0)),
        responses=int(stats.get("downloader/response_count", 0)),
        warc_files=tuple(payload["warc_files"]),
        stats=stats,
        summary=payload.get("summary", {}),
    )


__all__ = ["CrawlConfig", "CrawlResult", "crawl_here", "plan", "run_crawl", "scrapy_settings"]
