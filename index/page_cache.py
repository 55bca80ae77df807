"""Extracted pages kept between builds, keyed by URL and content.

A page's key is its URL, the WARC's payload digest of its body and the extraction
settings (pipeline version, passage sizes, trafilatura's version).  So a build after a
recrawl extracts only the pages whose content changed, and a build killed midway
keeps every page it extracted, committed ``batch`` pages or ``every`` seconds at a time,
whichever comes first: the same command run again redoes at most one batch.  Pages
without a payload digest (WARCs from elsewhere may lack one) are extracted every time.

Entries no build has asked for since the last complete build are dropped at its end,
so the cache holds about one copy of the corpus's extracted text.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import time
from collections.abc import Iterable
from pathlib import Path

from .chunk import Chunk
from .dedup import PageText
from .records import PageRef

_SCHEMA = """
CREATE TABLE IF NOT EXISTS page (key TEXT PRIMARY KEY, value TEXT NOT NULL, seen INTEGER NOT NULL);
"""


def page_key(settings: str, ref: PageRef) -> str | None:
    if not ref.digest:
        return None
    return hashlib.sha1(f"{settings}\0{ref.url}\0{ref.digest}".encode()).hexdigest()


def encode_page(page: PageText | None) -> str:
    if page is None:
        return "null"  # extraction found no text: remembered too, it is as costly
    chunks = [[c.text, list(c.headings)] for c in page.chunks]
    return json.dumps(
        {"title": page.title, "lang": page.lang, "published": page.published, "chunks": chunks},
        ensure_ascii=False,
    )


def decode_page(ref: PageRef, value: str) -> PageText | None:
    data = json.loads(value)
    if data is None:
        return None
    chunks = tuple(Chunk(text, tuple(headings)) for text, headings in data["chunks"])
    return PageText(ref, data["title"], data["lang"], data["published"], chunks)


class PageCache:
    def __init__(self, path: Path, settings: str, batch: int = 256, every: float = 1.0) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path, self.settings, self.batch, self.every = path, settings, batch, every
        self._flushed = time.monotonic()
        self._con = sqlite3.connect(path)
        self._con.executescript(_SCHEMA)
        self._stamp = time.time_ns()  # this build's mark on every entry it uses
        self._pending: list[tuple[str, str, int]] = []

    def get_many(self, refs: Iterable[PageRef]) -> dict[str, PageText | None]:
        """The cached extraction of each page that has one, by URL."""
        refs = list(refs)
        by_url = {r.url: r for r in refs}
        return {url: decode_page(by_url[url], v) for url, v in self.get_encoded(refs).items()}

    def get_encoded(self, refs: Iterable[PageRef]) -> dict[str, str]:
        """``get_many``, each page as ``encode_page`` wrote it: nothing decoded."""
        by_key = {k: r for r in refs if (k := page_key(self.settings, r)) is not None}
        keys = list(by_key)
        found: dict[str, str] = {}
        for i in range(0, len(keys), 500):
            part = keys[i : i + 500]
            marks = ",".join("?" * len(part))
            for key, value in self._con.execute(
                f"SELECT key, value FROM page WHERE key IN ({marks})", part
            ):
                found[by_key[key].url] = value
            with self._con:
                self._con.execute(
                    f"UPDATE page SET seen = ? WHERE key IN ({marks})", [self._stamp, *part]
                )
        return found

    def put(self, ref: PageRef, page: PageText | None) -> None:
        self.put_encoded(ref, encode_page(page))

    def put_encoded(self, ref: PageRef, value: str) -> None:
        key = page_key(self.settings, ref)
        if key is None:
            return
        self._pending.append((key, value, self._stamp))
        if len(self._pending) >= self.batch or time.monotonic() - self._flushed >= self.every:
            self.flush()

    def flush(self) -> None:
        self._flushed = time.monotonic()
        if self._pending:
            with self._con:
                self._con.executemany("INSERT OR REPLACE INTO page VALUES (?, ?, ?)", self._pending)
            self._pending = []

    def prune(self) -> int:
        """Drop what this build did not use (call once it is complete, after ``close``);
        how many."""
        con = sqlite3.connect(self.path)
        try:
            with con:
                return con.execute("DELETE FROM page WHERE seen < ?", (self._stamp,)).rowcount
        finally:
            con.close()

    def close(self) -> None:
        self.flush()
        self._con.close()
