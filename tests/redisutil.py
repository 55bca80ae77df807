"""A real redis-server of the test's own (stepdr.crawl.redis_local), stopped by pid.

Redis comes from Debian (``make redis`` installs it).  Without it a test that needs
it is skipped, except in CI, where a missing server is a failure.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from stepdr.crawl.redis_local import local_redis


@contextmanager
def redis_server() -> Iterator[str]:
    if shutil.which("redis-server") is None:
        if os.environ.get("CI"):
            pytest.fail("redis-server is not installed (make redis)")
        pytest.skip("redis-server is not installed (make redis)")
    with local_redis() as url:
        yield url


__all__ = ["redis_server"]
