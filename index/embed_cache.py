"""Embeddings cached by text hash, so a rebuild embeds only text it has not seen.

Vectors are committed ``batch`` (256) at a time as they are computed: a build killed at 90 %
keeps 90 % of its vectors, and the same command run again embeds only the rest.
"""

from __future__ import annotations

import hashlib
import re
import sqlite3
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np


def cache_key(model: str, text: str) -> str:
    return hashlib.sha1(f"{model}\0{text}".encode()).hexdigest()


class EmbeddingCache:
    def __init__(self, directory: Path, model: str, dim: int) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        slug = re.sub(r"[^A-Za-z0-9_.-]+", "_", model)
        self.model, self.dim = model, dim
        self._con = sqlite3.connect(directory / f"{slug}-{dim}.sqlite")
        self._con.execute("CREATE TABLE IF NOT EXISTS vec (key TEXT PRIMARY KEY, v BLOB)")

    def get_or_compute(
        self,
        texts: Sequence[str],
        compute: Callable[[Sequence[str]], np.ndarray],
        batch: int = 256,
        progress: Callable[[int], None] | None = None,
        fresh: set[int] | None = None,
    ) -> tuple[np.ndarray, int]:
        """Vectors for ``texts`` and how many had to be computed (``progress(n)`` after
        each committed batch of n; the positions of the computed texts go into ``fresh``)."""
        keys = [cache_key(self.model, t) for t in texts]
        found: dict[str, bytes] = {}
        for i in range(0, len(keys), 500):
            part = keys[i : i + 500]
            rows = self._con.execute(
                f"SELECT key, v FROM vec WHERE key IN ({','.join('?' * len(part))})", part
            )
            found.update(rows)
        missing = sorted({k for k in keys if k not in found})
        first = {k: i for i, k in reversed(list(enumerate(keys)))} if missing else {}
        if fresh is not None and missing:
            gone = set(missing)
            fresh.update(i for i, k in enumerate(keys) if k in gone)
        for start in range(0, len(missing), batch):
            part = missing[start : start + batch]
            vecs = compute([texts[first[k]] for k in part])
            rows_new = [(k, vecs[j].astype(np.float32).tobytes()) for j, k in enumerate(part)]
            with self._con:
                self._con.executemany("INSERT OR REPLACE INTO vec VALUES (?, ?)", rows_new)
            found.update(rows_new)
            if progress is not None:
                progress(len(part))
        out = np.frombuffer(b"".join(found[k] for k in keys), dtype=np.float32)
        return out.reshape(len(keys), self.dim).copy(), len(missing)

    def close(self) -> None:
        self._con.close()
