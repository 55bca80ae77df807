"""The windowed map: results in job order, never more than a window of chunks in flight."""

from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor

import pytest

from stepdr.index.windowed import windowed


def test_results_come_in_order_with_a_bounded_window() -> None:
    submitted: list[list[int]] = []
    taken = 0
    most = 0

    def submit(part: list[int]) -> list[int]:
        nonlocal most
        submitted.append(part)
        most = max(most, len(submitted) - taken)
        return [x * x for x in part]

    def result(handle: list[int]) -> list[int]:
        nonlocal taken
        taken += 1
        return handle

    jobs = (i for i in range(1000))  # a generator: never turned into a list
    assert list(windowed(submit, result, jobs, chunk=7, window=3)) == [i * i for i in range(1000)]
    assert most <= 3
    assert sum(map(len, submitted)) == 1000 and max(map(len, submitted)) == 7


def test_a_real_pool_and_a_failing_job() -> None:
    def square_all(part: list[int]) -> list[int]:
        if 13 in part:
            raise ValueError("job 13")
        return [x * x for x in part]

    with ThreadPoolExecutor(2) as pool:

        def submit(part: list[int]) -> Future[list[int]]:
            return pool.submit(square_all, part)

        out = windowed(submit, Future.result, range(40), chunk=4, window=2)
        assert [next(out) for _ in range(12)] == [i * i for i in range(12)]
        with pytest.raises(ValueError, match="job 13"):
            next(out)
    with pytest.raises(ValueError, match="positive"):
        list(windowed(submit, Future.result, [1], chunk=0, window=1))
