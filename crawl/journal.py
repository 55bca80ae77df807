"""The crawl journal: an append-only log that makes a crawl resumable after ``kill -9``.

One JSON object per line, written with a single ``write`` to an ``O_APPEND``
descriptor, so a killed process leaves at most one torn last line, which the
next open cuts off.  Line kinds (field ``k``):

``link``    an in-scope URL was discovered (the frontier; its order decides budgets)
``stored``  a response was written to a WARC file (after the record was flushed)
``parsed``  the links of the stored copy above are all in the journal as ``link``
``same``    a recrawl found the page unchanged (304, or the same bytes)
``done``    the URL is settled without storing anything (robots.txt, type, size...)
``epoch``   a recrawl began: every URL is due again
``ends``    per WARC file, the end of its last journaled record (written by compaction)

Lines are fsynced at most ``SYNC_EVERY`` seconds apart (and on close), so a power
cut, not only a kill, loses at most the last second of the journal.  Recrawls add a
line per URL per pass; when replay finds the journal more than ``COMPACT_RATIO``
times longer than the state it describes, it is rewritten as that state (written
aside, fsynced, renamed over the old one), so it does not grow without bound.

Scrapy's own JOBDIR (pickled queues, spider.state) is written at shutdown and
is not kill-safe; this journal plus the WARC files is the whole crawl state.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Link:
    url: str
    depth: int
    hops: int = 0
    """Redirects followed to reach this URL."""


@dataclass(frozen=True)
class Stored:
    url: str
    status: int
    warc: str
    """File name (sealed form) inside the WARC directory."""
    offset: int
    length: int
    ctype: str = ""
    etag: str = ""
    last_modified: str = ""
    digest: str = ""
    fetched: float = 0.0


@dataclass
class JournalState:
    """What a journal says, replayed in order."""

    links: dict[str, Link] = field(default_factory=dict)
    stored: dict[str, Stored] = field(default_factory=dict)
    """The latest stored copy of each URL."""
    settled: set[str] = field(default_factory=set)
    """URLs with nothing left to do in the current epoch."""
    unparsed: set[str] = field(default_factory=set)
    """Stored in the journal, links not yet extracted."""
    epochs: int = 0
    file_ends: dict[str, int] = field(default_factory=dict)
    """Per WARC file, the end of the last journaled record."""

    def apply(self, rec: dict[str, Any]) -> None:
        kind, url = rec.get("k"), rec.get("u", "")
        if kind == "link":
            if url not in self.links:
                self.links[url] = Link(url, int(rec.get("d", 0)), int(rec.get("r", 0)))
        elif kind == "stored":
            s = Stored(
                url=url,
                status=int(rec["s"]),
                warc=str(rec["w"]),
                offset=int(rec["o"]),
                length=int(rec["n"]),
                ctype=str(rec.get("ct", "")),
                etag=str(rec.get("et", "")),
                last_modified=str(rec.get("lm", "")),
                digest=str(rec.get("h", "")),
                fetched=float(rec.get("t", 0.0)),
            )
            self.stored[url] = s
            self.settled.add(url)
            self.unparsed.add(url)
            end = s.offset + s.length
            self.file_ends[s.warc] = max(self.file_ends.get(s.warc, 0), end)
        elif kind == "parsed":
            self.unparsed.discard(url)
        elif kind in ("same", "done"):
            self.settled.add(url)
        elif kind == "epoch":
            self.epochs += 1
            self.settled.clear()
        elif kind == "ends":
            for warc, end in dict(rec.get("e", {})).items():
                self.file_ends[str(warc)] = max(self.file_ends.get(str(warc), 0), int(end))

    def compacted(self) -> list[dict[str, Any]]:
        """The fewest lines whose replay gives this state."""
        out: list[dict[str, Any]] = []
        if self.file_ends:
            out.append({"k": "ends", "e": dict(sorted(self.file_ends.items()))})
        out += [{"k": "epoch"}] * max(0, self.epochs - 1)
        for link in self.links.values():
            rec: dict[str, Any] = {"k": "link", "u": link.url, "d": link.depth}
            if link.hops:
                rec["r"] = link.hops
            out.append(rec)
        for url, stored in self.stored.items():
            out.append(stored_record(stored))
            if url not in self.unparsed:
                out.append({"k": "parsed", "u": url})
        if self.epochs:
            out.append({"k": "epoch"})
        # Settled in this pass: marked again after the pass's start (a stored URL too:
        # its latest copy is above, and "done" settles it without touching the rest).
        out += [
            {"k": "done", "u": url}
            for url in sorted(self.settled)
            if self.epochs or url not in self.stored
        ]
        return out


def stored_record(s: Stored) -> dict[str, Any]:
    rec: dict[str, Any] = {
        "k": "stored",
        "u": s.url,
        "s": s.status,
        "w": s.warc,
        "o": s.offset,
        "n": s.length,
        "t": round(s.fetched, 3),
    }
    for key, value in (
        ("ct", s.ctype),
        ("et", s.etag),
        ("lm", s.last_modified),
        ("h", s.digest),
    ):
        if value:
            rec[key] = value
    return rec


SYNC_EVERY = 1.0  # seconds between fsyncs of the journal while it is written
COMPACT_RATIO = 2.0  # replayed lines over the compacted state's, from which it is rewritten
COMPACT_MIN = 1000  # lines: smaller journals are left as they are


class Journal:
    """Open (repairing a torn tail, compacting a long one), replay, then append."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.state = JournalState()
        self._fd: int | None = None
        self._synced = time.monotonic()
        self.compacted_from = 0  # lines before the compaction at open, 0 when none ran

    def open(self) -> JournalState:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        data = self.path.read_bytes() if self.path.exists() else b""
        keep = data.rfind(b"\n") + 1
        if keep != len(data):
            # A torn last line from a killed writer: it never happened.
            with self.path.open("r+b") as fh:
                fh.truncate(keep)
        lines = data[:keep].splitlines()
        for line in lines:
            try:
                rec = json.loads(line)
                if isinstance(rec, dict):
                    self.state.apply(rec)
            except (ValueError, KeyError, TypeError):
                continue  # a line damaged by hand or disk: skip it, keep the rest
        if len(lines) >= COMPACT_MIN:
            compact = self.state.compacted()
            if len(lines) > COMPACT_RATIO * len(compact):
                self._rewrite(compact)
                self.compacted_from = len(lines)
        self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        return self.state

    def _rewrite(self, records: list[dict[str, Any]]) -> None:
        tmp = self.path.with_name(self.path.name + ".compact")
        with tmp.open("wb") as fh:
            for rec in records:
                fh.write(json.dumps(rec, separators=(",", ":")).encode() + b"\n")
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, self.path)  # the old journal or the new one, whole, at any moment
        fd = os.open(self.path.parent, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)

    def append(self, rec: dict[str, Any]) -> None:
        self.state.apply(rec)
        if self._fd is None:
            raise RuntimeError("journal is not open")
        os.write(self._fd, json.dumps(rec, separators=(",", ":")).encode() + b"\n")
        now = time.monotonic()
        if now - self._synced >= SYNC_EVERY:
            os.fsync(self._fd)
            self._synced = now

    def link(self, link: Link) -> None:
        rec: dict[str, Any] = {"k": "link", "u": link.url, "d": link.depth}
        if link.hops:
            rec["r"] = link.hops
        self.append(rec)

    def stored(self, s: Stored) -> None:
        self.append(stored_record(s))

    def mark(self, kind: str, url: str, why: str = "") -> None:
        """``parsed``, ``same`` or ``done`` (with the reason)."""
        self.append({"k": kind, "u": url, **({"why": why} if why else {})})

    def new_epoch(self) -> None:
        self.append({"k": "epoch", "t": round(time.time(), 3)})

    def close(self) -> None:
        if self._fd is not None:
            os.fsync(self._fd)
            os.close(self._fd)
            self._fd = None


__all__ = ["Journal", "JournalState", "Link", "Stored", "stored_record"]
