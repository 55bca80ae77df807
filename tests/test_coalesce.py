"""Micro-batching: concurrent callers share one call and each gets its own rows."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from stepdr.index.coalesce import Coalescer


def test_concurrent_callers_share_batches_and_get_their_own_rows() -> None:
    calls: list[int] = []
    lock = threading.Lock()

    def square(items: list[int]) -> list[int]:
        with lock:
            calls.append(len(items))
        time.sleep(0.02)  # a forward pass: long enough for others to queue
        return [i * i for i in items]

    batcher = Coalescer(square, window=0.005)
    with ThreadPoolExecutor(16) as pool:
        results = list(pool.map(lambda i: batcher([i, i + 100]), range(64)))
    assert results == [[i * i, (i + 100) ** 2] for i in range(64)]
    assert sum(calls) == 128 and batcher.items == 128
    assert batcher.batches == len(calls) < 64 / 2  # most calls shared a batch
    assert max(calls) > 2


def test_an_error_reaches_every_caller_of_its_batch_only() -> None:
    fail = threading.Event()
    fail.set()

    def flaky(items: list[str]) -> list[str]:
        time.sleep(0.02)
        if fail.is_set():
            fail.clear()
            raise RuntimeError("model went away")
        return [s.upper() for s in items]

    batcher = Coalescer(flaky, window=0.01)
    with ThreadPoolExecutor(4) as pool:
        futures = [pool.submit(batcher, ["a"]) for _ in range(4)]
        outcomes = []
        for f in futures:
            try:
                outcomes.append(f.result())
            except RuntimeError as e:
                outcomes.append(str(e))
    assert "model went away" in outcomes
    assert batcher(["b"]) == ["B"]  # the next batch starts fresh


def test_a_lone_caller_waits_only_the_window() -> None:
    batcher = Coalescer(lambda items: items, window=0.002)
    start = time.perf_counter()
    assert batcher(["x"]) == ["x"]
    assert time.perf_counter() - start < 0.5
    with pytest.raises(TypeError):
        Coalescer(lambda items: len(items))(["x"])  # rows must be sliceable
