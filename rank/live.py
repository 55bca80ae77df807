"""A Surfer that follows the live index version, for long-running servers."""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path

from stepdr.core.errors import StepdrError
from stepdr.index.versions import IndexDir

from .pipeline import RankConfig
from .surfer import Surfer

log = logging.getLogger(__name__)


class LiveSurfer:
    """Hands out the Surfer of the live version; a newly published build is picked
    up within ``check_every`` seconds, and one that fails to open is not served."""

    def __init__(
        self,
        data_dir: Path,
        config: RankConfig | None = None,
        check_every: float = 2.0,
        micro_batch: float | None = 0.0,
    ) -> None:
        self.data_dir = Path(data_dir)
        self.config = config
        self.check_every = check_every
        self.micro_batch = micro_batch  # see Version.set_micro_batch
        self._index = IndexDir(self.data_dir)
        self._surfer = self._open()
        self._pointer = self._read_pointer()
        self._checked = time.monotonic()
        self._lock = threading.Lock()

    def _open(self) -> Surfer:
        surfer = Surfer.open(self.data_dir, self.config)
        surfer.index.set_micro_batch(self.micro_batch)
        return surfer

    def _read_pointer(self) -> str:
        try:
            return self._index.pointer.read_text().strip()
        except OSError:
            return ""

    def current(self) -> Surfer:
        with self._lock:
            now = time.monotonic()
            if now - self._checked < self.check_every:
                return self._surfer
            self._checked = now
            pointer = self._read_pointer()
            if pointer and pointer != self._pointer:
                self._pointer = pointer
                try:
                    fresh = self._open()
                except StepdrError as e:
                    log.warning(
                        "keeping %s: new version does not open (%s)", self._surfer.version, e
                    )
                else:
                    log.warning("now serving index version %s", fresh.version.name)
                    self._surfer = fresh
            return self._surfer
