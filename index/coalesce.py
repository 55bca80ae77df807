"""Concurrent callers share one batched call: micro-batching for the query encoder.

Under load, a server embeds one query per request, while the model embeds sixteen in
little more time than one.  ``Coalescer`` lets concurrent callers join one batch: the
first caller of a batch is its leader; it waits ``window`` seconds for others (only
when no batch is running: under load, the wait for the running batch is the window),
takes every item that joined, runs ``fn`` once, and hands each caller its rows.  One
batch runs at a time, as the lock it replaces allowed one call at a time.

An exception in ``fn`` reaches every caller of that batch; the next batch starts fresh.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any


@dataclass
class _Job:
    items: list[Any]
    done: threading.Event = field(default_factory=threading.Event)
    result: Any = None
    error: BaseException | None = None


class Coalescer:
    """``fn(items) -> rows`` (one row per item, sliceable), called once per batch."""

    def __init__(self, fn: Callable[[list[Any]], Any], window: float = 0.003) -> None:
        self._fn = fn
        self.window = window
        self._lock = threading.Lock()  # guards _forming
        self._running = threading.Lock()  # one batch at a time
        self._forming: list[_Job] = []
        self.batches = 0
        self.items = 0

    def __call__(self, items: Sequence[Any]) -> Any:
        job = _Job(list(items))
        with self._lock:
            self._forming.append(job)
            leader = len(self._forming) == 1
        if leader:
            idle = self._running.acquire(blocking=False)
            if not idle:
                self._running.acquire()  # the running batch was this one's window
            try:
                if idle and self.window > 0:
                    time.sleep(self.window)
                with self._lock:
                    batch, self._forming = self._forming, []
                self._run(batch)
            finally:
                self._running.release()
        else:
            job.done.wait()
        if job.error is not None:
            raise job.error
        return job.result

    def _run(self, batch: list[_Job]) -> None:
        flat = [item for j in batch for item in j.items]
        try:
            rows = self._fn(flat)
        except BaseException as e:  # every caller of the batch sees it
            for j in batch:
                j.error = e
                j.done.set()
            return
        self.batches += 1
        self.items += len(flat)
        start = 0
        for j in batch:
            j.result = rows[start : start + len(j.items)]
            start += len(j.items)
            j.done.set()


class SharedEncoder:
    """Query embedding for an index: micro-batched across concurrent searches by default,
    or, after ``set_micro_batch(None)``, one forward pass per search in turn.  A subclass
    gives ``_encode``; ``encode_queries`` is what its searches call."""

    _batcher: Coalescer | None
    _encode_lock: threading.Lock

    def _init_encoder(self) -> None:
        self._encode_lock = threading.Lock()
        # Window 0: no waiting for company, only the queries that queued during the pass.
        self._batcher = Coalescer(self._encode, window=0.0)

    def _encode(self, texts: list[str]) -> Any:
        raise NotImplementedError

    def encode_queries(self, texts: list[str]) -> Any:
        if self._batcher is not None:
            return self._batcher(texts)
        with self._encode_lock:
            return self._encode(texts)

    def set_micro_batch(self, window: float | None) -> None:
        """Share forward passes between concurrent searches, waiting up to ``window``
        seconds for company when idle; None: one forward pass per search, in turn."""
        self._batcher = None if window is None else Coalescer(self._encode, window=window)

    @property
    def micro_batches(self) -> tuple[int, int]:
        """(forward passes, queries embedded) by the micro-batcher so far."""
        b = self._batcher
        return (b.batches, b.items) if b is not None else (0, 0)
