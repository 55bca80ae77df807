"""Release each entry's parsed pages in the order they were requested.

A budget admits the first N URLs an entry's pages link to.  If links were admitted
as responses land, which N those are would depend on which page happened to answer
first, and two crawls of one unchanged mirror would index different pages.  So a
page's links wait here until every page of its entry requested before it has
settled (parsed, failed or refused); then they are admitted in request order.
Requests are issued in admission order, so the order, and with it what a budget
keeps, follows from the pages' contents alone.

Downloads still run in parallel: only the admission of new links waits, and a BFS
frontier keeps plenty queued meanwhile.  Ordering is per entry, so a slow site
never holds back another; links from one entry into another are the exception,
admitted when their page is released.  So is a crawl resumed after a kill: the
pages stored before it have their links admitted first, so where a budget binds,
a killed crawl may keep a slightly different set than one that ran straight through.
"""

from __future__ import annotations

from collections import Counter
from typing import Generic, TypeVar

T = TypeVar("T")


class ReorderBuffer(Generic[T]):
    """A reorder buffer per key: ``issue`` numbers work, ``settle`` releases it in order."""

    def __init__(self) -> None:
        self._issued: Counter[str] = Counter()
        self._head: Counter[str] = Counter()
        self._ready: dict[str, dict[int, T]] = {}

    def issue(self, key: str) -> int:
        """The sequence number of the next piece of work under ``key``."""
        seq = self._issued[key]
        self._issued[key] += 1
        return seq

    def settle(self, key: str, seq: int, value: T) -> list[T]:
        """Record one finished piece; return every piece now releasable, in order."""
        if seq < self._head[key]:
            return [value]  # came back after a drain skipped it: nothing waits on it now
        ready = self._ready.setdefault(key, {})
        if seq in ready:
            raise ValueError(f"{key}: piece {seq} settled twice")
        ready[seq] = value
        out: list[T] = []
        head = self._head[key]
        while head in ready:
            out.append(ready.pop(head))
            head += 1
        self._head[key] = head
        return out

    def waiting(self) -> int:
        """Pieces settled but held back behind an unsettled one."""
        return sum(len(r) for r in self._ready.values())

    def drain(self) -> list[T]:
        """Release everything held, skipping the gaps, each key in order.

        For when nothing more can settle (the crawl went idle): a request that
        never came back must not keep the links of the pages after it unadmitted.
        """
        out: list[T] = []
        for key, ready in self._ready.items():
            for seq in sorted(ready):
                out.append(ready[seq])
            if ready:
                self._head[key] = max(ready) + 1
            ready.clear()
        return out


__all__ = ["ReorderBuffer"]
