"""Worker processes that die with the process that started them.

A pool's workers outlive a parent killed by SIGKILL or the OOM killer: nothing tells
them, and they wait on their task queue forever.  ``die_with_parent`` (a pool
initializer) asks Linux to SIGKILL the worker when its parent dies
(``PR_SET_PDEATHSIG``) and, where that is not available or the parent died before it
took effect, watches the parent id once a second from a daemon thread.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import signal
import sys
import threading
import time

_PR_SET_PDEATHSIG = 1
WATCH_INTERVAL = 1.0


def die_with_parent(parent_pid: int) -> None:
    """Initializer of a worker process started by ``parent_pid``."""
    if sys.platform.startswith("linux"):
        try:
            libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
            libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        except (OSError, AttributeError):
            pass  # the watchdog below still ends the worker
    if os.getppid() != parent_pid:
        os._exit(1)  # the parent died before the signal was armed
    threading.Thread(target=_watch, args=(parent_pid,), daemon=True).start()


def _watch(parent_pid: int) -> None:
    while True:
        time.sleep(WATCH_INTERVAL)
        if os.getppid() != parent_pid:
            os._exit(1)
