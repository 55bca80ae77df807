"""A partition of a crawl: one journal, one WARC folder, the entries they hold.

A single-process crawl is one partition holding every entry (DATA/crawl/journal.jsonl
and DATA/warc).  A crawl coordinated through Redis has one partition per registered
domain (DATA/crawl/parts/KEY and DATA/warc/KEY), so every host belongs to exactly
one partition, and a partition is crawled by one worker at a time: politeness stays
a local matter of one Scrapy process, and a partition moves between workers with its
journal, the way it resumes after a kill.

On shared storage, an exclusive ``flock`` on the partition's folder fences it: a
worker that lost its lease but is still alive holds the lock until it has closed the
journal, and the next owner opens the partition only after that.
"""

from __future__ import annotations

import fcntl
import re
from collections import Counter
from functools import cache
from pathlib import Path
from typing import IO

from stepdr.core.errors import CrawlError

from .journal import Journal, JournalState
from .warc_files import WarcFiles
from .warc_repair import repair_open_files

WHOLE = ""
"""The key of the one partition of a single-process crawl."""

_UNSAFE = re.compile(r"[^a-z0-9._-]")


@cache
def partition_key(host: str) -> str:
    """The partition of a host: its registrable domain (the host itself when it has none)."""
    from .domains_check import registrable_domain

    host = host.lower().rstrip(".")
    return _UNSAFE.sub("_", registrable_domain(host) or host)


class Partition:
    """Open with ``open`` (locks, repairs, replays); ``close`` seals and unlocks."""

    def __init__(
        self,
        key: str,
        journal_file: Path,
        warc_dir: Path,
        *,
        warc_prefix: str = "stepdr",
        warc_max_bytes: int = 1 << 30,
        lock_file: Path | None = None,
    ) -> None:
        self.key = key
        self.journal = Journal(journal_file)
        self.warc_dir = warc_dir
        self.warcs = WarcFiles(warc_dir, prefix=warc_prefix, max_bytes=warc_max_bytes)
        self.admitted: Counter[str] = Counter()
        """Links admitted per entry key, against its budget."""
        self.pages = 0
        """2xx pages stored, in this run."""
        self.errors = 0
        self.repaired = 0
        self._lock_file = lock_file
        self._lock: IO[bytes] | None = None

    @property
    def state(self) -> JournalState:
        return self.journal.state

    def try_lock(self) -> bool:
        """Take the partition's lock; False when another process holds it."""
        if self._lock_file is None:
            return True
        self._lock_file.parent.mkdir(parents=True, exist_ok=True)
        fh = self._lock_file.open("ab")
        try:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            fh.close()
            return False
        self._lock = fh
        return True

    def open(self) -> JournalState:
        """Replay the journal and repair the WARC files a kill left open."""
        if self._lock_file is not None and self._lock is None:
            raise CrawlError(f"{self._lock_file}: partition {self.key!r} opened without its lock")
        state = self.journal.open()
        self.repaired = repair_open_files(self.warc_dir, dict(state.file_ends), self.journal.stored)
        return state

    def stored_pages(self) -> int:
        """2xx pages this partition's journal holds, over every run (robots.txt aside)."""
        return sum(
            1
            for s in self.state.stored.values()
            if 200 <= s.status < 300 and not s.url.endswith("/robots.txt")
        )

    def close(self) -> None:
        try:
            self.warcs.close()
            self.journal.close()
        finally:
            if self._lock is not None:
                self._lock.close()  # closing the descriptor drops the flock
                self._lock = None


__all__ = ["WHOLE", "Partition", "partition_key"]
