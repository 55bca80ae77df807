"""Crawling: the domain list, the loopback mirror, the Scrapy spider and WARC writing."""

from .domains import Domain, DomainSet, MirrorSpec, load_domains
from .errors import (
    ConfigError,
    CrawlError,
    IndexCorruptError,
    IndexNotFoundError,
    MirrorError,
    QueryError,
    StepdrError,
    WarcError,
)

__all__ = [
    "ConfigError",
    "CrawlError",
    "Domain",
    "DomainSet",
    "IndexCorruptError",
    "IndexNotFoundError",
    "MirrorError",
    "MirrorSpec",
    "QueryError",
    "StepdrError",
    "WarcError",
    "load_domains",
]
