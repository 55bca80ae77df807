"""The one error hierarchy of stepdr.

Every error a user can cause is a ``StepdrError`` whose message names what is
wrong, in one line, so the CLI can print it and exit non-zero::

    StepdrError
     ├── ConfigError          domains.yaml (or another config) is missing or malformed
     ├── MirrorError          a declared mirror cannot be found or fetched
     ├── CrawlError           the crawl could not run
     ├── WarcError            a WARC file is unreadable or holds no usable records
     ├── IndexNotFoundError   no published index version in the data dir
     ├── IndexCorruptError    an index version fails its consistency checks
     └── QueryError           an empty, oversized or otherwise unusable query
"""

from __future__ import annotations


class StepdrError(Exception):
    """Base of every error stepdr raises on purpose."""


class ConfigError(StepdrError):
    pass


class MirrorError(StepdrError):
    pass


class CrawlError(StepdrError):
    pass


class WarcError(StepdrError):
    pass


class IndexNotFoundError(StepdrError):
    pass


class IndexCorruptError(StepdrError):
    pass


class QueryError(StepdrError):
    pass
