"""A map over a pool that keeps only a window of work in flight.

``ProcessPoolExecutor.map`` and a list of Ray tasks both submit every job at once: at
the domain list's 2.5M pages that is hundreds of thousands of futures, each holding its
jobs' arguments (and, on Ray, a copy in the object store), before the first page is
read.  ``windowed`` submits chunks as results are taken, in order, so what a build holds
for its extraction is a few chunks, whatever the corpus.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Iterator
from itertools import islice
from typing import TypeVar

J = TypeVar("J")  # a job
R = TypeVar("R")  # its result
F = TypeVar("F")  # a handle on a submitted chunk (a Future, a Ray object ref)


def windowed(
    submit: Callable[[list[J]], F],
    result: Callable[[F], list[R]],
    jobs: Iterable[J],
    chunk: int,
    window: int,
) -> Iterator[R]:
    """Each job's result, in job order: ``submit`` takes a chunk of ``chunk`` jobs and
    ``result`` waits for its results; at most ``window`` chunks are in flight."""
    if chunk < 1 or window < 1:
        raise ValueError(f"chunk and window must be positive, got {chunk} and {window}")
    todo = iter(jobs)
    flight: deque[F] = deque()

    def fill(limit: int) -> None:
        while len(flight) < limit:
            part = list(islice(todo, chunk))
            if not part:
                return
            flight.append(submit(part))

    fill(window)
    while flight:
        head = flight.popleft()
        fill(window - 1)  # the others keep working while this one is waited for
        yield from result(head)


def each(fn: Callable[[J], R], part: list[J]) -> list[R]:
    """``fn`` over a chunk: what a worker runs for ``windowed`` (picklable, so a process
    pool or a Ray task can take it with a module-level ``fn``)."""
    return [fn(job) for job in part]
