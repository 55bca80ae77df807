"""The page worker pool: answers, errors, load and a worker's death, with real processes."""

from __future__ import annotations

import asyncio
import os
import signal
import time
import zlib

import pytest

from stepdr.crawl.page_pool import PageProcesses, close_early, start_early, take_early

from .poolutil import started


def test_an_error_in_a_worker_reaches_the_caller() -> None:
    workers = started(PageProcesses(1))
    try:
        with pytest.raises(ValueError, match="invalid literal"):
            asyncio.run(workers.run(int, "not a number"))
        assert asyncio.run(workers.run(int, "12")) == 12  # the worker lives on
    finally:
        workers.close()


def test_many_large_jobs_at_once_all_come_back_from_the_workers() -> None:
    # Each job is bigger than a socket's buffer, and all are in flight together: the
    # reactor's writes and the workers' answers must never wait on each other.
    blobs = [os.urandom(1 << 20) + bytes([i]) for i in range(40)]
    workers = started(PageProcesses(2))

    async def main() -> tuple[list[int], set[int]]:
        sums = await asyncio.gather(*(workers.run(zlib.crc32, b) for b in blobs))
        pids = set(await asyncio.gather(*(workers.run(os.getpid) for _ in range(8))))
        return list(sums), pids

    try:
        sums, pids = asyncio.run(asyncio.wait_for(main(), 60))
    finally:
        workers.close()
    assert sums == [zlib.crc32(b) for b in blobs]
    assert os.getpid() not in pids


def test_a_job_whose_worker_dies_is_redone_on_a_thread() -> None:
    workers = started(PageProcesses(1))

    async def main() -> tuple[object, int]:
        pid = await workers.run(os.getpid)
        slow = asyncio.ensure_future(workers.run(time.sleep, 1.0))
        await asyncio.sleep(0.3)  # the worker is asleep in the job
        os.kill(pid, signal.SIGKILL)
        done = await asyncio.wait_for(slow, 30)
        return done, await workers.run(os.getpid)

    try:
        done, pid_after = asyncio.run(main())
    finally:
        workers.close()
    assert done is None  # time.sleep's answer, from a thread this time
    assert pid_after == os.getpid()


def _children() -> set[int]:
    out = set()
    for d in os.listdir("/proc"):
        try:
            with open(f"/proc/{d}/stat") as fh:
                if int(fh.read().rsplit(")", 1)[1].split()[1]) == os.getpid():
                    out.add(int(d))
        except (OSError, ValueError, IndexError):
            continue
    return out


def test_workers_started_early_are_taken_by_the_crawl_or_closed() -> None:
    before = _children()
    start_early(1)
    early = take_early(1)
    try:
        assert len(early.pids) == 1 and set(early.pids) <= _children() - before
        assert take_early(1).pids == []  # taken once: a fresh pool, not started
        start_early(1)
        spare = _children() - before - set(early.pids)
        assert len(spare) == 1
        close_early()  # nobody took it: it ends
        assert not spare & _children()
    finally:
        early.close()
    assert not _children() - before
