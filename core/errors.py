"""The one error hierarchy of stepdr.

Every error a user can cause is a ``StepdrError`` whose message names what is
wrong, in one line, so a command line can print it and exit non-zero::

    StepdrError
     ├── ConfigError          domains.yaml (or another config) is missing or malformed
     ├── MirrorError          a declared mirror cannot be found or fetched
     ├── CrawlError           the crawl could not run
     ├── WarcError            a WARC file is unreadable or holds no usable records
     ├── IndexNotFoundError   no published index version in the data dir
     ├── IndexCorruptError    an index version fails its consistency checks
     ├── QueryError           an empty, oversized or otherwise unusable query
     ├── ApiError             an HTTP request the search server refuses (status, code)
     ├── TaskFormatError      a task or rubric file that cannot be read
     └── AgentError           the research agent cannot go on
          ├── ModelError      a model cannot be loaded or fails to answer
          └── TrajectoryError a run directory cannot be resumed
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


class ApiError(StepdrError):
    """A request the HTTP server answers with ``status`` and a JSON error ``code``."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code


class TaskFormatError(StepdrError):
    """A task file that cannot be read as tasks with rubrics."""


class AgentError(StepdrError):
    pass


class ModelError(AgentError):
    pass


class TrajectoryError(AgentError):
    pass
