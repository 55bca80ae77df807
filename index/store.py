"""The passage store: SQLite, readable by passage id and by page URL."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import replace
from pathlib import Path

from .records import Passage

_IDS_PER_QUERY = 8000  # SQLite allows 32,766 parameters a statement
FILENAME = "passages.sqlite"

_SCHEMA = """
CREATE TABLE passages (
    id INTEGER PRIMARY KEY, cite_id TEXT NOT NULL, url TEXT NOT NULL, domain TEXT NOT NULL,
    title TEXT NOT NULL, headings TEXT NOT NULL, ordinal INTEGER NOT NULL, text TEXT NOT NULL,
    authority REAL NOT NULL, tier INTEGER, fetched TEXT NOT NULL, published TEXT, lang TEXT
);
CREATE INDEX passages_url ON passages (url, ordinal);
CREATE TABLE about (url TEXT PRIMARY KEY, names TEXT NOT NULL, authority REAL NOT NULL);
"""
# ``about``: pages of sources that are primary only about themselves (``about:`` in
# domains.yaml), with the names and the prior they get on queries naming none of them.
# A table of its own, so stores written before it existed still open.
_COLUMNS = (
    "id, cite_id, url, domain, title, headings, ordinal, text, authority, tier, fetched, "
    "published, lang"
)


def _row(p: Passage) -> tuple[object, ...]:
    return (
        p.id, p.cite_id, p.url, p.domain, p.title, json.dumps(list(p.headings)), p.ordinal,
        p.text, p.authority, p.tier, p.fetched, p.published, p.lang,
    )  # fmt: skip


def _passage(row: Sequence[object]) -> Passage:
    return Passage(
        id=int(row[0]),  # type: ignore[call-overload]
        cite_id=str(row[1]),
        url=str(row[2]),
        domain=str(row[3]),
        title=str(row[4]),
        headings=tuple(json.loads(str(row[5]))),
        ordinal=int(row[6]),  # type: ignore[call-overload]
        text=str(row[7]),
        authority=float(row[8]),  # type: ignore[arg-type]
        tier=None if row[9] is None else int(row[9]),  # type: ignore[call-overload]
        fetched=str(row[10]),
        published=None if row[11] is None else str(row[11]),
        lang=None if row[12] is None else str(row[12]),
    )


def write_store(directory: Path, passages: Iterable[Passage]) -> int:
    """Write a new store; returns the passage count."""
    path = directory / FILENAME
    passages_about: list[Passage] = []

    def rows() -> Iterable[tuple[object, ...]]:
        for p in passages:
            if p.about and p.authority_elsewhere is not None:
                passages_about.append(p)
            yield _row(p)

    con = sqlite3.connect(path)
    try:
        con.executescript(_SCHEMA)
        cur = con.executemany(
            f"INSERT INTO passages ({_COLUMNS}) VALUES ({', '.join('?' * 13)})",
            rows(),
        )
        con.executemany(
            "INSERT OR IGNORE INTO about (url, names, authority) VALUES (?, ?, ?)",
            ((p.url, json.dumps(list(p.about), ensure_ascii=False), p.authority_elsewhere)
             for p in passages_about),
        )  # fmt: skip
        con.commit()
        n = con.execute("SELECT COUNT(*) FROM passages").fetchone()[0]
        del cur
    finally:
        con.close()
    return int(n)


class PassageStore:
    """Read-only access; safe to share between threads."""

    def __init__(self, directory: Path) -> None:
        uri = (directory / FILENAME).resolve().as_uri() + "?mode=ro"
        self._con = sqlite3.connect(uri, uri=True, check_same_thread=False)
        self._has_about = bool(
            self._con.execute(
                "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'about'"
            ).fetchone()
        )

    def _with_about(self, passages: list[Passage]) -> list[Passage]:
        if not self._has_about or not passages:
            return passages
        urls = sorted({p.url for p in passages})
        marks = ",".join("?" * len(urls))
        found = {
            str(url): (tuple(json.loads(str(names))), float(auth))
            for url, names, auth in self._con.execute(
                f"SELECT url, names, authority FROM about WHERE url IN ({marks})", urls
            )
        }
        if not found:
            return passages
        return [
            replace(p, about=found[p.url][0], authority_elsewhere=found[p.url][1])
            if p.url in found
            else p
            for p in passages
        ]

    def count(self) -> int:
        return int(self._con.execute("SELECT COUNT(*) FROM passages").fetchone()[0])

    def all_ids(self) -> list[int]:
        return [int(r[0]) for r in self._con.execute("SELECT id FROM passages")]

    def get_many(self, ids: Sequence[int]) -> dict[int, Passage]:
        out: dict[int, Passage] = {}
        for start in range(0, len(ids), _IDS_PER_QUERY):
            part = list(ids[start : start + _IDS_PER_QUERY])
            marks = ",".join("?" * len(part))
            rows = self._con.execute(f"SELECT {_COLUMNS} FROM passages WHERE id IN ({marks})", part)
            out.update((p.id, p) for p in self._with_about(list(map(_passage, rows))))
        return out

    def page(self, url: str) -> list[Passage]:
        rows = self._con.execute(
            f"SELECT {_COLUMNS} FROM passages WHERE url = ? ORDER BY ordinal", (url,)
        )
        return self._with_about([_passage(r) for r in rows])

    def stats(self) -> dict[str, int]:
        pages, domains = self._con.execute(
            "SELECT COUNT(DISTINCT url), COUNT(DISTINCT domain) FROM passages"
        ).fetchone()
        return {"passages": self.count(), "pages": int(pages), "domains": int(domains)}

    def tier_counts(self) -> dict[str, int]:
        """Passages per authority tier ("unlisted" for pages outside the domain list)."""
        rows = self._con.execute("SELECT tier, COUNT(*) FROM passages GROUP BY tier ORDER BY tier")
        return {("unlisted" if t is None else str(t)): int(n) for t, n in rows}

    def close(self) -> None:
        self._con.close()
