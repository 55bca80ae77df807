"""The run's trajectory: one JSON object per line, flushed to disk as each event happens.

It records every message, model call (with token counts and seconds), tool call and
observation, so a run can be read back, audited, and resumed after a crash.  A crash can
leave half a line at the end; reading drops it and resuming cuts it off.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

from stepdr.core.errors import TrajectoryError

FILE = "trajectory.jsonl"
FORMAT = 1


class Trajectory:
    def __init__(self, path: Path, elapsed_before: float = 0.0) -> None:
        self.path = path
        self.elapsed_before = elapsed_before
        self._start = time.monotonic()
        path.parent.mkdir(parents=True, exist_ok=True)
        self._f = path.open("a", encoding="utf-8")

    def elapsed(self) -> float:
        """Seconds the run has been active, over all its segments (time crashed not counted)."""
        return self.elapsed_before + time.monotonic() - self._start

    def write(self, event: dict[str, Any]) -> dict[str, Any]:
        event = {"type": event.pop("type"), "t": round(self.elapsed(), 3), **event}
        event.setdefault("time", time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()))
        self._f.write(json.dumps(event, ensure_ascii=False) + "\n")
        self._f.flush()
        os.fsync(self._f.fileno())
        return event

    def close(self) -> None:
        self._f.close()


def read_events(path: Path, repair: bool = False) -> list[dict[str, Any]]:
    """The events of a trajectory; a torn last line is dropped (and cut off with ``repair``)."""
    if not path.is_file():
        raise TrajectoryError(f"no {FILE} in {path.parent}: not a run directory")
    raw = path.read_bytes()
    events: list[dict[str, Any]] = []
    good = 0
    for line in raw.splitlines(keepends=True):
        try:
            event = json.loads(line)
        except ValueError:
            break
        if not line.endswith(b"\n") or not isinstance(event, dict):
            break
        events.append(event)
        good += len(line)
    if good < len(raw) and repair:
        with path.open("r+b") as f:
            f.truncate(good)
    if not events or events[0].get("type") != "run":
        raise TrajectoryError(f"{path} does not start with a run event")
    if events[0].get("format") != FORMAT:
        raise TrajectoryError(f"{path}: trajectory format {events[0].get('format')} unsupported")
    return events
