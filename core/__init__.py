"""What every layer of stepdr shares: the error tree, the CLI options, URL identity.

It imports nothing of stepdr, so crawl, index, rank and agent may all import it.
"""

from .errors import (
    AgentError,
    ApiError,
    ConfigError,
    CrawlError,
    IndexCorruptError,
    IndexNotFoundError,
    MirrorError,
    ModelError,
    QueryError,
    StepdrError,
    TaskFormatError,
    TrajectoryError,
    WarcError,
)
from .urls import canonical, host_in

__all__ = [
    "AgentError",
    "ApiError",
    "ConfigError",
    "CrawlError",
    "IndexCorruptError",
    "IndexNotFoundError",
    "MirrorError",
    "ModelError",
    "QueryError",
    "StepdrError",
    "TaskFormatError",
    "TrajectoryError",
    "WarcError",
    "canonical",
    "host_in",
]
