"""Joining a partitioned crawl: its partitions, its settings, and the checks at the door.

Every worker of one crawl must crawl the same list the same way, or the partitions
would mean different things to different workers: the settings that decide what
is crawled (the list's content, the selection, budgets, trap rules, recrawl) are
stored in Redis by the first worker, and a worker that brings other ones is
refused with the differences named.  Politeness and speed (delays, concurrency,
leases) are each worker's own.
"""

from __future__ import annotations

import hashlib
import re
from typing import Any

from stepdr.core.errors import ConfigError, CrawlError

from .config import CrawlConfig
from .domains import DomainSet
from .leases import Leases, connect, new_token
from .partition import partition_key

_WORKER = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


def partitions_of(domains: DomainSet) -> list[str]:
    """Each registered domain of the selected entries, once, in list order."""
    return list(dict.fromkeys(partition_key(d.domain) for d in domains))


def crawl_settings(config: CrawlConfig, domains: DomainSet) -> dict[str, Any]:
    """What must be the same in every worker of one crawl."""
    listed = hashlib.sha256(config.domains_file.read_bytes()).hexdigest()
    return {
        "domains_sha256": listed,
        "entries": len(domains),
        "only": sorted(config.only),
        "offline": config.offline,
        "budget": config.budget,
        "default_budget": config.default_budget,
        "max_redirects": config.max_redirects,
        "recrawl": config.recrawl,
        "traps": {k: v for k, v in sorted(config.traps.__dict__.items())},
    }


def check_names(config: CrawlConfig) -> None:
    if not config.worker:
        raise ConfigError("--redis needs --worker NAME (this worker's name in the crawl)")
    for what, name in (("worker", config.worker), ("crawl", config.crawl_name)):
        if not _WORKER.match(name):
            raise ConfigError(f"{what} name {name!r}: use 1-64 letters, digits, '.', '_' or '-'")


def start_or_join(config: CrawlConfig, domains: DomainSet) -> int:
    """Create the crawl in Redis, or check this worker's settings against it.

    Returns the number of partitions.  Raises CrawlError when Redis is unreachable
    or the crawl there was started with other settings.
    """
    check_names(config)
    mine = crawl_settings(config, domains)
    parts = partitions_of(domains)
    leases = Leases(connect(config.redis), config.crawl_name, config.worker, "", config.lease_ttl)
    theirs = leases.init(mine, parts)
    if theirs is not None and theirs != mine:
        diff = ", ".join(
            f"{k} {mine.get(k)!r} here, {theirs.get(k)!r} there"
            for k in sorted(set(mine) | set(theirs))
            if mine.get(k) != theirs.get(k)
        )
        raise CrawlError(
            f"{config.redis}: crawl {config.crawl_name!r} was started with other settings "
            f"({diff}); bring the same ones, or start another with --crawl-name"
        )
    return len(parts)


def join(config: CrawlConfig) -> str:
    """Take this worker's name in the crawl; its heartbeat token."""
    token = new_token()
    Leases(connect(config.redis), config.crawl_name, config.worker, token, config.lease_ttl).join()
    return token


__all__ = ["check_names", "crawl_settings", "join", "partitions_of", "start_or_join"]
