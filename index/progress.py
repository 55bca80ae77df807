"""Build progress while it runs: pages extracted, passages embedded, rate and ETA.

On a terminal, one line redrawn in place a few times a second; otherwise a plain log
line every ``interval`` seconds, so the logs of unattended builds stay readable.  A
stage's last line is always written, so every stage ends with its total and rate.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import TextIO


def _clock(seconds: float) -> str:
    seconds = max(0, int(seconds))
    h, rest = divmod(seconds, 3600)
    return f"{h}:{rest // 60:02d}:{rest % 60:02d}" if h else f"{rest // 60}:{rest % 60:02d}"


class Progress:
    """``done(n)`` as work finishes; ``close()`` at the end of the stage."""

    def __init__(
        self,
        what: str,
        total: int,
        mode: str = "auto",  # auto | tty | log | off
        stream: TextIO | None = None,
        interval: float | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.what, self.total, self.count = what, total, 0
        self.stream = stream or sys.stderr
        self.mode = ("tty" if self.stream.isatty() else "log") if mode == "auto" else mode
        self.interval = interval if interval is not None else (0.25 if self.mode == "tty" else 10.0)
        self._clock = clock
        self._start = self._last = clock()
        self._drawn = False

    def done(self, n: int = 1) -> None:
        self.count += n
        now = self._clock()
        if self.mode != "off" and now - self._last >= self.interval:
            self._last = now
            self._write(self.line(now))

    def line(self, now: float | None = None) -> str:
        elapsed = (now if now is not None else self._clock()) - self._start
        rate = self.count / elapsed if elapsed > 0 else 0.0
        text = f"{self.what}: {self.count}/{self.total}"
        if self.total:
            text += f" ({100 * self.count / self.total:.0f}%)"
        text += f", {rate:.1f}/s"
        if 0 < self.count < self.total and rate > 0:
            text += f", ETA {_clock((self.total - self.count) / rate)}"
        return text + f", {_clock(elapsed)} elapsed"

    def close(self) -> None:
        if self.mode == "off":
            return
        self._write(self.line())
        if self.mode == "tty":
            self.stream.write("\n")
            self.stream.flush()

    def _write(self, text: str) -> None:
        if self.mode == "tty":
            self.stream.write("\r\x1b[2K" + text)
        else:
            self.stream.write(text + "\n")
        self.stream.flush()
