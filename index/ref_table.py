"""The latest copy of each page across a build's WARCs, in an SQLite file, not in memory.

At the list's 2.5M pages a dict of page references (and the sorted list made of it) held
about 0.75 GB while the WARCs were read and 0.5 GB through extraction; on disk it is a few
MB of page cache whatever the corpus.  The file is scratch: it is made again from the
WARCs (a few seconds a million pages) by every build, so it is written without a journal.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

from .records import PageRef

_SCHEMA = """
CREATE TABLE warcs (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE);
CREATE TABLE refs (
    url TEXT PRIMARY KEY, warc INTEGER NOT NULL, offset INTEGER NOT NULL,
    fetched TEXT NOT NULL, digest TEXT NOT NULL, todo INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;
"""
# Ties go to the copy added last, as the later file (or the later record) wins.
_UPSERT = """
INSERT INTO refs (url, warc, offset, fetched, digest) VALUES (?, ?, ?, ?, ?)
ON CONFLICT (url) DO UPDATE SET
    warc = excluded.warc, offset = excluded.offset,
    fetched = excluded.fetched, digest = excluded.digest
WHERE excluded.fetched >= refs.fetched
"""
BLOCK = 1024


class RefTable:
    """Page references keyed by URL, read back a block at a time in URL order."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        for stale in path.parent.glob("*.refs"):  # a killed build's: one build at a time
            stale.unlink(missing_ok=True)
        self._db = sqlite3.connect(path)
        self._db.executescript(
            "PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF; PRAGMA cache_size=-16384;" + _SCHEMA
        )
        self._names: dict[int, str] = {}
        self._count: int | None = None

    def add(self, warc: str, refs: Iterable[PageRef], canon: Callable[[str], str] | None) -> None:
        """One WARC file's references, in file order (all of them from ``warc``)."""
        cur = self._db.execute("INSERT OR IGNORE INTO warcs (name) VALUES (?)", (warc,))
        wid = cur.lastrowid if cur.rowcount else self._warc_id(warc)
        assert wid is not None
        self._names[wid] = warc
        rows = (
            (canon(r.url) if canon else r.url, wid, r.offset, r.fetched, r.digest) for r in refs
        )
        self._db.executemany(_UPSERT, rows)
        self._db.commit()
        self._count = None

    def _warc_id(self, warc: str) -> int:
        row = self._db.execute("SELECT id FROM warcs WHERE name = ?", (warc,)).fetchone()
        return int(row[0])

    def __len__(self) -> int:
        if self._count is None:
            self._count = int(self._db.execute("SELECT count(*) FROM refs").fetchone()[0])
        return self._count

    def blocks(self, todo: bool = False, size: int = BLOCK) -> Iterator[list[PageRef]]:
        """Every reference (or those marked to do), ``size`` at a time, in URL order.
        Each block is its own query, so a caller may write to the table between them."""
        where = "todo = 1 AND " if todo else ""
        last = ""
        while True:
            rows = self._db.execute(
                f"SELECT url, warc, offset, fetched, digest FROM refs WHERE {where}url > ? "
                "ORDER BY url LIMIT ?",
                (last, size),
            ).fetchall()
            if not rows:
                return
            yield [PageRef(u, self._names[w], o, f, d) for u, w, o, f, d in rows]
            last = rows[-1][0]

    def __iter__(self) -> Iterator[PageRef]:
        for block in self.blocks():
            yield from block

    def mark_todo(self, urls: Iterable[str]) -> None:
        self._db.executemany("UPDATE refs SET todo = 1 WHERE url = ?", ((u,) for u in urls))
        self._db.commit()

    def count_todo(self) -> int:
        return int(self._db.execute("SELECT count(*) FROM refs WHERE todo = 1").fetchone()[0])

    def todo(self) -> Iterator[PageRef]:
        for block in self.blocks(todo=True):
            yield from block

    def close(self) -> None:
        self._db.close()
        self.path.unlink(missing_ok=True)

    def __enter__(self) -> RefTable:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
