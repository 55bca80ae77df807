"""Worker processes for a page's CPU work, talking to the reactor over a socket each.

Why not ``concurrent.futures.ProcessPoolExecutor``: every submit wakes its manager
thread, whose queue feeder thread then pickles the page, and each hand-over of the
GIL between those threads and the reactor cost the reactor about 0.2 ms a page on
2 cores, the most expensive line left in a crawl's profile.  Here the reactor thread
writes the pickled job to the worker's socket itself and the event loop reads the
answer when it arrives (``add_reader``): no thread besides the reactor takes part.

A worker announces itself once it has imported the page code; until one has, jobs
go to threads (``off_thread``), so the first pages of a crawl, whose links are its
whole frontier, never wait for a process to start.  A worker that dies (killed, or
out of memory) is dropped and its unfinished jobs are redone on threads; with no
worker left, every job goes to threads.  Workers die with the crawl however it ends
(``die_with_parent``).
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import os
import pickle
import signal
import socket
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any, TypeVar

from stepdr.core.processes import die_with_parent

from .offload import asyncio_running, off_thread

T = TypeVar("T")
log = logging.getLogger(__name__)

_READY = b"ready"
_PROTOCOL = pickle.HIGHEST_PROTOCOL
_Job = tuple["asyncio.Future[Any]", Callable[..., Any], tuple[Any, ...]]
_SOCKET_BUFFER = 4 << 20  # asked for; the kernel may grant less


def _serve(conn: Connection, parent_pid: int) -> None:
    """A worker: jobs in, answers out, until the crawl closes its end."""
    die_with_parent(parent_pid)
    # Ctrl-C reaches the whole process group: the crawl decides, and this worker
    # ends when the crawl closes its socket (or dies).
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    import stepdr.crawl.page_work  # noqa: F401  (imported before the first page arrives)

    conn.send_bytes(_READY)
    while True:
        try:
            fn, args = pickle.loads(conn.recv_bytes())
        except (EOFError, OSError):
            return
        try:
            answer = pickle.dumps((True, fn(*args)), _PROTOCOL)
        except BaseException as e:  # the caller gets it, as from a function called in place
            try:
                answer = pickle.dumps((False, e), _PROTOCOL)
            except Exception:
                answer = pickle.dumps((False, RuntimeError(repr(e))))
        conn.send_bytes(answer)


@dataclass(eq=False)
class _Worker:
    process: Any  # multiprocessing's SpawnProcess
    conn: Connection
    ready: bool = False
    alive: bool = True
    job: _Job | None = None  # the one job it works on


class PageProcesses:
    """Worker processes for pure functions of a page (see the module's docstring).
    With 0 processes, or none alive, the work goes to threads instead."""

    def __init__(self, processes: int) -> None:
        self.processes = processes
        self._workers: list[_Worker] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self._waiting: deque[_Job] = deque()
        self._redos: set[asyncio.Task[None]] = set()

    def start(self) -> None:
        """Spawn the workers now, so their start overlaps Scrapy's own."""
        if self.processes <= 0 or self._workers:
            return
        ctx = multiprocessing.get_context("spawn")
        for _ in range(self.processes):
            here, there = ctx.Pipe(duplex=True)
            for end in (here, there):
                _widen(end)
            proc = ctx.Process(target=_serve, args=(there, os.getpid()), daemon=True)
            proc.start()
            there.close()
            self._workers.append(_Worker(proc, here))

    @property
    def pids(self) -> list[int]:
        """The worker processes still alive."""
        return [w.process.pid for w in self._workers if w.alive]

    def warm(self) -> bool:
        """Whether a worker process has started and can take pages."""
        for w in self._workers:
            if w.alive and not w.ready and w.job is None:
                self._drain(w)  # only its announcement can be waiting
        return any(w.alive and w.ready for w in self._workers)

    async def run(self, fn: Callable[..., T], *args: object) -> T:
        if not self._workers or not asyncio_running():
            return await off_thread(fn, *args)
        loop = asyncio.get_running_loop()
        self._watch(loop)
        if not self.warm():
            return await off_thread(fn, *args)
        future: asyncio.Future[T] = loop.create_future()
        self._waiting.append((future, fn, args))
        self._dispatch()
        return await future

    def _dispatch(self) -> None:
        """Jobs to idle workers.  One job at a time per worker: a worker is only ever
        sent a job while it waits for one, so the reactor's blocking write and the
        worker's write of an answer never wait on each other."""
        while self._waiting:
            idle = [w for w in self._workers if w.alive and w.ready and w.job is None]
            if not idle:
                if not any(w.alive for w in self._workers):
                    jobs = list(self._waiting)
                    self._waiting.clear()
                    self._to_threads(jobs)
                return
            worker = idle[0]
            job = self._waiting.popleft()
            if job[0].done():
                continue  # its caller went away
            try:
                worker.conn.send_bytes(pickle.dumps((job[1], job[2]), _PROTOCOL))
            except OSError:
                self._waiting.appendleft(job)
                self._lost(worker)
                continue
            worker.job = job

    def close(self) -> None:
        workers, self._workers = self._workers, []
        for w in workers:
            self._unwatch(w)
            w.conn.close()  # the worker reads EOF and exits
        for w in workers:
            w.process.join(5)
            if w.process.is_alive():
                w.process.kill()
                w.process.join(5)

    # -- the event loop's side -------------------------------------------------------

    def _watch(self, loop: asyncio.AbstractEventLoop) -> None:
        """Read answers on ``loop`` (a test runs each job on a loop of its own)."""
        if self._loop is loop:
            return
        self._loop = loop
        for w in self._workers:
            if w.alive:
                loop.add_reader(w.conn.fileno(), self._drain, w)

    def _unwatch(self, w: _Worker) -> None:
        loop = self._loop
        if loop is not None and not loop.is_closed() and not w.conn.closed:
            loop.remove_reader(w.conn.fileno())

    def _drain(self, w: _Worker) -> None:
        try:
            while w.alive and w.conn.poll(0):
                data = w.conn.recv_bytes()
                if data == _READY:
                    w.ready = True
                    continue
                ok, value = pickle.loads(data)
                if w.job is None:
                    raise RuntimeError("an answer to no job")
                future, w.job = w.job[0], None
                if not future.done():  # done: its caller went away (a cancelled crawl)
                    if ok:
                        future.set_result(value)
                    else:
                        future.set_exception(value)
        except (EOFError, OSError):
            self._lost(w)
        except Exception:  # an answer that does not unpickle: its job is redone on a thread
            log.exception("page worker process %s: unreadable answer", w.process.pid)
            self._lost(w)
        self._dispatch()

    def _lost(self, w: _Worker) -> None:
        if not w.alive:
            return
        w.alive = False
        self._unwatch(w)
        left = sum(x.alive for x in self._workers)
        log.warning(
            "page worker process %s died; %s",
            w.process.pid,
            f"{left} left" if left else "page work goes to threads from now on",
        )
        jobs = [w.job] if w.job is not None else []
        w.job = None
        if not left:
            jobs += self._waiting
            self._waiting.clear()
        self._to_threads(jobs)

    def _to_threads(self, jobs: Iterable[_Job]) -> None:
        """Jobs a worker will never answer, redone on threads."""
        for future, fn, args in jobs:
            if not future.done():
                task = future.get_loop().create_task(_redo(future, fn, args))
                self._redos.add(task)  # the loop holds tasks weakly
                task.add_done_callback(self._redos.discard)


_EARLY: list[PageProcesses] = []


def start_early(processes: int) -> None:
    """Spawn page workers before Scrapy starts, for the crawl's ``StoreMiddleware`` to
    take (``take_early``): their imports then overlap Scrapy's, and they are up when
    the first pages arrive.  ``close_early`` ends those that were never taken."""
    if processes > 0:
        pool = PageProcesses(processes)
        pool.start()
        _EARLY.append(pool)


def take_early(processes: int) -> PageProcesses:
    """A pool ``start_early`` spawned with that many processes, else a new one."""
    for i, pool in enumerate(_EARLY):
        if pool.processes == processes:
            return _EARLY.pop(i)
    return PageProcesses(processes)


def close_early() -> None:
    while _EARLY:
        _EARLY.pop().close()


async def _redo(future: asyncio.Future[Any], fn: Callable[..., Any], args: tuple[Any, ...]) -> None:
    try:
        result = await off_thread(fn, *args)
    except BaseException as e:
        if not future.done():
            future.set_exception(e)
        return
    if not future.done():
        future.set_result(result)


def _widen(conn: Connection) -> None:
    """Bigger socket buffers: a page's pickled job is often over the default."""
    s = socket.socket(fileno=os.dup(conn.fileno()))
    try:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, _SOCKET_BUFFER)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, _SOCKET_BUFFER)
    except OSError:
        pass  # the defaults work, only with more waiting
    finally:
        s.close()


__all__ = ["PageProcesses", "close_early", "start_early", "take_early"]
